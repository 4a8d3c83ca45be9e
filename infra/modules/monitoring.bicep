// Log Analytics + Application Insights (Entra-authenticated ingestion only) and the alert
// rules an operator needs: alerts that failed delivery, queue messages moved to a poison
// queue, and 5xx responses.
param location string
param tags object
param workspaceName string
param appInsightsName string
param actionGroupName string
param appPrincipalId string
@description('Mailbox of the operators who receive the alert rules; empty: no receiver.')
param operatorEmail string = ''

// Monitoring Metrics Publisher: lets the identity send telemetry when local auth is off.
var metricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
    IngestionMode: 'LogAnalytics'
  }
}

resource appMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appPrincipalId, metricsPublisherRoleId)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', metricsPublisherRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource operators 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'suiteops'
    enabled: true
    emailReceivers: empty(operatorEmail) ? [] : [
      {
        name: 'operators'
        emailAddress: operatorEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// One rule per query; each fires when its query returns a row within the window.
var rules = [
  {
    name: 'alerts-failed'
    description: 'An alert exhausted its delivery attempts (state failed, slow retries) or was given up: check the Logic App and POST .../alerts/{alertId}/retry.'
    severity: 2
    query: 'traces | where message startswith "alert " and (message has "given up after" or message has "times; retrying at")'
  }
  {
    name: 'poison-messages'
    description: 'A queue message was moved to a poison queue after its last dequeue.'
    severity: 2
    query: 'traces | where message has "MaxDequeueCount" or message has "-poison"'
  }
  {
    name: 'http-5xx'
    description: 'The suite answered a request with a 5xx status.'
    severity: 1
    query: 'requests | where toint(resultCode) >= 500'
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [for rule in rules: {
  name: '${appInsightsName}-${rule.name}'
  location: location
  tags: tags
  properties: {
    displayName: rule.name
    description: rule.description
    severity: rule.severity
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}]

output connectionString string = appInsights.properties.ConnectionString
output appInsightsName string = appInsights.name
output workspaceId string = workspace.id
