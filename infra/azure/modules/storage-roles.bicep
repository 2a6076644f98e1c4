// Storage data roles of one principal, each granted at the scope listed: the account, a container or a queue.
// Assignment names are guid(scope id, principalKey, role id): stable across redeployments, so an existing
// assignment is updated in place instead of colliding with a new name.

type containerRole = {
  container: string
  roleId: string
}

type queueRole = {
  queue: string
  roleId: string
}

param storageAccountName string
param principalId string

@allowed(['User', 'ServicePrincipal', 'Group'])
param principalType string

@description('Stable value naming this principal in the assignment names (a managed identity\'s resource id, or a principal\'s object id).')
param principalKey string

@description('Role definition ids granted on the storage account.')
param accountRoleIds string[] = []

param containerRoles containerRole[] = []
param queueRoles queueRole[] = []

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'
  }

  resource queueService 'queueServices' existing = {
    name: 'default'
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' existing = [
  for grant in containerRoles: {
    parent: storage::blobService
    name: grant.container
  }
]

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' existing = [
  for grant in queueRoles: {
    parent: storage::queueService
    name: grant.queue
  }
]

resource accountAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in accountRoleIds: {
    name: guid(storage.id, principalKey, roleId)
    scope: storage
    properties: {
      principalId: principalId
      principalType: principalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    }
  }
]

resource containerAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (grant, i) in containerRoles: {
    name: guid(containers[i].id, principalKey, grant.roleId)
    scope: containers[i]
    properties: {
      principalId: principalId
      principalType: principalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', grant.roleId)
    }
  }
]

resource queueAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (grant, i) in queueRoles: {
    name: guid(queues[i].id, principalKey, grant.roleId)
    scope: queues[i]
    properties: {
      principalId: principalId
      principalType: principalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', grant.roleId)
    }
  }
]
