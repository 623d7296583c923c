import { deserialize, serialize } from 'node:v8';

import type Database from 'better-sqlite3';

import { type StateComponent, StateCorruptError, type StateStore } from '../state';
import type { ApplicationProperties } from './messages';

/**
 * What a queue keeps of one message across a restart: everything the broker assigned or the sender chose, but not
 * the lock itself, only whether one was held. Entity names are queue paths: `<queue>` or `<queue>/$DeadLetterQueue`.
 */
export interface PersistedServiceBusMessage {
    readonly sequenceNumber: number;
    readonly messageId: string;
    /** A string body comes back a string, bytes come back a Buffer. */
    readonly body: string | Buffer;
    readonly contentType: string | undefined;
    readonly correlationId: string | undefined;
    readonly subject: string | undefined;
    /** The AMQP endpoint's opaque details (body section, other properties, annotations). */
    readonly wire: unknown;
    readonly applicationProperties: ApplicationProperties;
    readonly timeToLiveMs: number;
    readonly scheduledAtMs: number | undefined;
    readonly enqueuedAtMs: number;
    readonly expiresAtMs: number;
    readonly deferred: boolean;
    readonly deliveryCount: number;
    /** Handed out under a lock that had not ended when this was written; at load that lock has expired. */
    readonly locked: boolean;
    readonly deadLetter: { readonly reason: string; readonly description: string; readonly atMs: number } | undefined;
}

/** The fields a settlement, a lock or its end change. */
export type PersistedMessageUpdate = Pick<
    PersistedServiceBusMessage,
    'sequenceNumber' | 'deliveryCount' | 'deferred' | 'locked' | 'applicationProperties'
>;

/** One entity's changes since the last commit. */
export interface ServiceBusEntityWrites {
    readonly entity: string;
    readonly inserted: readonly PersistedServiceBusMessage[];
    readonly updated: readonly PersistedMessageUpdate[];
    readonly deleted: readonly number[];
    /** Set with inserts: the next number the entity will give out, so none is given out twice. */
    readonly nextSequenceNumber: number | undefined;
}

export interface PersistedServiceBusEntity {
    /** 1 for an entity never written. */
    readonly nextSequenceNumber: number;
    /** A queue's messages in sequence order; a dead-letter queue's in the order they arrived there. */
    readonly messages: PersistedServiceBusMessage[];
}

/**
 * Where LocalServiceBusQueue keeps its messages across restarts. The queue's own in-memory structures stay the
 * working set (a queue without a store, `--in-memory` and unit tests, writes nothing and pays nothing); a store
 * receives each operation's changes before the operation returns, so what was acknowledged is on disk.
 */
export interface ServiceBusMessageStore {
    load(entity: string): PersistedServiceBusEntity;
    /** Writes every entity's changes in one transaction. @throws what the database throws; nothing is written then */
    write(writes: readonly ServiceBusEntityWrites[]): void;
}

/**
 * The Service Bus stand-in's tables in the state database. A message is one row keyed by (entity, sequence number);
 * moving it to the dead-letter queue deletes it from the queue's entity and inserts it in the sub-queue's.
 */
export const SERVICE_BUS_STATE_COMPONENT: StateComponent = {
    name: 'serviceBus',
    migrations: [
        {
            version: 1,
            description: 'service_bus_entities (next sequence number) and service_bus_messages',
            up: (database) =>
                database.exec(`
                    CREATE TABLE service_bus_entities (
                        entity TEXT PRIMARY KEY,
                        next_sequence_number INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE service_bus_messages (
                        entity TEXT NOT NULL,
                        sequence_number INTEGER NOT NULL,
                        message_id TEXT NOT NULL,
                        -- BLOB affinity stores a value as bound: TEXT for a string body, BLOB for bytes.
                        body BLOB NOT NULL,
                        content_type TEXT,
                        correlation_id TEXT,
                        subject TEXT,
                        -- node:v8 serialization (keeps Date, Buffer and numbers apart); NULL when empty or absent.
                        application_properties BLOB,
                        wire BLOB,
                        time_to_live_ms INTEGER NOT NULL,
                        scheduled_enqueue_time_ms INTEGER,
                        enqueued_time_ms INTEGER NOT NULL,
                        expires_at_ms INTEGER NOT NULL,
                        deferred INTEGER NOT NULL,
                        delivery_count INTEGER NOT NULL,
                        locked INTEGER NOT NULL,
                        dead_letter_reason TEXT,
                        dead_letter_error_description TEXT,
                        dead_lettered_time_ms INTEGER,
                        PRIMARY KEY (entity, sequence_number)
                    ) WITHOUT ROWID;`),
        },
    ],
};

interface MessageRow {
    sequence_number: number;
    message_id: string;
    body: string | Buffer;
    content_type: string | null;
    correlation_id: string | null;
    subject: string | null;
    application_properties: Buffer | null;
    wire: Buffer | null;
    time_to_live_ms: number;
    scheduled_enqueue_time_ms: number | null;
    enqueued_time_ms: number;
    expires_at_ms: number;
    deferred: number;
    delivery_count: number;
    locked: number;
    dead_letter_reason: string | null;
    dead_letter_error_description: string | null;
    dead_lettered_time_ms: number | null;
}

type InsertParameters = [
    string,
    number,
    string,
    string | Buffer,
    string | null,
    string | null,
    string | null,
    Buffer | null,
    Buffer | null,
    number,
    number | null,
    number,
    number,
    number,
    number,
    number,
    string | null,
    string | null,
    number | null,
];

/**
 * The on-disk ServiceBusMessageStore: the state folder's SQLite database (local/state), prepared statements, one
 * transaction per write. Synchronous like the rest of better-sqlite3: `write` returns once SQLite has committed.
 */
