// Flex Consumption (FC1) plan + .NET 10 isolated function app.
// Storage is reached only through the user-assigned identity: no keys or connection strings.
// Flex rejects FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION app settings: the runtime is set in functionAppConfig.

param planName string
param functionAppName string
param location string
param tags object = {}

param storageAccountName string
param blobEndpoint string
param queueEndpoint string
param deploymentContainerName string

param identityId string
param identityClientId string

@secure()
@description('Application Insights connection string (names the component; ingestion is authenticated with the identity).')
param applicationInsightsConnectionString string

@secure()
@description('Keys of the LibreTranslate/DeepL-compatible APIs (CompatApi__Keys, \';\'-separated); empty turns them off.')
param compatApiKeys string = ''

@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('Flex Consumption accepts 40 to 1000 (40 is its lowest maximum instance count).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@minValue(0)
param alwaysReadyHttpInstances int

@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int

@description('App settings the app\'s options read (Models__*, Translation__*, Engine__*, Jobs__*).')
param appOptions object

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
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

var identitySettings = {
  // Host storage (and the queue trigger's connection) by identity.
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  AzureWebJobsStorage__queueServiceUri: queueEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // DefaultAzureCredential in the worker picks the user-assigned identity.
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  // Entra-authenticated telemetry as the user-assigned identity, read by the host and by the worker's
  // ConfigureFunctionsApplicationInsights(): the component accepts no instrumentation-key-only ingestion.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
}

// Only when set: an empty CompatApi__Keys is the app's default (compatible APIs off) anyway.
var compatSettings = empty(compatApiKeys) ? {} : { CompatApi__Keys: compatApiKeys }

var allSettings = union(identitySettings, appOptions, compatSettings)

resource functionApp 'Microsoft.Web/sites@2024-11-01' = {
  name: functionAppName
  location: location
  tags: tags
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
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReadyHttpInstances > 0
          ? [
              {
                name: 'http'
                instanceCount: alwaysReadyHttpInstances
              }
            ]
          : []
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        for setting in items(allSettings): {
          name: setting.key
          value: string(setting.value)
        }
      ]
    }
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
