metadata description = 'Storage account for the Functions host, the Flex Consumption deployment package and the raw-names blobs. Shared-key access is off: every client signs in with Entra ID.'

import { roleAssignmentType } from './types.bicep'

@description('Required. Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Optional. Location of the account.')
param location string = resourceGroup().location

@description('Optional. Tags of the account.')
param tags object = {}

@description('Required. Container the dequeue function writes one raw message per blob to.')
param rawNamesContainerName string

@description('Required. Container Flex Consumption deploys the app package from.')
param deploymentContainerName string

@description('Required. Days a raw-names blob is kept after its last modification before the lifecycle rule deletes it.')
@minValue(1)
param rawNamesRetentionDays int

@description('Optional. Roles to grant on the account. The Functions host needs Storage Blob Data Owner on the account: it creates its own containers and takes blob leases.')
param roleAssignments roleAssignmentType[] = []

var builtInRoles = loadJsonContent('../built-in-roles.json').azureRoles

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-09-01' = {
  parent: storage
  name: 'default'
}

resource rawNamesContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-09-01' = {
  parent: blobService
  name: rawNamesContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-09-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// The raw blobs are an audit trail of what was queued, not the system of record: age them out.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2026-09-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-raw-names'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${rawNamesContainerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: rawNamesRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    rawNamesContainer
  ]
}

resource storageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for assignment in roleAssignments: {
    name: guid(storage.id, assignment.principalId, builtInRoles[assignment.roleName])
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', builtInRoles[assignment.roleName])
      principalId: assignment.principalId
      principalType: assignment.?principalType
    }
  }
]

@description('The name of the storage account.')
output name string = storage.name

@description('The blob endpoint of the account (https, with a trailing slash), in the cloud it is deployed to.')
output blobEndpoint string = storage.properties.primaryEndpoints.blob

@description('The name of the deployment container.')
output deploymentContainerName string = deploymentContainer.name