export class SqliteServiceBusMessageStore implements ServiceBusMessageStore {
    readonly #file: string;
    readonly #selectEntity: Database.Statement<[string], { next_sequence_number: number }>;
    readonly #selectMessages: Database.Statement<[string], MessageRow>;
    readonly #writeAll: (writes: readonly ServiceBusEntityWrites[]) => void;

    constructor(state: StateStore) {
        const database = state.database;
        this.#file = state.databaseFile;
        this.#selectEntity = database.prepare('SELECT next_sequence_number FROM service_bus_entities WHERE entity = ?');
        // A dead-letter queue lists in arrival order; a queue's messages have no dead-letter time.
        this.#selectMessages = database.prepare(
            `SELECT * FROM service_bus_messages WHERE entity = ?
             ORDER BY coalesce(dead_lettered_time_ms, 0), sequence_number`,
        );
        const insert = database.prepare<InsertParameters>(
            `INSERT INTO service_bus_messages (entity, sequence_number, message_id, body, content_type, correlation_id,
                 subject, application_properties, wire, time_to_live_ms, scheduled_enqueue_time_ms, enqueued_time_ms,
                 expires_at_ms, deferred, delivery_count, locked, dead_letter_reason, dead_letter_error_description,
                 dead_lettered_time_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        const update = database.prepare<[number, number, number, Buffer | null, string, number]>(
            `UPDATE service_bus_messages SET delivery_count = ?, deferred = ?, locked = ?, application_properties = ?
             WHERE entity = ? AND sequence_number = ?`,
        );
        const remove = database.prepare<[string, number]>(
            'DELETE FROM service_bus_messages WHERE entity = ? AND sequence_number = ?',
        );
        const advance = database.prepare<[string, number]>(
            `INSERT INTO service_bus_entities (entity, next_sequence_number) VALUES (?, ?)
             ON CONFLICT (entity) DO UPDATE
             SET next_sequence_number = max(next_sequence_number, excluded.next_sequence_number)`,
        );
        this.#writeAll = database.transaction((writes: readonly ServiceBusEntityWrites[]) => {
            for (const { entity, inserted, updated, deleted, nextSequenceNumber } of writes) {
                for (const sequenceNumber of deleted) {
                    remove.run(entity, sequenceNumber);
                }
                for (const message of inserted) {
                    insert.run(
                        entity,
                        message.sequenceNumber,
                        message.messageId,
                        message.body,
                        message.contentType ?? null,
                        message.correlationId ?? null,
                        message.subject ?? null,
                        encodeProperties(message.applicationProperties),
                        message.wire === undefined ? null : serialize(message.wire),
                        message.timeToLiveMs,
                        message.scheduledAtMs ?? null,
                        message.enqueuedAtMs,
                        message.expiresAtMs,
                        message.deferred ? 1 : 0,
                        message.deliveryCount,
                        message.locked ? 1 : 0,
                        message.deadLetter?.reason ?? null,
                        message.deadLetter?.description ?? null,
                        message.deadLetter?.atMs ?? null,
                    );
                }
                for (const message of updated) {
                    update.run(
                        message.deliveryCount,
                        message.deferred ? 1 : 0,
                        message.locked ? 1 : 0,
                        encodeProperties(message.applicationProperties),
                        entity,
                        message.sequenceNumber,
                    );
                }
                if (nextSequenceNumber !== undefined) {
                    advance.run(entity, nextSequenceNumber);
                }
            }
        });
    }

    load(entity: string): PersistedServiceBusEntity {
        const nextSequenceNumber = this.#selectEntity.get(entity)?.next_sequence_number ?? 1;
        const messages = this.#selectMessages.all(entity).map((row) => this.#decode(entity, row));
        return { nextSequenceNumber, messages };
    }

    write(writes: readonly ServiceBusEntityWrites[]): void {
        this.#writeAll(writes);
    }

    #decode(entity: string, row: MessageRow): PersistedServiceBusMessage {
        const decodeBlob = (column: string, blob: Buffer): unknown => {
            try {
                return deserialize(blob);
            } catch (error) {
                throw new StateCorruptError(
                    this.#file,
                    `the ${column} of Service Bus message ${row.sequence_number} in ${JSON.stringify(entity)} ` +
                        `cannot be read (${error instanceof Error ? error.message : String(error)})`,
                );
            }
        };
        return {
            sequenceNumber: row.sequence_number,
            messageId: row.message_id,
            body: row.body,
            contentType: row.content_type ?? undefined,
            correlationId: row.correlation_id ?? undefined,
            subject: row.subject ?? undefined,
            wire: row.wire === null ? undefined : decodeBlob('wire details', row.wire),
            applicationProperties:
                row.application_properties === null
                    ? {}
                    : (decodeBlob('application properties', row.application_properties) as ApplicationProperties),
            timeToLiveMs: row.time_to_live_ms,
            scheduledAtMs: row.scheduled_enqueue_time_ms ?? undefined,
            enqueuedAtMs: row.enqueued_time_ms,
            expiresAtMs: row.expires_at_ms,
            deferred: row.deferred === 1,
            deliveryCount: row.delivery_count,
            locked: row.locked === 1,
            deadLetter:
                row.dead_lettered_time_ms === null
                    ? undefined
                    : {
                          reason: row.dead_letter_reason ?? '',
                          description: row.dead_letter_error_description ?? '',
                          atMs: row.dead_lettered_time_ms,
                      },
        };
    }
}

function encodeProperties(properties: ApplicationProperties): Buffer | null {
    for (const _ in properties) {
        return serialize(properties);
    }
    return null;
}
