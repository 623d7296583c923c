import v8 from 'node:v8';

import type { Statement } from 'better-sqlite3';
import { type Message, message as rheaMessage } from 'rhea';
import { z } from 'zod';

import { type RecordTable, type StateComponent, StateCorruptError, type StateStore } from '../state';
import { eventFromMessage } from './amqp/eventMessages';
import { InvalidEventHubArgumentError } from './errors';
import type { EncodedEvent, EventHubSnapshot, EventHubStore } from './eventHubStore';
import type { ReceivedEventData } from './events';
import type { LastEnqueuedEvent, PartitionLogEnd, StoredPartitionLog } from './partitionLog';

/**
 * The Event Hubs stand-in's tables in the state database. One row per retained event, keyed by partition and
 * sequence number (WITHOUT ROWID: the key is the table, so an append writes one b-tree and a trim deletes a key
 * range). `data` holds the event as `format` says: 1 the AMQP message as the producer encoded it, 2 the JSON text of
 * `[body]` or `[body, properties]`, 3 the same array in V8's serialization (for bodies JSON would not give back
 * exactly: Buffers, Dates, undefined, -0, ...). Small state (the hub's creation time and partitions, where each
 * partition's log ends, consumer groups and checkpoints) lives in the store's records.
 */
export const EVENT_HUBS_STATE_COMPONENT: StateComponent = {
    name: 'eventHubs',
    migrations: [
        {
            version: 1,
            description: 'eventhub_events: partition logs by (event hub, partition, sequence number)',
            up: (database) =>
                database.exec(`CREATE TABLE eventhub_events (
                    event_hub TEXT NOT NULL,
                    partition_id TEXT NOT NULL,
                    sequence_number INTEGER NOT NULL,
                    byte_offset INTEGER NOT NULL,
                    size_bytes INTEGER NOT NULL,
                    enqueued_time_ms INTEGER NOT NULL,
                    partition_key TEXT,
                    format INTEGER NOT NULL CHECK (format IN (1, 2, 3)),
                    data NOT NULL,
                    PRIMARY KEY (event_hub, partition_id, sequence_number)
                ) WITHOUT ROWID`),
        },
    ],
};

const FORMAT_AMQP = 1;
const FORMAT_JSON = 2;
const FORMAT_V8 = 3;

/** A partition's disk trim waits for this many removable events, so retention costs one DELETE per batch... */
const TRIM_BATCH_EVENTS = 1024;
/** ...or for this long since its last trim, so a slow partition's expired events do not linger either. */
const TRIM_INTERVAL_MS = 10_000;
/**
 * At most this many rows per DELETE, the rest in later turns of the event loop: a start after a downtime longer than
 * retention deletes up to the whole disk cap (1,000,000 per partition), which in one statement blocked the start for
 * 6.4 s per 1,000,000 rows on a loaded 2-vCPU machine and held the whole deletion in the WAL; chunks of 10,000 still
 * held the loop for up to 0.26 s each there (bench/longRun.bench.ts, docs/local-runtime.md).
 */
const DELETE_CHUNK_ROWS = 2_000;
/** Checkpoints of this long are written in one transaction (a reader checkpoints after every batch). */
const CHECKPOINT_DELAY_MS = 100;

/** Shared by restored events without properties, as by sent ones; frozen so no consumer can write into it. */
const NO_PROPERTIES: Readonly<Record<string, unknown>> = Object.freeze({});

const hubRecord = z.object({ createdAt: z.string().datetime(), partitionIds: z.array(z.string()) });
const partitionEndRecord = z.object({
    endSequenceNumber: z.number().int().nonnegative(),
    endOffset: z.number().int().nonnegative(),
    lastEnqueued: z
        .object({ sequenceNumber: z.number().int(), offset: z.string(), enqueuedTimeMs: z.number().int() })
        .nullable(),
});
const consumerGroupRecord = z.object({ checkpoints: z.record(z.string(), z.number().int().nonnegative()) });

