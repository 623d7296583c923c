import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { type Message, message as rheaMessage } from 'rhea';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { Clock } from '../../../domain/clock';
import { eventFromMessage } from '../../../local/eventHubs/amqp/eventMessages';
import { InvalidEventHubArgumentError } from '../../../local/eventHubs/errors';
import type { EventHubStore } from '../../../local/eventHubs/eventHubStore';
import type { ReceivedEventData } from '../../../local/eventHubs/events';
import { LocalEventHub, type LocalEventHubOptions } from '../../../local/eventHubs/localEventHub';
import type { PartitionErrorContext } from '../../../local/eventHubs/partitionPump';
import { EVENT_HUBS_STATE_COMPONENT, SqliteEventHubStore } from '../../../local/eventHubs/sqliteEventHubStore';
import { StateCorruptError, StateStore } from '../../../local/state';
import { withHeldConsumerGroup } from './heldConsumerGroup';

const START = Date.parse('2026-11-30T09:00:00.000Z');
const HOUR_MS = 3_600_000;

const folders: string[] = [];
const stores: StateStore[] = [];
afterEach(() => {
    stores.splice(0).forEach((store) => store.close());
    folders.splice(0).forEach((folder) => rmSync(folder, { recursive: true, force: true }));
});

/** A state folder the test can open, close and reopen, and a clock it moves by hand. */
function durableFolder() {
    const directory = mkdtempSync(path.join(tmpdir(), 'eventhub-store-'));
    folders.push(directory);
    let nowMs = START;
    const clock: Clock = { now: () => new Date(nowMs) };
    let state: StateStore | undefined;
    let hub: LocalEventHub | undefined;
    return {
        clock,
        advance: (ms: number) => (nowMs += ms),
        /** Opens the folder (closing what is open, as a stop does) and the hub on it. */
        open(options: Partial<LocalEventHubOptions> = {}, wrap?: (store: EventHubStore) => EventHubStore) {
            this.close();
            state = StateStore.open({ directory, clock, components: [EVENT_HUBS_STATE_COMPONENT] });
            stores.push(state);
            const store = new SqliteEventHubStore(state, 'names');
            hub = new LocalEventHub({ name: 'names', clock, store: wrap ? wrap(store) : store, ...options });
            return hub;
        },
        close() {
            hub?.close();
            state?.close();
            hub = undefined;
            state = undefined;
        },
        /** The rows the database holds per partition. */
        rowCounts(): Record<string, number> {
            const rows = state!.database
                .prepare<[], { partition_id: string; rows: number }>(
                    'SELECT partition_id, COUNT(*) AS rows FROM eventhub_events GROUP BY partition_id',
                )
                .all();
            return Object.fromEntries(rows.map((row) => [row.partition_id, row.rows]));
        },
        get state() {
            return state!;
        },
    };
}

/** `thousands` sends of 1,000 events to partition 0, bodies 0, 1, 2...: a backlog chunked deletes take turns with. */
function sendThousands(hub: LocalEventHub, thousands: number): void {
    for (let sent = 0; sent < thousands * 1_000; sent += 1_000) {
        hub.send(
            Array.from({ length: 1_000 }, (_, index) => ({ body: sent + index })),
            { partitionId: '0' },
        );
    }
}

/** `store` with the methods in `replaced` swapped for the test's own (a disk that fails where the test says). */
function storeWith(store: EventHubStore, replaced: Partial<EventHubStore>): EventHubStore {
    return {
        snapshot: (ids, createdAt) => store.snapshot(ids, createdAt),
        append: (events) => store.append(events),
        read: (...args) => store.read(...args),
        position: (...args) => store.position(...args),
        firstPositionFrom: (...args) => store.firstPositionFrom(...args),
        trim: (...args) => store.trim(...args),
        createConsumerGroup: (name) => store.createConsumerGroup(name),
        checkpoint: (...args) => store.checkpoint(...args),
        close: () => store.close(),
        ...replaced,
    };
}

