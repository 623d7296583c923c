import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { systemClock } from '../../../domain/clock';
import type { ReceivedEventData } from '../../../local/eventHubs/events';
import { LocalEventHub, type LocalEventHubOptions } from '../../../local/eventHubs/localEventHub';
import type { PartitionErrorContext } from '../../../local/eventHubs/partitionPump';
import { withHeldConsumerGroup } from './heldConsumerGroup';

const START = Date.parse('2026-03-01T12:00:00.000Z');
const HOUR_MS = 3_600_000;

function hubWith(options: Partial<LocalEventHubOptions> = {}): LocalEventHub {
    return new LocalEventHub({ name: 'names', clock: systemClock, ...options });
}

/** Runs pending microtasks and zero-delay timers without moving the fake clock. */
async function flush(): Promise<void> {
    await vi.advanceTimersByTimeAsync(0);
}

function summary(events: ReceivedEventData[]): [string, number, unknown][] {
    return events.map((event) => [event.partitionId, event.sequenceNumber, event.body]);
}

describe('LocalEventHub', () => {
    beforeEach(() => {
        vi.useFakeTimers({ now: START });
    });

    afterEach(() => {
        vi.useRealTimers();
    });

    describe('send', () => {
        it('assigns per-partition sequence numbers, byte offsets and the enqueued time', () => {
            const hub = hubWith();
            const sent = hub.send(
                [
                    { body: 'Ada' },
                    { body: { name: 'Émile' }, properties: { source: 'fanOut' } },
                    { body: Buffer.from([1, 2]) },
                ],
                { partitionId: '2' },
            );
            expect(sent).toEqual([
                {
                    body: 'Ada',
                    properties: {},
                    partitionId: '2',
                    sequenceNumber: 0,
                    offset: '0',
                    enqueuedTimeUtc: new Date(START),
                    partitionKey: null,
                },
                {
                    body: { name: 'Émile' },
                    properties: { source: 'fanOut' },
                    partitionId: '2',
                    sequenceNumber: 1,
                    offset: '3',
                    enqueuedTimeUtc: new Date(START),
                    partitionKey: null,
                },
                {
                    body: Buffer.from([1, 2]),
                    properties: {},
                    partitionId: '2',
                    sequenceNumber: 2,
                    // '{"name":"Émile"}' is 17 bytes and '{"source":"fanOut"}' 19.
                    offset: '39',
                    enqueuedTimeUtc: new Date(START),
                    partitionKey: null,
                },
            ]);
            expect(hub.send([{ body: 'x' }], { partitionId: '2' }).map((e) => [e.sequenceNumber, e.offset])).toEqual([
                [3, '41'],
            ]);
        });

        it('round-robins whole sends across partitions when no key or id is given', () => {
            const hub = hubWith({ partitionCount: 3 });
            const placed = [1, 2, 3, 4].map((n) => hub.send([{ body: n }, { body: n * 10 }]).map((e) => e.partitionId));
            expect(placed).toEqual([
                ['0', '0'],
                ['1', '1'],
                ['2', '2'],
                ['0', '0'],
            ]);
            expect(hub.send([])).toEqual([]);
            expect(hub.send([{ body: 5 }])[0]!.partitionId).toBe('1');
        });

        it('always puts a partition key on the same partition, the one the service would choose', () => {
            const hub = hubWith({ partitionCount: 4 });
            const partitions = [1, 2, 3].map(() => hub.send([{ body: 'x' }], { partitionKey: 'TheBestParitionEver' }));
            expect(partitions.map((events) => [events[0]!.partitionId, events[0]!.partitionKey])).toEqual([
                ['2', 'TheBestParitionEver'],
                ['2', 'TheBestParitionEver'],
                ['2', 'TheBestParitionEver'],
            ]);
        });

        it('rejects unknown partitions and a key combined with an id', () => {
            const hub = hubWith();
            expect(() => hub.send([{ body: 1 }], { partitionId: '4' })).toThrow(
                'Invalid Event Hubs argument "partitionId": is not a partition of event hub "names" (expected one of ' +
                    '0, 1, 2, 3) (got "4")',
            );
            expect(() => hub.send([], { partitionId: '1', partitionKey: 'k' })).toThrow(
                'Invalid Event Hubs argument "partitionKey": cannot be combined with partitionId "1" (got "k")',
            );
        });

        it('rejects the whole send when one event is over the size limit, quoting its size', () => {
            const hub = hubWith({ maxEventBytes: 10 });
            expect(() => hub.send([{ body: 'ok' }, { body: 'x'.repeat(11) }])).toThrow(
                'Event of 11 bytes exceeds the maximum event size of 10 bytes (event hub "names")',
            );
            expect(hub.stats().totalEnqueuedEvents).toBe(0);
            expect(hub.send([{ body: 'ok' }])[0]!.partitionId).toBe('0');
        });
    });

    describe('retention and reads', () => {
        it('reports an untouched partition the way the service does', () => {
            expect(hubWith().getPartitionProperties('0')).toEqual({
                eventHubName: 'names',
                partitionId: '0',
                beginningSequenceNumber: -1,
                lastEnqueuedSequenceNumber: -1,
                lastEnqueuedOffset: '-1',
                lastEnqueuedOnUtc: new Date(0),
                isEmpty: true,
            });
        });

        it('drops events older than the retention period and reads from the first retained event', () => {
            const hub = hubWith({ retentionMs: HOUR_MS });
            hub.send([{ body: 'old' }], { partitionId: '0' });
            vi.advanceTimersByTime(HOUR_MS / 2);
            hub.send([{ body: 'new' }], { partitionId: '0' });
            expect(summary(hub.read('0', 0, 10))).toEqual([
                ['0', 0, 'old'],
                ['0', 1, 'new'],
            ]);
            vi.advanceTimersByTime(HOUR_MS / 2);
            expect(summary(hub.read('0', 0, 10))).toEqual([['0', 1, 'new']]);
            expect(hub.getPartitionProperties('0')).toEqual({
                eventHubName: 'names',
                partitionId: '0',
                beginningSequenceNumber: 1,
                lastEnqueuedSequenceNumber: 1,
                lastEnqueuedOffset: '3',
                lastEnqueuedOnUtc: new Date(START + HOUR_MS / 2),
                isEmpty: false,
            });
            vi.advanceTimersByTime(HOUR_MS / 2);
            expect(hub.read('0', 0, 10)).toEqual([]);
            expect(hub.getPartitionProperties('0')).toMatchObject({ beginningSequenceNumber: 2, isEmpty: true });
        });

        it('keeps at most maxRetainedEventsPerPartition events, dropping the oldest', () => {
            const hub = hubWith({ partitionCount: 1, maxRetainedEventsPerPartition: 3 });
            for (let n = 0; n < 5; n++) {
                hub.send([{ body: n }]);
            }
            expect(summary(hub.read('0', 0, 10))).toEqual([
                ['0', 2, 2],
                ['0', 3, 3],
                ['0', 4, 4],
            ]);
            expect(hub.stats()).toEqual({
                eventHubName: 'names',
                partitions: [
                    { partitionId: '0', retainedEventCount: 3, beginningSequenceNumber: 2, enqueuedEventCount: 5 },
                ],
                totalRetainedEvents: 3,
                totalEnqueuedEvents: 5,
            });
        });

        it('reads a bounded slice from any sequence number', () => {
            const hub = hubWith({ partitionCount: 1 });
            hub.send([1, 2, 3, 4, 5].map((n) => ({ body: n })));
            expect(hub.read('0', 1, 2).map((e) => e.body)).toEqual([2, 3]);
            expect(hub.read('0', 5, 2)).toEqual([]);
        });

        it('counts events per partition for a status line', () => {
            const hub = hubWith({ partitionCount: 2 });
            hub.send([{ body: 1 }, { body: 2 }]);
            hub.send([{ body: 3 }]);
            expect(hub.stats()).toEqual({
                eventHubName: 'names',
                partitions: [
                    { partitionId: '0', retainedEventCount: 2, beginningSequenceNumber: 0, enqueuedEventCount: 2 },
                    { partitionId: '1', retainedEventCount: 1, beginningSequenceNumber: 0, enqueuedEventCount: 1 },
                ],
                totalRetainedEvents: 3,
                totalEnqueuedEvents: 3,
            });
        });
    });

    describe('consumer groups and checkpoints', () => {
        it('starts with $Default, creates groups idempotently and rejects unknown ones', () => {
            const hub = hubWith();
            hub.createConsumerGroup('asa');
            hub.createConsumerGroup('asa');
            expect(hub.consumerGroups()).toEqual(['$Default', 'asa']);
            expect(() => hub.getCheckpoint('nope', '0')).toThrow(
                'Invalid Event Hubs argument "consumerGroup": does not exist on event hub "names" (existing: ' +
                    '$Default, asa) (got "nope")',
            );
            expect(() => hub.createConsumerGroup('x'.repeat(51))).toThrow(
                expect.objectContaining({ argument: 'consumerGroup' }),
            );
        });

        it('keeps checkpoints per consumer group and refuses sequence numbers never enqueued', () => {
            const hub = hubWith();
            hub.createConsumerGroup('asa');
            hub.send([{ body: 1 }, { body: 2 }], { partitionId: '1' });
            hub.checkpoint('asa', '1', 1);
            expect(hub.getCheckpoint('asa', '1')).toEqual({
                consumerGroup: 'asa',
                partitionId: '1',
                sequenceNumber: 1,
            });
            expect(hub.getCheckpoint('$Default', '1')).toBeUndefined();
            expect(() => hub.checkpoint('asa', '1', 2)).toThrow(
                'Invalid Event Hubs argument "sequenceNumber": must be an enqueued sequence number of partition "1" ' +
                    '(0 to 1) (got 2)',
            );
        });
    });

    describe('subscribe', () => {
        it('delivers each partition in order, one batch of at most maxBatchSize at a time', async () => {
            const hub = hubWith({ partitionCount: 2 });
            hub.send(
                [1, 2, 3, 4, 5].map((n) => ({ body: n })),
                { partitionId: '0' },
            );
            hub.send([{ body: 'b' }], { partitionId: '1' });
            const batches: [string, unknown[]][] = [];
            let running = 0;
            let overlapping = false;
            const subscription = hub.subscribe('$Default', {
                startPosition: 'earliest',
                maxBatchSize: 2,
                handler: async (partitionId, events) => {
                    running++;
                    overlapping ||= running > 2;
                    batches.push([partitionId, events.map((e) => e.body)]);
                    await new Promise((resolve) => setTimeout(resolve, 10));
                    running--;
                },
            });
            await vi.advanceTimersByTimeAsync(100);
            expect(batches.filter(([id]) => id === '0')).toEqual([
                ['0', [1, 2]],
                ['0', [3, 4]],
                ['0', [5]],
            ]);
            expect(batches.filter(([id]) => id === '1')).toEqual([['1', ['b']]]);
            expect(overlapping).toBe(false);
            await subscription.close();
        });

        it('counts and warns once per burst when the count cap drops events a subscribed group has not read', async () => {
            const hub = hubWith({ partitionCount: 1, maxRetainedEventsPerPartition: 3 });
            await withHeldConsumerGroup(
                hub,
                'earliest',
                (event) => event.body,
                async ({ seen, release, warned }) => {
                    hub.send([{ body: 0 }]);
                    await flush(); // the group holds event 0 in its handler
                    for (let n = 1; n <= 6; n++) {
                        hub.send([{ body: n }]); // 4, 5 and 6 drop 1, 2 and 3 before the group read them
                    }
                    expect(hub.unreadEventsTrimmed()).toEqual({ $Default: 3 });
                    expect(warned.mock.calls).toEqual([
                        [
                            '[eventHubs:names] partition 0: the retention cap of 3 events dropped 1 events consumer ' +
                                'group "$Default" had not read (from sequence number 1); further losses while it stays ' +
                                'behind are counted, not logged',
                        ],
                    ]);
                    for (let n = 0; n < 4; n++) {
                        release();
                        await flush();
                    }
                    expect(seen).toEqual([0, 4, 5, 6]);
                    hub.send([{ body: 7 }]); // caught up: this drop (of 4) loses nothing and ends the burst
                    await flush(); // the group holds event 7 in its handler
                    for (let n = 8; n <= 11; n++) {
                        hub.send([{ body: n }]); // 11 drops 8, unread: a new burst
                    }
                    expect(hub.unreadEventsTrimmed()).toEqual({ $Default: 4 });
                    expect(warned).toHaveBeenCalledTimes(2);
                },
            );
        });

        it('from latest, sees only events sent after subscribing, and wakes when they arrive', async () => {
            const hub = hubWith({ partitionCount: 1 });
            hub.send([{ body: 'before' }]);
            const seen: unknown[] = [];
            const subscription = hub.subscribe('$Default', {
                startPosition: 'latest',
                handler: (_, events) => {
                    seen.push(...events.map((e) => e.body));
                    return Promise.resolve();
                },
            });
            await flush();
            expect(vi.getTimerCount()).toBe(0);
            hub.send([{ body: 'after' }]);
            await flush();
            expect(seen).toEqual(['after']);
            await subscription.close();
        });

        it('starts after (or at, when inclusive) a given sequence number, and at latest for unlisted partitions', async () => {
            const hub = hubWith({ partitionCount: 3 });
            for (const partitionId of ['0', '1', '2']) {
                hub.send(
                    [0, 1, 2, 3].map((n) => ({ body: `${partitionId}:${n}` })),
                    { partitionId },
                );
            }
            const seen: unknown[] = [];
            const subscription = hub.subscribe('$Default', {
                startPosition: { '0': { sequenceNumber: 1 }, '1': { sequenceNumber: 1, isInclusive: true } },
                handler: (_, events) => {
                    seen.push(...events.map((e) => e.body));
                    return Promise.resolve();
                },
            });
            await flush();
            expect(seen.sort()).toEqual(['0:2', '0:3', '1:1', '1:2', '1:3']);
            await subscription.close();
        });

        it('gives each consumer group its own position and resumes a group from its checkpoint', async () => {
            const hub = hubWith({ partitionCount: 1 });
            hub.createConsumerGroup('asa');
            hub.send([1, 2, 3].map((n) => ({ body: n })));
            const seenBy: Record<string, unknown[]> = { $Default: [], asa: [] };
            const collect = (group: string) => (_: string, events: ReceivedEventData[]) => {
                seenBy[group]!.push(...events.map((e) => e.body));
                return Promise.resolve();
            };
            const asa = hub.subscribe('asa', {
                startPosition: 'earliest',
                checkpointAfterEachBatch: true,
                maxBatchSize: 2,
                handler: collect('asa'),
            });
            await flush();
            await asa.close();
            expect(hub.getCheckpoint('asa', '0')).toEqual({
                consumerGroup: 'asa',
                partitionId: '0',
                sequenceNumber: 2,
            });

            hub.send([{ body: 4 }]);
            const asaAgain = hub.subscribe('asa', { startPosition: 'earliest', handler: collect('asa') });
            const defaultGroup = hub.subscribe('$Default', { startPosition: 'earliest', handler: collect('$Default') });
            await flush();
            expect(seenBy).toEqual({ $Default: [1, 2, 3, 4], asa: [1, 2, 3, 4] });
            await Promise.all([asaAgain.close(), defaultGroup.close()]);

            // A reader that keeps its own progress starts where it says, checkpoint or not.
            const fromOwnProgress = hub.subscribe('asa', {
                startPosition: { 0: { sequenceNumber: 1, isInclusive: true } },
                ignoreCheckpoints: true,
                handler: collect('asa'),
            });
            await flush();
            expect(seenBy.asa).toEqual([1, 2, 3, 4, 2, 3, 4]);
            await fromOwnProgress.close();
        });

        it('jumps a reader positioned before the retained events to the first retained one', async () => {
            const hub = hubWith({ partitionCount: 1, retentionMs: HOUR_MS });
            hub.send([{ body: 'expired' }]);
            hub.checkpoint('$Default', '0', 0);
            vi.advanceTimersByTime(HOUR_MS / 2);
            hub.send([{ body: 'kept-1' }]);
            hub.send([{ body: 'kept-2' }]);
            vi.advanceTimersByTime(HOUR_MS / 2);
            const seen: [number, unknown][] = [];
            const subscription = hub.subscribe('$Default', {
                startPosition: { '0': { sequenceNumber: 0, isInclusive: true } },
                handler: (_, events) => {
                    seen.push(...events.map((e): [number, unknown] => [e.sequenceNumber, e.body]));
                    return Promise.resolve();
                },
            });
            await flush();
            expect(seen).toEqual([
                [1, 'kept-1'],
                [2, 'kept-2'],
            ]);
            await subscription.close();
        });

        it('retries a failed batch unchanged after the retry delay and reports each failure', async () => {
            const hub = hubWith({ partitionCount: 1 });
            hub.send([{ body: 'a' }, { body: 'b' }]);
            const attempts: unknown[][] = [];
            const errors: [string, PartitionErrorContext][] = [];
            const subscription = hub.subscribe('$Default', {
                startPosition: 'earliest',
                retryDelayMs: 500,
                handler: (_, events) => {
                    attempts.push(events.map((e) => e.body));
                    return attempts.length < 3 ? Promise.reject(new Error('Cosmos unavailable')) : Promise.resolve();
                },
                onError: (error, context) => errors.push([(error as Error).message, context]),
            });
            await flush();
            hub.send([{ body: 'c' }]);
            await vi.advanceTimersByTimeAsync(499);
            expect(attempts).toEqual([['a', 'b']]);
            await vi.advanceTimersByTimeAsync(1);
            await vi.advanceTimersByTimeAsync(500);
            expect(attempts).toEqual([['a', 'b'], ['a', 'b'], ['a', 'b'], ['c']]);
            expect(errors).toEqual(
                [1, 2].map((attempt) => [
                    'Cosmos unavailable',
                    {
                        consumerGroup: '$Default',
                        partitionId: '0',
                        firstSequenceNumber: 0,
                        lastSequenceNumber: 1,
                        attempt,
                    },
                ]),
            );
            await subscription.close();
        });

        it('close() waits for the in-flight handler and then delivers nothing more', async () => {
            const hub = hubWith({ partitionCount: 1 });
            let release = (): void => undefined;
            const seen: unknown[] = [];
            const subscription = hub.subscribe('$Default', {
                startPosition: 'earliest',
                handler: async (_, events) => {
                    seen.push(...events.map((e) => e.body));
                    await new Promise<void>((resolve) => {
                        release = resolve;
                    });
                },
            });
            hub.send([{ body: 1 }]);
            await flush();
            let closed = false;
            const closing = subscription.close().then(() => {
                closed = true;
            });
            await flush();
            expect(closed).toBe(false);
            release();
            await closing;
            hub.send([{ body: 2 }]);
            await flush();
            expect(seen).toEqual([1]);
        });

        it('rejects a subscription to an unknown consumer group', () => {
            const hub = hubWith();
            expect(() => hub.subscribe('asa', { handler: () => Promise.resolve() })).toThrow(
                expect.objectContaining({ code: 'InvalidEventHubArgument', argument: 'consumerGroup' }),
            );
        });
    });
});
