metadata description = 'Event Hubs namespace, the names hub the fan-out function sends to, and the consumer group the Stream Analytics job reads with. Local (SAS) auth is off.'

import { roleAssignmentType } from './types.bicep'

@description('Required. Name of the Event Hubs namespace.')
param name string

@description('Optional. Location of the namespace.')
param location string = resourceGroup().location

@description('Optional. Tags of the namespace.')
param tags object = {}

@description('Required. Name of the event hub.')
param eventHubName string

@description('Required. Consumer group reserved for the Stream Analytics job, so no other reader competes for its receivers.')
param consumerGroupName string

@description('Optional. Partitions of the hub. Fixed after creation on the Standard tier; Stream Analytics reads partitions in parallel.')
@minValue(1)
@maxValue(32)
param partitionCount int = 4

@description('Optional. Throughput units of the namespace (1 TU = 1 MB/s or 1,000 events/s in).')
@minValue(1)
@maxValue(40)
param throughputUnits int = 1

@description('Optional. Days events are retained.')
@minValue(1)
@maxValue(7)
param messageRetentionInDays int = 1

@description('Optional. Roles to grant on the event hub (not the namespace).')
param eventHubRoleAssignments roleAssignmentType[] = []

var builtInRoles = loadJsonContent('../built-in-roles.json').azureRoles

resource namespace 'Microsoft.EventHub/namespaces@2026-01-01' = {
  name: name
  location: location
  tags: tags
  // Standard, not Basic: Basic allows only the $Default consumer group.
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: throughputUnits
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    isAutoInflateEnabled: false
  }
}

resource eventHub 'Microsoft.EventHub/namespaces/eventhubs@2026-01-01' = {
  parent: namespace
  name: eventHubName
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: messageRetentionInDays
  }
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2026-01-01' = {
  parent: eventHub
  name: consumerGroupName
}

resource eventHubRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for assignment in eventHubRoleAssignments: {
    name: guid(eventHub.id, assignment.principalId, builtInRoles[assignment.roleName])
    scope: eventHub
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles[assignment.roleName])
      principalId: assignment.principalId
      principalType: assignment.?principalType
    }
  }
]

@description('The name of the namespace.')
output name string = namespace.name

@description('The namespace host name the identity-based connection uses, taken from the namespace\'s own endpoint so it is right in every cloud.')
output fullyQualifiedNamespace string = parseUri(namespace.properties.serviceBusEndpoint).host

@description('The name of the event hub.')
output eventHubName string = eventHub.name

@description('The name of the Stream Analytics consumer group.')
output consumerGroupName string = consumerGroup.name
