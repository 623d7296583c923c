import { ServiceBusClient } from '@azure/service-bus';
import { describe, expect, it } from 'vitest';

import { fixedClock, systemClock } from '../../../domain/clock';
import { startAmqpServer } from '../../../local/amqp';
import { LocalEventHub } from '../../../local/eventHubs';
import { serveEventHubsOverAmqp } from '../../../local/eventHubs/amqp/eventHubsAmqpEndpoint';
import { BindingResolutionError } from '../../../local/host/appSettings';
import { LocalConnectionError, LocalServices } from '../../../local/runtime/localServices';
import { LocalServiceBusQueue, serveQueueOverAmqp } from '../../../local/serviceBus';

const clock = fixedClock('2025-01-01T00:00:00Z');
const EMULATOR_SB =
    'Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=x;UseDevelopmentEmulator=true;';
const AZURE_SB = 'Endpoint=sb://namestream.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=x';
const AZURITE =
    'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;';

function setUp(
    settings: Record<string, string>,
    serviceBusPath: 'amqp' | 'in-process' = 'in-process',
    eventHubPath: 'amqp' | 'in-process' = 'in-process',
) {
    const queue = new LocalServiceBusQueue({ name: 'names', clock });
    const hub = new LocalEventHub({ name: 'names-hub', partitionCount: 1, clock });
    const services = new LocalServices({
        settings,
        queues: new Map([['names', queue]]),
        eventHubs: new Map([['names-hub', hub]]),
        cosmosCa: '',
        clock,
        serviceBusPath,
        eventHubPath,
    });
    return { services, queue, hub };
}

const notLocal = (connection: string, reason: string) => new LocalConnectionError(connection, reason).message;

