// User-assigned managed identity for the function app and its storage role assignments.
// Least privilege, scoped as narrowly as each client allows:
//   Functions host (AzureWebJobsStorage): Storage Blob Data Owner on the account. The host creates and leases
//     its own containers (azure-webjobs-hosts, azure-webjobs-secrets), which Functions documents as needing this role.
//   Job queue + poison queue: Storage Queue Data Contributor on each queue (trigger, poison moves, SubmitJob sends).
//   Model store: Storage Blob Data Reader on the models container (read only).
//   Job store: Storage Blob Data Contributor on the jobs container.
//   Flex deployment: Storage Blob Data Contributor on the deployment container.
// The account-level host role already covers the three container roles; they are kept explicit so the app's
// own needs stay visible and survive if host storage is ever moved to its own account.

param identityName string
param location string
param tags object = {}
param storageAccountName string
param modelsContainerName string
param jobsContainerName string
param deploymentContainerName string
param queueNames array

@description('Optional Entra ID object id (user or CI principal) allowed to upload models: Storage Blob Data Contributor on the models container only.')
param modelUploaderPrincipalId string = ''

@allowed(['User', 'ServicePrincipal', 'Group'])
param modelUploaderPrincipalType string = 'User'

var roleIds = {
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  blobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource modelsContainer 'containers' existing = {
      name: modelsContainerName
    }

    resource jobsContainer 'containers' existing = {
      name: jobsContainerName
    }

    resource deploymentContainer 'containers' existing = {
      name: deploymentContainerName
    }
  }

  resource queueService 'queueServices' existing = {
    name: 'default'
  }
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' existing = [
  for queueName in queueNames: {
    parent: storage::queueService
    name: queueName
  }
]

resource hostBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roleIds.blobDataOwner)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.blobDataOwner)
  }
}

resource queueData 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (queueName, i) in queueNames: {
    name: guid(queues[i].id, identity.id, roleIds.queueDataContributor)
    scope: queues[i]
    properties: {
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.queueDataContributor)
    }
  }
]

resource modelsRead 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::blobService::modelsContainer.id, identity.id, roleIds.blobDataReader)
  scope: storage::blobService::modelsContainer
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.blobDataReader)
  }
}

resource jobsWrite 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::blobService::jobsContainer.id, identity.id, roleIds.blobDataContributor)
  scope: storage::blobService::jobsContainer
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.blobDataContributor)
  }
}

resource deploymentWrite 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::blobService::deploymentContainer.id, identity.id, roleIds.blobDataContributor)
  scope: storage::blobService::deploymentContainer
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.blobDataContributor)
  }
}

resource modelsUpload 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(modelUploaderPrincipalId)) {
  name: guid(storage::blobService::modelsContainer.id, modelUploaderPrincipalId, roleIds.blobDataContributor)
  scope: storage::blobService::modelsContainer
  properties: {
    principalId: modelUploaderPrincipalId
    principalType: modelUploaderPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.blobDataContributor)
  }
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
