import {
    earliestEventPosition,
    EventHubConsumerClient,
    EventHubProducerClient,
    type Subscription,
} from '@azure/event-hubs';
import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type AmqpServer, startAmqpServer } from '../../../../local/amqp';
import {
    type EventHubsAmqpEndpoint,
    serveEventHubsOverAmqp,
} from '../../../../local/eventHubs/amqp/eventHubsAmqpEndpoint';
import { LocalEventHub } from '../../../../local/eventHubs/localEventHub';
import { type RunningAzurite, startAzurite } from '../../../../local/runtime/azurite';

const KEY_NAME = 'RootManageSharedAccessKey';
const KEY = 'SAS_KEY_VALUE';
const HUB = 'names';
const FAST = { retryOptions: { maxRetries: 0, timeoutInMs: 5_000 } };
// Short enough that two clients settle on two partitions each within a couple of seconds (defaults: 10 s and 60 s).
const LOAD_BALANCING = { updateIntervalInMs: 200, partitionOwnershipExpirationIntervalInMs: 3_000 };

async function eventually<T>(observe: () => T, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = observe();
        if (done(value)) return value;
        if (Date.now() > deadline) throw new Error(`condition not met; last value ${JSON.stringify(value)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

describe('EventHubConsumerClient with the official blob checkpoint store on Azurite, over the local AMQP endpoint', () => {
    let azurite: RunningAzurite;
    let container: ContainerClient;
    let server: AmqpServer;
    let endpoint: EventHubsAmqpEndpoint;
    let hub: LocalEventHub;

    beforeAll(async () => {
        azurite = await startAzurite({ port: 0 });
        container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('checkpoints');
        await container.create();
        server = await startAmqpServer({ port: 0, sharedAccessKeys: { [KEY_NAME]: KEY } });
        hub = new LocalEventHub({ name: HUB, partitionCount: 4 });
        endpoint = serveEventHubsOverAmqp(server, new Map([[HUB, hub]]));
    });

    afterAll(async () => {
        endpoint.close();
        await server.close();
        await azurite.close();
    });

    const connectionString = (): string =>
        `Endpoint=sb://127.0.0.1:${server.port};SharedAccessKeyName=${KEY_NAME};SharedAccessKey=${KEY};UseDevelopmentEmulator=true;`;

    /** A consumer that records which partitions it processed and checkpoints every batch. */
    function startConsumer(seen: Map<string, string[]>): {
        client: EventHubConsumerClient;
        subscription: Subscription;
    } {
        const client = new EventHubConsumerClient(
            '$Default',
            connectionString(),
            HUB,
            new BlobCheckpointStore(container),
            {
                ...FAST,
                loadBalancingOptions: LOAD_BALANCING,
            },
        );
        const subscription = client.subscribe(
            {
                processEvents: async (events, context) => {
                    const bodies = seen.get(context.partitionId) ?? [];
                    bodies.push(...events.map((event) => String(event.body)));
                    seen.set(context.partitionId, bodies);
                    const last = events[events.length - 1];
                    if (last !== undefined) await context.updateCheckpoint(last);
                },
                // Expected while the two clients balance: a partition taken over detaches its previous receiver.
                processError: () => Promise.resolve(),
            },
            { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
        );
        return { client, subscription };
    }

    it('splits the partitions between two clients, each event processed once, and a new client resumes from the checkpoints', async () => {
        const first = new Map<string, string[]>();
        const second = new Map<string, string[]>();
        const a = startConsumer(first);
        const b = startConsumer(second);
        const producer = new EventHubProducerClient(connectionString(), HUB, FAST);
        try {
            // Wait for the balance: both clients own partitions and together all four.
            const ownedBy = async (): Promise<Map<string, string>> => {
                const owners = new Map<string, string>();
                const store = new BlobCheckpointStore(container);
                // The SDK names the namespace by the endpoint's host, without the port.
                for (const ownership of await store.listOwnership('127.0.0.1', HUB, '$Default')) {
                    owners.set(ownership.partitionId, ownership.ownerId);
                }
                return owners;
            };
            let owners = new Map<string, string>();
            const deadline = Date.now() + 20_000;
            while (Date.now() < deadline) {
                owners = await ownedBy();

                const counts = [...new Set(owners.values())].map(
                    (owner) => [...owners.values()].filter((o) => o === owner).length,
                );
                if (owners.size === 4 && counts.length === 2 && counts.every((count) => count === 2)) break;
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            expect(owners.size).toBe(4);
            expect(new Set(owners.values()).size).toBe(2);

            for (const partitionId of hub.partitionIds) {
                await producer.sendBatch([{ body: `first-${partitionId}` }], { partitionId });
            }
            await eventually(
                () => [...first.values(), ...second.values()].flat().length,
                (n) => n >= 4,
            );
            expect([...first.keys()].filter((id) => second.has(id))).toEqual([]);
            expect([...first.values(), ...second.values()].flat().sort()).toEqual([
                'first-0',
                'first-1',
                'first-2',
                'first-3',
            ]);
        } finally {
            await a.subscription.close();
            await b.subscription.close();
            await a.client.close();
            await b.client.close();
        }

        for (const partitionId of hub.partitionIds) {
            await producer.sendBatch([{ body: `second-${partitionId}` }], { partitionId });
        }
        await producer.close();
        const resumed = new Map<string, string[]>();
        const c = startConsumer(resumed);
        try {
            await eventually(
                () => [...resumed.values()].flat().length,
                (n) => n >= 4,
            );
            await new Promise((resolve) => setTimeout(resolve, 500));
            expect([...resumed.values()].flat().sort()).toEqual(['second-0', 'second-1', 'second-2', 'second-3']);
        } finally {
            await c.subscription.close();
            await c.client.close();
        }
    }, 45_000);
});
