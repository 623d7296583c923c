/**
 * Micro-benchmark of the in-process brokers with no-op handlers: how many messages per second the Service Bus
 * queue processor settles and how many events per second the Event Hub accepts and delivers, in memory and on the
 * state database side by side. Run with `npx tsx bench/localBrokers.bench.ts [messageCount] [eventCount]`.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { ServiceBusClient } from '@azure/service-bus';

import { startAmqpServer } from '../local/amqp';
import { EVENT_HUBS_STATE_COMPONENT, LocalEventHub, SqliteEventHubStore } from '../local/eventHubs';
import { LocalServiceBusQueue, serveQueueOverAmqp } from '../local/serviceBus';
import { STATE_DATABASE_FILE, StateStore } from '../local/state';

const messageCount = Number(process.argv[2] ?? 100_000);
const eventCount = Number(process.argv[3] ?? 1_000_000);
const body = JSON.stringify({ names: ['Ada Lovelace', 'Émile Zola', 'Grace Hopper'], generatedAt: new Date() });

function rate(count: number, elapsedMs: number): string {
    return `${Math.round((count / elapsedMs) * 1000).toLocaleString('en-US')}/s`;
}

async function benchQueueDrain(maxConcurrentCalls: number): Promise<void> {
    const queue = new LocalServiceBusQueue({ name: 'bench-queue' });
    const sendStart = performance.now();
    for (let i = 0; i < messageCount; i++) {
        queue.send({ body, contentType: 'application/json' });
    }
    const sendMs = performance.now() - sendStart;
    let handled = 0;
    const start = performance.now();
    await new Promise<void>((done) => {
        const processor = queue.startProcessor({
            maxConcurrentCalls,
            handler: () => {
                if (++handled === messageCount) {
                    void processor.stop().then(done);
                }
                return Promise.resolve();
            },
        });
    });
    const drainMs = performance.now() - start;
    queue.close();
    console.log(
        `service bus  send ${messageCount} messages: ${rate(messageCount, sendMs)}; processor drain ` +
            `(maxConcurrentCalls ${maxConcurrentCalls}): ${rate(messageCount, drainMs)}`,
    );
}

async function benchQueueStreaming(maxConcurrentCalls: number): Promise<void> {
    const queue = new LocalServiceBusQueue({ name: 'bench-queue' });
    let handled = 0;
    const start = performance.now();
    const finished = new Promise<void>((done) => {
        const processor = queue.startProcessor({
            maxConcurrentCalls,
            handler: () => {
                if (++handled === messageCount) {
                    void processor.stop().then(done);
                }
                return Promise.resolve();
            },
        });
    });
    // Sends arrive in bursts between event-loop turns, as they do from the timer function's output binding.
    for (let sent = 0; sent < messageCount;) {
        for (let burst = 0; burst < 100 && sent < messageCount; burst++, sent++) {
            queue.send({ body, contentType: 'application/json' });
        }
        await new Promise((resolve) => setImmediate(resolve));
    }
    await finished;
    queue.close();
    console.log(
        `service bus  send+process interleaved (bursts of 100, maxConcurrentCalls ${maxConcurrentCalls}): ` +
            `${rate(messageCount, performance.now() - start)}`,
    );
}

/**
 * The same drain as benchQueueDrain, but as the functions host runs the trigger by default: the official SDK's
 * streaming receiver (peek-lock, auto-complete, lock renewal) over the local AMQP endpoint.
 */
async function benchQueueDrainOverAmqp(maxConcurrentCalls: number, count: number): Promise<void> {
    const server = await startAmqpServer({ port: 0, sharedAccessKeys: { RootManageSharedAccessKey: 'SAS_KEY_VALUE' } });
    const queue = new LocalServiceBusQueue({ name: 'bench-queue' });
    serveQueueOverAmqp(server, queue);
    for (let i = 0; i < count; i++) {
        queue.send({ body, contentType: 'application/json' });
    }
    const client = new ServiceBusClient(
        `Endpoint=sb://127.0.0.1:${server.port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`,
    );
    let handled = 0;
    const start = performance.now();
    await new Promise<void>((done) => {
        const subscription = client.createReceiver('bench-queue', { skipParsingBodyAsJson: true }).subscribe(
            {
                processMessage: () => {
                    if (++handled === count) {
                        void subscription.close().then(done);
                    }
                    return Promise.resolve();
                },
                processError: ({ error }) => Promise.resolve(console.error(error)),
            },
            { maxConcurrentCalls, autoCompleteMessages: true },
        );
    });
    const drainMs = performance.now() - start;
    await client.close();
    queue.close();
    await server.close();
    console.log(
        `service bus  SDK receiver over AMQP drain (maxConcurrentCalls ${maxConcurrentCalls}, ${count} messages): ` +
            `${rate(count, drainMs)}`,
    );
}

