import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { fixedClock } from '../../../domain/clock';
import { type FunctionApp, loadFunctionApp } from '../../../local/host/functionApp';
import type { HostOptions } from '../../../local/host/hostJson';
import {
    type BindingServices,
    LocalFunctionsHost,
    type LocalFunctionsHostOptions,
    type ServiceBusDelivery,
} from '../../../local/host/localFunctionsHost';

const app: FunctionApp = loadFunctionApp(path.join(__dirname, 'fixtures', 'hostApp'));

const SETTINGS: Record<string, string> = {
    TICK_SCHEDULE: '0 0 0 1 1 *',
    OUT_QUEUE: 'out-queue',
    IN_QUEUE: 'in-queue',
    HUB: 'names-hub',
    DB: 'people-db',
    HUB_NAME: 'people-hub',
};

const HOST_OPTIONS: HostOptions = {
    routePrefix: 'api',
    serviceBus: { maxConcurrentCalls: 3, maxAutoLockRenewalDurationMs: 60_000, autoCompleteMessages: true },
};

type Call = [method: string, ...args: unknown[]];

/** Records what the host asks of the services; triggers hand their handlers to the test. */
class FakeServices implements BindingServices {
    readonly calls: Call[] = [];
    readonly stopped: string[] = [];
    serviceBusHandler: ((delivery: ServiceBusDelivery) => Promise<void>) | undefined;
    cosmosHandler: ((documents: unknown[]) => Promise<void>) | undefined;
    queryResult: unknown[] = [{ id: 'p1' }];

    startServiceBusQueueTrigger(options: Parameters<BindingServices['startServiceBusQueueTrigger']>[0]) {
        const { handler, onError: _onError, ...rest } = options;
        this.serviceBusHandler = handler;
        this.calls.push(['startServiceBusQueueTrigger', rest]);
        return { stop: () => Promise.resolve(void this.stopped.push('serviceBus')) };
    }
    startCosmosDBTrigger(options: Parameters<BindingServices['startCosmosDBTrigger']>[0]) {
        const { handler, onError: _onError, ...rest } = options;
        this.cosmosHandler = handler;
        this.calls.push(['startCosmosDBTrigger', rest]);
        return Promise.resolve({ stop: () => Promise.resolve(void this.stopped.push('cosmos')) });
    }
    sendToServiceBusQueue(...args: unknown[]) {
        this.calls.push(['sendToServiceBusQueue', ...args]);
        return Promise.resolve();
    }
    sendToEventHub(...args: unknown[]) {
        this.calls.push(['sendToEventHub', ...args]);
        return Promise.resolve();
    }
    writeBlob(connection: string, blobPath: string, content: string | Buffer) {
        this.calls.push(['writeBlob', connection, blobPath, content]);
        return Promise.resolve();
    }
    queryCosmos(...args: unknown[]) {
        this.calls.push(['queryCosmos', ...args]);
        return Promise.resolve(this.queryResult);
    }
    readCosmosItem(...args: unknown[]) {
        this.calls.push(['readCosmosItem', ...args]);
        return Promise.resolve(null);
    }
    signalRConnectionInfo(...args: unknown[]) {
        this.calls.push(['signalRConnectionInfo', ...args]);
        return Promise.resolve({});
    }
    sendSignalRMessages(...args: unknown[]) {
        this.calls.push(['sendSignalRMessages', ...args]);
        return Promise.resolve();
    }
    publishEventGridEvents(...args: unknown[]) {
        this.calls.push(['publishEventGridEvents', ...args]);
        return Promise.resolve();
    }
    upsertCosmosItems(...args: unknown[]) {
        this.calls.push(['upsertCosmosItems', ...args]);
        return Promise.resolve();
    }
}

