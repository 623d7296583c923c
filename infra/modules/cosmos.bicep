metadata description = 'Cosmos DB for NoSQL: the letter-counts container Stream Analytics writes and the change-feed function reads, and the leases container that function keeps its checkpoints in. Key auth is off; access is data-plane RBAC.'

import { cosmosRoleAssignmentType } from './types.bicep'

@description('Required. Name of the Cosmos DB account.')
param name string

@description('Optional. Location of the account.')
param location string = resourceGroup().location

@description('Optional. Tags of the account.')
param tags object = {}

@description('Required. Name of the database.')
param databaseName string

@description('Required. Name of the container of per-window letter counts.')
param letterCountsContainerName string

@description('Optional. Seconds a letter-count document lives after its last write (container defaultTtl). The dashboard backfill reads at most the last 60 windows (30 minutes).')
@minValue(1)
param letterCountsRetentionSeconds int = 86400

@description('Optional. Serverless bills per request unit consumed, which suits a demo-sized stream; provisioned throughput suits a steady high rate.')
param serverless bool = true

@description('Optional. Throughput (RU/s) of the database when serverless is false.')
@minValue(400)
param provisionedThroughput int = 400

@description('Optional. Data-plane roles (Cosmos DB built-in roles) to grant, on the account or on the database.')
param sqlRoleAssignments cosmosRoleAssignmentType[] = []

var cosmosDataRoles = loadJsonContent('../built-in-roles.json').cosmosDataRoles

resource account 'Microsoft.DocumentDB/databaseAccounts@2026-03-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    capabilities: serverless
      ? [
          {
            name: 'EnableServerless'
          }
        ]
      : []
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2026-03-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
    options: serverless ? {} : { throughput: provisionedThroughput }
  }
}

resource letterCountsContainer 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2026-03-15' = {
  parent: database
  name: letterCountsContainerName
  properties: {
    resource: {
      id: letterCountsContainerName
      // Stream Analytics writes one document per (window, letter); all letters of a window share a partition.
      partitionKey: {
        paths: [
          '/windowEnd'
        ]
        kind: 'Hash'
      }
      defaultTtl: letterCountsRetentionSeconds
    }
  }
}

// With Entra ID auth the change-feed trigger may not create this container itself, so it must exist up front.
resource leasesContainer 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2026-03-15' = {
  parent: database
  name: 'leases'
  properties: {
    resource: {
      id: 'leases'
      partitionKey: {
        paths: [
          '/id'
        ]
        kind: 'Hash'
      }
    }
  }
}

// The Cosmos DB resource provider takes an exclusive lock on the account for each role assignment and for each
// container write, and fails an operation that runs beside another on the same account: one at a time
// (batchSize 1), and only once both containers exist.
// The function app's grant is scoped to the database, the tightest scope that works: the change-feed processor
// reads database metadata, which a container-scoped assignment does not allow (azure-cosmos-dotnet-v3 issue 3638).
@batchSize(1)
resource sqlRoleAssignmentsResource 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2026-03-15' = [
  for assignment in sqlRoleAssignments: {
    parent: account
    name: guid(account.id, assignment.scope, assignment.principalId, cosmosDataRoles[assignment.roleName])
    properties: {
      principalId: assignment.principalId
      roleDefinitionId: '${account.id}/sqlRoleDefinitions/${cosmosDataRoles[assignment.roleName]}'
      scope: assignment.scope == 'account' ? account.id : '${account.id}/dbs/${database.name}'
    }
    dependsOn: [
      letterCountsContainer
      leasesContainer
    ]
  }
]

@description('The name of the account.')
output name string = account.name

@description('The account endpoint the identity-based connection uses, e.g. https://<name>.documents.azure.com:443/.')
output accountEndpoint string = account.properties.documentEndpoint

@description('The name of the database.')
output databaseName string = database.name

@description('The name of the letter-counts container.')
output letterCountsContainerName string = letterCountsContainer.name

@description('The name of the leases container.')
output leasesContainerName string = leasesContainer.name
