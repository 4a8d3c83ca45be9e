// The storage account of the function app: deployment package (blob), the suite's queues and
// their poison queues, the alert queue the Logic App reads and its dedup table. Shared-key
// access is off: everything authenticates with Entra ID.
param location string
param tags object
param name string
param deploymentContainerName string
@description('Queues the suite binds or writes to; each gets its "-poison" companion.')
param queueNames array
param alertsQueueName string
param seenEventsTableName string
param appPrincipalId string
param logicAppPrincipalId string
@description('Object id of the deploying user (data-plane access while developing); empty for none.')
param userPrincipalId string = ''

var roles = {
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  queueDataMessageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed'
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}
var allQueues = union(queueNames, [alertsQueueName])

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: Flex Consumption without a virtual network and the Logic App's managed connectors reach the account over its public endpoint; access is Entra-only (no shared key, no anonymous blob).
  // checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35; every request still needs an Entra token with a data role.
  // checkov:skip=CKV_AZURE_206: zone-redundant (ZRS) already survives a zone outage; geo-replicating transient queue messages and a rebuildable package adds cost with no recovery step that would use it.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_ZRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queueName in allQueues: {
  parent: queueService
  name: queueName
}]

resource poisonQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queueName in allQueues: {
  parent: queueService
  name: '${queueName}-poison'
}]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource seenEventsTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: seenEventsTableName
}

// The app: deployment package and host state (blob), its queues (send, receive, poison).
resource appBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, roles.blobDataOwner)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.blobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, roles.queueDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.queueDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appQueueProcessor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, roles.queueDataMessageProcessor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.queueDataMessageProcessor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The Logic App: reads and deletes messages of the alert queue only, and writes its dedup table.
resource alertsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: queueService
  name: alertsQueueName
}

resource logicAppQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, alertsQueueName, logicAppPrincipalId, roles.queueDataMessageProcessor)
  scope: alertsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.queueDataMessageProcessor)
    principalId: logicAppPrincipalId
    principalType: 'ServicePrincipal'
  }
  dependsOn: [
    queues
  ]
}

resource logicAppTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, seenEventsTableName, logicAppPrincipalId, roles.tableDataContributor)
  scope: seenEventsTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.tableDataContributor)
    principalId: logicAppPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource userQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(account.id, userPrincipalId, roles.queueDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.queueDataContributor)
    principalId: userPrincipalId
    principalType: 'User'
  }
}

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
