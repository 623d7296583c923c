import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { parseQuery } from '../../local/streamAnalytics/parser';
import { collectRoleGrants, Unresolved } from './bicepModel';
import {
    allBindings,
    connectionPrefix,
    deployedAppSettings,
    identityEndpointSetting,
    loadFunctionContract,
    mainScope,
    readJson,
    repoRoot,
    requiredModule,
    requiredRole,
    resourceProperty,
    settingReferences,
} from './deploymentContract';

const functions = loadFunctionContract();
const main = mainScope();
const appSettings = deployedAppSettings(main);
const localSettings = readJson('local.settings.sample.json') as {
    Values: Record<string, string>;
    AzureIdentityValues: Record<string, string>;
};
const roleMap = readJson('infra/built-in-roles.json') as {
    azureRoles: Record<string, string>;
    cosmosDataRoles: Record<string, string>;
};
const grants = collectRoleGrants(main, { ...roleMap.azureRoles, ...roleMap.cosmosDataRoles });
const appPrincipal = 'appIdentity.outputs.principalId';
const appClientId = 'appIdentity.outputs.clientId';
const bindings = functions.flatMap((f) => allBindings(f).map((binding) => ({ functionName: f.name, binding })));
const connectedBindings = bindings.flatMap(({ functionName, binding }) => {
    const prefix = connectionPrefix(binding);
    return prefix ? [{ functionName, binding, prefix }] : [];
});

describe('Function App settings in the Bicep', () => {
    it('reads the registered functions from the compiled app', () => {
        expect(functions.map((f) => f.name)).toEqual([
            'broadcastLetterCounts',
            'dashboard',
            'dequeueNames',
            'generateNames',
            'letterCounts',
            'negotiate',
        ]);
    });

    it.each(connectedBindings.map((c) => [`${c.functionName}: ${c.binding.type} via ${c.prefix}`, c] as const))(
        '%s has its identity-based settings with the app identity',
        (_label, { binding, prefix }) => {
            const endpoint = identityEndpointSetting[binding.type];
            if (!endpoint) {
                throw new Error(`No identity-based form is known for binding type "${binding.type}"`);
            }
            expect({
                endpoint: appSettings[`${prefix}__${endpoint}`] !== undefined,
                credential: appSettings[`${prefix}__credential`],
                clientId: appSettings[`${prefix}__clientId`],
                connectionString: appSettings[prefix],
            }).toEqual({
                endpoint: true,
                credential: 'managedidentity',
                clientId: appClientId,
                connectionString: undefined,
            });
        },
    );

    it('defines every %SETTING% a binding references', () => {
        const referenced = [...new Set(bindings.flatMap(({ binding }) => settingReferences(binding)))].sort();
        expect(referenced.filter((name) => appSettings[name] === undefined)).toEqual([]);
        expect(referenced.length).toBeGreaterThan(0);
    });

    it('gives every setting of the sample the same value, except the generator schedule (slower in Azure to cut cost)', () => {
        const plainSettings = Object.keys(localSettings.Values).filter(
            (name) => !name.includes('__') && !connectedBindings.some((c) => c.prefix === name),
        );
        const compared = plainSettings.filter(
            (name) => !['FUNCTIONS_WORKER_RUNTIME', 'GENERATE_NAMES_SCHEDULE'].includes(name),
        );
        expect(Object.fromEntries(compared.map((name) => [name, appSettings[name]]))).toEqual(
            Object.fromEntries(compared.map((name) => [name, localSettings.Values[name]])),
        );
        expect(appSettings.GENERATE_NAMES_SCHEDULE).toBe('*/5 * * * * *');
    });

    it('sets every identity-based setting the sample documents, and nothing that selects a key', () => {
        const documented = Object.keys(localSettings.AzureIdentityValues).filter((name) => !name.startsWith('_'));
        expect(documented.filter((name) => appSettings[name] === undefined)).toEqual([]);
        expect(Object.keys(appSettings).filter((name) => /key|connection_?string$|sas/i.test(name))).toEqual([
            'APPLICATIONINSIGHTS_CONNECTION_STRING',
        ]);
    });

    it('authenticates App Insights telemetry with the app identity', () => {
        expect(appSettings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING).toBe(
            "'ClientId=${identityClientId};Authorization=AAD'",
        );
        expect(requiredModule(main, 'functionApp').params.identityClientId).toEqual(new Unresolved(appClientId));
    });

    it('runs Node 22 on Flex Consumption with the user-assigned identity', () => {
        const functionApp = requiredModule(main, 'functionApp');
        expect(resourceProperty(functionApp, 'plan', 'sku')).toEqual({ tier: 'FlexConsumption', name: 'FC1' });
        expect(resourceProperty(functionApp, 'functionApp', 'properties.functionAppConfig.runtime')).toEqual({
            name: 'node',
            version: '22',
        });
        expect(resourceProperty(functionApp, 'functionApp', 'identity.type')).toBe('UserAssigned');
        expect(
            resourceProperty(
                functionApp,
                'functionApp',
                'properties.functionAppConfig.deployment.storage.authentication.type',
            ),
        ).toBe('UserAssignedIdentity');
    });
});

