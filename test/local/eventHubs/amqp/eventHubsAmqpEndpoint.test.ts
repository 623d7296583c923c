import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
    earliestEventPosition,
    type EventHubConsumerClient as ConsumerClient,
    EventHubConsumerClient,
    EventHubProducerClient,
    latestEventPosition,
    type ReceivedEventData,
    type SubscribeOptions,
} from '@azure/event-hubs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type AmqpServer, startAmqpServer } from '../../../../local/amqp';
import {
    type EventHubsAmqpEndpoint,
    serveEventHubsOverAmqp,
} from '../../../../local/eventHubs/amqp/eventHubsAmqpEndpoint';
import { LocalEventHub } from '../../../../local/eventHubs/localEventHub';
import { partitionIndexForKey } from '../../../../local/eventHubs/partitionKeyHash';
import { EVENT_HUBS_STATE_COMPONENT, SqliteEventHubStore } from '../../../../local/eventHubs/sqliteEventHubStore';
import { StateStore } from '../../../../local/state';

const KEY_NAME = 'RootManageSharedAccessKey';
const KEY = 'SAS_KEY_VALUE';
const HUB = 'names';
// Fail fast: the SDK's defaults retry for minutes (wire-protocols.md §2.5).
const FAST = { retryOptions: { maxRetries: 0, timeoutInMs: 5_000 } };

function connectionString(port: number, key = KEY): string {
    return `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=${KEY_NAME};SharedAccessKey=${key};UseDevelopmentEmulator=true;`;
}

