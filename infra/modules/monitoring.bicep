metadata description = 'Log Analytics workspace and a workspace-based Application Insights component that accepts only Entra ID-authenticated telemetry.'

import { roleAssignmentType } from './types.bicep'

@description('Required. Name of the Log Analytics workspace.')
param logAnalyticsName string

@description('Required. Name of the Application Insights component.')
param applicationInsightsName string

@description('Optional. Location of the resources.')
param location string = resourceGroup().location

@description('Optional. Tags of the resources.')
param tags object = {}

@description('Optional. Days the workspace keeps logs.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

@description('Optional. Roles to grant on the Application Insights component (Monitoring Metrics Publisher lets an identity send telemetry when local auth is off).')
param roleAssignments roleAssignmentType[] = []

var builtInRoles = loadJsonContent('../built-in-roles.json').azureRoles

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    retentionInDays: retentionInDays
    sku: {
      name: 'PerGB2018'
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // Telemetry must carry an Entra ID token: the instrumentation key alone can no longer write data.
    DisableLocalAuth: true
  }
}

resource applicationInsightsRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for assignment in roleAssignments: {
    name: guid(applicationInsights.id, assignment.principalId, builtInRoles[assignment.roleName])
    scope: applicationInsights
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles[assignment.roleName])
      principalId: assignment.principalId
      principalType: assignment.?principalType
    }
  }
]

@description('The name of the Application Insights component.')
output applicationInsightsName string = applicationInsights.name

@description('The Application Insights connection string. Not a secret: with local auth disabled it only names where telemetry goes; writing needs an Entra ID token.')
output applicationInsightsConnectionString string = applicationInsights.properties.ConnectionString

@description('The resource id of the Log Analytics workspace.')
output logAnalyticsResourceId string = logAnalytics.id
