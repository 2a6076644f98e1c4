// Azure Monitor alerts on the signals the Kubernetes variant's Prometheus rules watch (infra/k8s/components/
// prometheus/alerts.rules.yaml). The worker sends the app's instruments to Application Insights as pre-aggregated
// custom metrics (name = instrument name, attributes as customDimensions, each row a count/sum over one minute),
// so log search alerts over customMetrics read the same measurements; p99 latency comes from the requests the
// host records, since pre-aggregated rows carry no percentiles.

param applicationInsightsName string
param location string
param tags object = {}

@description('Action group notified when an alert fires; empty: alerts only show in the portal.')
param actionGroupId string = ''

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

var actions = empty(actionGroupId) ? {} : { actionGroups: [actionGroupId] }

var alerts = [
  {
    name: 'translation-error-ratio'
    description: 'More than 5% of translation calls fail on the service side (error or model unavailable).'
    severity: 1
    window: 'PT10M'
    query: '''
      customMetrics
      | where name == "translation.duration"
      | extend outcome = tostring(customDimensions["translation.outcome"])
      | summarize failed = sumif(valueCount, outcome in ("error", "unavailable")), total = sum(valueCount)
      | where total > 0 and todouble(failed) / total > 0.05
      '''
  }
  {
    name: 'translate-latency-p99'
    description: 'p99 of /api/translate is above 10 s.'
    severity: 2
    window: 'PT15M'
    query: '''
      requests
      | where name == "Translate" and success == true
      | summarize p99 = percentile(duration, 99)
      | where p99 > 10000
      '''
  }
  {
    name: 'requests-shed'
    description: 'Instances turn work away (HTTP 503, job chunks redelivered): the backlog bound is reached.'
    severity: 2
    window: 'PT10M'
    query: '''
      customMetrics
      | where name == "translation.duration" and tostring(customDimensions["translation.outcome"]) == "busy"
      | summarize shed = sum(valueCount)
      | where shed > 10
      '''
  }
  {
    name: 'job-backlog-age'
    description: 'Job chunk messages waited more than 15 minutes in the queue before a worker picked them up.'
    severity: 2
    window: 'PT15M'
    query: '''
      customMetrics
      | where name == "jobs.chunk.queue_time"
      | summarize oldest = max(valueMax)
      | where oldest > 900
      '''
  }
  {
    name: 'model-load-failures'
    description: 'A model fails to load; callers get 503 until it does.'
    severity: 1
    window: 'PT15M'
    query: '''
      customMetrics
      | where name == "model.load.duration" and tostring(customDimensions["translation.outcome"]) == "error"
      | summarize failures = sum(valueCount) by model = tostring(customDimensions["translation.model"])
      '''
  }
  {
    name: 'job-poison-messages'
    description: 'Job messages reached the poison queue; their jobs are marked failed.'
    severity: 2
    window: 'PT15M'
    query: '''
      customMetrics
      | where name == "jobs.poison_messages"
      | summarize poisoned = sum(valueSum)
      | where poisoned > 0
      '''
  }
]

resource rules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for alert in alerts: {
  name: '${applicationInsightsName}-${alert.name}'
  location: location
  tags: tags
  properties: {
    displayName: alert.name
    description: alert.description
    severity: alert.severity
    enabled: true
    scopes: [appInsights.id]
    evaluationFrequency: 'PT5M'
    windowSize: alert.window
    criteria: {
      allOf: [
        {
          query: alert.query
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
    autoMitigate: true
    actions: actions
  }
}]

output alertNames array = [for (alert, i) in alerts: rules[i].name]
