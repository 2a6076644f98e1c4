// Log Analytics workspace + workspace-based Application Insights.
// Local authentication (the instrumentation key alone) is disabled: ingestion needs an Entra token from an identity
// with Monitoring Metrics Publisher on the component (identity.bicep grants it to the app's identity; the function
// app's APPLICATIONINSIGHTS_AUTHENTICATION_STRING makes the host and the worker's SDK send one).

param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object = {}

@description('Days Log Analytics keeps data.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

output applicationInsightsName string = appInsights.name
// Not a credential (local authentication is disabled): it names the component and its ingestion endpoint.
@secure()
output connectionString string = appInsights.properties.ConnectionString
