// The function app's user-assigned managed identity: every connection of the app (storage,
// Cosmos DB, Key Vault, Application Insights, Graph as federated credential) uses it.
param location string
param tags object
param name string

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = appIdentity.id
output name string = appIdentity.name
output principalId string = appIdentity.properties.principalId
output clientId string = appIdentity.properties.clientId
