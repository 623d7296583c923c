targetScope = 'subscription'

metadata description = 'namestream: timer -> Service Bus -> fan-out -> Event Hubs -> Stream Analytics -> Cosmos DB -> change feed -> SignalR + Event Grid, with managed identities, least-privilege data roles and no keys. Deployed by `azd up`.'

// ============== //
// Parameters     //
// ============== //

@description('Required. Name of the azd environment; names the resource group and seeds the resource token.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Required. Azure region of every resource (a region that offers Flex Consumption and Stream Analytics Standard V2).')
@minLength(1)
@metadata({ azd: { type: 'location' } })
param location string

@description('Optional. Object id of the developer running azd (AZURE_PRINCIPAL_ID). When set, that user gets the same data roles as the app, so `func start` can run against the deployed resources.')
param principalId string = ''

@description('Optional. Also allow http://localhost:7071 (the local Functions host) as a browser origin, for a dashboard served by `func start` against the deployed SignalR Service.')
param allowLocalDevelopmentOrigins bool = false

@description('Optional. Partitions of the names event hub (fixed after creation).')
@minValue(1)
@maxValue(32)
param eventHubPartitionCount int = 4

@description('Optional. Throughput units of the Event Hubs namespace.')
@minValue(1)
@maxValue(40)
param eventHubThroughputUnits int = 1

@description('Optional. Streaming units of the Stream Analytics job as the API counts them (3 = 1/3 SU V2, 7 = 2/3, 10 = 1 SU V2, then multiples of 10 up to 660).')
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

@description('Optional. Use Cosmos DB serverless (pay per request) rather than provisioned throughput.')
param cosmosServerless bool = true

@description('Optional. Seconds a letter-count document is kept (Cosmos DB container defaultTtl); the local runtime keeps them as long.')
@minValue(1)
param letterCountsRetentionSeconds int = 604800

@description('Optional. Deliveries of a queued message before Service Bus dead-letters it; the local runtime, the README and the dead-letter tooling use the same number.')
@minValue(1)
param maxDeliveryCount int = 10

@description('Optional. Grant the app Azure Service Bus Data Owner on the queue instead of Data Sender + Data Receiver, so the Functions scale controller can read the queue\'s message count and scale on it (target-based scaling). Off by default: least privilege; see docs/deploy.md.')
param serviceBusTargetBasedScaling bool = false

@description('Optional. Days a raw-names blob is kept after its last modification before the lifecycle rule deletes it; the default is raw-names-retention.json, which the local runtime\'s lifecycle sweeper reads too.')
@minValue(1)
param rawNamesRetentionDays int = loadJsonContent('./raw-names-retention.json').rawNamesRetentionDays

@description('Optional. SignalR Service tier.')
@allowed([
  'Free_F1'
  'Standard_S1'
  'Premium_P1'
])
param signalRSku string = 'Free_F1'

@description('Optional. Most instances the Function App scales out to.')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 40

@description('Optional. NCRONTAB schedule (with seconds) of the name generator. Every 5 s keeps the dashboard moving at a low cost.')
param generateNamesSchedule string = '*/5 * * * * *'

@description('Optional. Six-field NCRONTAB schedule of the recount that derives recent windows again from the raw-names blobs and corrects names Stream Analytics dropped as late.')
param recountSchedule string = '0 */5 * * * *'

@description('Optional. Minutes back the scheduled recount looks (windows ending between this long and 2 minutes ago). At most 28 with 30 s windows: the stored documents it compares with are the newest 60 windows (functions/recountLetterCounts.ts).')
@minValue(1)
@maxValue(28)
param recountLookbackMinutes int = 20

@description('Optional. How many names one queued message carries: a number or a range such as 4-10.')
param namesPerMessage string = '4-10'

// ============== //
// Names          //
// ============== //

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var apiServiceName = 'api'

// The names the functions bind to through %SETTING% app settings; local.settings.sample.json uses the same values.
var namesQueueName = 'newnames-queue'
var namesEventHubName = 'names'
var streamAnalyticsConsumerGroupName = 'stream-analytics'
var cosmosDatabaseName = 'namestream'
var letterCountsContainerName = 'letter-counts'
var signalRHubName = 'letters'
// Fixed in the blob output binding's path ('raw-names/{id}.json').
var rawNamesContainerName = 'raw-names'
var deploymentContainerName = 'app-package'
// Must equal the TumblingWindow size in letter-counts.asaql: the functions use it to tell where a window starts.
var letterCountWindowSeconds = '30'

