// Links the function app as the portal's backend: the Static Web App forwards /api/* to it.

param staticSiteName string
param functionAppId string
param functionLocation string

resource site 'Microsoft.Web/staticSites@2023-12-01' existing = {
  name: staticSiteName
}

resource backend 'Microsoft.Web/staticSites/linkedBackends@2023-12-01' = {
  parent: site
  name: 'function-app'
  properties: {
    backendResourceId: functionAppId
    region: functionLocation
  }
}
