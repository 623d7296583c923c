metadata description = 'The Stream Analytics job that counts first letters per window: Event Hub in, Cosmos DB out, both through the job\'s own system-assigned identity. The query and the event-ordering settings are the same files the local runtime runs.'

@description('Required. Name of the streaming job.')
param name string

@description('Optional. Location of the job.')
param location string = resourceGroup().location

@description('Optional. Tags of the job.')
param tags object = {}

@description('Optional. Streaming units as the API counts them: 3 = 1/3 SU V2, 7 = 2/3 SU V2, 10 = 1 SU V2, then multiples of 10.')
@minValue(3)
@maxValue(660)
param streamingUnits int = 3

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

var builtInRoles = loadJsonContent('../built-in-roles.json').azureRoles
var cosmosDataRoles = loadJsonContent('../built-in-roles.json').cosmosDataRoles
// One file feeds both this job and the local engine, so the deployed job orders events like the local one.
var jobSettings = loadJsonContent('../letter-counts.job-settings.json')
var inputAlias = 'namesInput'
var outputAlias = 'letterCountsOutput'

resource job 'Microsoft.StreamAnalytics/streamingjobs@2021-10-01-preview' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
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

resource eventHubNamespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = {
  name: eventHubNamespaceName
}

resource eventHub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' existing = {
  parent: eventHubNamespace
  name: eventHubName
}

resource cosmosAccount 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' existing = {
  name: cosmosAccountName
}

// Receiver on this hub only: reading is all the job does with Event Hubs.
resource jobEventHubReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventHub.id, job.id, builtInRoles['Azure Event Hubs Data Receiver'])
  scope: eventHub
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      builtInRoles['Azure Event Hubs Data Receiver']
    )
    principalId: job.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Upserting documents needs the contributor data role; scoped to the database, not the account.
resource jobCosmosContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: cosmosAccount
  name: guid(cosmosAccount.id, job.id, cosmosDataRoles['Cosmos DB Built-in Data Contributor'])
  properties: {
    principalId: job.identity.principalId
    roleDefinitionId: '${cosmosAccount.id}/sqlRoleDefinitions/${cosmosDataRoles['Cosmos DB Built-in Data Contributor']}'
    scope: '${cosmosAccount.id}/dbs/${cosmosDatabaseName}'
  }
}

@description('The name of the job.')
output name string = job.name

@description('The object id of the job\'s system-assigned identity.')
output principalId string = job.identity.principalId