describe('LocalServices connection checks', () => {
    it('documents the way out in the error message', () => {
        expect(new LocalConnectionError('SB', 'is wrong')).toMatchObject({
            name: 'LocalConnectionError',
            message:
                'Connection "SB" is wrong. The local runtime hosts its own stand-ins; run "func start" to use Azure resources.',
        });
    });

    it('sends to a local queue in-process, one message per body', async () => {
        const { services, queue } = setUp({ SB: EMULATOR_SB });
        await services.sendToServiceBusQueue('SB', 'names', ['{"id":1}', Buffer.from([1])]);
        expect(queue.receive(2).map(({ body, contentType }) => ({ body, contentType }))).toEqual([
            { body: '{"id":1}', contentType: 'application/json' },
            { body: Buffer.from([1]), contentType: 'application/octet-stream' },
        ]);
    });

    it('refuses a Service Bus connection string that is not the emulator', async () => {
        const { services, queue } = setUp({ SB: AZURE_SB });
        await expect(services.sendToServiceBusQueue('SB', 'names', ['x'])).rejects.toThrow(
            notLocal('SB', 'is not an emulator connection string (UseDevelopmentEmulator=true)'),
        );
        expect(() =>
            services.startServiceBusQueueTrigger({
                connection: 'SB',
                queueName: 'names',
                maxConcurrentCalls: 1,
                maxAutoLockRenewalDurationMs: 1000,
                handler: () => Promise.resolve(),
                onError: () => undefined,
            }),
        ).toThrow(LocalConnectionError);
        expect(queue.activeMessageCount).toBe(0);
    });

    it('refuses identity-based Service Bus settings, which cannot point at the emulator', async () => {
        const { services } = setUp({ SB__fullyQualifiedNamespace: 'namestream.servicebus.windows.net' });
        await expect(services.sendToServiceBusQueue('SB', 'names', ['x'])).rejects.toThrow(LocalConnectionError);
    });

    it('names a missing connection setting', async () => {
        const { services } = setUp({});
        await expect(services.sendToServiceBusQueue('SB', 'names', ['x'])).rejects.toThrow(
            new BindingResolutionError(
                'Connection "SB" is not configured: set app setting "SB" or "SB__<property>" settings',
            ),
        );
    });

    it('names a queue or event hub that does not exist locally', async () => {
        const { services } = setUp({ SB: EMULATOR_SB });
        await expect(services.sendToServiceBusQueue('SB', 'nope', ['x'])).rejects.toThrow(
            'Service Bus queue "nope" does not exist in the local namespace',
        );
        await expect(services.sendToEventHub('SB', 'nope', ['x'])).rejects.toThrow(
            'Event Hub "nope" does not exist in the local namespace',
        );
    });

    it('sends events to a local Event Hub, JSON text as the object it encodes', async () => {
        const { services, hub } = setUp({ EH: EMULATOR_SB });
        await services.sendToEventHub('EH', 'names-hub', ['{"name":"Ada"}', 'plain', { name: 'Bo' }]);
        expect(hub.read('0', 0, 10).map((event) => event.body)).toEqual([{ name: 'Ada' }, 'plain', { name: 'Bo' }]);
    });

    it('sends events over AMQP with the official producer, as the extension does, into the same hub as in process', async () => {
        const server = await startAmqpServer({ port: 0, sharedAccessKeys: { RootManageSharedAccessKey: 'x' } });
        const connection = `Endpoint=sb://127.0.0.1:${server.port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=x;UseDevelopmentEmulator=true;`;
        const { services, hub } = setUp({ EH: connection }, 'in-process', 'amqp');
        const endpoint = serveEventHubsOverAmqp(server, new Map([['names-hub', hub]]), { clock });
        try {
            hub.send([{ body: { name: 'In process' } }]);
            await services.sendToEventHub('EH', 'names-hub', ['{"name":"Ada"}', 'plain', { name: 'Bo' }]);
            // The extension sends each item's bytes: JSON text decodes as the object, other text stays bytes.
            expect(hub.read('0', 0, 10).map((event) => event.body)).toEqual([
                { name: 'In process' },
                { name: 'Ada' },
                Buffer.from('plain'),
                { name: 'Bo' },
            ]);
        } finally {
            await services.close();
            endpoint.close();
            await server.close();
        }
    });

    it('refuses an Event Hub connection that is not the emulator', async () => {
        const { services } = setUp({ EH: 'Endpoint=sb://ns.servicebus.windows.net/;EntityPath=names-hub' });
        await expect(services.sendToEventHub('EH', 'names-hub', ['x'])).rejects.toThrow(
            notLocal('EH', 'is not an emulator connection string (UseDevelopmentEmulator=true)'),
        );
    });

    it('refuses a Cosmos DB endpoint that is not on this machine', async () => {
        const { services } = setUp({
            Cosmos: 'AccountEndpoint=https://namestream.documents.azure.com:443/;AccountKey=eA==;',
        });
        await expect(
            services.queryCosmos('Cosmos', {
                databaseName: 'd',
                containerName: 'c',
                sqlQuery: 'SELECT 1',
                parameters: [],
            }),
        ).rejects.toThrow(
            notLocal(
                'Cosmos',
                'must be a connection string to the local Cosmos DB (got endpoint "https://namestream.documents.azure.com:443/")',
            ),
        );
    });

    it('refuses a Cosmos DB connection without an endpoint, and a host that only starts with 127.', async () => {
        const { services } = setUp({
            Empty: 'AccountKey=eA==;',
            Tricky: 'AccountEndpoint=https://127.attacker.example:8081/;AccountKey=eA==;',
        });
        const read = (connection: string) =>
            services.readCosmosItem(connection, { databaseName: 'd', containerName: 'c', id: 'i', partitionKey: 'i' });
        await expect(read('Empty')).rejects.toThrow(
            notLocal('Empty', 'must be a connection string to the local Cosmos DB (got endpoint "")'),
        );
        await expect(read('Tricky')).rejects.toThrow(
            notLocal(
                'Tricky',
                'must be a connection string to the local Cosmos DB (got endpoint "https://127.attacker.example:8081/")',
            ),
        );
    });

    it('refuses blob storage that is not Azurite, and a blob path without a container', async () => {
        const { services } = setUp({
            Storage:
                'DefaultEndpointsProtocol=https;AccountName=namestream;AccountKey=eA==;EndpointSuffix=core.windows.net',
            Local: AZURITE,
        });
        await expect(services.writeBlob('Storage', 'raw/a.json', '{}')).rejects.toThrow(
            notLocal('Storage', 'must point at Azurite (got https://namestream.blob.core.windows.net/)'),
        );
        await expect(services.writeBlob('Local', 'a.json', '{}')).rejects.toThrow(
            'Blob path "a.json" must be "<container>/<blob name>"',
        );
    });

    it('refuses an Event Grid topic that is not on this machine', async () => {
        const { services } = setUp({
            EG__topicEndpointUri: 'https://topic.westeurope-1.eventgrid.azure.net/api/events',
        });
        await expect(services.publishEventGridEvents('EG', [{}])).rejects.toThrow(
            notLocal(
                'EG',
                'needs "EG__topicEndpointUri" pointing at the local topic (got "https://topic.westeurope-1.eventgrid.azure.net/api/events")',
            ),
        );
    });

    it('refuses a SignalR connection given only as identity-based settings', async () => {
        const { services } = setUp({ AzureSignalRConnectionString__serviceUri: 'https://x.service.signalr.net' });
        await expect(services.sendSignalRMessages('AzureSignalRConnectionString', 'hub', [])).rejects.toThrow(
            notLocal('AzureSignalRConnectionString', 'must be a SignalR connection string to the local service'),
        );
    });
});

