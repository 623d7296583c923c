import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
    earliestEventPosition,
    EventHubConsumerClient,
    EventHubProducerClient,
    type EventPosition,
    type ReceivedEventData,
} from '@azure/event-hubs';
import { afterAll, describe, expect, it } from 'vitest';

import { startReadyChild } from '../../../support/readyChild';

const HUB = 'names';
/**
 * The child keeps this many events per partition in memory: far fewer than the load sends, so the reader during the
 * load, and every reader after the restart (which loads no events into memory), read the database and then memory.
 */
const MEMORY_TAIL_EVENTS = 20;
// Fail fast: the SDK's defaults retry for minutes, and a send cut off by the kill must fail, not wait.
const FAST = { retryOptions: { maxRetries: 0, timeoutInMs: 5_000 } };

function connectionString(port: number): string {
    return `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`;
}

interface Seen {
    partitionId: string;
    sequenceNumber: number;
    offset: string;
    enqueuedTimeUtc: Date;
    partitionKey: string | null | undefined;
    body: unknown;
    properties: unknown;
}

const seen = (partitionId: string, event: ReceivedEventData): Seen => ({
    partitionId,
    sequenceNumber: event.sequenceNumber,
    offset: String(event.offset),
    enqueuedTimeUtc: event.enqueuedTimeUtc,
    partitionKey: event.partitionKey,
    body: event.body,
    properties: event.properties,
});

const idOf = (event: Seen) => (event.body as { id: string }).id;

/**
 * The outside reference for the durable partition logs (issue 14): the official @azure/event-hubs producer sends
 * through the AMQP endpoint of a child process running the stand-in on a state folder; the child is killed with
 * SIGKILL mid-load and restarted on the folder; an EventHubConsumerClient must then read back every event whose send
 * the service acknowledged, with the sequence number, offset and enqueued time a reader was given before the kill,
 * and a reader resuming from an offset taken before the kill must continue exactly after it.
 */
