// The Flex Consumption (FC1) plan and the Python 3.11 function app. Every connection uses the
// user-assigned identity; the deployment package is read from blob storage with it too.
// The app settings below are checked against the settings model (shared/settings.py) by
// tests/unit/test_infra.py, both ways: keep every setting in one of the *Settings objects.
param location string
param tags object
param planName string
param appName string
param identityId string
param identityClientId string
param storageAccountName string
param blobEndpoint string
param queueEndpoint string
param deploymentContainerName string
param appInsightsConnectionString string
param keyVaultName string
param cosmosEndpoint string
param cosmosDatabase string
param cosmosContainer string
@description('The API app registration\'s client id: the aud of v2 access tokens.')
param apiAppId string
@description('The API\'s Application ID URI: the aud of v1 access tokens.')
param apiAppIdUri string
param programTenantId string
param graphAppId string
@allowed([
  'managed_identity'
  'client_secret'
])
param graphCredential string
param msaAppId string
@description('Public URL of /api/msa/callback, also the MSA app registration\'s redirect URI.')
param msaRedirectUri string
param alertsQueueName string
param evaluationSchedule string
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy on FC1 needs always-ready instances (a fixed monthly cost); the suite recovers from a zone outage by retry (queues, outbox sweep).
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

// Read by the Functions host, the Python worker and the Azure SDKs: identity-based
// AzureWebJobsStorage (host storage and the queue triggers), Entra-authenticated telemetry
// (OpenTelemetry, host.json telemetryMode), the identity's client id.
var hostSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__queueServiceUri: queueEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  PYTHON_ENABLE_OPENTELEMETRY: 'true'
  AZURE_CLIENT_ID: identityClientId
}

// The suite's own settings (shared/settings.py).
var suiteSettings = {
  COSMOS_ENDPOINT: cosmosEndpoint
  COSMOS_DATABASE: cosmosDatabase
  COSMOS_CONTAINER: cosmosContainer
  COSMOS_MANAGED_IDENTITY_CLIENT_ID: identityClientId
  AUTH_CLIENT_ID: apiAppId
  AUTH_AUDIENCE: apiAppIdUri
  PROGRAM_TENANT_ID: programTenantId
  EVALUATION_SCHEDULE: evaluationSchedule
  GRAPH_CREDENTIAL: graphCredential
  GRAPH_CLIENT_ID: graphAppId
  MSA_CLIENT_ID: msaAppId
  MSA_CLIENT_SECRET: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=msa-client-secret)'
  MSA_REDIRECT_URI: msaRedirectUri
  ALERTS_QUEUE_NAME: alertsQueueName
}

// Graph: the managed identity as federated credential of the multi-tenant app (no secret), or
// that app's client secret from Key Vault.
var graphManagedIdentitySettings = {
  GRAPH_MANAGED_IDENTITY_CLIENT_ID: identityClientId
}
var graphSecretSettings = {
  GRAPH_CLIENT_SECRET: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=graph-client-secret)'
}

var appSettings = union(hostSettings, suiteSettings, graphCredential == 'managed_identity' ? graphManagedIdentitySettings : graphSecretSettings)

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales per execution from zero; a minimum instance count (always-ready instances) is a fixed cost the nightly, queue-driven load does not need.
  // checkov:skip=CKV_AZURE_213: Flex Consumption has no App Service health check (no fixed instances to take out of rotation); GET /api/health answers probes and the 5xx alert rule watches failures.
  // checkov:skip=CKV_AZURE_17: callers authenticate with Entra bearer tokens checked by the suite (shared/auth.py); client certificates would lock out browsers and partner tools.
  // checkov:skip=CKV_AZURE_222: Flex Consumption without a virtual network is reached on its public endpoint (or through API Management when enabled); every route but health, the OpenAPI document and the MSA callback requires a token.
  name: appName
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      detailedErrorLoggingEnabled: true
      httpLoggingEnabled: true
      requestTracingEnabled: true
      appSettings: [for setting in items(appSettings): {
        name: setting.key
        value: setting.value
      }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

output name string = app.name
output id string = app.id
output hostName string = app.properties.defaultHostName