describe('LocalServices Service Bus bindings over AMQP (the official SDK client, as the Functions host uses)', () => {
    async function overAmqp() {
        const server = await startAmqpServer({ port: 0, sharedAccessKeys: { RootManageSharedAccessKey: 'x' } });
        const queue = new LocalServiceBusQueue({ name: 'names', clock: systemClock });
        serveQueueOverAmqp(server, queue);
        const connection = EMULATOR_SB.replace('sb://localhost', `sb://127.0.0.1:${server.port}`);
        const services = new LocalServices({
            settings: { SB: connection },
            queues: new Map([['names', queue]]),
            eventHubs: new Map(),
            cosmosCa: '',
            clock: systemClock,
        });
        return {
            queue,
            services,
            connection,
            close: async () => {
                await services.close();
                queue.close();
                await server.close();
            },
        };
    }

    it('sends one message per body, text as its UTF-8 bytes', async () => {
        const { services, queue, close } = await overAmqp();
        try {
            expect(services.serviceBusPath).toBe('amqp');
            await services.sendToServiceBusQueue('SB', 'names', ['{"id":1}', Buffer.from([1])]);
            expect(queue.receive(2).map(({ body, contentType }) => ({ body, contentType }))).toEqual([
                { body: Buffer.from('{"id":1}'), contentType: 'application/json' },
                { body: Buffer.from([1]), contentType: 'application/octet-stream' },
            ]);
        } finally {
            await close();
        }
    });

    it("in process too, hands an official sender's JSON body to the function as the text it sent", async () => {
        const { queue, connection, close } = await overAmqp();
        const services = new LocalServices({
            settings: { SB: connection },
            queues: new Map([['names', queue]]),
            eventHubs: new Map(),
            cosmosCa: '',
            clock: systemClock,
            serviceBusPath: 'in-process',
        });
        try {
            const client = new ServiceBusClient(connection);
            await client.createSender('names').sendMessages([
                { body: { id: 'a', names: ['Ada'] }, contentType: 'application/json' },
                { body: Buffer.from([1, 2]), contentType: 'application/octet-stream' },
            ]);
            await client.close();
            const bodies: unknown[] = [];
            await new Promise<void>((resolve) => {
                const handle = services.startServiceBusQueueTrigger({
                    connection: 'SB',
                    queueName: 'names',
                    maxConcurrentCalls: 1,
                    maxAutoLockRenewalDurationMs: 60_000,
                    handler: (delivery) => {
                        bodies.push(delivery.body);
                        if (bodies.length === 2) {
                            void handle.stop().then(() => resolve());
                        }
                        return Promise.resolve();
                    },
                    onError: () => undefined,
                });
            });
            expect(bodies).toEqual(['{"id":"a","names":["Ada"]}', Buffer.from([1, 2])]);
        } finally {
            await services.close();
            await close();
        }
    });

    it('triggers with the body and metadata, completes on success and redelivers after a failure', async () => {
        const { services, queue, close } = await overAmqp();
        const calls: Array<{ body: unknown; metadata: Record<string, unknown> }> = [];
        const errors: unknown[] = [];
        let seen = 0;
        const handled = new Promise<void>((resolve) => {
            const handle = services.startServiceBusQueueTrigger({
                connection: 'SB',
                queueName: 'names',
                maxConcurrentCalls: 1,
                maxAutoLockRenewalDurationMs: 60_000,
                handler: (delivery) => {
                    calls.push(delivery);
                    if (++seen === 1) {
                        return Promise.reject(new Error('first attempt fails'));
                    }
                    void handle
                        .stop()
                        .then(() => resolve())
                        .catch(() => undefined);
                    return Promise.resolve();
                },
                onError: (error) => errors.push(error),
            });
        });
        try {
            // Sent in-process, received through the SDK: one broker state.
            const sent = queue.send({
                body: '{"names":["Ada"]}',
                messageId: 'm-1',
                contentType: 'application/json',
                applicationProperties: { source: 'timer' },
            });
            await handled;
            expect(calls.map(({ body, metadata }) => [body, metadata.MessageId, metadata.DeliveryCount])).toEqual([
                ['{"names":["Ada"]}', 'm-1', 1],
                ['{"names":["Ada"]}', 'm-1', 2],
            ]);
            expect(calls[1]!.metadata).toMatchObject({
                SequenceNumber: sent.sequenceNumber,
                ContentType: 'application/json',
                ApplicationProperties: { source: 'timer' },
                LockToken: expect.stringMatching(/^[0-9a-f-]{36}$/),
            });
            expect(errors).toEqual([expect.objectContaining({ message: 'first attempt fails' })]);
            await new Promise((resolve) => setTimeout(resolve, 100));
            expect([queue.activeMessageCount, queue.lockedMessageCount, queue.deadLetterMessageCount]).toEqual([
                0, 0, 0,
            ]);
        } finally {
            await close();
        }
    });
});