interface EventRow {
    sequence_number: number;
    byte_offset: number;
    size_bytes: number;
    enqueued_time_ms: number;
    partition_key: string | null;
    format: number;
    data: Buffer | string;
}

interface PositionRow {
    sequence_number: number;
    byte_offset: number;
    size_bytes: number;
    enqueued_time_ms: number;
}

interface PartitionBound {
    bound: number | null;
}

interface PartitionTrim {
    /** Lowest sequence number that may still be on disk. */
    storedFrom: number;
    /** The rows before this one are to go (the log's beginning at the last trim); storedFrom catches up in chunks. */
    deleteBefore: number;
    lastTrimMs: number;
    /** The next chunk's turn, while one is pending. */
    pending: NodeJS.Immediate | undefined;
}

/**
 * An Event Hub's partition logs and consumer positions in the state database (see EventHubStore; docs/local-runtime.md,
 * "State on disk"). Each append is one transaction of prepared inserts, committed before the hub acknowledges the
 * send; the database's WAL with synchronous NORMAL makes a commit survive a kill of the process without an fsync of
 * its own. Retention deletes in batches; checkpoints are coalesced for 100 ms.
 */
export class SqliteEventHubStore implements EventHubStore {
    readonly #state: StateStore;
    readonly #eventHubName: string;
    readonly #hubs: RecordTable<z.infer<typeof hubRecord>>;
    readonly #partitionEnds: RecordTable<z.infer<typeof partitionEndRecord>>;
    readonly #consumerGroups: RecordTable<z.infer<typeof consumerGroupRecord>>;
    readonly #insert: Statement<
        [string, string, number, number, number, number, string | null, number, Buffer | string]
    >;
    readonly #first: Statement<[string, string], PartitionBound>;
    readonly #last: Statement<[string, string], PartitionBound>;
    readonly #page: Statement<[string, string, number, number], EventRow>;
    readonly #position: Statement<[string, string, number], PositionRow>;
    readonly #firstPositionFrom: Statement<[string, string, number], PositionRow>;
    readonly #delete: Statement<[string, string, number]>;
    readonly #appendAll: (events: readonly EncodedEvent[]) => void;
    readonly #trims = new Map<string, PartitionTrim>();
    readonly #checkpoints = new Map<string, Record<string, number>>();
    readonly #pendingGroups = new Set<string>();
    #checkpointTimer: NodeJS.Timeout | undefined;
    #closed = false;