describe('Resource names shared by the Bicep, the functions and the local settings', () => {
    const values = localSettings.Values;

    it('creates the queue the functions use', () => {
        expect(resourceProperty(requiredModule(main, 'serviceBus'), 'queue', 'name')).toBe(values.NAMES_QUEUE);
    });

    it('creates the event hub the functions send to and a consumer group for the job', () => {
        const eventHubs = requiredModule(main, 'eventHubs');
        expect(resourceProperty(eventHubs, 'eventHub', 'name')).toBe(values.NAMES_EVENT_HUB);
        expect(resourceProperty(eventHubs, 'consumerGroup', 'name')).toBe('stream-analytics');
    });

    it('creates the database, the letter-counts container (partition key /windowEnd) and the leases container (/id)', () => {
        const cosmos = requiredModule(main, 'cosmos');
        const trigger = functions.find((f) => f.name === 'broadcastLetterCounts')?.trigger;
        expect(resourceProperty(cosmos, 'database', 'name')).toBe(values.COSMOS_DATABASE);
        expect(resourceProperty(cosmos, 'letterCountsContainer', 'properties.resource')).toEqual({
            id: values.LETTER_COUNTS_CONTAINER,
            partitionKey: { paths: ['/windowEnd'], kind: 'Hash' },
            defaultTtl: 86400,
        });
        expect(resourceProperty(cosmos, 'leasesContainer', 'properties.resource')).toEqual({
            id: trigger?.leaseContainerName,
            partitionKey: { paths: ['/id'], kind: 'Hash' },
        });
        expect(trigger?.createLeaseContainerIfNotExists).toBe(false);
    });

    it('creates the blob container the raw-names output path writes to', () => {
        const blobOutput = bindings.find(({ binding }) => binding.type === 'blob')?.binding;
        const container = String(blobOutput?.path).split('/')[0];
        expect(resourceProperty(requiredModule(main, 'storage'), 'rawNamesContainer', 'name')).toBe(container);
    });
});

describe('Stream Analytics job', () => {
    const job = requiredModule(main, 'streamAnalytics');
    const queryText = readFileSync(path.join(repoRoot, 'infra/letter-counts.asaql'), 'utf8');
    const query = parseQuery(queryText);
    const steps = new Set(query.steps.map((s) => s.name));
    const selects = [...query.steps.map((s) => s.select), ...query.statements];

    it('tells the functions the same window size the query aggregates over', () => {
        const tumbling = /TumblingWindow\(\s*(second|ss|s)\s*,\s*(\d+)\s*\)/i.exec(queryText);
        expect(tumbling?.[2]).toBe(appSettings.LETTER_COUNT_WINDOW_SECONDS);
    });

    it('runs the same .asaql file the local runtime runs', () => {
        expect(resourceProperty(job, 'job', 'properties.transformation.properties.query')).toBe(queryText);
    });

    it("declares exactly the query's FROM inputs and INTO outputs", () => {
        const inputs = resourceProperty(job, 'job', 'properties.inputs') as Array<{ name: string }>;
        const outputs = resourceProperty(job, 'job', 'properties.outputs') as Array<{ name: string }>;
        const queryInputs = [...new Set(selects.map((s) => s.from.source).filter((source) => !steps.has(source)))];
        const queryOutputs = [...new Set(query.statements.flatMap((s) => (s.into ? [s.into.name] : [])))];
        expect(inputs.map((i) => i.name)).toEqual(queryInputs);
        expect(outputs.map((o) => o.name)).toEqual(queryOutputs);
        expect(queryInputs).toEqual(['namesInput']);
        expect(queryOutputs).toEqual(['letterCountsOutput']);
    });

    it('reads the names hub through its consumer group with its managed identity', () => {
        const [input] = resourceProperty(job, 'job', 'properties.inputs') as Array<{ properties: unknown }>;
        expect(input?.properties).toEqual({
            type: 'Stream',
            datasource: {
                type: 'Microsoft.ServiceBus/EventHub',
                properties: {
                    authenticationMode: 'Msi',
                    serviceBusNamespace: expect.any(Object),
                    eventHubName: localSettings.Values.NAMES_EVENT_HUB,
                    consumerGroupName: 'stream-analytics',
                },
            },
            serialization: { type: 'Json', properties: { encoding: 'UTF8' } },
        });
    });

    it('upserts into the letter-counts container by document id with its managed identity', () => {
        const [output] = resourceProperty(job, 'job', 'properties.outputs') as Array<{ properties: unknown }>;
        expect(output?.properties).toEqual({
            datasource: {
                type: 'Microsoft.Storage/DocumentDB',
                properties: {
                    authenticationMode: 'Msi',
                    accountId: expect.any(Object),
                    database: localSettings.Values.COSMOS_DATABASE,
                    collectionNamePattern: localSettings.Values.LETTER_COUNTS_CONTAINER,
                    documentId: 'id',
                },
            },
        });
    });

    it('orders events with the shared job settings, compatibility level 1.2 and a system-assigned identity', () => {
        const settings = readJson('infra/letter-counts.job-settings.json') as Record<string, unknown>;
        const properties = resourceProperty(job, 'job', 'properties') as Record<string, unknown>;
        expect({
            compatibilityLevel: properties.compatibilityLevel,
            eventsLateArrivalMaxDelayInSeconds: properties.eventsLateArrivalMaxDelayInSeconds,
            eventsOutOfOrderMaxDelayInSeconds: properties.eventsOutOfOrderMaxDelayInSeconds,
            eventsOutOfOrderPolicy: properties.eventsOutOfOrderPolicy,
            outputErrorPolicy: properties.outputErrorPolicy,
        }).toEqual({
            compatibilityLevel: '1.2',
            eventsLateArrivalMaxDelayInSeconds: settings.eventsLateArrivalMaxDelayInSeconds,
            eventsOutOfOrderMaxDelayInSeconds: settings.eventsOutOfOrderMaxDelayInSeconds,
            eventsOutOfOrderPolicy: settings.eventsOutOfOrderPolicy,
            outputErrorPolicy: settings.outputErrorPolicy,
        });
        expect(resourceProperty(job, 'job', 'identity')).toEqual({ type: 'SystemAssigned' });
        expect(resourceProperty(job, 'job', 'properties.transformation.properties.streamingUnits')).toBe(3);
    });
});