async function benchEventHub(batchSize: number): Promise<void> {
    const hub = new LocalEventHub({ name: 'bench-hub', partitionCount: 4 });
    const sendStart = performance.now();
    for (let sent = 0; sent < eventCount; sent += batchSize) {
        const batch = Array.from({ length: Math.min(batchSize, eventCount - sent) }, (_, i) => ({
            body: { name: 'Ada Lovelace', index: sent + i },
        }));
        hub.send(batch);
    }
    const sendMs = performance.now() - sendStart;
    let delivered = 0;
    const start = performance.now();
    await new Promise<void>((done) => {
        const subscription = hub.subscribe('$Default', {
            startPosition: 'earliest',
            maxBatchSize: 100,
            handler: (_, events) => {
                delivered += events.length;
                if (delivered === eventCount) {
                    void subscription.close().then(done);
                }
                return Promise.resolve();
            },
        });
    });
    const deliverMs = performance.now() - start;
    console.log(
        `event hubs   send ${eventCount} events in sends of ${batchSize}: ${rate(eventCount, sendMs)}; ` +
            `subscribe delivery (4 partitions, batches of 100): ${rate(eventCount, deliverMs)}`,
    );
}

async function benchEventHubStreaming(): Promise<void> {
    const hub = new LocalEventHub({ name: 'bench-hub', partitionCount: 4 });
    let delivered = 0;
    const start = performance.now();
    const finished = new Promise<void>((done) => {
        const subscription = hub.subscribe('$Default', {
            startPosition: 'latest',
            maxBatchSize: 100,
            handler: (_, events) => {
                delivered += events.length;
                if (delivered === eventCount) {
                    void subscription.close().then(done);
                }
                return Promise.resolve();
            },
        });
    });
    // One send per name with the event loop turning between bursts, like the fan-out function's output.
    for (let sent = 0; sent < eventCount;) {
        for (let burst = 0; burst < 100 && sent < eventCount; burst++, sent++) {
            hub.send([{ body: { name: 'Ada Lovelace', index: sent } }]);
        }
        await new Promise((resolve) => setImmediate(resolve));
    }
    await finished;
    console.log(
        `event hubs   send+deliver interleaved (sends of 1, bursts of 100): ${rate(eventCount, performance.now() - start)}`,
    );
}

/**
 * Sends of `batchSize` events (the fan-out's 4 to 10 names are 7 on average), in memory and on a state folder (one
 * transaction per send, committed before the send returns); then the time to reopen the folder (which loads no
 * events: it checks each partition's numbering) and the rate at which a reader from the beginning reads them back
 * from the database, as the Stream Analytics job's replay does after a restart.
 */
function benchEventHubDurable(batchSize: number, count: number): void {
    const sendAll = (hub: LocalEventHub) => {
        const start = performance.now();
        for (let sent = 0; sent < count; sent += batchSize) {
            hub.send(
                Array.from({ length: Math.min(batchSize, count - sent) }, (_, i) => ({
                    body: { name: 'Ada Lovelace', letter: 'A', index: sent + i },
                })),
            );
        }
        return (count / (performance.now() - start)) * 1000;
    };
    const inMemory = sendAll(new LocalEventHub({ name: 'bench-hub', partitionCount: 4 }));
    const directory = mkdtempSync(path.join(os.tmpdir(), 'eventhub-bench-'));
    try {
        const open = () => {
            const state = StateStore.open({ directory, components: [EVENT_HUBS_STATE_COMPONENT] });
            const hub = new LocalEventHub({
                name: 'bench-hub',
                partitionCount: 4,
                store: new SqliteEventHubStore(state, 'bench-hub'),
            });
            return { state, hub };
        };
        const first = open();
        const durable = sendAll(first.hub);
        first.hub.close();
        first.state.close();
        const loadStart = performance.now();
        const second = open();
        const loadMs = performance.now() - loadStart;
        const retained = second.hub.stats().totalRetainedEvents;
        const readStart = performance.now();
        let read = 0;
        for (const partitionId of second.hub.partitionIds) {
            for (let next = 0; ;) {
                const page = second.hub.read(partitionId, next, 10_000);
                read += page.length;
                if (page.length < 10_000) break;
                next = page[page.length - 1]!.sequenceNumber + 1;
            }
        }
        const readMs = performance.now() - readStart;
        const databaseBytes = statSync(path.join(directory, STATE_DATABASE_FILE)).size;
        second.state.close();
        console.log(
            `event hubs   ${count} events in sends of ${batchSize}: in memory ${rate(count, (count / inMemory) * 1000)}, ` +
                `on the state database ${rate(count, (count / durable) * 1000)} (ratio ${(durable / inMemory).toFixed(2)}); ` +
                `reopening (${retained} events retained) takes ${Math.round(loadMs)} ms; reading them all back ` +
                `from the database ${rate(read, readMs)}; database ${Math.round(databaseBytes / retained)} bytes per event`,
        );
    } finally {
        rmSync(directory, { recursive: true, force: true });
    }
}

async function main(): Promise<void> {
    console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, node ${process.version}`);
    // The first pass is JIT warm-up; its numbers come out low and are printed only for honesty.
    console.log('(warm-up pass)');
    await benchQueueDrain(32);
    console.log('(measured pass)');
    await benchQueueDrain(32);
    await benchQueueDrain(1);
    await benchQueueDrainOverAmqp(32, Math.min(messageCount, 20_000));
    await benchQueueStreaming(32);
    await benchEventHub(1);
    await benchEventHub(10);
    await benchEventHubStreaming();
    benchEventHubDurable(7, Math.min(eventCount, 200_000));
    benchEventHubDurable(1, Math.min(eventCount, 50_000));
}

void main();
