// The competency suite on Azure: `azd up` provisions this, then deploys the app.
// Modules by concern: identity, storage, cosmos, monitoring, keyvault, function, logicapp,
// apim (optional), apps (app registrations through the Microsoft Graph extension, optional),
// portal (Static Web App with the function app as its linked backend).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names and tags every resource.')
param environmentName string

@minLength(1)
@description('Region of every resource (one that offers Flex Consumption).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the deploying user: data-plane access to queues, Cosmos DB and Key Vault secrets while developing. Empty: none.')
param principalId string = ''

@description('Tenant whose tokens may carry the Program.* roles; the deploying tenant by default.')
param programTenantId string = ''

@allowed([
  'serverless'
  'autoscale'
])
param cosmosThroughputMode string = 'serverless'

@minValue(1000)
param cosmosAutoscaleMaxThroughput int = 1000

@description('Create the three app registrations with the Microsoft Graph extension (needs Application.ReadWrite.All, or the Application Developer role, for the deploying identity). false: pass their client ids below.')
param createAppRegistrations bool = true
param apiAppId string = ''
@description('With createAppRegistrations false: the API\'s Application ID URI.')
param apiAppIdUri string = ''
param graphAppId string = ''
param msaAppId string = ''

@allowed([
  'managed_identity'
  'client_secret'
])
@description('How the suite signs in as the Graph app in partner tenants: its managed identity as federated credential (no secret), or a client secret kept in Key Vault as graph-client-secret.')
param graphCredential string = 'managed_identity'

@description('NCRONTAB (UTC) of the nightly evaluation.')
param evaluationSchedule string = '0 0 2 * * *'

@description('Mailbox receiving the operators\' alert rules (failed alerts, poison messages, 5xx). Empty: no receiver.')
param operatorEmail string = ''

@description('Partner id to partner admin mailbox, for the Logic App.')
param partnerContacts object = {}
param fallbackRecipient string = 'partner-program@example.com'

@description('Region of the portal\'s Static Web App (Static Web Apps is offered in fewer regions than Functions).')
param portalLocation string = 'westeurope'
@description('Put API Management (Consumption) in front, with rate-limit-by-key on the token\'s tid.')
param enableApim bool = false
param apimPublisherEmail string = 'partner-program@example.com'

var token = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var prefix = 'competency-${environmentName}'
var functionAppName = 'func-${token}'
var deploymentContainerName = 'app-package-${token}'
// The MSA callback is served on the portal's origin (the Static Web App forwards /api/* to the
// function app): its page completes the link with the token the portal keeps there.
var msaRedirectUri = 'https://${portal.outputs.hostName}/api/msa/callback'
var consentRedirectUri = 'https://${functionAppName}.azurewebsites.net/api/health'
// shared/queues.py; the alert queue is the one the Logic App reads (ALERTS_QUEUE_NAME).
var suiteQueues = [
  'evaluate-partner'
  'import-users'
  'dispatch-alerts'
]
var alertsQueueName = 'competency-alerts'
var seenEventsTableName = 'competencyalertsseen'
// Every field the suite's queries filter or sort on (shared/services); tests/unit/test_infra.py
// keeps this list and the code in step.
var indexedFields = [
  'pk'
  'type'
  'userId'
  'email'
  'importId'
  'chunk'
  'msaId'
  'state'
  'erased'
  'deliveryState'
  'raisedAt'
]

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module appIdentity 'modules/identity.bicep' = {
  name: 'app-identity'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'id-func-${token}'
  }
}

module logicAppIdentity 'modules/identity.bicep' = {
  name: 'logicapp-identity'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'id-logic-${token}'
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'st${token}'
    deploymentContainerName: deploymentContainerName
    queueNames: suiteQueues
    alertsQueueName: alertsQueueName
    seenEventsTableName: seenEventsTableName
    appPrincipalId: appIdentity.outputs.principalId
    logicAppPrincipalId: logicAppIdentity.outputs.principalId
    userPrincipalId: principalId
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    location: location
    tags: tags
    accountName: 'cosmos-${token}'
    databaseName: 'competency'
    containerName: 'suite'
    throughputMode: cosmosThroughputMode
    autoscaleMaxThroughput: cosmosAutoscaleMaxThroughput
    indexedFields: indexedFields
    appPrincipalId: appIdentity.outputs.principalId
    userPrincipalId: principalId
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceName: 'log-${token}'
    appInsightsName: 'appi-${token}'
    actionGroupName: 'ag-${token}'
    appPrincipalId: appIdentity.outputs.principalId
    operatorEmail: operatorEmail
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'kv-${token}'
    appPrincipalId: appIdentity.outputs.principalId
    userPrincipalId: principalId
  }
}

