metadata description = 'Event Grid custom topic that receives one CloudEvent per letter-count window. Only Entra ID-authenticated publishers are accepted.'

import { roleAssignmentType } from './types.bicep'

@description('Required. Name of the topic.')
param name string

@description('Optional. Location of the topic.')
param location string = resourceGroup().location

@description('Optional. Tags of the topic.')
param tags object = {}

@description('Optional. Roles to grant on the topic (EventGrid Data Sender to publish).')
param roleAssignments roleAssignmentType[] = []

var builtInRoles = loadJsonContent('../built-in-roles.json').azureRoles

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    // The function publishes CloudEvents 1.0; a topic with another input schema would reject them.
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    minimumTlsVersionAllowed: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource topicRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for assignment in roleAssignments: {
    name: guid(topic.id, assignment.principalId, builtInRoles[assignment.roleName])
    scope: topic
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles[assignment.roleName])
      principalId: assignment.principalId
      principalType: assignment.?principalType
    }
  }
]

@description('The name of the topic.')
output name string = topic.name

@description('The publish endpoint, e.g. https://<name>.<region>-1.eventgrid.azure.net/api/events.')
output endpoint string = topic.properties.endpoint
