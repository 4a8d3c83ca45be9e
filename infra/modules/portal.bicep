// The portal (portal/, plain files, no build step) on Azure Static Web Apps, Standard plan: the
// plan that can link the function app as its backend, so /api/* is served on the portal's own
// origin (no CORS; the MSA callback page reads the token the portal keeps in sessionStorage).
// The backend is linked by portal-backend.bicep once the function app exists.

param location string
param tags object
param name string

resource site 'Microsoft.Web/staticSites@2023-12-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'portal'
  })
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    stagingEnvironmentPolicy: 'Disabled'
    allowConfigFileUpdates: true
  }
}

output name string = site.name
output hostName string = site.properties.defaultHostname
