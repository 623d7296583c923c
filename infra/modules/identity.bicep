metadata description = 'The user-assigned identity the Function App runs as: one identity, granted only the data roles its bindings use.'

@description('Required. Name of the user-assigned managed identity.')
param name string

@description('Optional. Location of the identity.')
param location string = resourceGroup().location

@description('Optional. Tags of the identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('The resource id of the identity.')
output resourceId string = identity.id

@description('The object (principal) id of the identity, used in role assignments.')
output principalId string = identity.properties.principalId

@description('The client id of the identity, used in the app settings that select it.')
output clientId string = identity.properties.clientId

@description('The name of the identity.')
output name string = identity.name
