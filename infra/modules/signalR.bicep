metadata description = 'Azure SignalR Service in Serverless mode: the Functions bindings negotiate and broadcast through its REST API with the app identity; browsers connect to it directly.'

import { roleAssignmentType } from './types.bicep'

@description('Required. Name of the SignalR Service.')
param name string

@description('Optional. Location of the service.')
param location string = resourceGroup().location

@description('Optional. Tags of the service.')
param tags object = {}

@description('Optional. Pricing tier: Free_F1 allows 20 connections and 20,000 messages a day; Standard_S1 1,000 connections and 1,000,000 messages a day per unit.')
@allowed([
  'Free_F1'
  'Standard_S1'
  'Premium_P1'
])
param skuName string = 'Free_F1'

@description('Optional. Units (Free_F1: 1 only).')
@minValue(1)
@maxValue(100)
param capacity int = 1

@description('Required. Browser origins allowed to connect: the dashboard\'s origin, not "*".')
param allowedOrigins string[]

@description('Optional. Roles to grant on the service. The Functions SignalR extension needs SignalR Service Owner to mint client tokens and broadcast with an identity.')
param roleAssignments roleAssignmentType[] = []

var builtInRoles = loadJsonContent('../built-in-roles.json').azureRoles

resource signalR 'Microsoft.SignalRService/signalR@2024-03-01' = {
  name: name
  location: location
  tags: tags
  kind: 'SignalR'
  sku: {
    name: skuName
    capacity: capacity
  }
  properties: {
    features: [
      {
        flag: 'ServiceMode'
        value: 'Serverless'
      }
      {
        flag: 'EnableConnectivityLogs'
        value: 'true'
      }
    ]
    cors: {
      allowedOrigins: allowedOrigins
    }
    // Access keys off: the app signs in with its identity, and the keys cannot leak because they do not work.
    disableLocalAuth: true
    disableAadAuth: false
    publicNetworkAccess: 'Enabled'
    tls: {
      clientCertEnabled: false
    }
  }
}

resource signalRRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for assignment in roleAssignments: {
    name: guid(signalR.id, assignment.principalId, builtInRoles[assignment.roleName])
    scope: signalR
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles[assignment.roleName])
      principalId: assignment.principalId
      principalType: assignment.?principalType
    }
  }
]

@description('The name of the service.')
output name string = signalR.name

@description('The service URI the identity-based connection uses, e.g. https://<name>.service.signalr.net.')
output serviceUri string = 'https://${signalR.properties.hostName}'
