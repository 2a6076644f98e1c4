// ServerlessInference on Azure Functions Flex Consumption.
// Deploy: see infra/README.md (scripts/deploy-azure.sh).
targetScope = 'resourceGroup'

@description('Short name used to derive resource names.')
@minLength(2)
@maxLength(12)
param baseName string = 'slinfer'

param location string = resourceGroup().location
param tags object = {}

@description('Memory per instance in MB. 2048 fits the embedded model or one opus-mt-size model (worker peak 1.1 GB, infra/README.md "Memory"); 4096 for two opus-mt-size models loaded at once.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Upper bound for scale-out. Flex Consumption accepts 40 to 1000; 40 is its lowest maximum instance count.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Concurrent HTTP requests one instance takes before Flex Consumption adds another. The scheduler merges concurrent requests into engine batches, so more requests per instance raise its throughput up to the point where batches are full; chosen by bench/load.sh (infra/README.md, "Concurrency settings").')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('Always-ready instances for the HTTP trigger group (0 = scale to zero; 1+ cuts cold starts but is billed).')
@minValue(0)
@maxValue(20)
param alwaysReadyHttpInstances int = 0

param modelsContainerName string = 'models'
param jobsContainerName string = 'jobs'
param deploymentContainerName string = 'app-package'

@description('Default model; its blobs live under "<name>/" in the models container.')
param defaultModel string = 'marian-tiny-en-zh'

@description('Optional object id of the user or CI principal that uploads models (deploy script passes the signed-in user).')
param modelUploaderPrincipalId string = ''

@allowed(['User', 'ServicePrincipal', 'Group'])
param modelUploaderPrincipalType string = 'User'

@minValue(1)
param modelsMaxLoaded int = 2
@minValue(1)
param translationMaxTexts int = 64
@minValue(1)
param translationMaxCharacters int = 20000
@description('ONNX Runtime intra-op threads (0 = ONNX Runtime default).')
@minValue(0)
param engineIntraOpThreads int = 0
@minValue(1)
param jobsChunkSize int = 32

@description('Action group (resource id) the monitoring alerts notify; empty: they only show in the portal.')
param alertActionGroupId string = ''

@secure()
@description('Keys of the LibreTranslate/DeepL-compatible APIs (docs/api.md), \';\'-separated, each 16-256 printable ASCII characters; empty (the default) leaves those APIs off. Pass at deployment (az deployment group create ... compatApiKeys=...), never in a committed .bicepparam.')
param compatApiKeys string = ''

var suffix = uniqueString(resourceGroup().id, baseName)
var storageAccountName = take('st${toLower(baseName)}${suffix}', 24)
var functionAppName = 'func-${baseName}-${suffix}'
// The app's job queue is a fixed name (JobsOptions.Queue), not a parameter: the queue triggers name it as a constant,
// so a different name here would leave them listening on a queue nothing is sent to. FunctionApp.Tests checks the match.
var jobsQueueName = 'translation-jobs'
// The queue trigger moves messages that keep failing to "<queue>-poison". The poison queue has a trigger too, and when
// that one keeps failing (storage down while it records the failure) the host moves its message on to
// "<queue>-poison-poison". Nothing reads it; it keeps those messages for inspection. Without the queue and a role on
// it the host's move is refused (the identity may not create queues), and the message stays on the poison queue,
// the host failing the move again on every dequeue.
var queueNames = [jobsQueueName, '${jobsQueueName}-poison', '${jobsQueueName}-poison-poison']

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: storageAccountName
    location: location
    tags: tags
    modelsContainerName: modelsContainerName
    jobsContainerName: jobsContainerName
    deploymentContainerName: deploymentContainerName
    queueNames: queueNames
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-${baseName}-${suffix}'
    applicationInsightsName: 'appi-${baseName}-${suffix}'
    location: location
    tags: tags
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
    actionGroupId: alertActionGroupId
  }
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    identityName: 'id-${baseName}-${suffix}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    modelsContainerName: modelsContainerName
    jobsContainerName: jobsContainerName
    deploymentContainerName: deploymentContainerName
    queueNames: queueNames
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    modelUploaderPrincipalId: modelUploaderPrincipalId
    modelUploaderPrincipalType: modelUploaderPrincipalType
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    planName: 'plan-${baseName}-${suffix}'
    functionAppName: functionAppName
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    deploymentContainerName: deploymentContainerName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    compatApiKeys: compatApiKeys
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    appOptions: {
      Models__Connection: 'AzureWebJobsStorage'
      Models__Container: modelsContainerName
      Models__DefaultModel: defaultModel
      Models__Catalog__0__Name: defaultModel
      Models__Catalog__0__Prefix: '${defaultModel}/'
      // Flex instances have a writable, instance-local /tmp.
      Models__CacheDirectory: '/tmp/models'
      Models__MaxLoaded: modelsMaxLoaded
      Translation__MaxTexts: translationMaxTexts
      Translation__MaxCharacters: translationMaxCharacters
      Engine__IntraOpThreads: engineIntraOpThreads
      Jobs__Container: jobsContainerName
      Jobs__ChunkSize: jobsChunkSize
    }
  }
}

output functionAppName string = functionApp.outputs.name
output functionAppHostName string = functionApp.outputs.defaultHostName
output storageAccountName string = storage.outputs.name
output modelsContainerName string = modelsContainerName
output deploymentContainerName string = deploymentContainerName