    constructor(state: StateStore, eventHubName: string) {
        this.#state = state;
        this.#eventHubName = eventHubName;
        this.#hubs = state.records('eventHubs', hubRecord);
        this.#partitionEnds = state.records(`eventHubs/${eventHubName}/partitions`, partitionEndRecord);
        this.#consumerGroups = state.records(`eventHubs/${eventHubName}/consumerGroups`, consumerGroupRecord);
        const database = state.database;
        this.#insert = database.prepare(
            `INSERT INTO eventhub_events (event_hub, partition_id, sequence_number, byte_offset, size_bytes,
                enqueued_time_ms, partition_key, format, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        // One aggregate each: SQLite answers a lone MIN or MAX of the key's last column with one b-tree descent (its
        // min/max optimization does not apply to a query with both), so a start costs the same whatever the log
        // holds. A COUNT(*) to check the numbering at start would walk every page instead.
        this.#first = database.prepare(
            'SELECT MIN(sequence_number) AS bound FROM eventhub_events WHERE event_hub = ? AND partition_id = ?',
        );
        this.#last = database.prepare(
            'SELECT MAX(sequence_number) AS bound FROM eventhub_events WHERE event_hub = ? AND partition_id = ?',
        );
        this.#page = database.prepare(
            `SELECT sequence_number, byte_offset, size_bytes, enqueued_time_ms, partition_key, format, data
             FROM eventhub_events WHERE event_hub = ? AND partition_id = ? AND sequence_number >= ?
             ORDER BY sequence_number LIMIT ?`,
        );
        this.#position = database.prepare(
            `SELECT sequence_number, byte_offset, size_bytes, enqueued_time_ms FROM eventhub_events
             WHERE event_hub = ? AND partition_id = ? AND sequence_number = ?`,
        );
        this.#firstPositionFrom = database.prepare(
            `SELECT sequence_number, byte_offset, size_bytes, enqueued_time_ms FROM eventhub_events
             WHERE event_hub = ? AND partition_id = ? AND sequence_number >= ? ORDER BY sequence_number LIMIT 1`,
        );
        this.#delete = database.prepare(
            'DELETE FROM eventhub_events WHERE event_hub = ? AND partition_id = ? AND sequence_number < ?',
        );
        this.#appendAll = database.transaction((events: readonly EncodedEvent[]) => {
            for (const { event, sizeBytes, amqpMessage } of events) {
                const [format, data] = encode(event, amqpMessage);
                this.#insert.run(
                    this.#eventHubName,
                    event.partitionId,
                    event.sequenceNumber,
                    Number(event.offset),
                    sizeBytes,
                    event.enqueuedTimeUtc.getTime(),
                    event.partitionKey,
                    format,
                    data,
                );
            }
        });
    }

    /**
     * @throws InvalidEventHubArgumentError when `partitionIds` lacks a partition the stored hub has (a partition
     *   count never decreases, in Azure either)
     *
     * Reads where each partition's log begins and ends, not its events: a start costs the same whatever the log holds.
     * A gap in the numbering or an undecodable row surfaces as a StateCorruptError from the read that reaches it.
     */
    snapshot(partitionIds: readonly string[], createdAt: Date): EventHubSnapshot {
        const stored = this.#hubs.get(this.#eventHubName);
        const missing = stored?.partitionIds.filter((id) => !partitionIds.includes(id)) ?? [];
        if (missing.length > 0) {
            throw new InvalidEventHubArgumentError(
                'partitionCount',
                partitionIds.length,
                `is fewer than the ${stored?.partitionIds.length} partitions event hub "${this.#eventHubName}" has ` +
                    `in the state file ${this.#state.databaseFile}; a hub's partition count never decreases (as in ` +
                    'Azure): start with the same count, with --in-memory, or after "npm run reset-state"',
            );
        }
        if (stored === undefined || stored.partitionIds.length !== partitionIds.length) {
            this.#hubs.put(this.#eventHubName, {
                createdAt: stored?.createdAt ?? createdAt.toISOString(),
                partitionIds: [...partitionIds],
            });
        }
        const partitions = new Map<string, StoredPartitionLog>();
        for (const partitionId of partitionIds) {
            partitions.set(partitionId, this.#restorePartition(partitionId));
        }
        const consumerGroups = new Map<string, ReadonlyMap<string, number>>();
        for (const [name, { checkpoints }] of this.#consumerGroups.entries()) {
            this.#checkpoints.set(name, { ...checkpoints });
            consumerGroups.set(name, new Map(Object.entries(checkpoints)));
        }
        return {
            createdAt: stored === undefined ? createdAt : new Date(stored.createdAt),
            partitions,
            consumerGroups,
        };
    }

    append(events: readonly EncodedEvent[]): void {
        this.#appendAll(events);
    }

    /**
     * @throws StateCorruptError naming the database file and the event when a row cannot be decoded or an event in
     *   the range is missing
     */
    read(partitionId: string, fromSequenceNumber: number, count: number): ReceivedEventData[] {
        const rows = this.#page.all(this.#eventHubName, partitionId, fromSequenceNumber, count);
        const events = rows.map((row, index) => {
            if (row.sequence_number !== fromSequenceNumber + index) {
                throw this.#missing(partitionId, fromSequenceNumber + index);
            }
            return this.#decode(row, partitionId);
        });
        if (events.length < count) {
            throw this.#missing(partitionId, fromSequenceNumber + events.length);
        }
        return events;
    }

    /** @throws StateCorruptError when the event is not stored */
    position(partitionId: string, sequenceNumber: number): LastEnqueuedEvent {
        const row = this.#position.get(this.#eventHubName, partitionId, sequenceNumber);
        if (row === undefined) {
            throw this.#missing(partitionId, sequenceNumber);
        }
        return positionOf(row);
    }

    firstPositionFrom(partitionId: string, sequenceNumber: number): LastEnqueuedEvent | undefined {
        const row = this.#firstPositionFrom.get(this.#eventHubName, partitionId, sequenceNumber);
        return row === undefined ? undefined : positionOf(row);
    }

    trim(partitionId: string, beginningSequenceNumber: number, end: PartitionLogEnd, nowMs: number): void {
        let trim = this.#trims.get(partitionId);
        if (trim === undefined) {
            trim = { storedFrom: 0, deleteBefore: 0, lastTrimMs: nowMs, pending: undefined };
            this.#trims.set(partitionId, trim);
        }
        // Counted from where the last trim asked deletion to reach, not from what is deleted so far: while chunks
        // of an earlier trim are still pending, each send would otherwise find thousands "removable" and delete a
        // chunk of its own, synchronously, on the send's path.
        const removable = beginningSequenceNumber - trim.deleteBefore;
        if (removable <= 0 || (removable < TRIM_BATCH_EVENTS && nowMs - trim.lastTrimMs < TRIM_INTERVAL_MS)) {
            // A chain of chunks that a failed DELETE stopped starts again here, off the send path, every 10 s at most.
            if (
                trim.pending === undefined &&
                trim.storedFrom < trim.deleteBefore &&
                nowMs - trim.lastTrimMs >= TRIM_INTERVAL_MS
            ) {
                trim.lastTrimMs = nowMs;
                this.#scheduleDeletes(partitionId, trim);
            }
            return;
        }
        const deleteBefore = Math.max(trim.deleteBefore, beginningSequenceNumber);
        let storedFrom = trim.storedFrom;
        this.#state.transaction(() => {
            // While a chain of chunks is pending, it does the deleting; this trim only records where the log ends.
            if (trim.pending === undefined) {
                storedFrom = this.#deleteChunk(partitionId, storedFrom, deleteBefore);
            }
            // Where the log ends, for a restart after retention removed every event: numbering continues from it.
            this.#partitionEnds.put(partitionId, {
                endSequenceNumber: end.endSequenceNumber,
                endOffset: end.endOffset,
                lastEnqueued:
                    end.lastEnqueued === undefined
                        ? null
                        : {
                              sequenceNumber: end.lastEnqueued.sequenceNumber,
                              offset: end.lastEnqueued.offset,
                              enqueuedTimeMs: end.lastEnqueued.enqueuedTimeUtc.getTime(),
                          },
            });
        });
        // Only once that commit succeeded: chunks never delete up to a point whose end record was not written (a
        // restart of an emptied partition numbers from that record), and a rolled-back DELETE is not counted as done.
        trim.storedFrom = storedFrom;
        trim.deleteBefore = deleteBefore;
        trim.lastTrimMs = nowMs;
        this.#scheduleDeletes(partitionId, trim);
    }

    /**
     * Deletes the rows from `storedFrom` up to the next chunk's end (at most `deleteBefore`) and returns that end.
     * Sequence numbers are contiguous, so a range of DELETE_CHUNK_ROWS numbers holds at most that many rows. Rows left
     * for a later chunk are never read (the hub reads only from the log's beginning on); if the runtime stops first,
     * the next start finds them expired or over the cap again and deletes them then.
     */
    #deleteChunk(partitionId: string, storedFrom: number, deleteBefore: number): number {
        const upTo = Math.min(deleteBefore, storedFrom + DELETE_CHUNK_ROWS);
        this.#delete.run(this.#eventHubName, partitionId, upTo);
        return upTo;
    }

    #scheduleDeletes(partitionId: string, trim: PartitionTrim): void {
        if (trim.pending !== undefined || trim.storedFrom >= trim.deleteBefore || this.#closed) {
            return;
        }
        trim.pending = setImmediate(() => {
            trim.pending = undefined;
            if (this.#closed) {
                return;
            }
            try {
                trim.storedFrom = this.#deleteChunk(partitionId, trim.storedFrom, trim.deleteBefore);
            } catch (error) {
                // The disk refused it (full, read-only): the rows stay, unread, and a trim at least 10 s later starts
                // the chain again.
                console.warn(
                    `[eventHubs:${this.#eventHubName}] partition ${partitionId}: deleting trimmed events from ` +
                        `${this.#state.databaseFile} failed (${error instanceof Error ? error.message : String(error)})`,
                );
                return;
            }
            this.#scheduleDeletes(partitionId, trim);
        }).unref();
    }

    createConsumerGroup(name: string): void {
        if (!this.#checkpoints.has(name)) {
            this.#checkpoints.set(name, {});
            this.#consumerGroups.put(name, { checkpoints: {} });
        }
    }

    checkpoint(consumerGroup: string, partitionId: string, sequenceNumber: number): void {
        const checkpoints = this.#checkpoints.get(consumerGroup) ?? {};
        checkpoints[partitionId] = sequenceNumber;
        this.#checkpoints.set(consumerGroup, checkpoints);
        this.#pendingGroups.add(consumerGroup);
        this.#checkpointTimer ??= setTimeout(() => this.#writeCheckpoints(), CHECKPOINT_DELAY_MS).unref();
    }

    close(): void {
        this.#closed = true;
        for (const trim of this.#trims.values()) {
            clearImmediate(trim.pending);
            trim.pending = undefined;
        }
        this.#writeCheckpoints();
    }

    #writeCheckpoints(): void {
        clearTimeout(this.#checkpointTimer);
        this.#checkpointTimer = undefined;
        if (this.#pendingGroups.size === 0) {
            return;
        }
        this.#state.transaction(() => {
            for (const group of this.#pendingGroups) {
                this.#consumerGroups.put(group, { checkpoints: { ...this.#checkpoints.get(group) } });
            }
        });
        this.#pendingGroups.clear();
    }

    /** decode(), with a row that cannot be read reported as a StateCorruptError naming the file and the row. */
    #decode(row: EventRow, partitionId: string): ReceivedEventData {
        try {
            return decode(row, partitionId);
        } catch (error) {
            throw new StateCorruptError(
                this.#state.databaseFile,
                `event ${row.sequence_number} of event hub ${JSON.stringify(this.#eventHubName)} partition ` +
                    `${partitionId} (format ${row.format}) cannot be read ` +
                    `(${error instanceof Error ? error.message : String(error)})`,
            );
        }
    }

    #missing(partitionId: string, sequenceNumber: number): StateCorruptError {
        return new StateCorruptError(
            this.#state.databaseFile,
            `event ${sequenceNumber} of event hub ${JSON.stringify(this.#eventHubName)} partition ${partitionId} is ` +
                'missing from the stored log: sequence numbers are not contiguous',
        );
    }

    #restorePartition(partitionId: string): StoredPartitionLog {
        const first = (this.#first.get(this.#eventHubName, partitionId) as PartitionBound).bound;
        const last = (this.#last.get(this.#eventHubName, partitionId) as PartitionBound).bound;
        if (first !== null && last !== null) {
            const lastRow = this.#position.get(this.#eventHubName, partitionId, last) as PositionRow;
            this.#trims.set(partitionId, {
                storedFrom: first,
                deleteBefore: first,
                lastTrimMs: -Infinity,
                pending: undefined,
            });
            return {
                first: this.position(partitionId, first),
                endSequenceNumber: last + 1,
                endOffset: lastRow.byte_offset + lastRow.size_bytes,
                lastEnqueued: positionOf(lastRow),
            };
        }
        const end = this.#partitionEnds.get(partitionId);
        const storedFrom = end?.endSequenceNumber ?? 0;
        this.#trims.set(partitionId, {
            storedFrom,
            deleteBefore: storedFrom,
            lastTrimMs: -Infinity,
            pending: undefined,
        });
        const lastEnqueued: LastEnqueuedEvent | undefined =
            end === undefined || end.lastEnqueued === null
                ? undefined
                : {
                      sequenceNumber: end.lastEnqueued.sequenceNumber,
                      offset: end.lastEnqueued.offset,
                      enqueuedTimeUtc: new Date(end.lastEnqueued.enqueuedTimeMs),
                  };
        return {
            first: undefined,
            endSequenceNumber: end?.endSequenceNumber ?? 0,
            endOffset: end?.endOffset ?? 0,
            lastEnqueued,
        };
    }
}

