// The alert path: a Consumption Logic App running logicapp/workflow.json. It reads the alert
// queue and writes its dedup table through managed connections authenticated with its own
// user-assigned identity, and mails the partner admin through an Office 365 connection (that
// one needs a one-time interactive sign-in after deployment: README "Deploy to Azure").
param location string
param tags object
param name string
param identityId string
param storageAccountName string
param alertsQueueName string
param seenEventsTableName string
param partnerContacts object = {}
param fallbackRecipient string

var managedApis = {
  azurequeues: subscriptionResourceId('Microsoft.Web/locations/managedApis', location, 'azurequeues')
  azuretables: subscriptionResourceId('Microsoft.Web/locations/managedApis', location, 'azuretables')
  office365: subscriptionResourceId('Microsoft.Web/locations/managedApis', location, 'office365')
}

resource queuesConnection 'Microsoft.Web/connections@2016-06-01' = {
  name: '${name}-azurequeues'
  location: location
  tags: tags
  kind: 'V1'
  properties: {
    displayName: 'Alert queue (managed identity)'
    api: {
      id: managedApis.azurequeues
    }
    parameterValueSet: {
      name: 'managedIdentityAuth'
      values: {}
    }
  }
}

resource tablesConnection 'Microsoft.Web/connections@2016-06-01' = {
  name: '${name}-azuretables'
  location: location
  tags: tags
  kind: 'V1'
  properties: {
    displayName: 'Seen alerts table (managed identity)'
    api: {
      id: managedApis.azuretables
    }
    parameterValueSet: {
      name: 'managedIdentityAuth'
      values: {}
    }
  }
}

resource mailConnection 'Microsoft.Web/connections@2016-06-01' = {
  name: '${name}-office365'
  location: location
  tags: tags
  kind: 'V1'
  properties: {
    displayName: 'Partner mail'
    api: {
      id: managedApis.office365
    }
  }
}

var identityAuthentication = {
  type: 'ManagedServiceIdentity'
  identity: identityId
}

resource workflow 'Microsoft.Logic/workflows@2019-05-01' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    state: 'Enabled'
    definition: loadJsonContent('../../logicapp/workflow.json', '$.definition')
    parameters: {
      '$connections': {
        value: {
          azurequeues: {
            id: managedApis.azurequeues
            connectionId: queuesConnection.id
            connectionName: queuesConnection.name
            connectionProperties: {
              authentication: identityAuthentication
            }
          }
          azuretables: {
            id: managedApis.azuretables
            connectionId: tablesConnection.id
            connectionName: tablesConnection.name
            connectionProperties: {
              authentication: identityAuthentication
            }
          }
          office365: {
            id: managedApis.office365
            connectionId: mailConnection.id
            connectionName: mailConnection.name
          }
        }
      }
      storageAccountName: {
        value: storageAccountName
      }
      alertsQueueName: {
        value: alertsQueueName
      }
      seenEventsTable: {
        value: seenEventsTableName
      }
      partnerContacts: {
        value: partnerContacts
      }
      fallbackRecipient: {
        value: fallbackRecipient
      }
    }
  }
}

output name string = workflow.name