var functionAppName = '${abbrs.webSitesFunctions}${apiServiceName}-${resourceToken}'
// The dashboard is served by the Function App, so its origin is the only browser origin by default.
var appOrigin = 'https://${functionAppName}.azurewebsites.net'
var allowedOrigins = allowLocalDevelopmentOrigins
  ? [
      appOrigin
      'http://localhost:7071'
      'http://127.0.0.1:7071'
    ]
  : [
      appOrigin
    ]
var grantDeveloper = !empty(principalId)
var serviceBusAppRoles = serviceBusTargetBasedScaling
  ? [
      'Azure Service Bus Data Owner'
    ]
  : [
      'Azure Service Bus Data Sender'
      'Azure Service Bus Data Receiver'
    ]

// ============== //
// Resources      //
// ============== //

resource resourceGroup 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module appIdentity './modules/identity.bicep' = {
  scope: resourceGroup
  name: 'appIdentity'
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${apiServiceName}-${resourceToken}'
    location: location
    tags: tags
  }
}

// The Stream Analytics job's own identity, created with the other identities before anything that uses it, so that
// Cosmos DB and Azure RBAC can resolve its principal when its roles are assigned.
module jobIdentity './modules/identity.bicep' = {
  scope: resourceGroup
  name: 'jobIdentity'
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${abbrs.streamAnalyticsStreamingJobs}${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring './modules/monitoring.bicep' = {
  scope: resourceGroup
  name: 'monitoring'
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    roleAssignments: [
      {
        principalId: appIdentity.outputs.principalId
        principalType: 'ServicePrincipal'
        roleName: 'Monitoring Metrics Publisher'
      }
    ]
  }
}

module storage './modules/storage.bicep' = {
  scope: resourceGroup
  name: 'storage'
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    rawNamesContainerName: rawNamesContainerName
    deploymentContainerName: deploymentContainerName
    rawNamesRetentionDays: rawNamesRetentionDays
    // Blob Data Owner on the account, not Contributor on containers: the host creates its own containers
    // (azure-webjobs-hosts, azure-webjobs-secrets) and the timer takes blob leases; the raw-names output and the
    // deployment package are covered by the same role.
    roleAssignments: concat(
      [
        {
          principalId: appIdentity.outputs.principalId
          principalType: 'ServicePrincipal'
          roleName: 'Storage Blob Data Owner'
        }
      ],
      grantDeveloper
        ? [
            {
              principalId: principalId
              roleName: 'Storage Blob Data Owner'
            }
          ]
        : []
    )
  }
}

module serviceBus './modules/serviceBus.bicep' = {
  scope: resourceGroup
  name: 'serviceBus'
  params: {
    name: '${abbrs.serviceBusNamespaces}${resourceToken}'
    location: location
    tags: tags
    queueName: namesQueueName
    maxDeliveryCount: maxDeliveryCount
    // Sender (the timer's output) and Receiver (the fan-out's trigger) on this queue only; or, on request, Data
    // Owner on the queue so the scale controller can read its message count (see serviceBusTargetBasedScaling).
    queueRoleAssignments: concat(
      map(serviceBusAppRoles, roleName => {
        principalId: appIdentity.outputs.principalId
        principalType: 'ServicePrincipal'
        roleName: roleName
      }),
      grantDeveloper
        ? [
            {
              principalId: principalId
              roleName: 'Azure Service Bus Data Sender'
            }
            {
              principalId: principalId
              roleName: 'Azure Service Bus Data Receiver'
            }
          ]
        : []
    )
  }
}

