// Optional API Management (Consumption tier) in front of the function app: validates the
// token and limits each tenant (the token's tid) so that one partner cannot starve the others.
param location string
param tags object
param name string
param publisherEmail string
param publisherName string
param backendUrl string
param apiAudience string
param callsPerMinutePerTenant int = 300
param callsPerDayPerTenant int = 20000

var tidKey = '@(context.Request.Headers.GetValueOrDefault("Authorization","").AsJwt()?.Claims.GetValueOrDefault("tid","anonymous"))'
var policy = '<policies><inbound><base /><validate-jwt header-name="Authorization" failed-validation-httpcode="401" require-scheme="Bearer"><openid-config url="https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration" /><audiences><audience>${apiAudience}</audience></audiences></validate-jwt><rate-limit-by-key calls="${callsPerMinutePerTenant}" renewal-period="60" counter-key="${tidKey}" /><quota-by-key calls="${callsPerDayPerTenant}" renewal-period="86400" counter-key="${tidKey}" /><set-backend-service base-url="${backendUrl}" /></inbound><backend><base /></backend><outbound><base /></outbound><on-error><base /></on-error></policies>'

resource service 'Microsoft.ApiManagement/service@2023-05-01-preview' = {
  // checkov:skip=CKV_AZURE_107: the Consumption tier has no virtual network integration; it is the public front door, validating tokens and limiting each tenant.
  // checkov:skip=CKV_AZURE_174: a public gateway is the point of this service: partners' tools call it from the internet.
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Consumption'
    capacity: 0
  }
  properties: {
    publisherEmail: publisherEmail
    publisherName: publisherName
  }
}

resource api 'Microsoft.ApiManagement/service/apis@2023-05-01-preview' = {
  parent: service
  name: 'competency-suite'
  properties: {
    displayName: 'Competency suite'
    path: 'api'
    protocols: [
      'https'
    ]
    subscriptionRequired: false
    serviceUrl: backendUrl
  }
}

// Every route passes through (the suite answers unknown ones); the contract is openapi.json.
var methods = [
  'GET'
  'POST'
  'PUT'
  'PATCH'
  'DELETE'
]

resource operations 'Microsoft.ApiManagement/service/apis/operations@2023-05-01-preview' = [for method in methods: {
  parent: api
  name: toLower(method)
  properties: {
    displayName: method
    method: method
    urlTemplate: '/*'
  }
}]

resource apiPolicy 'Microsoft.ApiManagement/service/apis/policies@2023-05-01-preview' = {
  parent: api
  name: 'policy'
  properties: {
    format: 'rawxml'
    value: policy
  }
}

output gatewayUrl string = service.properties.gatewayUrl
