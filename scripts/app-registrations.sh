#!/usr/bin/env bash
# App registration steps the Microsoft Graph Bicep extension cannot do (infra/modules/apps.bicep
# creates the three registrations). Uses the Azure CLI (az) signed in to the program tenant and
# the values of the current azd environment (`azd env get-values`).
#
#   scripts/app-registrations.sh secrets              create missing client secrets, store them in Key Vault
#   scripts/app-registrations.sh rotate               new client secret(s), store them, restart, revoke the old ones
#   scripts/app-registrations.sh consent <tenant-id>  the admin-consent links a partner tenant's admin opens
#   scripts/app-registrations.sh portal-config        write portal/config.json (MSAL.js: the API app, its scope)
#
# A secret never reaches a file, a log line or a command line: it goes from `az ad app
# credential reset` to `az keyvault secret set` through a pipe.
set -euo pipefail

eval "$(azd env get-values)"
: "${AZURE_KEY_VAULT_NAME:?run azd provision first}"
: "${MSA_APP_ID:?run azd provision first}"
GRAPH_CREDENTIAL="${GRAPH_CREDENTIAL:-managed_identity}"

# app id -> Key Vault secret name, for the apps that have a secret.
secret_apps() {
  echo "$MSA_APP_ID msa-client-secret"
  if [ "$GRAPH_CREDENTIAL" = "client_secret" ]; then
    echo "$GRAPH_APP_ID graph-client-secret"
  fi
}

has_secret() {
  az keyvault secret show --vault-name "$AZURE_KEY_VAULT_NAME" --name "$1" --query id -o tsv >/dev/null 2>&1
}

# New credential on the app (appended: the current one keeps working), straight into Key Vault.
# Prints the new credential's keyId.
new_secret() {
  local app_id="$1" name="$2" label
  label="competency-suite $(date -u +%Y-%m-%d)"
  az ad app credential reset --id "$app_id" --append --display-name "$label" --years 1 --query password -o tsv \
    | az keyvault secret set --vault-name "$AZURE_KEY_VAULT_NAME" --name "$name" --file /dev/stdin \
        --content-type "client secret of $app_id" --query id -o none
  az ad app credential list --id "$app_id" --query "sort_by([?displayName=='$label'], &startDateTime)[-1].keyId" -o tsv
}

case "${1:-}" in
  secrets)
    secret_apps | while read -r app_id name; do
      if has_secret "$name"; then
        echo "$name: present in $AZURE_KEY_VAULT_NAME"
      else
        new_secret "$app_id" "$name" >/dev/null
        echo "$name: created and stored in $AZURE_KEY_VAULT_NAME"
      fi
    done
    ;;
  rotate)
    secret_apps | while read -r app_id name; do
      keep="$(new_secret "$app_id" "$name")"
      echo "$name: new version stored in $AZURE_KEY_VAULT_NAME"
      # Key Vault references without a version resolve the newest one; a restart makes the
      # app read it now rather than within the platform's 24-hour refresh.
      az functionapp restart --name "$AZURE_FUNCTION_NAME" --resource-group "$AZURE_RESOURCE_GROUP" -o none
      for old in $(az ad app credential list --id "$app_id" --query "[?keyId!='$keep'].keyId" -o tsv); do
        az ad app credential delete --id "$app_id" --key-id "$old"
        echo "$name: revoked credential $old"
      done
    done
    ;;
  consent)
    tenant="${2:?usage: $0 consent <partner-tenant-id>}"
    back="${CONSENT_REDIRECT_URI//:/%3A}"
    back="${back//\//%2F}"
    echo "1. Directory access (creates users; application permissions User.ReadWrite.All, Domain.Read.All):"
    echo "   https://login.microsoftonline.com/$tenant/adminconsent?client_id=$GRAPH_APP_ID&redirect_uri=$back"
    echo "2. The API (so the partner's admins can be given the Partner.Admin role):"
    echo "   https://login.microsoftonline.com/$tenant/adminconsent?client_id=$API_APP_ID&redirect_uri=$back"
    ;;
  portal-config)
    # The portal signs in with MSAL.js as the API's own single-page client (the redirect URI
    # is the portal's origin, set by infra/modules/apps.bicep) and asks for its one scope.
    : "${API_APP_ID:?run azd provision first}" "${API_APP_ID_URI:?run azd provision first}"
    printf '{\n  "signIn": "msal",\n  "clientId": "%s",\n  "authority": "https://login.microsoftonline.com/organizations",\n  "scopes": ["%s/access_as_user"]\n}\n' \
      "$API_APP_ID" "$API_APP_ID_URI" > "$(dirname "$0")/../portal/config.json"
    echo "portal/config.json: client $API_APP_ID"
    ;;
  *)
    sed -n '2,11p' "$0"
    exit 2
    ;;
esac