module eventHubs './modules/eventHubs.bicep' = {
  scope: resourceGroup
  name: 'eventHubs'
  params: {
    name: '${abbrs.eventHubNamespaces}${resourceToken}'
    location: location
    tags: tags
    eventHubName: namesEventHubName
    consumerGroupName: streamAnalyticsConsumerGroupName
    partitionCount: eventHubPartitionCount
    throughputUnits: eventHubThroughputUnits
    eventHubRoleAssignments: concat(
      [
        {
          principalId: appIdentity.outputs.principalId
          principalType: 'ServicePrincipal'
          roleName: 'Azure Event Hubs Data Sender'
        }
        // The Stream Analytics input: receiving is all the job does with Event Hubs.
        {
          principalId: jobIdentity.outputs.principalId
          principalType: 'ServicePrincipal'
          roleName: 'Azure Event Hubs Data Receiver'
        }
      ],
      grantDeveloper
        ? [
            {
              principalId: principalId
              roleName: 'Azure Event Hubs Data Sender'
            }
          ]
        : []
    )
  }
}

module cosmos './modules/cosmos.bicep' = {
  scope: resourceGroup
  name: 'cosmos'
  params: {
    name: '${abbrs.documentDBDatabaseAccounts}${resourceToken}'
    location: location
    tags: tags
    databaseName: cosmosDatabaseName
    letterCountsContainerName: letterCountsContainerName
    letterCountsRetentionSeconds: letterCountsRetentionSeconds
    serverless: cosmosServerless
    // Contributor, not Reader: the change-feed trigger writes its checkpoints to the leases container, and the job
    // upserts letter counts. The job's grant is on the account, as the Stream Analytics managed-identity doc for
    // the Cosmos DB output assigns it (scope "/"); the app's is on the database.
    sqlRoleAssignments: concat(
      [
        {
          principalId: appIdentity.outputs.principalId
          roleName: 'Cosmos DB Built-in Data Contributor'
          scope: 'database'
        }
        {
          principalId: jobIdentity.outputs.principalId
          roleName: 'Cosmos DB Built-in Data Contributor'
          scope: 'account'
        }
      ],
      grantDeveloper
        ? [
            {
              principalId: principalId
              roleName: 'Cosmos DB Built-in Data Contributor'
              scope: 'database'
            }
          ]
        : []
    )
  }
}

module signalR './modules/signalR.bicep' = {
  scope: resourceGroup
  name: 'signalR'
  params: {
    name: '${abbrs.signalRServiceSignalR}-${resourceToken}'
    location: location
    tags: tags
    skuName: signalRSku
    allowedOrigins: allowedOrigins
    roleAssignments: concat(
      [
        {
          principalId: appIdentity.outputs.principalId
          principalType: 'ServicePrincipal'
          roleName: 'SignalR Service Owner'
        }
      ],
      grantDeveloper
        ? [
            {
              principalId: principalId
              roleName: 'SignalR Service Owner'
            }
          ]
        : []
    )
  }
}

module eventGrid './modules/eventGrid.bicep' = {
  scope: resourceGroup
  name: 'eventGrid'
  params: {
    name: '${abbrs.eventGridTopics}${resourceToken}'
    location: location
    tags: tags
    roleAssignments: concat(
      [
        {
          principalId: appIdentity.outputs.principalId
          principalType: 'ServicePrincipal'
          roleName: 'EventGrid Data Sender'
        }
      ],
      grantDeveloper
        ? [
            {
              principalId: principalId
              roleName: 'EventGrid Data Sender'
            }
          ]
        : []
    )
  }
}

module streamAnalytics './modules/streamAnalytics.bicep' = {
  scope: resourceGroup
  name: 'streamAnalytics'
  params: {
    name: '${abbrs.streamAnalyticsStreamingJobs}${resourceToken}'
    location: location
    tags: tags
    streamingUnits: streamingUnits
    identityResourceId: jobIdentity.outputs.resourceId
    eventHubNamespaceName: eventHubs.outputs.name
    eventHubName: eventHubs.outputs.eventHubName
    consumerGroupName: eventHubs.outputs.consumerGroupName
    cosmosAccountName: cosmos.outputs.name
    cosmosDatabaseName: cosmos.outputs.databaseName
    letterCountsContainerName: cosmos.outputs.letterCountsContainerName
  }
}

