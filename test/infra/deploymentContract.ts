import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { BindingDefinition, FunctionDefinition } from '../../local/host/functionApp';
import {
    BicepFile,
    type BicepValue,
    describeValue,
    evaluate,
    moduleScope,
    property,
    type Scope,
    Unresolved,
} from './bicepModel';

export const repoRoot = path.resolve(__dirname, '../..');

/**
 * The registered functions' binding contract, read from the compiled app the way the Node worker loads it.
 * The lead's `npm test` builds first; running this file alone needs `npm run build`.
 */
export function loadFunctionContract(): FunctionDefinition[] {
    const hostModule = path.join(repoRoot, 'dist/local/host/functionApp.js');
    if (!existsSync(hostModule) || !existsSync(path.join(repoRoot, 'dist/functions'))) {
        throw new Error(`The compiled app is missing (${hostModule}): run "npm run build" before these tests`);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const host = require(hostModule) as typeof import('../../local/host/functionApp');
    return host.describeFunctionApp(host.loadFunctionApp(repoRoot));
}

export function allBindings(definition: FunctionDefinition): BindingDefinition[] {
    return [definition.trigger, ...definition.inputs, ...definition.outputs];
}

/** The app-setting prefix a binding connects through (`connection`, or `connectionStringSetting` for SignalR). */
export function connectionPrefix(binding: BindingDefinition): string | undefined {
    const value = binding.connection ?? binding.connectionStringSetting;
    return typeof value === 'string' ? value : undefined;
}

/** `%NAME%` app-setting references anywhere in a binding's declared properties. */
export function settingReferences(binding: BindingDefinition): string[] {
    return [...JSON.stringify(binding).matchAll(/%([A-Za-z0-9_]+)%/g)].map((m) => m[1] ?? '');
}

/**
 * What the identity-based form of a connection needs besides __credential/__clientId, per binding type
 * (Functions docs: Service Bus/Event Hubs fullyQualifiedNamespace, Cosmos accountEndpoint, SignalR serviceUri,
 * Event Grid topicEndpointUri, Storage blobServiceUri).
 */
export const identityEndpointSetting: Record<string, string> = {
    serviceBus: 'fullyQualifiedNamespace',
    serviceBusTrigger: 'fullyQualifiedNamespace',
    eventHub: 'fullyQualifiedNamespace',
    eventHubTrigger: 'fullyQualifiedNamespace',
    cosmosDB: 'accountEndpoint',
    cosmosDBTrigger: 'accountEndpoint',
    signalR: 'serviceUri',
    signalRConnectionInfo: 'serviceUri',
    eventGrid: 'topicEndpointUri',
    blob: 'blobServiceUri',
    blobTrigger: 'blobServiceUri',
};

/** The data role (and the ARM type it must be scoped to) each binding type needs on its resource. */
export const requiredRole: Record<string, { roleName: string; scope: string }> = {
    serviceBus: { roleName: 'Azure Service Bus Data Sender', scope: 'Microsoft.ServiceBus/namespaces/queues' },
    serviceBusTrigger: { roleName: 'Azure Service Bus Data Receiver', scope: 'Microsoft.ServiceBus/namespaces/queues' },
    eventHub: { roleName: 'Azure Event Hubs Data Sender', scope: 'Microsoft.EventHub/namespaces/eventhubs' },
    eventHubTrigger: { roleName: 'Azure Event Hubs Data Receiver', scope: 'Microsoft.EventHub/namespaces/eventhubs' },
    cosmosDB: { roleName: 'Cosmos DB Built-in Data Contributor', scope: 'cosmos:database' },
    cosmosDBTrigger: { roleName: 'Cosmos DB Built-in Data Contributor', scope: 'cosmos:database' },
    signalR: { roleName: 'SignalR Service Owner', scope: 'Microsoft.SignalRService/signalR' },
    signalRConnectionInfo: { roleName: 'SignalR Service Owner', scope: 'Microsoft.SignalRService/signalR' },
    eventGrid: { roleName: 'EventGrid Data Sender', scope: 'Microsoft.EventGrid/topics' },
    blob: { roleName: 'Storage Blob Data Owner', scope: 'Microsoft.Storage/storageAccounts' },
};

/** main.bicep evaluated as azd would deploy it for a developer whose AZURE_PRINCIPAL_ID is set. */
export function mainScope(): Scope {
    return {
        file: BicepFile.load(path.join(repoRoot, 'infra/main.bicep')),
        params: {
            environmentName: 'test',
            location: 'westeurope',
            principalId: 'developer-principal-id',
            principalType: 'User',
        },
    };
}

export function requiredModule(main: Scope, symbol: string): Scope {
    const declaration = main.file.module(symbol);
    if (!declaration) {
        throw new Error(`main.bicep has no module "${symbol}"`);
    }
    return moduleScope(declaration, main);
}

/** Evaluates `resourceSymbol.propertyPath` of a resource body in a module. */
export function resourceProperty(scope: Scope, resourceSymbol: string, propertyPath: string): BicepValue {
    const resource = scope.file.resource(resourceSymbol);
    if (!resource) {
        throw new Error(`${scope.file.file} has no resource "${resourceSymbol}"`);
    }
    let node = resource.body;
    for (const key of propertyPath.split('.')) {
        const next = property(node, key);
        if (!next) {
            throw new Error(`${resourceSymbol} has no "${propertyPath}"`);
        }
        node = next;
    }
    return evaluate(node, scope);
}

/** The Function App's app settings as deployed: the site's `appsettings` config, with unresolvable values kept as text. */
export function deployedAppSettings(main: Scope): Record<string, string> {
    const functionApp = requiredModule(main, 'functionApp');
    const config = functionApp.file.resources.find((r) => r.type === 'Microsoft.Web/sites/config');
    if (!config) {
        throw new Error('functionApp.bicep has no Microsoft.Web/sites/config resource');
    }
    const settings = resourceProperty(functionApp, config.symbol, 'properties');
    if (
        settings === null ||
        typeof settings !== 'object' ||
        Array.isArray(settings) ||
        settings instanceof Unresolved
    ) {
        throw new Error(`The app settings do not evaluate to an object: ${JSON.stringify(settings)}`);
    }
    return Object.fromEntries(Object.entries(settings).map(([key, value]) => [key, describeValue(value)]));
}

export function readJson(relativePath: string): unknown {
    return JSON.parse(readFileSync(path.join(repoRoot, relativePath), 'utf8'));
}
