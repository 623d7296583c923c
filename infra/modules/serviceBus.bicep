metadata description = 'Service Bus namespace and the queue the timer function fills and the fan-out function drains. Local (SAS) auth is off.'

import { roleAssignmentType } from './types.bicep'

@description('Required. Name of the Service Bus namespace.')
param name string

@description('Optional. Location of the namespace.')
param location string = resourceGroup().location

@description('Optional. Tags of the namespace.')
param tags object = {}

@description('Required. Name of the queue.')
param queueName string

@description('Required. Deliveries before a message is dead-lettered (the local runtime\'s queue uses the same number: see local/runtime/localInfrastructure.ts).')
@minValue(1)
param maxDeliveryCount int

@description('Optional. Peek-lock duration (ISO 8601). The Functions host renews the lock while a handler runs.')
param lockDuration string = 'PT1M'

@description('Optional. Time a message may wait unconsumed before it expires to the dead-letter queue (ISO 8601).')
param defaultMessageTimeToLive string = 'P1D'

@description('Optional. Roles to grant on the queue (not the namespace): a sender and a receiver of this queue need nothing else.')
param queueRoleAssignments roleAssignmentType[] = []

var builtInRoles = loadJsonContent('../built-in-roles.json').azureRoles

resource namespace 'Microsoft.ServiceBus/namespaces@2026-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2026-01-01' = {
  parent: namespace
  name: queueName
  properties: {
    maxDeliveryCount: maxDeliveryCount
    lockDuration: lockDuration
    defaultMessageTimeToLive: defaultMessageTimeToLive
    deadLetteringOnMessageExpiration: true
    requiresSession: false
    enablePartitioning: false
  }
}

resource queueRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for assignment in queueRoleAssignments: {
    name: guid(queue.id, assignment.principalId, builtInRoles[assignment.roleName])
    scope: queue
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

@description('The name of the queue.')
output queueName string = queue.name