module functionApp './modules/functionApp.bicep' = {
  scope: resourceGroup
  name: 'functionApp'
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    serviceName: apiServiceName
    identityResourceId: appIdentity.outputs.resourceId
    identityClientId: appIdentity.outputs.clientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    allowedOrigins: allowedOrigins
    maximumInstanceCount: functionMaximumInstanceCount
    // Identity-based connections: <connection>__<endpoint> names the resource, __credential and __clientId pick
    // the user-assigned identity. No connection string or key exists anywhere.
    appSettings: {
      ServiceBusConnection__fullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
      ServiceBusConnection__credential: 'managedidentity'
      ServiceBusConnection__clientId: appIdentity.outputs.clientId
      EventHubConnection__fullyQualifiedNamespace: eventHubs.outputs.fullyQualifiedNamespace
      EventHubConnection__credential: 'managedidentity'
      EventHubConnection__clientId: appIdentity.outputs.clientId
      CosmosDBConnection__accountEndpoint: cosmos.outputs.accountEndpoint
      CosmosDBConnection__credential: 'managedidentity'
      CosmosDBConnection__clientId: appIdentity.outputs.clientId
      AzureSignalRConnectionString__serviceUri: signalR.outputs.serviceUri
      AzureSignalRConnectionString__credential: 'managedidentity'
      AzureSignalRConnectionString__clientId: appIdentity.outputs.clientId
      EventGridConnection__topicEndpointUri: eventGrid.outputs.endpoint
      EventGridConnection__credential: 'managedidentity'
      EventGridConnection__clientId: appIdentity.outputs.clientId
      GENERATE_NAMES_SCHEDULE: generateNamesSchedule
      NAMES_PER_MESSAGE: namesPerMessage
      NAMES_SEED: ''
      NAMES_QUEUE: namesQueueName
      NAMES_EVENT_HUB: namesEventHubName
      COSMOS_DATABASE: cosmosDatabaseName
      LETTER_COUNTS_CONTAINER: letterCountsContainerName
      SIGNALR_HUB: signalRHubName
      LETTER_COUNT_WINDOW_SECONDS: letterCountWindowSeconds
      RECOUNT_SCHEDULE: recountSchedule
      RECOUNT_LOOKBACK_MINUTES: string(recountLookbackMinutes)
    }
  }
}

// ============== //
// Outputs        //
// ============== //

@description('The region everything was deployed to.')
output AZURE_LOCATION string = location

@description('The tenant the resources belong to.')
output AZURE_TENANT_ID string = tenant().tenantId

@description('The resource group azd deployed into.')
output AZURE_RESOURCE_GROUP string = resourceGroup.name

@description('The Function App azd deploys the code to.')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name

@description('The dashboard URL.')
output DASHBOARD_URL string = 'https://${functionApp.outputs.defaultHostName}/api/dashboard/'

@description('The Stream Analytics job the post-provision hook starts.')
output AZURE_STREAM_ANALYTICS_JOB_NAME string = streamAnalytics.outputs.name

@description('Blob endpoint of the storage account, for a local.settings.json against Azure.')
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint

@description('Service Bus namespace host name, for a local.settings.json against Azure.')
output SERVICE_BUS_FULLY_QUALIFIED_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace

@description('Event Hubs namespace host name, for a local.settings.json against Azure.')
output EVENT_HUBS_FULLY_QUALIFIED_NAMESPACE string = eventHubs.outputs.fullyQualifiedNamespace

@description('Cosmos DB account endpoint, for a local.settings.json against Azure.')
output COSMOS_ACCOUNT_ENDPOINT string = cosmos.outputs.accountEndpoint

@description('SignalR Service URI, for a local.settings.json against Azure.')
output SIGNALR_SERVICE_URI string = signalR.outputs.serviceUri

@description('Event Grid topic endpoint, for a local.settings.json against Azure.')
output EVENT_GRID_TOPIC_ENDPOINT string = eventGrid.outputs.endpoint

@description('The queue name (NAMES_QUEUE).')
output NAMES_QUEUE string = namesQueueName

@description('The event hub name (NAMES_EVENT_HUB).')
output NAMES_EVENT_HUB string = namesEventHubName

@description('The database name (COSMOS_DATABASE).')
output COSMOS_DATABASE string = cosmosDatabaseName

@description('The letter-counts container name (LETTER_COUNTS_CONTAINER).')
output LETTER_COUNTS_CONTAINER string = letterCountsContainerName

@description('The SignalR hub name (SIGNALR_HUB).')
output SIGNALR_HUB string = signalRHubName