module portal 'modules/portal.bicep' = {
  name: 'portal'
  scope: rg
  params: {
    location: portalLocation
    tags: tags
    name: 'stapp-${token}'
  }
}

module apps 'modules/apps.bicep' = if (createAppRegistrations) {
  name: 'app-registrations'
  scope: rg
  params: {
    namePrefix: prefix
    appIdentityPrincipalId: appIdentity.outputs.principalId
    msaRedirectUri: msaRedirectUri
    consentRedirectUri: consentRedirectUri
    portalOrigin: 'https://${portal.outputs.hostName}'
  }
}

var resolvedApiAppId = createAppRegistrations ? apps.outputs.apiAppId : apiAppId
var resolvedApiAppIdUri = createAppRegistrations ? apps.outputs.apiAppIdUri : apiAppIdUri
var resolvedGraphAppId = createAppRegistrations ? apps.outputs.graphAppId : graphAppId
var resolvedMsaAppId = createAppRegistrations ? apps.outputs.msaAppId : msaAppId

module function 'modules/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    location: location
    tags: tags
    planName: 'plan-${token}'
    appName: functionAppName
    identityId: appIdentity.outputs.id
    identityClientId: appIdentity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    deploymentContainerName: deploymentContainerName
    appInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultName: keyVault.outputs.name
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabase: cosmos.outputs.databaseName
    cosmosContainer: cosmos.outputs.containerName
    apiAppId: resolvedApiAppId
    apiAppIdUri: resolvedApiAppIdUri
    programTenantId: empty(programTenantId) ? tenant().tenantId : programTenantId
    graphAppId: resolvedGraphAppId
    graphCredential: graphCredential
    msaAppId: resolvedMsaAppId
    msaRedirectUri: msaRedirectUri
    alertsQueueName: alertsQueueName
    evaluationSchedule: evaluationSchedule
  }
}

module portalBackend 'modules/portal-backend.bicep' = {
  name: 'portal-backend'
  scope: rg
  params: {
    staticSiteName: portal.outputs.name
    functionAppId: function.outputs.id
    functionLocation: location
  }
}

module logicApp 'modules/logicapp.bicep' = {
  name: 'logicapp'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'logic-alerts-${token}'
    identityId: logicAppIdentity.outputs.id
    storageAccountName: storage.outputs.name
    alertsQueueName: alertsQueueName
    seenEventsTableName: seenEventsTableName
    partnerContacts: partnerContacts
    fallbackRecipient: fallbackRecipient
  }
}

module apim 'modules/apim.bicep' = if (enableApim) {
  name: 'apim'
  scope: rg
  params: {
    location: location
    tags: tags
    name: 'apim-${token}'
    publisherEmail: apimPublisherEmail
    publisherName: 'Competency suite'
    backendUrl: 'https://${function.outputs.hostName}/api'
    apiAudience: resolvedApiAppId
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = function.outputs.name
output SERVICE_API_NAME string = function.outputs.name
output SERVICE_API_URI string = 'https://${function.outputs.hostName}/api'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output SERVICE_PORTAL_NAME string = portal.outputs.name
output PORTAL_URI string = 'https://${portal.outputs.hostName}'
output API_APP_ID string = resolvedApiAppId
output API_APP_ID_URI string = resolvedApiAppIdUri
output GRAPH_APP_ID string = resolvedGraphAppId
output MSA_APP_ID string = resolvedMsaAppId
output MSA_REDIRECT_URI string = msaRedirectUri
output CONSENT_REDIRECT_URI string = consentRedirectUri
output LOGIC_APP_NAME string = logicApp.outputs.name