function positionOf(row: PositionRow): LastEnqueuedEvent {
    return {
        sequenceNumber: row.sequence_number,
        offset: String(row.byte_offset),
        enqueuedTimeUtc: new Date(row.enqueued_time_ms),
    };
}

/** The stored form of an event's content; see EVENT_HUBS_STATE_COMPONENT for the formats. */
function encode(event: ReceivedEventData, amqpMessage: Buffer | undefined): [number, Buffer | string] {
    if (amqpMessage !== undefined) {
        return [FORMAT_AMQP, amqpMessage];
    }
    const content = Object.keys(event.properties).length === 0 ? [event.body] : [event.body, event.properties];
    // JSON is ten times faster than V8's serializer for the small objects names are, and exact for what it accepts.
    return isExactInJson(content, 0) ? [FORMAT_JSON, JSON.stringify(content)] : [FORMAT_V8, v8.serialize(content)];
}

function decode(row: EventRow, partitionId: string): ReceivedEventData {
    const common = {
        partitionId,
        sequenceNumber: row.sequence_number,
        offset: String(row.byte_offset),
        enqueuedTimeUtc: new Date(row.enqueued_time_ms),
        partitionKey: row.partition_key,
    };
    if (row.format === FORMAT_AMQP) {
        const bytes = row.data as Buffer;
        const sent = eventFromMessage(rheaMessage.decode(bytes) as unknown as Message, bytes);
        return {
            body: sent.body,
            properties: sent.properties === undefined ? NO_PROPERTIES : { ...sent.properties },
            ...common,
            ...(sent.amqp === undefined ? {} : { amqp: sent.amqp }),
        };
    }
    const content = (
        row.format === FORMAT_JSON ? JSON.parse(row.data as string) : v8.deserialize(row.data as Buffer)
    ) as [unknown, Record<string, unknown>?];
    return { body: content[0], properties: content[1] ?? NO_PROPERTIES, ...common };
}

/**
 * True when JSON.parse(JSON.stringify(value)) gives `value` back exactly: strings, booleans, null, finite numbers
 * other than -0, and arrays without holes and plain objects of those. Anything else (Buffers, Dates, undefined,
 * class instances) is stored in V8's serialization instead.
 */
function isExactInJson(value: unknown, depth: number): boolean {
    switch (typeof value) {
        case 'string':
        case 'boolean':
            return true;
        case 'number':
            return Number.isFinite(value) && !Object.is(value, -0);
        case 'object': {
            if (value === null) {
                return true;
            }
            if (depth > 100) {
                return false;
            }
            if (Array.isArray(value)) {
                for (let index = 0; index < value.length; index++) {
                    if (!(index in value) || !isExactInJson(value[index], depth + 1)) {
                        return false;
                    }
                }
                return true;
            }
            if (Object.getPrototypeOf(value) !== Object.prototype) {
                return false;
            }
            for (const key in value) {
                if (!isExactInJson((value as Record<string, unknown>)[key], depth + 1)) {
                    return false;
                }
            }
            return true;
        }
        default:
            return false;
    }
}
