metadata description = 'The Stream Analytics job that counts first letters per window: Event Hub in, Cosmos DB out, both through a user-assigned identity created before the job and granted its roles by the Event Hubs and Cosmos DB modules. The query and the event-ordering settings are the same files the local runtime runs.'

@description('Required. Name of the streaming job.')
param name string

@description('Optional. Location of the job.')
param location string = resourceGroup().location

@description('Optional. Tags of the job.')
param tags object = {}

@description('Optional. Streaming units as the Standard V2 API counts them: 3 = 1/3 SU V2, 7 = 2/3 SU V2, 10 = 1 SU V2, then whole SU V2 in tens up to 660 = 66 SU V2. Stream Analytics rejects any other value.')
@allowed([
  3
  7
  10
  20
  30
  40
  50
  60
  70
  80
  90
  100
  110
  120
  130
  140
  150
  160
  170
  180
  190
  200
  210
  220
  230
  240
  250
  260
  270
  280
  290
  300
  310
  320
  330
  340
  350
  360
  370
  380
  390
  400
  410
  420
  430
  440
  450
  460
  470
  480
  490
  500
  510
  520
  530
  540
  550
  560
  570
  580
  590
  600
  610
  620
  630
  640
  650
  660
])
param streamingUnits int = 3

@description('Required. Resource id of the user-assigned identity the job reads and writes with.')
param identityResourceId string

@description('Required. Name of the Event Hubs namespace the job reads from.')
param eventHubNamespaceName string

@description('Required. Name of the event hub the job reads from.')
param eventHubName string

@description('Required. Consumer group reserved for the job.')
param consumerGroupName string

@description('Required. Name of the Cosmos DB account the job writes to.')
param cosmosAccountName string

@description('Required. Name of the Cosmos DB database.')
param cosmosDatabaseName string

@description('Required. Name of the container the job upserts letter counts into.')
param letterCountsContainerName string

// One file feeds both this job and the local engine, so the deployed job orders events like the local one.
var jobSettings = loadJsonContent('../letter-counts.job-settings.json')
var inputAlias = 'namesInput'
var outputAlias = 'letterCountsOutput'

// 2021-10-01-preview, not the newer-dated 2020-03-01: only the preview API has authenticationMode on the Cosmos DB
// output (the compiler rejects it with 2020-03-01, BCP037), and a keyed output would need the account key.
#disable-next-line use-recent-api-versions
resource job 'Microsoft.StreamAnalytics/streamingjobs@2021-10-01-preview' = {
  name: name
  location: location
  tags: tags
  // A user-assigned identity exists (and is replicated) before the job and its role assignments are created, so
  // Cosmos DB finds the principal when its data role is assigned; a system-assigned one would be brand new then.
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    sku: {
      name: 'StandardV2'
    }
    jobType: 'Cloud'
    compatibilityLevel: jobSettings.compatibilityLevel
    dataLocale: jobSettings.dataLocale
    contentStoragePolicy: 'SystemAccount'
    eventsLateArrivalMaxDelayInSeconds: jobSettings.eventsLateArrivalMaxDelayInSeconds
    eventsOutOfOrderMaxDelayInSeconds: jobSettings.eventsOutOfOrderMaxDelayInSeconds
    eventsOutOfOrderPolicy: jobSettings.eventsOutOfOrderPolicy
    outputErrorPolicy: jobSettings.outputErrorPolicy
    inputs: [
      {
        name: inputAlias
        properties: {
          type: 'Stream'
          datasource: {
            type: 'Microsoft.ServiceBus/EventHub'
            properties: {
              authenticationMode: 'Msi'
              serviceBusNamespace: eventHubNamespaceName
              eventHubName: eventHubName
              consumerGroupName: consumerGroupName
            }
          }
          serialization: {
            type: 'Json'
            properties: {
              encoding: 'UTF8'
            }
          }
        }
      }
    ]
    outputs: [
      {
        name: outputAlias
        properties: {
          datasource: {
            type: 'Microsoft.Storage/DocumentDB'
            properties: {
              authenticationMode: 'Msi'
              accountId: cosmosAccountName
              database: cosmosDatabaseName
              collectionNamePattern: letterCountsContainerName
              // The query projects a deterministic id per (window, letter): a replayed window upserts, never duplicates.
              documentId: 'id'
            }
          }
        }
      }
    ]
    transformation: {
      name: 'letterCounts'
      properties: {
        streamingUnits: streamingUnits
        query: loadTextContent('../letter-counts.asaql')
      }
    }
  }
}

// No name is lost silently: the job's own metrics count every event its event-ordering policy drops
// (letter-counts.job-settings.json: Drop) and every runtime error, and one alert rule per metric fires on the first
// one. Metric names are those of Microsoft.StreamAnalytics/streamingjobs in Azure Monitor's supported-metrics list
// (https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-streamanalytics-streamingjobs-metrics).
// The names such events carried are counted back by the recountLetterCounts function from the raw-names blobs.
var lossMetrics = [
  {
    metricName: 'LateInputEvents'
    description: 'Late input events: names that reached the Event Hub more than the late-arrival tolerance after they were generated (a backlog, an output outage, a dead-letter resubmit) and were dropped from the live counts. recountLetterCounts counts them back within RECOUNT_LOOKBACK_MINUTES (20; raise it to at most 28 for a longer outage).'
  }
  {
    metricName: 'EarlyInputEvents'
    description: 'Early input events: names generated more than 5 minutes after their arrival (a clock ahead of the broker), dropped from the live counts.'
  }
  {
    metricName: 'DroppedOrAdjustedEvents'
    description: 'Out-of-order events: names behind the watermark, dropped from the live counts; recountLetterCounts counts them back.'
  }
  {
    metricName: 'Errors'
    description: 'Runtime errors of the letter-count job.'
  }
]

resource lossAlerts 'Microsoft.Insights/metricAlerts@2026-01-01' = [
  for metric in lossMetrics: {
    name: '${name}-${metric.metricName}'
    location: 'global'
    tags: tags
    properties: {
      description: metric.description
      severity: 2
      enabled: true
      scopes: [
        job.id
      ]
      evaluationFrequency: 'PT5M'
      windowSize: 'PT5M'
      autoMitigate: true
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: metric.metricName
            metricNamespace: 'Microsoft.StreamAnalytics/streamingjobs'
            metricName: metric.metricName
            operator: 'GreaterThan'
            threshold: 0
            timeAggregation: 'Total'
          }
        ]
      }
      // No action group: fired alerts show in Azure Monitor; route them (mail, Teams, a pager) with an alert
      // processing rule on the resource group, which needs no change here.
      actions: []
    }
  }
]

@description('The name of the job.')
output name string = job.name

@description('The names of the alert rules on events the job leaves out.')
output lossAlertNames string[] = [for (metric, index) in lossMetrics: lossAlerts[index].name]
