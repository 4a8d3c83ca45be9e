extension microsoftGraphV1

// The three app registrations, through the Microsoft Graph Bicep extension:
// - the API (multi-tenant; app roles; v2 access tokens, whose aud is its client id);
// - the multi-tenant Graph app that creates users in each partner's directory
//   (application permissions User.ReadWrite.All and Domain.Read.All, consented by each
//   partner's admin), with the function app's managed identity as its federated credential,
//   so that no secret exists for it;
// - the personal-accounts (MSA) app with the suite's sign-in callback as redirect URI.
// Client secrets cannot be created by the extension: scripts/app-registrations.sh adds the MSA
// app's secret and stores it in Key Vault.
param namePrefix string
param appIdentityPrincipalId string
param msaRedirectUri string
@description('Where a partner admin lands after granting admin consent (the suite\'s health page).')
param consentRedirectUri string
@description('The portal\'s origin: the single-page application (MSAL.js) signs in there.')
param portalOrigin string

var graphAppId = '00000003-0000-0000-c000-000000000000'
// api://{tenantId}/{string}: a form Entra accepts for multi-tenant apps without a verified domain.
var apiAppIdUri = 'api://${tenant().tenantId}/${namePrefix}-api'
var graphRoles = {
  userReadWriteAll: '741f803b-c850-494e-b5df-cde7c675a1ca'
  domainReadAll: 'dbb9058a-0e50-45d7-ae91-66909b5d4664'
}
var graphScopes = {
  openid: '37f7f235-527c-4136-accc-4a02e2ed5cd3'
  email: '64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0'
  profile: '14dad69e-099b-42c9-810b-d002981feec1'
}
var roles = [
  {
    value: 'Partner.Admin'
    displayName: 'Partner administrator'
    description: 'Manages its own partner organisation: employees, MSA links, competencies, alerts.'
    allowedMemberTypes: [
      'User'
    ]
  }
  {
    value: 'Program.Operator'
    displayName: 'Program operator'
    description: 'Operates the program: partners, catalog, overrides, retries (program tenant only).'
    allowedMemberTypes: [
      'User'
      'Application'
    ]
  }
  {
    value: 'Program.Feed'
    displayName: 'Program feed'
    description: 'Pushes exam, assessment and performance feeds (program tenant only).'
    allowedMemberTypes: [
      'Application'
    ]
  }
]

resource api 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: '${namePrefix}-api'
  displayName: 'Competency suite API (${namePrefix})'
  signInAudience: 'AzureADMultipleOrgs'
  identifierUris: [
    apiAppIdUri
  ]
  api: {
    requestedAccessTokenVersion: 2
    // The scope the portal asks for (portal/config.json): the signed-in user calls the API.
    oauth2PermissionScopes: [
      {
        id: guid(namePrefix, 'access_as_user')
        value: 'access_as_user'
        type: 'User'
        isEnabled: true
        adminConsentDisplayName: 'Use the competency suite'
        adminConsentDescription: 'Lets the portal call the competency suite as the signed-in user.'
        userConsentDisplayName: 'Use the competency suite'
        userConsentDescription: 'Lets the portal call the competency suite as you.'
      }
    ]
  }
  web: {
    redirectUris: [
      consentRedirectUri
    ]
  }
  spa: {
    redirectUris: [
      '${portalOrigin}/'
    ]
  }
  appRoles: [for role in roles: {
    id: guid(namePrefix, role.value)
    value: role.value
    displayName: role.displayName
    description: role.description
    allowedMemberTypes: role.allowedMemberTypes
    isEnabled: true
  }]
}

resource apiPrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: api.appId
  appRoleAssignmentRequired: false
}

resource graphApp 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: '${namePrefix}-graph'
  displayName: 'Competency suite directory (${namePrefix})'
  signInAudience: 'AzureADMultipleOrgs'
  web: {
    redirectUris: [
      consentRedirectUri
    ]
  }
  requiredResourceAccess: [
    {
      resourceAppId: graphAppId
      resourceAccess: [
        {
          id: graphRoles.userReadWriteAll
          type: 'Role'
        }
        {
          id: graphRoles.domainReadAll
          type: 'Role'
        }
      ]
    }
  ]

  resource managedIdentityCredential 'federatedIdentityCredentials@v1.0' = {
    name: '${graphApp.uniqueName}/function-app-identity'
    description: 'The function app\'s user-assigned managed identity signs in as this app (no secret).'
    issuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
    subject: appIdentityPrincipalId
    audiences: [
      'api://AzureADTokenExchange'
    ]
  }
}

resource graphPrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: graphApp.appId
}

resource msaApp 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: '${namePrefix}-msa'
  displayName: 'Competency suite MSA link (${namePrefix})'
  signInAudience: 'PersonalMicrosoftAccount'
  api: {
    requestedAccessTokenVersion: 2
  }
  web: {
    redirectUris: [
      msaRedirectUri
    ]
  }
  requiredResourceAccess: [
    {
      resourceAppId: graphAppId
      resourceAccess: [
        {
          id: graphScopes.openid
          type: 'Scope'
        }
        {
          id: graphScopes.email
          type: 'Scope'
        }
        {
          id: graphScopes.profile
          type: 'Scope'
        }
      ]
    }
  ]
}

output apiAppId string = api.appId
output apiAppIdUri string = apiAppIdUri
output graphAppId string = graphApp.appId
output msaAppId string = msaApp.appId
