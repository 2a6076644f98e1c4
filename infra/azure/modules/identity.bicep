// User-assigned managed identity for the function app and its storage role assignments.
// Least privilege, scoped as narrowly as each client allows:
//   Functions host (AzureWebJobsStorage): Storage Blob Data Owner on the account. The host creates and leases
//     its own containers (azure-webjobs-hosts, azure-webjobs-secrets), which Functions documents as needing this role.
//   Job queue, its poison queue and the poison queue's poison queue: Storage Queue Data Contributor on each queue
//     (trigger, SubmitJob sends, the host's poison moves: a failing poison handler's message moves on once more).
//   Model store: Storage Blob Data Reader on the models container (read only).
//   Job store: Storage Blob Data Contributor on the jobs container.
//   Flex deployment: Storage Blob Data Contributor on the deployment container.
//   Telemetry: Monitoring Metrics Publisher on the Application Insights component (Entra-authenticated ingestion;
//     the role publishes all telemetry, not only metrics).
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
param applicationInsightsName string

@description('Optional Entra ID object id (user or CI principal) allowed to upload models: Storage Blob Data Contributor on the models container only.')
param modelUploaderPrincipalId string = ''

@allowed(['User', 'ServicePrincipal', 'Group'])
param modelUploaderPrincipalType string = 'User'

var roleIds = {
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  blobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

module identityStorageRoles 'storage-roles.bicep' = {
  name: 'identity-storage-roles'
  params: {
    storageAccountName: storageAccountName
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    principalKey: identity.id
    accountRoleIds: [roleIds.blobDataOwner]
    containerRoles: [
      { container: modelsContainerName, roleId: roleIds.blobDataReader }
      { container: jobsContainerName, roleId: roleIds.blobDataContributor }
      { container: deploymentContainerName, roleId: roleIds.blobDataContributor }
    ]
    queueRoles: [for queueName in queueNames: { queue: queueName, roleId: roleIds.queueDataContributor }]
  }
}

module uploaderStorageRoles 'storage-roles.bicep' = if (!empty(modelUploaderPrincipalId)) {
  name: 'model-uploader-storage-roles'
  params: {
    storageAccountName: storageAccountName
    principalId: modelUploaderPrincipalId
    principalType: modelUploaderPrincipalType
    principalKey: modelUploaderPrincipalId
    containerRoles: [{ container: modelsContainerName, roleId: roleIds.blobDataContributor }]
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identity.id, roleIds.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.monitoringMetricsPublisher)
  }
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
