import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { describeFunctionApp, loadFunctionApp } from '../../local/host/functionApp';

/**
 * The binding contract, read the way the Functions host reads it: from the built files package.json `main` points
 * at. The Bicep checks and the local runtime rely on exactly these names, settings and connections.
 */
describe('binding contract', () => {
    const app = loadFunctionApp(path.resolve(__dirname, '../..'));
    // The library names unnamed bindings `<type><random hex>`; the random part is not part of the contract.
    const functions = describeFunctionApp(app).map(
        (definition) =>
            JSON.parse(JSON.stringify(definition).replace(/"name":"(\w+?)[0-9a-f]{10}"/g, '"name":"$1"')) as unknown,
    );

    it('finds every function file through package.json main', () => {
        expect(app.files.map((file) => path.relative(path.resolve(__dirname, '../..'), file))).toEqual([
            'dist/functions/broadcastLetterCounts.js',
            'dist/functions/dashboard.js',
            'dist/functions/dequeueNames.js',
            'dist/functions/generateNames.js',
            'dist/functions/letterCounts.js',
            'dist/functions/negotiate.js',
            'dist/functions/recountLetterCounts.js',
        ]);
    });

    it('declares each trigger, input and output with settings and connection names, never values', () => {
        expect(functions).toEqual([
            {
                name: 'broadcastLetterCounts',
                trigger: {
                    name: 'cosmosDBTrigger',
                    type: 'cosmosDBTrigger',
                    direction: 'in',
                    connection: 'CosmosDBConnection',
                    databaseName: '%COSMOS_DATABASE%',
                    containerName: '%LETTER_COUNTS_CONTAINER%',
                    leaseContainerName: 'leases',
                    createLeaseContainerIfNotExists: false,
                    feedPollDelay: 500,
                    maxItemsPerInvocation: 100,
                    startFromBeginning: false,
                },
                inputs: [],
                outputs: [
                    {
                        name: 'signalRMessages',
                        type: 'signalR',
                        direction: 'out',
                        hubName: '%SIGNALR_HUB%',
                        connectionStringSetting: 'AzureSignalRConnectionString',
                    },
                    { name: 'eventGridOutput', type: 'eventGrid', direction: 'out', connection: 'EventGridConnection' },
                ],
            },
            {
                name: 'dashboard',
                trigger: {
                    name: 'httpTrigger',
                    type: 'httpTrigger',
                    direction: 'in',
                    route: 'dashboard/{*path}',
                    methods: ['GET'],
                    authLevel: 'anonymous',
                },
                inputs: [],
                outputs: [{ name: '$return', type: 'http', direction: 'out' }],
            },
            {
                name: 'dequeueNames',
                trigger: {
                    name: 'serviceBusTrigger',
                    type: 'serviceBusTrigger',
                    direction: 'in',
                    connection: 'ServiceBusConnection',
                    queueName: '%NAMES_QUEUE%',
                },
                inputs: [],
                outputs: [
                    {
                        name: '$return',
                        type: 'blob',
                        direction: 'out',
                        connection: 'AzureWebJobsStorage',
                        path: 'raw-names/{id}.json',
                    },
                    {
                        name: 'eventHubOutput',
                        type: 'eventHub',
                        direction: 'out',
                        connection: 'EventHubConnection',
                        eventHubName: '%NAMES_EVENT_HUB%',
                    },
                ],
            },
            {
                name: 'generateNames',
                trigger: {
                    name: 'timerTrigger',
                    type: 'timerTrigger',
                    direction: 'in',
                    schedule: '%GENERATE_NAMES_SCHEDULE%',
                    runOnStartup: false,
                    useMonitor: true,
                },
                inputs: [],
                outputs: [
                    {
                        name: '$return',
                        type: 'serviceBus',
                        direction: 'out',
                        connection: 'ServiceBusConnection',
                        queueName: '%NAMES_QUEUE%',
                    },
                ],
            },
            {
                name: 'letterCounts',
                trigger: {
                    name: 'httpTrigger',
                    type: 'httpTrigger',
                    direction: 'in',
                    route: 'letter-counts',
                    methods: ['GET'],
                    authLevel: 'anonymous',
                },
                inputs: [
                    {
                        name: 'cosmosDBInput',
                        type: 'cosmosDB',
                        direction: 'in',
                        connection: 'CosmosDBConnection',
                        databaseName: '%COSMOS_DATABASE%',
                        containerName: '%LETTER_COUNTS_CONTAINER%',
                        sqlQuery: 'SELECT TOP 1620 * FROM c ORDER BY c.windowEnd DESC',
                    },
                ],
                outputs: [{ name: '$return', type: 'http', direction: 'out' }],
            },
            {
                name: 'negotiate',
                trigger: {
                    name: 'httpTrigger',
                    type: 'httpTrigger',
                    direction: 'in',
                    route: 'negotiate',
                    methods: ['GET', 'POST'],
                    authLevel: 'anonymous',
                },
                inputs: [
                    {
                        name: 'connectionInfo',
                        type: 'signalRConnectionInfo',
                        direction: 'in',
                        hubName: '%SIGNALR_HUB%',
                        connectionStringSetting: 'AzureSignalRConnectionString',
                    },
                ],
                outputs: [{ name: '$return', type: 'http', direction: 'out' }],
            },
            {
                name: 'recountLetterCounts',
                trigger: {
                    name: 'timerTrigger',
                    type: 'timerTrigger',
                    direction: 'in',
                    schedule: '%RECOUNT_SCHEDULE%',
                    runOnStartup: false,
                    useMonitor: true,
                },
                inputs: [
                    {
                        name: 'cosmosDBInput',
                        type: 'cosmosDB',
                        direction: 'in',
                        connection: 'CosmosDBConnection',
                        databaseName: '%COSMOS_DATABASE%',
                        containerName: '%LETTER_COUNTS_CONTAINER%',
                        sqlQuery: 'SELECT TOP 1620 * FROM c ORDER BY c.windowEnd DESC',
                    },
                ],
                outputs: [
                    {
                        name: 'cosmosDBOutput',
                        type: 'cosmosDB',
                        direction: 'out',
                        connection: 'CosmosDBConnection',
                        databaseName: '%COSMOS_DATABASE%',
                        containerName: '%LETTER_COUNTS_CONTAINER%',
                    },
                ],
            },
        ]);
    });

    it('registers through the Node programming model the library provides', () => {
        expect(app.programmingModel.name).toBe('@azure/functions');
    });
});