/** An event as the AMQP endpoint hands it over: decoded from the producer's message, with its encoding. */
function amqpEvent(): ReturnType<typeof eventFromMessage> {
    const sent = {
        message_id: 'm-1',
        correlation_id: Buffer.from([9, 8]),
        content_type: 'application/json',
        creation_time: new Date(START - 5),
        application_properties: { origin: 'sdk', attempt: 2, at: new Date(START - 1) },
        message_annotations: { 'x-custom': 'kept', 'x-opt-partition-key': 'Ada' },
        body: rheaMessage.data_section(Buffer.from('{"name":"Ada","letter":"A"}')),
    };
    return eventFromMessage(rheaMessage.decode(rheaMessage.encode(sent)) as unknown as Message);
}

describe('SqliteEventHubStore under LocalEventHub', () => {
    it('gives back every field of every stored event, the runtime information and the groups after a reopen', () => {
        const folder = durableFolder();
        let hub = folder.open();
        const sent = [
            ...hub.send([{ body: { name: 'Émile', letter: 'E' } }, { body: 'plain text' }], { partitionKey: 'Émile' }),
            ...hub.send(
                [
                    { body: Buffer.from([0, 1, 2]), properties: { source: 'fanOut', count: 3 } },
                    { body: { at: new Date(START), missing: undefined, nested: [1, -0] } },
                    { body: undefined },
                ],
                { partitionId: '2' },
            ),
        ];
        folder.advance(1000);
        sent.push(...hub.send([amqpEvent()], { partitionId: '2' }));
        hub.createConsumerGroup('stream-analytics');
        hub.checkpoint('stream-analytics', '2', 3);
        const createdAt = hub.createdAt;
        const properties = hub.partitionIds.map((id) => hub.getPartitionProperties(id));
        const before = hub.partitionIds.flatMap((id) => hub.read(id, 0, 100));

        expect(before).toHaveLength(sent.length);

        hub = folder.open();
        // Strict: Buffers stay Buffers, Dates Dates, undefined and -0 stay what they were.
        expect(hub.partitionIds.flatMap((id) => hub.read(id, 0, 100))).toStrictEqual(before);
        expect(hub.partitionIds.map((id) => hub.getPartitionProperties(id))).toEqual(properties);
        expect(hub.createdAt).toEqual(createdAt);
        expect(hub.consumerGroups()).toEqual(['$Default', 'stream-analytics']);
        expect(hub.getCheckpoint('stream-analytics', '2')).toEqual({
            consumerGroup: 'stream-analytics',
            partitionId: '2',
            sequenceNumber: 3,
        });
        // The AMQP event keeps its sections exactly, so a receiver gets the message the producer sent.
        const restored = hub.read('2', sent[5]!.sequenceNumber, 1)[0]!;
        expect(restored.amqp).toEqual(sent[5]!.amqp);
        expect(restored.body).toEqual({ name: 'Ada', letter: 'A' });
        expect(restored.properties).toEqual({ origin: 'sdk', attempt: 2, at: new Date(START - 1) });
    });

    it('continues sequence numbers and offsets after the highest stored, and reads from a position after reopen', () => {
        const folder = durableFolder();
        let hub = folder.open();
        hub.send([{ body: 'aa' }, { body: 'bbb' }], { partitionId: '1' });
        folder.advance(60_000);
        hub.send([{ body: 'c' }], { partitionId: '1' });
        hub = folder.open();
        folder.advance(60_000);
        const next = hub.send([{ body: 'dddd' }], { partitionId: '1' });
        expect(next.map((event) => [event.sequenceNumber, event.offset])).toEqual([[3, '6']]);

        hub = folder.open();
        const fromTime = hub.seek('1', { kind: 'enqueuedTime', afterMs: START + 30_000 });
        expect(hub.read('1', fromTime, 10).map((event) => [event.sequenceNumber, event.body])).toEqual([
            [2, 'c'],
            [3, 'dddd'],
        ]);
        expect(hub.read('1', 1, 2).map((event) => event.body)).toEqual(['bbb', 'c']);
        expect(hub.seek('1', { kind: 'offset', offset: 2, inclusive: true })).toBe(1);
    });

    it('deletes events past retention from the database in batches, and numbering survives an emptied partition', () => {
        const folder = durableFolder();
        let hub = folder.open({ retentionMs: HOUR_MS });
        hub.send(
            Array.from({ length: 5 }, (_, index) => ({ body: index })),
            { partitionId: '0' },
        );
        folder.advance(5_000);
        hub.send([{ body: 'b' }], { partitionId: '0' });
        folder.advance(HOUR_MS - 5_000 + 1);
        hub.send([{ body: 'fresh' }], { partitionId: '0' });
        expect(folder.rowCounts()).toEqual({ 0: 2 });
        // Retention drops "b" from memory at once; the database waits for 1,024 events or 10 s since its last trim.
        folder.advance(5_000);
        hub.send([{ body: 'latest' }], { partitionId: '0' });
        expect(hub.stats().partitions[0]!.retainedEventCount).toBe(2);
        expect(folder.rowCounts()).toEqual({ 0: 3 });
        folder.advance(10_000);
        hub.read('0', 0, 1);
        expect(folder.rowCounts()).toEqual({ 0: 2 });

        // Everything expires while the runtime is down: the rows go at start, the numbering and runtime info stay.
        const properties = hub.getPartitionProperties('0');
        folder.close();
        folder.advance(2 * HOUR_MS);
        hub = folder.open({ retentionMs: HOUR_MS });
        expect(folder.rowCounts()).toEqual({});
        expect(hub.getPartitionProperties('0')).toEqual({ ...properties, beginningSequenceNumber: 8, isEmpty: true });
        hub = folder.open({ retentionMs: HOUR_MS });
        expect(hub.getPartitionProperties('0')).toEqual({ ...properties, beginningSequenceNumber: 8, isEmpty: true });
        expect(hub.send([{ body: 'after' }], { partitionId: '0' })[0]).toMatchObject({
            sequenceNumber: 8,
            offset: String(Number(properties.lastEnqueuedOffset) + Buffer.byteLength('latest')),
        });
    });

    it('deletes what expired during a long downtime in chunks of 2,000 rows, between turns of the event loop', async () => {
        const folder = durableFolder();
        let hub = folder.open({ retentionMs: HOUR_MS });
        sendThousands(hub, 5);
        hub.send([{ body: 'other partition' }], { partitionId: '1' });
        folder.close();
        folder.advance(2 * HOUR_MS);

        // 1,000,000 rows per partition in one DELETE blocked a start for seconds (docs/local-runtime.md).
        hub = folder.open({ retentionMs: HOUR_MS });
        expect(folder.rowCounts()).toEqual({ 0: 3_000 });
        // Sends while chunks are pending leave the deleting to them: none runs a 2,000-row DELETE of its own.
        for (const body of ['a', 'b', 'c']) {
            hub.send([{ body }], { partitionId: '0' });
        }
        expect(folder.rowCounts()).toEqual({ 0: 3_003 });
        await new Promise((resolve) => setImmediate(resolve));
        expect(folder.rowCounts()).toEqual({ 0: 1_003 });
        await new Promise((resolve) => setImmediate(resolve));
        expect(folder.rowCounts()).toEqual({ 0: 3 });
        expect(hub.getPartitionProperties('0')).toMatchObject({ beginningSequenceNumber: 5_000, isEmpty: false });
        expect(hub.read('0', 0, 10).map((event) => [event.sequenceNumber, event.body])).toEqual([
            [5_000, 'a'],
            [5_001, 'b'],
            [5_002, 'c'],
        ]);
        expect(hub.send([{ body: 'after' }], { partitionId: '0' })[0]!.sequenceNumber).toBe(5_003);

        // Emptied by retention across a restart, the partition keeps its numbering.
        folder.close();
        folder.advance(2 * HOUR_MS);
        hub = folder.open({ retentionMs: HOUR_MS });
        expect(folder.rowCounts()).toEqual({});
        expect(hub.getPartitionProperties('0')).toMatchObject({ beginningSequenceNumber: 5_004, isEmpty: true });
        expect(hub.send([{ body: 'later' }], { partitionId: '0' })[0]!.sequenceNumber).toBe(5_004);
    });

    it('never deletes past a log end it could not record, so an emptied partition does not reuse numbers', async () => {
        const folder = durableFolder();
        let hub = folder.open({ retentionMs: HOUR_MS });
        sendThousands(hub, 5);
        folder.close();
        folder.advance(2 * HOUR_MS);
        hub = folder.open({ retentionMs: HOUR_MS });
        expect(folder.rowCounts()).toEqual({ 0: 3_000 });
        hub.send([{ body: 'fresh' }], { partitionId: '0' });

        // The disk refuses the partition's end record (and only that) while the chain of chunks is still pending.
        folder.state.database.exec(`
            CREATE TEMP TRIGGER refuse_insert BEFORE INSERT ON records WHEN NEW.scope = 'eventHubs/names/partitions'
            BEGIN SELECT RAISE(ABORT, 'disk full'); END;
            CREATE TEMP TRIGGER refuse_update BEFORE UPDATE ON records WHEN NEW.scope = 'eventHubs/names/partitions'
            BEGIN SELECT RAISE(ABORT, 'disk full'); END;`);
        folder.advance(HOUR_MS + 1);
        expect(() => hub.stats()).toThrow(/disk full/);
        for (let turn = 0; turn < 3; turn++) {
            await new Promise((resolve) => setImmediate(resolve));
        }
        // The chain deleted what the end record written at start covers, and kept 'fresh', whose end it could not record.
        expect(folder.rowCounts()).toEqual({ 0: 1 });

        folder.state.database.exec('DROP TRIGGER refuse_insert; DROP TRIGGER refuse_update;');
        folder.close();
        hub = folder.open({ retentionMs: HOUR_MS });
        expect(hub.send([{ body: 'after' }], { partitionId: '0' })[0]!.sequenceNumber).toBe(5_001);
    });

    it('serves a reader before the memory tail from the database, then from memory, as one log', async () => {
        const folder = durableFolder();
        let hub = folder.open({ maxRetainedEventsPerPartition: 2 });
        const sent = hub.send([{ body: Buffer.from([7]) }, { body: { at: new Date(START) } }], {
            partitionKey: 'Émile',
        });
        const partitionId = sent[0]!.partitionId;
        sent.push(
            ...hub.send([{ body: { name: 'Ada' }, properties: { source: 'fanOut' } }, { body: 'b' }], { partitionId }),
        );
        folder.advance(60_000);
        sent.push(...hub.send([amqpEvent(), { body: 'c' }], { partitionId }));
        folder.advance(60_000);
        sent.push(...hub.send([{ body: 'd' }, { body: 'e' }], { partitionId }));
        expect(sent.map((event) => [event.partitionId, event.sequenceNumber])).toEqual(
            sent.map((_, index) => [partitionId, index]),
        );
        const stats = hub.stats().partitions[Number(partitionId)];
        expect(stats).toEqual({
            partitionId,
            retainedEventCount: 8,
            beginningSequenceNumber: 0,
            enqueuedEventCount: 8,
        });

        const check = () => {
            // Memory holds events 6 and 7; the rest come from the database, decoded to the same events.
            expect(hub.read(partitionId, 0, 100)).toStrictEqual(sent);
            expect(hub.read(partitionId, 3, 4)).toStrictEqual(sent.slice(3, 7));
            expect(hub.seek(partitionId, { kind: 'earliest' })).toBe(0);
            expect(hub.seek(partitionId, { kind: 'enqueuedTime', afterMs: START })).toBe(4);
            expect(hub.seek(partitionId, { kind: 'offset', offset: Number(sent[3]!.offset), inclusive: false })).toBe(
                4,
            );
            expect(hub.getPartitionProperties(partitionId)).toMatchObject({
                beginningSequenceNumber: 0,
                lastEnqueuedSequenceNumber: 7,
                isEmpty: false,
            });
        };
        check();
        const delivered: ReceivedEventData[][] = [];
        const subscription = hub.subscribe('$Default', {
            startPosition: 'earliest',
            maxBatchSize: 3,
            handler: (id, events) => {
                if (id === partitionId) delivered.push(events);
                return Promise.resolve();
            },
        });
        await vi.waitFor(() => expect(delivered.flat()).toHaveLength(8));
        await subscription.close();
        expect(delivered.map((batch) => batch.map((event) => event.sequenceNumber))).toEqual([
            [0, 1, 2],
            [3, 4, 5],
            [6, 7],
        ]);
        expect(delivered.flat()).toStrictEqual(sent);

        // A start loads nothing into memory: every read below comes from the database.
        hub = folder.open({ maxRetainedEventsPerPartition: 2 });
        check();
    });

    it('trims the database by its cap in batches of 1,024, counting as lost only what a reader had not read', async () => {
        const folder = durableFolder();
        const hub = folder.open({ maxRetainedEventsPerPartition: 50, maxStoredEventsPerPartition: 100 });
        const sendHundred = () =>
            hub.send(
                Array.from({ length: 100 }, (_, index) => ({ body: index })),
                { partitionId: '3' },
            );
        // The first removable events go at once; after that the database trims once 1,024 are removable.
        for (let send = 0; send < 12; send++) {
            sendHundred();
        }
        expect(folder.rowCounts()).toEqual({ 3: 1100 });
        sendHundred();
        expect(folder.rowCounts()).toEqual({ 3: 100 });
        expect(hub.stats().partitions[3]).toEqual({
            partitionId: '3',
            retainedEventCount: 100,
            beginningSequenceNumber: 1200,
            enqueuedEventCount: 1300,
        });
        expect(hub.read('3', 0, 1000).map((event) => event.sequenceNumber)).toEqual(
            Array.from({ length: 100 }, (_, index) => 1200 + index),
        );

        // A group held at event 1300: the memory tail (50) passing it loses nothing; the database's cap does.
        await withHeldConsumerGroup(
            hub,
            'latest',
            (event) => event.sequenceNumber,
            async ({ seen, release, warned }) => {
                hub.send([{ body: 'held' }], { partitionId: '3' });
                await vi.waitFor(() => expect(seen).toEqual([1300]));
                sendHundred();
                expect(hub.unreadEventsTrimmed()).toEqual({});
                sendHundred();
                expect(hub.unreadEventsTrimmed()).toEqual({ $Default: 100 });
                expect(warned.mock.calls).toEqual([
                    [
                        '[eventHubs:names] partition 3: the disk cap of 100 events dropped 100 events consumer group ' +
                            '"$Default" had not read (from sequence number 1301); further losses while it stays behind ' +
                            'are counted, not logged',
                    ],
                ]);
                release();
                // The group continues at the database's beginning, before the memory tail.
                await vi.waitFor(() => expect(seen).toEqual([1300, 1401]));
            },
        );
    });

    it('does not blame the disk cap for events retention had expired between its once-a-second checks', async () => {
        const folder = durableFolder();
        const hub = folder.open({ retentionMs: HOUR_MS, maxStoredEventsPerPartition: 100 });
        const send = (count: number) =>
            hub.send(
                Array.from({ length: count }, (_, index) => ({ body: index })),
                { partitionId: '2' },
            );
        send(1);
        folder.advance(500);
        send(50);
        await withHeldConsumerGroup(
            hub,
            'earliest',
            (event) => event.sequenceNumber,
            async ({ seen, warned }) => {
                await vi.waitFor(() => expect(seen).toEqual([0]));
                // Event 0 expires and a check moves the beginning to 1; 500 ms later events 1-50 expire, before the next.
                folder.advance(HOUR_MS - 500 + 1);
                expect(hub.getPartitionProperties('2').beginningSequenceNumber).toBe(1);
                folder.advance(500);
                send(100);
                expect(hub.unreadEventsTrimmed()).toEqual({});
                expect(warned.mock.calls).toEqual([]);
                expect(hub.getPartitionProperties('2').beginningSequenceNumber).toBe(51);
            },
        );
    });

    it('trims the database by time beyond the memory tail, and reports its beginning', () => {
        const folder = durableFolder();
        const hub = folder.open({ retentionMs: HOUR_MS, maxRetainedEventsPerPartition: 2 });
        const send = (bodies: string[]) =>
            hub.send(
                bodies.map((body) => ({ body })),
                { partitionId: '0' },
            );
        send(['a', 'b', 'c']);
        folder.advance(HOUR_MS / 2);
        send(['d', 'e', 'f']);
        folder.advance(HOUR_MS / 2 - 1);
        expect(hub.read('0', 0, 10).map((event) => event.body)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
        folder.advance(1);
        expect(hub.read('0', 0, 10).map((event) => event.body)).toEqual(['d', 'e', 'f']);
        expect(hub.getPartitionProperties('0')).toMatchObject({ beginningSequenceNumber: 3, isEmpty: false });
        expect(hub.seek('0', { kind: 'earliest' })).toBe(3);
        expect(hub.seek('0', { kind: 'enqueuedTime', afterMs: 0 })).toBe(3);
        folder.advance(10_000);
        hub.read('0', 0, 1);
        expect(folder.rowCounts()).toEqual({ 0: 3 });
        folder.advance(HOUR_MS / 2);
        expect(hub.read('0', 0, 10)).toEqual([]);
        expect(hub.getPartitionProperties('0')).toMatchObject({ beginningSequenceNumber: 6, isEmpty: true });
    });

    it('acknowledges nothing it could not commit: a failed commit leaves the log as it was', () => {
        const folder = durableFolder();
        let failNext = false;
        const hub = folder.open({}, (store) =>
            storeWith(store, {
                append: (events) => {
                    if (failNext) {
                        failNext = false;
                        throw new Error('disk full');
                    }
                    store.append(events);
                },
            }),
        );
        hub.send([{ body: 'kept' }], { partitionId: '0' });
        const properties = hub.getPartitionProperties('0');
        failNext = true;
        expect(() => hub.send([{ body: 'lost' }, { body: 'lost too' }], { partitionId: '0' })).toThrow('disk full');
        expect(hub.getPartitionProperties('0')).toEqual(properties);
        expect(hub.send([{ body: 'next' }], { partitionId: '0' })[0]).toMatchObject({ sequenceNumber: 1, offset: '4' });
        const reopened = folder.open();
        expect(reopened.read('0', 0, 10).map((event) => event.body)).toEqual(['kept', 'next']);
    });

    it('commits the sendAsync calls of one turn together, shows them to readers only then, and fails them together', async () => {
        const folder = durableFolder();
        const commits: string[][] = [];
        let failNext = false;
        const hub = folder.open({}, (store) =>
            storeWith(store, {
                append: (events) => {
                    if (failNext) {
                        failNext = false;
                        throw new Error('disk full');
                    }
                    store.append(events);
                    commits.push(events.map(({ event }) => `${event.partitionId}:${event.sequenceNumber}`));
                },
            }),
        );
        const woken: string[] = [];
        hub.onEventsAppended('1', () =>
            woken.push(`1 at ${hub.getPartitionProperties('1').lastEnqueuedSequenceNumber}`),
        );
        const first = hub.sendAsync([{ body: 'a' }, { body: 'b' }], { partitionId: '1' });
        const second = hub.sendAsync([{ body: 'c' }], { partitionId: '1' });
        const third = hub.sendAsync([{ body: 'd' }], { partitionId: '2' });
        expect(hub.read('1', 0, 10)).toEqual([]);
        expect(woken).toEqual([]);
        const [a, c, d] = await Promise.all([first, second, third]);
        expect(commits).toEqual([['1:0', '1:1', '1:2', '2:0']]);
        expect(woken).toEqual(['1 at 2']);
        expect([...a, ...c, ...d]).toEqual([...hub.read('1', 0, 10), ...hub.read('2', 0, 10)]);

        failNext = true;
        const failed = [hub.sendAsync([{ body: 'e' }], { partitionId: '1' }), hub.sendAsync([{ body: 'f' }])];
        await expect(Promise.all(failed)).rejects.toThrow('disk full');
        await Promise.allSettled(failed);
        expect(hub.getPartitionProperties('1').lastEnqueuedSequenceNumber).toBe(2);
        expect(hub.stats().totalEnqueuedEvents).toBe(4);
        await expect(hub.sendAsync([{ body: 'x'.repeat(2_000_000) }])).rejects.toThrow(/exceeds the maximum/);

        // Queued sends are committed at close (a stop) and before a later synchronous send.
        void hub.sendAsync([{ body: 'queued' }], { partitionId: '3' });
        expect(hub.send([{ body: 'after' }], { partitionId: '3' })[0]!.sequenceNumber).toBe(1);
        void hub.sendAsync([{ body: 'at close' }], { partitionId: '3' });
        const reopened = folder.open();
        expect(reopened.read('3', 0, 10).map((event) => event.body)).toEqual(['queued', 'after', 'at close']);
    });

    it('resolves committed sendAsync calls when trimming or a reader throws after the commit, and logs it', async () => {
        const folder = durableFolder();
        let refuseTrims = false;
        const hub = folder.open({}, (store) =>
            storeWith(store, {
                trim: (...args) => {
                    if (refuseTrims) {
                        throw new Error('disk trim refused');
                    }
                    store.trim(...args);
                },
            }),
        );
        const woken: string[] = [];
        hub.onEventsAppended('1', () => {
            throw new Error('reader broke');
        });
        hub.onEventsAppended('1', () => woken.push('second reader'));
        refuseTrims = true;
        const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
        try {
            const sent = await Promise.all([
                hub.sendAsync([{ body: 'a' }], { partitionId: '1' }),
                hub.sendAsync([{ body: 'b' }], { partitionId: '1' }),
            ]);
            expect(sent.flat().map((event) => event.sequenceNumber)).toEqual([0, 1]);
            expect(woken).toEqual(['second reader']);
            expect(logged.mock.calls).toEqual([
                [
                    '[eventHubs:names] partition 1: trimming after a committed send failed (the send succeeded): ' +
                        'disk trim refused',
                ],
                [
                    '[eventHubs:names] partition 1: waking a reader after a committed send failed (the send ' +
                        'succeeded): reader broke',
                ],
            ]);
        } finally {
            logged.mockRestore();
        }
        expect(
            folder
                .open()
                .read('1', 0, 10)
                .map((event) => event.body),
        ).toEqual(['a', 'b']);
    });

    it('refuses fewer partitions than stored, and a partition whose numbering has a gap', async () => {
        const folder = durableFolder();
        const hub = folder.open({ partitionCount: 4 });
        hub.send([{ body: 1 }, { body: 2 }, { body: 3 }], { partitionId: '0' });
        expect(() => folder.open({ partitionCount: 2 })).toThrow(InvalidEventHubArgumentError);
        expect(() => folder.open({ partitionCount: 2 })).toThrow(/fewer than the 4 partitions event hub "names"/);
        expect(folder.open({ partitionCount: 6 }).partitionIds).toHaveLength(6);
        folder.state.database.prepare('DELETE FROM eventhub_events WHERE sequence_number = 1').run();
        // A start reads only where the log begins and ends; the read that reaches the gap refuses it.
        const reopened = folder.open({ partitionCount: 6 });
        expect(reopened.read('0', 2, 10).map((event) => event.body)).toEqual([3]);
        expect(() => reopened.read('0', 0, 10)).toThrow(StateCorruptError);
        expect(() => reopened.read('0', 0, 10)).toThrow(folder.state.databaseFile);
        expect(() => reopened.read('0', 0, 10)).toThrow(
            'event 1 of event hub "names" partition 0 is missing from the stored log: sequence numbers are not contiguous',
        );
        // A subscriber reaching it reports the error and retries, as for a failed batch, instead of stopping the process.
        const failures: Array<[string, PartitionErrorContext]> = [];
        const subscription = reopened.subscribe('$Default', {
            startPosition: 'earliest',
            retryDelayMs: 5,
            handler: () => Promise.reject(new Error('no event can be delivered')),
            onError: (error, context) => failures.push([(error as Error).name, context]),
        });
        await vi.waitFor(() => expect(failures.length).toBeGreaterThanOrEqual(2));
        await subscription.close();
        expect(failures.slice(0, 2)).toEqual(
            [1, 2].map((attempt) => [
                'StateCorruptError',
                { consumerGroup: '$Default', partitionId: '0', firstSequenceNumber: 0, lastSequenceNumber: 0, attempt },
            ]),
        );
    });

    it('starts and reads past a missing row the retention search lands on, warning once and naming it', () => {
        const folder = durableFolder();
        const hub = folder.open({ retentionMs: HOUR_MS });
        const send = (bodies: string[]) =>
            hub.send(
                bodies.map((body) => ({ body })),
                { partitionId: '0' },
            );
        send(['old-0', 'old-1', 'old-2', 'old-3']);
        folder.advance(HOUR_MS / 2);
        send(['new-4', 'new-5', 'new-6', 'new-7']);
        // Rows missing where the retention search probes; then down for longer than the oldest events' retention.
        folder.state.database.prepare('DELETE FROM eventhub_events WHERE sequence_number IN (4, 5)').run();
        folder.close();
        folder.advance(HOUR_MS / 2 + 1);
        const warned = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
        try {
            const reopened = folder.open({ retentionMs: HOUR_MS });
            expect(reopened.read('0', 0, 10).map((event) => event.body)).toEqual(['new-6', 'new-7']);
            expect(reopened.getPartitionProperties('0')).toMatchObject({ beginningSequenceNumber: 6, isEmpty: false });
            expect(reopened.seek('0', { kind: 'earliest' })).toBe(6);
            folder.advance(2_000);
            expect(reopened.stats().partitions[0]).toMatchObject({ beginningSequenceNumber: 6, retainedEventCount: 2 });
            expect(warned.mock.calls).toEqual([
                [
                    '[eventHubs:names] partition 0: retention skipped the damaged stored events 4 to 5 (state file ' +
                        `${folder.state.databaseFile}: event 4 of event hub "names" partition 0 is missing from the ` +
                        'stored log: sequence numbers are not contiguous); the log now begins at 6',
                ],
            ]);
        } finally {
            warned.mockRestore();
        }
    });

    it.each([
        [1, "x'ff'", /\(format 1\) cannot be read \(.+\)/],
        [2, "'[not json'", /\(format 2\) cannot be read \(.*JSON.*\)/],
        [3, "x'ff00'", /\(format 3\) cannot be read \(.+\)/],
    ])(
        'refuses an event whose stored format %i cannot be decoded, naming the file and the row',
        (format, data, reason) => {
            const folder = durableFolder();
            folder.open({ partitionCount: 2 }).send([{ body: 'a' }, { body: 'b' }], { partitionId: '1' });
            folder.state.database
                .prepare(`UPDATE eventhub_events SET format = ?, data = ${data} WHERE sequence_number = 1`)
                .run(format);
            // A start decodes nothing; the read that reaches the row refuses it.
            const hub = folder.open({ partitionCount: 2 });
            const reading = () => hub.read('1', 0, 10);
            expect(reading).toThrow(StateCorruptError);
            expect(reading).toThrow(folder.state.databaseFile);
            expect(reading).toThrow('event 1 of event hub "names" partition 1');
            expect(reading).toThrow(reason);
            expect(hub.read('1', 0, 1).map((event) => event.body)).toEqual(['a']);
        },
    );

    it('writes checkpoints within 100 ms, in one transaction', async () => {
        const folder = durableFolder();
        const hub = folder.open();
        hub.createConsumerGroup('readers');
        hub.send([{ body: 1 }, { body: 2 }], { partitionId: '1' });
        hub.checkpoint('readers', '1', 0);
        hub.checkpoint('readers', '1', 1);
        const stored = () =>
            folder.state.database
                .prepare<[], { value: string }>(
                    "SELECT value FROM records WHERE scope = 'eventHubs/names/consumerGroups'",
                )
                .all()
                .map((row) => JSON.parse(row.value) as unknown);
        expect(stored()).toEqual([{ checkpoints: {} }]);
        await new Promise((resolve) => setTimeout(resolve, 150));
        expect(stored()).toEqual([{ checkpoints: { 1: 1 } }]);
    });
});
