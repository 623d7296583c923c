metadata description = 'Flex Consumption plan and the Node.js Function App. The app runs as a user-assigned identity; every binding connection and the host storage use identity-based settings.'

@description('Required. Name of the Function App.')
param name string

@description('Required. Name of the Flex Consumption plan.')
param planName string

@description('Optional. Location of the plan and the app.')
param location string = resourceGroup().location

@description('Optional. Tags of the plan and the app (the app also gets the azd-service-name tag).')
param tags object = {}

@description('Required. The azd service name in azure.yaml that deploys to this app.')
param serviceName string

@description('Required. Resource id of the user-assigned identity the app runs as.')
param identityResourceId string

@description('Required. Client id of that identity, used by every identity-based setting.')
param identityClientId string

@description('Required. Blob endpoint of the storage account for the host and the deployment package, as the account reports it (with a trailing slash).')
param storageBlobEndpoint string

@description('Required. Container Flex Consumption deploys the package from.')
param deploymentContainerName string

@description('Required. Application Insights connection string (not a secret when local auth is off).')
param applicationInsightsConnectionString string

@description('Required. App settings of the bindings and the code, merged with the host settings this module adds.')
param appSettings object

@description('Required. Browser origins allowed to call the HTTP API.')
param allowedOrigins string[]

@description('Optional. Node.js major version.')
@allowed([
  '20'
  '22'
])
param nodeVersion string = '22'

@description('Optional. Memory of each instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Optional. Most instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

var hostSettings = {
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      cors: {
        allowedOrigins: allowedOrigins
        // The SignalR client sends credentials on negotiate.
        supportCredentials: true
      }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
}

resource functionAppSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union(appSettings, hostSettings)
}

@description('The name of the Function App.')
output name string = functionApp.name

@description('The default host name of the app, e.g. <name>.azurewebsites.net.')
output defaultHostName string = functionApp.properties.defaultHostName