describe('Role assignments', () => {
    const grantsTo = (principal: string) =>
        grants
            .filter((g) => g.principal === principal)
            .map((g) => ({ roleName: g.roleName, scope: normalise(g.scope) }));
    const normalise = (scope: string) =>
        scope === `cosmos:<id:Microsoft.DocumentDB/databaseAccounts>/dbs/${localSettings.Values.COSMOS_DATABASE}`
            ? 'cosmos:database'
            : scope;

    it.each(
        bindings
            .filter(({ binding }) => connectionPrefix(binding))
            .map((b) => [`${b.functionName}: ${b.binding.type}`, b] as const),
    )('%s: the app identity holds the data role its binding needs, on that resource', (_label, { binding }) => {
        const role = requiredRole[binding.type];
        if (!role) {
            throw new Error(`No required role is known for binding type "${binding.type}"`);
        }
        expect(grantsTo(appPrincipal)).toContainEqual(role);
    });

    it('grants the app identity exactly the roles its bindings, host storage and telemetry need', () => {
        expect(grantsTo(appPrincipal)).toEqual([
            { roleName: 'Monitoring Metrics Publisher', scope: 'Microsoft.Insights/components' },
            { roleName: 'Storage Blob Data Owner', scope: 'Microsoft.Storage/storageAccounts' },
            { roleName: 'Azure Service Bus Data Sender', scope: 'Microsoft.ServiceBus/namespaces/queues' },
            { roleName: 'Azure Service Bus Data Receiver', scope: 'Microsoft.ServiceBus/namespaces/queues' },
            { roleName: 'Azure Event Hubs Data Sender', scope: 'Microsoft.EventHub/namespaces/eventhubs' },
            { roleName: 'Cosmos DB Built-in Data Contributor', scope: 'cosmos:database' },
            { roleName: 'SignalR Service Owner', scope: 'Microsoft.SignalRService/signalR' },
            { roleName: 'EventGrid Data Sender', scope: 'Microsoft.EventGrid/topics' },
        ]);
    });

    it('grants the Stream Analytics identity only Event Hubs Data Receiver on the hub and Cosmos data access on the database', () => {
        expect(grantsTo('job.identity.principalId')).toEqual([
            { roleName: 'Azure Event Hubs Data Receiver', scope: 'Microsoft.EventHub/namespaces/eventhubs' },
            { roleName: 'Cosmos DB Built-in Data Contributor', scope: 'cosmos:database' },
        ]);
    });

    it('grants the developer the app data roles (no telemetry publishing) for func start against Azure', () => {
        const developer = grantsTo('developer-principal-id');
        expect(developer).toEqual(grantsTo(appPrincipal).filter((g) => g.roleName !== 'Monitoring Metrics Publisher'));
    });

    it('grants no role on a resource group or subscription and no unknown role', () => {
        expect(grants.filter((g) => g.scope.startsWith('<') || g.roleName.startsWith('<'))).toEqual([]);
        expect(grants.every((g) => g.scope.startsWith('Microsoft.') || g.scope.startsWith('cosmos:<id:'))).toBe(true);
    });
});