describe('LocalFunctionsHost', () => {
    const hosts: LocalFunctionsHost[] = [];
    afterEach(async () => {
        await Promise.all(hosts.splice(0).map((host) => host.stop()));
    });

    function createHost(overrides: Partial<LocalFunctionsHostOptions> = {}) {
        const services = new FakeServices();
        const logs: Array<{ level: string; functionName: string; message: string }> = [];
        const outcomes: Array<[string, string]> = [];
        const host = new LocalFunctionsHost({
            app,
            settings: SETTINGS,
            hostOptions: HOST_OPTIONS,
            services,
            clock: fixedClock('2025-01-01T00:00:00Z'),
            http: { port: 0, host: '127.0.0.1', corsOrigins: [], corsCredentials: false },
            log: (line) => logs.push(line),
            onInvocation: (name, outcome) => outcomes.push([name, outcome]),
            disabled: new Set(['legacyQueue', 'tableWriter']),
            ...overrides,
        });
        hosts.push(host);
        return { host, services, logs, outcomes };
    }

    it('fails start-up naming the function, binding, property and setting when a %SETTING% is missing', async () => {
        const { IN_QUEUE: _omitted, ...settings } = SETTINGS;
        const { host, services } = createHost({ settings });
        await expect(host.start()).rejects.toThrow(
            /^Function "fanOut", binding "serviceBusTrigger[0-9a-f]{10}" property "queueName": '%IN_QUEUE%' does not resolve to a value: app setting "IN_QUEUE" is not set$/,
        );
        expect(host.httpUrl).toBeUndefined();
        expect(services.calls).toEqual([]);
    });

    it('fails start-up on a trigger type it cannot host, before starting anything', async () => {
        const { host, services } = createHost({ disabled: new Set(['tableWriter']) });
        await expect(host.start()).rejects.toThrow(
            'Function "legacyQueue": trigger type "queueTrigger" is not supported by the local runtime',
        );
        expect(host.httpUrl).toBeUndefined();
        expect(services.calls).toEqual([]);
    });

    it('fails start-up on an output type it cannot deliver, naming the binding', async () => {
        const { host } = createHost({ disabled: new Set(['legacyQueue']) });
        await expect(host.start()).rejects.toThrow(
            'Function "tableWriter": output binding "rows" type "table" is not supported by the local runtime',
        );
        expect(host.httpUrl).toBeUndefined();
    });

    it('starts each trigger with its settings resolved and the host.json options', async () => {
        const { host, services } = createHost();
        await host.start();
        expect(services.calls).toEqual([
            [
                'startCosmosDBTrigger',
                {
                    connection: 'Cosmos',
                    databaseName: 'people-db',
                    containerName: 'people',
                    leaseConnection: 'Cosmos',
                    leaseDatabaseName: 'people-db',
                    leaseContainerName: 'leases',
                    leaseContainerPrefix: '',
                    createLeaseContainerIfNotExists: true,
                    feedPollDelayMs: 250,
                    startFromBeginning: true,
                    retry: { maxRetryCount: 2, delayMs: 3000 },
                },
            ],
            [
                'startServiceBusQueueTrigger',
                {
                    connection: 'SB',
                    queueName: 'in-queue',
                    maxConcurrentCalls: 3,
                    maxAutoLockRenewalDurationMs: 60_000,
                },
            ],
        ]);
        expect(host.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        await host.stop();
        expect(services.stopped.sort()).toEqual(['cosmos', 'serviceBus']);
        expect(host.httpUrl).toBeUndefined();
    });

    it('delivers the return value and extra outputs of a Service Bus invocation, with {id} from the payload', async () => {
        const { host, services, logs, outcomes } = createHost();
        await host.start();
        services.calls.length = 0;
        await services.serviceBusHandler!({
            body: '{"id":"a1","names":["Ada","Bo"]}',
            metadata: { MessageId: 'm-1', DeliveryCount: 1 },
        });
        expect(services.calls).toEqual([
            ['writeBlob', 'Storage', 'raw/a1.json', '{"id":"a1","names":["Ada","Bo"]}'],
            ['sendToEventHub', 'EH', 'names-hub', ['Ada', 'Bo']],
        ]);
        expect(logs).toEqual([{ level: 'information', functionName: 'fanOut', message: 'fan-out m-1' }]);
        expect(outcomes).toEqual([['fanOut', 'succeeded']]);
    });

    it('counts a failed invocation, delivers nothing, and lets the error reach the trigger', async () => {
        const { host, services, outcomes } = createHost();
        await host.start();
        services.calls.length = 0;
        await expect(services.serviceBusHandler!({ body: '{"id":"b2","fail":true}', metadata: {} })).rejects.toThrow(
            'refused b2',
        );
        expect(services.calls).toEqual([]);
        expect(outcomes).toEqual([['fanOut', 'failed']]);
    });

    it('fails an invocation whose output path names a value the payload lacks', async () => {
        const { host, services, outcomes } = createHost();
        await host.start();
        await expect(services.serviceBusHandler!({ body: '{"names":["Ada"]}', metadata: {} })).rejects.toThrow(
            "No value for named parameter 'id'.",
        );
        expect(outcomes).toEqual([['fanOut', 'failed']]);
    });

    it('sends one Service Bus message per element of an array output', async () => {
        const { host, services } = createHost();
        await host.start();
        services.calls.length = 0;
        await host.invoke(host.invoker.get('tick').definition, {
            data: { Schedule: { AdjustForDST: true }, ScheduleStatus: null, IsPastDue: false },
        });
        expect(services.calls).toEqual([['sendToServiceBusQueue', 'SB', 'out-queue', ['{"n":1}', 'two', '{"n":3}']]]);
    });

    it('passes route and query values to a Cosmos DB query as parameters, never as query text', async () => {
        const { host, services, outcomes } = createHost();
        await host.start();
        services.calls.length = 0;
        const response = await fetch(`${host.httpUrl}/api/people/${encodeURIComponent("O'Brien")}?city=Cork%22--`);
        expect({ status: response.status, body: await response.json() }).toEqual({
            status: 200,
            body: { rows: [{ id: 'p1' }] },
        });
        expect(services.calls).toEqual([
            [
                'queryCosmos',
                'Cosmos',
                {
                    databaseName: 'people-db',
                    containerName: 'people',
                    sqlQuery: 'SELECT * FROM c WHERE c.name = @name AND c.city = @Query_city',
                    parameters: [
                        { name: '@name', value: "O'Brien" },
                        { name: '@Query_city', value: 'Cork"--' },
                    ],
                },
            ],
        ]);
        expect(outcomes).toEqual([['people', 'succeeded']]);
    });

    it('delivers change-feed outputs to SignalR and Event Grid', async () => {
        const { host, services } = createHost();
        await host.start();
        services.calls.length = 0;
        await services.cosmosHandler!([{ id: 'p1' }, { id: 'p2' }]);
        expect(services.calls).toEqual([
            [
                'sendSignalRMessages',
                'AzureSignalRConnectionString',
                'people-hub',
                [
                    { target: 'changed', arguments: ['p1'] },
                    { target: 'changed', arguments: ['p2'] },
                ],
            ],
            ['publishEventGridEvents', 'EG', [{ subject: 'people', count: 2 }]],
        ]);
    });

    describe('an output set to an empty array', () => {
        async function post(value: unknown) {
            const { host, services, outcomes } = createHost();
            await host.start();
            services.calls.length = 0;
            const response = await fetch(`${host.httpUrl}/api/every-output`, {
                method: 'POST',
                body: JSON.stringify({ value }),
            });
            return { status: response.status, calls: services.calls, outcomes };
        }

        it.each([
            ['Service Bus', 'sendToServiceBusQueue'],
            ['Event Hubs', 'sendToEventHub'],
            ['SignalR', 'sendSignalRMessages'],
            ['Event Grid', 'publishEventGridEvents'],
            ['Cosmos DB', 'upsertCosmosItems'],
        ])('sends nothing to %s and the invocation succeeds', async (_service, method) => {
            const empty = await post([]);
            expect(empty.status).toBe(204);
            expect(empty.outcomes).toEqual([['everyOutput', 'succeeded']]);
            expect(empty.calls.filter(([called]) => called === method)).toEqual([]);
            // The same output with one item does send it: the empty case is skipped, not the output.
            const one = await post([{ id: 'x' }]);
            expect(one.calls.filter(([called]) => called === method)).toHaveLength(1);
        });

        it('writes the blob "[]": a blob output is one blob, never a collection, as in Azure', async () => {
            const { status, calls } = await post([]);
            expect(status).toBe(204);
            expect(calls).toEqual([['writeBlob', 'Storage', 'raw/every-output.json', '[]']]);
        });

        it('while an output left unset writes nothing at all, the blob included', async () => {
            const { status, calls } = await post(null);
            expect(status).toBe(204);
            expect(calls).toEqual([]);
        });
    });

    it('upserts each document of a Cosmos DB output', async () => {
        const { calls } = await (async () => {
            const { host, services } = createHost();
            await host.start();
            services.calls.length = 0;
            await fetch(`${host.httpUrl}/api/every-output`, {
                method: 'POST',
                body: JSON.stringify({ value: [{ id: 'a' }, { id: 'b' }] }),
            });
            return services;
        })();
        expect(calls.filter(([method]) => method === 'upsertCosmosItems')).toEqual([
            [
                'upsertCosmosItems',
                'Cosmos',
                { databaseName: 'people-db', containerName: 'people' },
                [{ id: 'a' }, { id: 'b' }],
            ],
        ]);
    });

    it('leaves disabled functions unstarted, HTTP ones included', async () => {
        const { host, services } = createHost({
            disabled: new Set(['legacyQueue', 'tableWriter', 'fanOut', 'people']),
        });
        await host.start();
        expect(services.calls.map(([method]) => method)).toEqual(['startCosmosDBTrigger']);
        expect((await fetch(`${host.httpUrl}/api/people/x`)).status).toBe(404);
    });
});
