#!/usr/bin/env bash
# Deploy to Azure Functions (Flex Consumption). Needs: az (logged in), dotnet 10 SDK, zip.
#   scripts/deploy-azure.sh <resource-group> [location]
# 1. infra/azure/main.bicep with main.bicepparam  2. publish + zip deploy  3. upload the model folder.
set -euo pipefail
cd "$(dirname "$0")/.."

rg=${1:?usage: scripts/deploy-azure.sh <resource-group> [location]}
location=${2:-eastus}
model=marian-tiny-en-zh
if [[ -z $(ls -A "models/$model" 2>/dev/null) ]]; then echo "models/$model/ is missing or empty" >&2; exit 1; fi

az group create --name "$rg" --location "$location" --output none
# The signed-in user gets write access to the models container only, to upload the model below.
me=$(az ad signed-in-user show --query id --output tsv)
az deployment group create --resource-group "$rg" --name serverless-inference \
  --template-file infra/azure/main.bicep --parameters infra/azure/main.bicepparam \
  --parameters modelUploaderPrincipalId="$me" --output none
out() { az deployment group show -g "$rg" -n serverless-inference --query "properties.outputs.$1.value" -o tsv; }
app=$(out functionAppName)
storage=$(out storageAccountName)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet publish FunctionApp/FunctionApp.csproj -c Release -r linux-x64 --self-contained false -o "$work/app"
(cd "$work/app" && zip -qr "$work/app.zip" .)
az functionapp deployment source config-zip --resource-group "$rg" --name "$app" --src "$work/app.zip"

# Identity-based upload (the account has shared-key access disabled); role assignments can take a minute.
az storage blob upload-batch --auth-mode login --account-name "$storage" \
  --destination models --destination-path "$model" --source "models/$model" --overwrite

echo "Deployed https://$(out functionAppHostName)/api/health"