/** Waits for an asynchronous outcome; fails with the last observed value instead of hanging. */
async function eventually<T>(observe: () => T, done: (value: T) => boolean, timeoutMs = 8000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = observe();
        if (done(value)) return value;
        if (Date.now() > deadline) throw new Error(`condition not met; last value ${JSON.stringify(value)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

describe('Event Hubs over AMQP, driven by the official @azure/event-hubs 6 clients', () => {
    let server: AmqpServer;
    let hub: LocalEventHub;
    let endpoint: EventHubsAmqpEndpoint;
    const clients: Array<{ close(): Promise<void> }> = [];

    beforeEach(async () => {
        server = await startAmqpServer({ port: 0, sharedAccessKeys: { [KEY_NAME]: KEY } });
        hub = new LocalEventHub({ name: HUB, partitionCount: 4 });
        hub.createConsumerGroup('stream-analytics');
        endpoint = serveEventHubsOverAmqp(server, new Map([[HUB, hub]]));
    });

    afterEach(async () => {
        await Promise.all(clients.splice(0).map((client) => client.close()));
        endpoint.close();
        await server.close();
    });

    function producer(hubName = HUB, key = KEY): EventHubProducerClient {
        const client = new EventHubProducerClient(connectionString(server.port, key), hubName, FAST);
        clients.push(client);
        return client;
    }

    function consumer(group = '$Default', hubName = HUB): ConsumerClient {
        const client = new EventHubConsumerClient(group, connectionString(server.port), hubName, FAST);
        clients.push(client);
        return client;
    }

    /** Receives from one partition until `count` events arrived; resolves with them. */
    async function receive(
        client: ConsumerClient,
        partitionId: string,
        count: number,
        options: SubscribeOptions,
    ): Promise<ReceivedEventData[]> {
        const events: ReceivedEventData[] = [];
        const errors: unknown[] = [];
        const subscription = client.subscribe(
            partitionId,
            {
                processEvents: (batch) => {
                    events.push(...batch);
                    return Promise.resolve();
                },
                processError: (error) => {
                    errors.push(error);
                    return Promise.resolve();
                },
            },
            { maxWaitTimeInSeconds: 1, ...options },
        );
        try {
            await eventually(
                () => [events.length, errors.length],
                ([received, failed]) => received! >= count || failed! > 0,
            );
        } finally {
            await subscription.close();
        }
        if (errors.length > 0) throw errors[0];
        return events;
    }

    it('closes a receiver with the state error when a stored event cannot be read, naming the file and the event', async () => {
        const directory = mkdtempSync(path.join(tmpdir(), 'eventhub-amqp-'));
        const state = StateStore.open({ directory, components: [EVENT_HUBS_STATE_COMPONENT] });
        try {
            // Memory keeps event 1 only; event 0 is read from the database, where it is damaged.
            const durable = new LocalEventHub({
                name: HUB,
                partitionCount: 4,
                maxRetainedEventsPerPartition: 1,
                store: new SqliteEventHubStore(state, HUB),
            });
            durable.send([{ body: 'a' }, { body: 'b' }], { partitionId: '1' });
            state.database.prepare("UPDATE eventhub_events SET data = '[not json' WHERE sequence_number = 0").run();
            endpoint.close();
            endpoint = serveEventHubsOverAmqp(server, new Map([[HUB, durable]]));
            const reader = consumer();
            await expect(receive(reader, '1', 2, { startPosition: earliestEventPosition })).rejects.toThrow(
                `The state file "${state.databaseFile}" is damaged and was not used: event 0 of event hub "names" ` +
                    'partition 1 (format 2) cannot be read',
            );
            // The endpoint still serves the partition from a readable position.
            const fromOne = await receive(reader, '1', 1, { startPosition: { sequenceNumber: 1, isInclusive: true } });
            expect(fromOne.map((event): unknown[] => [event.sequenceNumber, event.body])).toEqual([[1, 'b']]);
        } finally {
            state.close();
            rmSync(directory, { recursive: true, force: true });
        }
    });

    it('reads hub and partition properties from $management', async () => {
        const client = producer();
        hub.send([{ body: 'x' }], { partitionId: '2' });

        expect(await client.getEventHubProperties()).toEqual({
            name: HUB,
            createdOn: hub.createdAt,
            partitionIds: ['0', '1', '2', '3'],
            isGeoDrEnabled: false,
        });
        expect(await client.getPartitionProperties('2')).toEqual({
            eventHubName: HUB,
            partitionId: '2',
            beginningSequenceNumber: 0,
            lastEnqueuedSequenceNumber: 0,
            lastEnqueuedOffset: '0',
            lastEnqueuedOnUtc: hub.read('2', 0, 1)[0]!.enqueuedTimeUtc,
            isEmpty: false,
        });
        expect(await client.getPartitionProperties('0')).toMatchObject({
            beginningSequenceNumber: -1,
            lastEnqueuedSequenceNumber: -1,
            isEmpty: true,
        });
    });

    it('stores sends by partition key (the service hash), by partition id and round robin, in one broker state', async () => {
        const client = producer();
        const keyed = await client.createBatch({ partitionKey: 'Jane' });
        expect(keyed.maxSizeInBytes).toBe(1_048_576);
        expect(keyed.tryAdd({ body: { name: 'Jane' }, properties: { letter: 'J' } })).toBe(true);
        expect(keyed.tryAdd({ body: { name: 'John' }, properties: { letter: 'J' } })).toBe(true);
        await client.sendBatch(keyed);
        const keyedPartition = String(partitionIndexForKey('Jane', 4));
        const otherPartition = String((Number(keyedPartition) + 1) % 4);
        await client.sendBatch([{ body: 'by id' }], { partitionId: otherPartition });
        await client.sendBatch([{ body: Buffer.from([1, 2]) }, { body: 'second' }]);

        expect(
            hub.read(keyedPartition, 0, 10).map((event) => [event.body, event.properties, event.partitionKey]),
        ).toEqual([
            [{ name: 'Jane' }, { letter: 'J' }, 'Jane'],
            [{ name: 'John' }, { letter: 'J' }, 'Jane'],
        ]);
        expect(hub.read(otherPartition, 0, 10).map((event): unknown => event.body)).toContain('by id');
        // Round robin puts one send (one batch) on one partition: both events together, in order.
        const roundRobin = hub.partitionIds
            .map((id) => hub.read(id, 0, 10).map((event): unknown => event.body))
            .find((bodies) => bodies.includes('second'));
        expect(roundRobin?.slice(-2)).toEqual([Buffer.from([1, 2]), 'second']);
        expect(hub.stats().totalEnqueuedEvents).toBe(5);
    });

    it('delivers events from earliest with the annotations and properties the SDK reads, sent in-process or over AMQP', async () => {
        hub.send([{ body: { inProcess: true }, properties: { source: 'host' } }], { partitionId: '1' });
        await producer().sendBatch(
            [
                {
                    body: { overAmqp: true },
                    properties: { n: 7 },
                    messageId: 'm-1',
                    correlationId: 'c-1',
                    contentType: 'application/json',
                },
            ],
            { partitionId: '1' },
        );
        const stored = hub.read('1', 0, 10);

        const events = await receive(consumer(), '1', 2, { startPosition: earliestEventPosition });

        expect(
            events.map((event) => ({
                body: event.body,
                properties: event.properties,
                sequenceNumber: event.sequenceNumber,
                offset: event.offset,
                enqueuedTimeUtc: event.enqueuedTimeUtc,
                partitionKey: event.partitionKey,
                messageId: event.messageId,
                correlationId: event.correlationId,
                contentType: event.contentType,
            })),
        ).toEqual([
            {
                body: { inProcess: true },
                properties: { source: 'host' },
                sequenceNumber: 0,
                offset: '0',
                enqueuedTimeUtc: stored[0]!.enqueuedTimeUtc,
                partitionKey: undefined,
                messageId: undefined,
                correlationId: undefined,
                contentType: undefined,
            },
            {
                body: { overAmqp: true },
                properties: { n: 7 },
                sequenceNumber: 1,
                offset: stored[1]!.offset,
                enqueuedTimeUtc: stored[1]!.enqueuedTimeUtc,
                partitionKey: undefined,
                messageId: 'm-1',
                correlationId: 'c-1',
                contentType: 'application/json',
            },
        ]);
    });

    it('delivers the partition key a producer sent with, on the partition its hash names', async () => {
        await producer().sendBatch([{ body: 'keyed' }], { partitionKey: 'Jane' });
        const partitionId = String(partitionIndexForKey('Jane', 4));

        const events = await receive(consumer(), partitionId, 1, { startPosition: earliestEventPosition });

        expect(events.map((event): unknown[] => [event.body, event.partitionKey])).toEqual([['keyed', 'Jane']]);
    });

    it('starts from latest, a sequence number, an offset or an enqueued time, per consumer group', async () => {
        for (let i = 0; i < 4; i += 1) hub.send([{ body: i }], { partitionId: '0' });
        const stored = hub.read('0', 0, 10);
        const client = consumer('stream-analytics');

        expect(
            (await receive(client, '0', 2, { startPosition: { sequenceNumber: 1 } })).map((e): unknown => e.body),
        ).toEqual([2, 3]);
        expect(
            (await receive(client, '0', 3, { startPosition: { sequenceNumber: 1, isInclusive: true } })).map(
                (e): unknown => e.body,
            ),
        ).toEqual([1, 2, 3]);
        expect(
            (await receive(client, '0', 1, { startPosition: { offset: stored[2]!.offset } })).map(
                (e): unknown => e.body,
            ),
        ).toEqual([3]);
        expect(
            (await receive(client, '0', 4, { startPosition: { enqueuedOn: new Date(0) } })).map((e): unknown => e.body),
        ).toEqual([0, 1, 2, 3]);

        const fromLatest: ReceivedEventData[] = [];
        const subscription = consumer().subscribe(
            '0',
            {
                processEvents: (batch) => {
                    fromLatest.push(...batch);
                    return Promise.resolve();
                },
                processError: () => Promise.resolve(),
            },
            { startPosition: latestEventPosition, maxWaitTimeInSeconds: 1 },
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        hub.send([{ body: 'after' }], { partitionId: '0' });
        await eventually(
            () => fromLatest.length,
            (n) => n >= 1,
        );
        await subscription.close();
        expect(fromLatest.map((event): unknown => event.body)).toEqual(['after']);
    });

    it('reports the last enqueued event to a receiver that tracks it', async () => {
        hub.send([{ body: 'a' }, { body: 'b' }], { partitionId: '2' });
        const last = hub.getPartitionProperties('2');
        const seen: unknown[] = [];
        const subscription = consumer().subscribe(
            '2',
            {
                processEvents: (_events, context) => {
                    seen.push(context.lastEnqueuedEventProperties);
                    return Promise.resolve();
                },
                processError: () => Promise.resolve(),
            },
            { startPosition: earliestEventPosition, trackLastEnqueuedEventProperties: true, maxBatchSize: 2 },
        );
        await eventually(
            () => seen.length,
            (n) => n >= 1,
        );
        await subscription.close();
        expect(seen[0]).toEqual({
            sequenceNumber: 1,
            offset: last.lastEnqueuedOffset,
            enqueuedOn: last.lastEnqueuedOnUtc,
            retrievedOn: expect.any(Date),
        });
    });

    it('refuses a missing hub, consumer group or partition with the errors the SDK defines', async () => {
        await expect(producer('nope').getEventHubProperties()).rejects.toMatchObject({
            code: 'MessagingEntityNotFoundError',
        });
        await expect(producer('nope').sendBatch([{ body: 1 }])).rejects.toMatchObject({
            code: 'MessagingEntityNotFoundError',
        });
        await expect(producer().getPartitionProperties('9')).rejects.toMatchObject({
            code: 'ArgumentOutOfRangeError',
        });
        await expect(producer().sendBatch([{ body: 1 }], { partitionId: '9' })).rejects.toMatchObject({
            code: 'ArgumentOutOfRangeError',
        });
        await expect(
            receive(consumer('no-such-group'), '0', 1, { startPosition: earliestEventPosition }),
        ).rejects.toMatchObject({ code: 'MessagingEntityNotFoundError' });
        await expect(receive(consumer(), '9', 1, { startPosition: earliestEventPosition })).rejects.toMatchObject({
            code: 'ArgumentOutOfRangeError',
        });
    });

    it('refuses a token signed with the wrong key', async () => {
        await expect(producer(HUB, 'not-the-key').getEventHubProperties()).rejects.toMatchObject({
            code: 'UnauthorizedError',
        });
    });

    it('rejects an event over the 1 MB limit with MessageTooLargeError and stores nothing of that send', async () => {
        await expect(
            producer().sendBatch([{ body: 'small' }, { body: Buffer.alloc(1_048_577) }], { partitionId: '0' }),
        ).rejects.toMatchObject({ code: 'MessageTooLargeError' });
        expect(hub.stats().totalEnqueuedEvents).toBe(0);
    });

    it('lets a receiver with a higher owner level displace a lower one, and refuses lower and non-epoch ones', async () => {
        hub.send([{ body: 'one' }], { partitionId: '0' });
        const lowErrors: unknown[] = [];
        const low = consumer().subscribe(
            '0',
            {
                processEvents: () => Promise.resolve(),
                processError: (error) => {
                    lowErrors.push(error);
                    return Promise.resolve();
                },
            },
            { ownerLevel: 1, startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        const high = await receive(consumer(), '0', 1, { ownerLevel: 2, startPosition: earliestEventPosition });
        expect(high.map((event): unknown => event.body)).toEqual(['one']);
        await eventually(
            () => lowErrors.length,
            (n) => n >= 1,
        );
        await low.close();
        expect(lowErrors[0]).toMatchObject({ code: 'ReceiverDisconnectedError' });

        const holder = consumer().subscribe(
            '0',
            { processEvents: () => Promise.resolve(), processError: () => Promise.resolve() },
            { ownerLevel: 5, startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        try {
            await expect(
                receive(consumer(), '0', 1, { ownerLevel: 4, startPosition: earliestEventPosition }),
            ).rejects.toMatchObject({ code: 'ReceiverDisconnectedError' });
            await expect(receive(consumer(), '0', 1, { startPosition: earliestEventPosition })).rejects.toMatchObject({
                code: 'ReceiverDisconnectedError',
            });
        } finally {
            await holder.close();
        }
    });
});