describe('Event Hubs partition logs through a SIGKILL, read back with the official clients', () => {
    const stateDirectory = mkdtempSync(path.join(tmpdir(), 'eventhub-crash-'));
    const children: ChildProcess[] = [];
    const clients: Array<{ close(): Promise<void> }> = [];
    afterAll(async () => {
        await Promise.allSettled(clients.map((client) => client.close()));
        children.forEach((child) => child.kill('SIGKILL'));
        rmSync(stateDirectory, { recursive: true, force: true });
    });

    async function startChild() {
        const started = await startReadyChild<{ port: number }>(
            path.join(__dirname, '..', 'fixtures', 'durableHubProcess.ts'),
            [stateDirectory, String(MEMORY_TAIL_EVENTS)],
            'the Event Hubs process',
        );
        children.push(started.child);
        const { child, exited } = started;
        const { port } = started.ready;
        return { child, exited, connection: connectionString(port) };
    }

    function track<T extends { close(): Promise<void> }>(client: T): T {
        clients.push(client);
        return client;
    }

    /** Reads one partition from `startPosition` until `count` events arrived. */
    async function receive(
        client: EventHubConsumerClient,
        partitionId: string,
        count: number,
        startPosition: EventPosition,
    ): Promise<Seen[]> {
        const events: Seen[] = [];
        const errors: unknown[] = [];
        const subscription = client.subscribe(
            partitionId,
            {
                processEvents: (batch) => {
                    events.push(...batch.map((event) => seen(partitionId, event)));
                    return Promise.resolve();
                },
                processError: (error) => {
                    errors.push(error);
                    return Promise.resolve();
                },
            },
            { startPosition, maxBatchSize: 500, maxWaitTimeInSeconds: 1 },
        );
        try {
            for (const deadline = Date.now() + 15_000; events.length < count && errors.length === 0;) {
                if (Date.now() > deadline) {
                    throw new Error(`partition ${partitionId}: ${events.length} of ${count} events within 15 s`);
                }
                await new Promise((resolve) => setTimeout(resolve, 20));
            }
        } finally {
            await subscription.close();
        }
        if (errors.length > 0) throw errors[0];
        return events;
    }

    it(
        'keeps every acknowledged event as readers saw it, continues its numbering, and resumes a reader exactly',
        { timeout: 60_000 },
        async () => {
            const first = await startChild();
            const producer = track(new EventHubProducerClient(first.connection, HUB, FAST));
            // A reader during the load: what it is handed before the kill must read back identically afterwards.
            const liveReader = track(new EventHubConsumerClient('$Default', first.connection, HUB, FAST));
            const seenBeforeKill: Seen[] = [];
            const live = liveReader.subscribe(
                {
                    processEvents: (batch, context) => {
                        seenBeforeKill.push(...batch.map((event) => seen(context.partitionId, event)));
                        return Promise.resolve();
                    },
                    processError: () => Promise.resolve(),
                },
                { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
            );

            const acknowledged = new Set<string>();
            let killed = false;
            const writer = async (writerId: number) => {
                for (let n = 0; !killed; n += 1) {
                    const events = Array.from({ length: 1 + (n % 10) }, (_, index) => ({
                        body: { id: `${writerId}-${n}-${index}`, name: `Name ${n}` },
                        properties: { writer: writerId, n },
                    }));
                    // By partition key (the service hash), by partition id, and round robin.
                    const options =
                        n % 3 === 0
                            ? { partitionKey: `key-${n % 7}` }
                            : n % 3 === 1
                              ? { partitionId: String(n % 4) }
                              : {};
                    try {
                        await producer.sendBatch(events, options);
                        events.forEach((event) => acknowledged.add(event.body.id));
                    } catch {
                        // Cut off by the kill: not acknowledged, so not required to survive (it may).
                    }
                }
            };
            const writers = [0, 1, 2, 3].map(writer);
            const killAfterMs = 1500 + Math.floor(Math.random() * 1500);
            await new Promise((resolve) => setTimeout(resolve, killAfterMs));
            first.child.kill('SIGKILL');
            killed = true;
            await first.exited;
            await Promise.all(writers);
            await live.close();
            expect(acknowledged.size, 'acknowledged events before the kill').toBeGreaterThan(100);
            expect(seenBeforeKill.length, 'events a reader saw before the kill').toBeGreaterThan(0);

            const second = await startChild();
            const reader = track(new EventHubConsumerClient('$Default', second.connection, HUB, FAST));
            const stored = new Map<string, Seen[]>();
            for (const partitionId of await reader.getPartitionIds()) {
                const properties = await reader.getPartitionProperties(partitionId);
                const events = properties.isEmpty
                    ? []
                    : await receive(
                          reader,
                          partitionId,
                          properties.lastEnqueuedSequenceNumber + 1,
                          earliestEventPosition,
                      );
                stored.set(partitionId, events);
                const last = events[events.length - 1];
                // The runtime information agrees with the log: nothing retained was lost, nothing is numbered twice.
                expect(properties).toEqual({
                    eventHubName: HUB,
                    partitionId,
                    beginningSequenceNumber: last === undefined ? -1 : 0,
                    lastEnqueuedSequenceNumber: last?.sequenceNumber ?? -1,
                    lastEnqueuedOffset: last?.offset ?? '-1',
                    lastEnqueuedOnUtc: last?.enqueuedTimeUtc ?? new Date(0),
                    isEmpty: last === undefined,
                });
                expect(events.map((event) => event.sequenceNumber)).toEqual(events.map((_, index) => index));
            }
            const byId = new Map([...stored.values()].flat().map((event) => [idOf(event), event]));
            const missing = [...acknowledged].filter((id) => !byId.has(id));
            expect({ missing: missing.slice(0, 10), missingCount: missing.length }).toEqual({
                missing: [],
                missingCount: 0,
            });
            expect(seenBeforeKill.map((event) => byId.get(idOf(event)))).toEqual(seenBeforeKill);

            // A reader resuming from the last offset it had before the kill continues with the next event, and new
            // sends continue the numbering and the offsets.
            const resumeFrom = seenBeforeKill[seenBeforeKill.length - 1]!;
            const partitionLog = stored.get(resumeFrom.partitionId)!;
            const lastStored = partitionLog[partitionLog.length - 1]!;
            const afterRestart = track(new EventHubProducerClient(second.connection, HUB, FAST));
            await afterRestart.sendBatch([{ body: { id: 'after-restart' } }], { partitionId: resumeFrom.partitionId });
            const resumed = await receive(
                reader,
                resumeFrom.partitionId,
                lastStored.sequenceNumber - resumeFrom.sequenceNumber + 1,
                { offset: resumeFrom.offset },
            );
            expect(resumed.slice(0, -1)).toEqual(partitionLog.slice(resumeFrom.sequenceNumber + 1));
            const next = resumed[resumed.length - 1]!;
            expect(next.body).toEqual({ id: 'after-restart' });
            expect(next.sequenceNumber).toBe(lastStored.sequenceNumber + 1);
            expect(Number(next.offset)).toBeGreaterThan(Number(lastStored.offset));

            // Readers positioned at an old sequence number and at an old enqueued time get the stored events from
            // there on (read from the database), then the one sent after the restart (in memory), in order.
            const middle = partitionLog[Math.floor(partitionLog.length / 2)]!;
            expect(
                await receive(reader, resumeFrom.partitionId, partitionLog.length - middle.sequenceNumber + 1, {
                    sequenceNumber: middle.sequenceNumber,
                    isInclusive: true,
                }),
            ).toEqual([...partitionLog.slice(middle.sequenceNumber), next]);
            const afterTime = [...partitionLog, next].filter(
                (event) => event.enqueuedTimeUtc.getTime() > middle.enqueuedTimeUtc.getTime(),
            );
            expect(
                await receive(reader, resumeFrom.partitionId, afterTime.length, { enqueuedOn: middle.enqueuedTimeUtc }),
            ).toEqual(afterTime);
            console.log(
                `Event Hubs crash test: killed after ${killAfterMs} ms; ${acknowledged.size} acknowledged events, ` +
                    `${byId.size} stored, ${seenBeforeKill.length} read before the kill`,
            );
        },
    );
});
