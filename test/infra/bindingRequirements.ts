import type { BindingDefinition } from '../../local/host/functionApp';

/**
 * What a binding type needs in Azure when it connects with an identity, from the Functions binding reference
 * pages (learn.microsoft.com/azure/azure-functions/functions-bindings-<service>, "Identity-based connections" and
 * "Grant permission to the identity"):
 * - `endpointSetting`: the `<connection>__<setting>` that names the resource (Service Bus and Event Hubs
 *   fullyQualifiedNamespace, Cosmos DB accountEndpoint, SignalR serviceUri, Event Grid topicEndpointUri, Storage
 *   blobServiceUri);
 * - `resourceType`: the ARM type of the resource that setting points at;
 * - `role`/`plane`/`scope`: the least data role the binding needs and the resource it must apply to, given the
 *   resource id the connection points at and the binding's resolved entity names.
 * A function added later is checked through this table: a binding type missing here fails the tests by name.
 */
export interface BindingRequirement {
    endpointSetting: string;
    resourceType: string;
    plane: 'azure' | 'cosmos';
    role: string;
    scope: (resourceId: string, binding: BindingDefinition, resolve: (value: unknown) => string) => string;
}

const queueOrTopic = (id: string, binding: BindingDefinition, resolve: (value: unknown) => string): string =>
    binding.queueName !== undefined
        ? `${id}/queues/${resolve(binding.queueName)}`
        : binding.subscriptionName !== undefined
          ? `${id}/topics/${resolve(binding.topicName)}/subscriptions/${resolve(binding.subscriptionName)}`
          : `${id}/topics/${resolve(binding.topicName)}`;
const eventHub = (id: string, binding: BindingDefinition, resolve: (value: unknown) => string): string =>
    `${id}/eventhubs/${resolve(binding.eventHubName)}`;
const cosmosDatabase = (id: string, binding: BindingDefinition, resolve: (value: unknown) => string): string =>
    `${id}/dbs/${resolve(binding.databaseName)}`;
const itself = (id: string): string => id;

export const bindingRequirements: Record<string, (binding: BindingDefinition) => BindingRequirement> = {
    serviceBusTrigger: () => ({
        endpointSetting: 'fullyQualifiedNamespace',
        resourceType: 'Microsoft.ServiceBus/namespaces',
        plane: 'azure',
        role: 'Azure Service Bus Data Receiver',
        scope: queueOrTopic,
    }),
    serviceBus: () => ({
        endpointSetting: 'fullyQualifiedNamespace',
        resourceType: 'Microsoft.ServiceBus/namespaces',
        plane: 'azure',
        role: 'Azure Service Bus Data Sender',
        scope: queueOrTopic,
    }),
    eventHubTrigger: () => ({
        endpointSetting: 'fullyQualifiedNamespace',
        resourceType: 'Microsoft.EventHub/namespaces',
        plane: 'azure',
        role: 'Azure Event Hubs Data Receiver',
        scope: eventHub,
    }),
    eventHub: () => ({
        endpointSetting: 'fullyQualifiedNamespace',
        resourceType: 'Microsoft.EventHub/namespaces',
        plane: 'azure',
        role: 'Azure Event Hubs Data Sender',
        scope: eventHub,
    }),
    // The change-feed trigger writes its leases; an output writes documents; an input only reads.
    cosmosDBTrigger: () => ({
        endpointSetting: 'accountEndpoint',
        resourceType: 'Microsoft.DocumentDB/databaseAccounts',
        plane: 'cosmos',
        role: 'Cosmos DB Built-in Data Contributor',
        scope: cosmosDatabase,
    }),
    cosmosDB: (binding) => ({
        endpointSetting: 'accountEndpoint',
        resourceType: 'Microsoft.DocumentDB/databaseAccounts',
        plane: 'cosmos',
        role: binding.direction === 'in' ? 'Cosmos DB Built-in Data Reader' : 'Cosmos DB Built-in Data Contributor',
        scope: cosmosDatabase,
    }),
    signalR: () => ({
        endpointSetting: 'serviceUri',
        resourceType: 'Microsoft.SignalRService/signalR',
        plane: 'azure',
        role: 'SignalR Service Owner',
        scope: itself,
    }),
    signalRConnectionInfo: () => ({
        endpointSetting: 'serviceUri',
        resourceType: 'Microsoft.SignalRService/signalR',
        plane: 'azure',
        role: 'SignalR Service Owner',
        scope: itself,
    }),
    eventGrid: () => ({
        endpointSetting: 'topicEndpointUri',
        resourceType: 'Microsoft.EventGrid/topics',
        plane: 'azure',
        role: 'EventGrid Data Sender',
        scope: itself,
    }),
    blob: (binding) => ({
        endpointSetting: 'blobServiceUri',
        resourceType: 'Microsoft.Storage/storageAccounts',
        plane: 'azure',
        role: binding.direction === 'in' ? 'Storage Blob Data Reader' : 'Storage Blob Data Contributor',
        scope: itself,
    }),
    blobTrigger: () => ({
        endpointSetting: 'blobServiceUri',
        resourceType: 'Microsoft.Storage/storageAccounts',
        plane: 'azure',
        role: 'Storage Blob Data Owner',
        scope: itself,
    }),
};

/** Roles that include another on the same scope, so a principal holding the first needs no grant of the second. */
export const includedRoles: Record<string, string[]> = {
    'Storage Blob Data Owner': ['Storage Blob Data Contributor', 'Storage Blob Data Reader'],
    'Storage Blob Data Contributor': ['Storage Blob Data Reader'],
    'Cosmos DB Built-in Data Contributor': ['Cosmos DB Built-in Data Reader'],
    'Azure Service Bus Data Owner': ['Azure Service Bus Data Sender', 'Azure Service Bus Data Receiver'],
};

/** Drops each needed grant that another needed grant on the same scope includes, and duplicates. */
export function withoutIncluded<T extends { role: string; scope: string; plane: string }>(grants: T[]): T[] {
    const unique = [...new Map(grants.map((g) => [`${g.plane}|${g.role}|${g.scope.toLowerCase()}`, g])).values()];
    return unique.filter(
        (grant) =>
            !unique.some(
                (other) =>
                    other !== grant &&
                    other.scope.toLowerCase() === grant.scope.toLowerCase() &&
                    (includedRoles[other.role] ?? []).includes(grant.role),
            ),
    );
}
