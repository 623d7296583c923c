import { type Clock, systemClock } from '../../domain/clock';
import { StateCorruptError } from '../state/errors';
import { EventTooLargeError, InvalidEventHubArgumentError } from './errors';
import type { EncodedEvent, EventHubStore } from './eventHubStore';
import {
    type EventDataToSend,
    measureEventBytes,
    type PartitionProperties,
    type ReceivedEventData,
    type SendOptions,
} from './events';
import { partitionIndexForKey } from './partitionKeyHash';
import { type LastEnqueuedEvent, PartitionLog } from './partitionLog';
import { type PartitionErrorContext, PartitionPump } from './partitionPump';

export const DEFAULT_CONSUMER_GROUP = '$Default';
/** Shared by every event sent without properties; frozen so no consumer can write into another's event. */
const NO_PROPERTIES: Readonly<Record<string, unknown>> = Object.freeze({});

export interface LocalEventHubOptions {
    name: string;
    partitionCount?: number;
    /** Events older than this are dropped. Azure's minimum is an hour; tests use less. */
    retentionMs?: number;
    /** Standard tier: 1 MB per event (and per batch, which is not enforced here). */
    maxEventBytes?: number;
    /**
     * In-memory cap per partition. Without a store it bounds the log: beyond it the oldest events go first, as if
     * retention had passed. With a store it bounds only the recent tail memory keeps for readers that keep up; the
     * store keeps the log (see maxStoredEventsPerPartition). An event costs about 250 bytes of heap with a small JSON
     * body, so the default (250,000) bounds 4 partitions near 250 MB even when a benchmark outruns retention.
     */
    maxRetainedEventsPerPartition?: number;
    /**
     * With a store: the cap per partition on the events it keeps within retention; beyond it the oldest go first.
     * Azure's retention is by time only; this cap exists to bound a laptop's disk when a benchmark outruns
     * retention. Default 1,000,000 (4 partitions at 5,000 events/s: over 13 minutes of history). Ignored without a
     * store.
     */
    maxStoredEventsPerPartition?: number;
    clock?: Clock;
    /**
     * Keeps the partition logs, consumer groups and checkpoints beyond the process (SqliteEventHubStore on the
     * state folder's database): the hub continues what the store holds, and commits each send before acknowledging
     * it (send returning, sendAsync resolving). Absent (`--in-memory`, unit tests): memory only.
     */
    store?: EventHubStore;
}

/** A position in a partition, as an AMQP receiver's selector filter names one. */
export type SeekPosition =
    | { kind: 'earliest' }
    | { kind: 'latest' }
    | { kind: 'sequenceNumber'; sequenceNumber: number; inclusive: boolean }
    | { kind: 'offset'; offset: number; inclusive: boolean }
    | { kind: 'enqueuedTime'; afterMs: number };

export type StartPosition =
    | 'earliest'
    | 'latest'
    /** Per partition, like the SDK's EventPosition: after the sequence number unless isInclusive. Others: latest. */
    | Readonly<Record<string, { sequenceNumber: number; isInclusive?: boolean }>>;

export interface SubscribeOptions {
    /** Used where the consumer group has no checkpoint for a partition (a checkpoint wins, as in the SDK). */
    startPosition?: StartPosition;
    /**
     * Start at startPosition even where the group has a checkpoint: for a reader that keeps its own progress (a
     * Stream Analytics job restarting from its last output time) and checkpoints only for the record.
     */
    ignoreCheckpoints?: boolean;
    /** Functions Event Hubs trigger default: 100. */
    maxBatchSize?: number;
    /** Back-off before a failed batch is handed over again. */
    retryDelayMs?: number;
    /** Checkpoint each batch the handler accepts, as the Functions Event Hubs trigger does. */
    checkpointAfterEachBatch?: boolean;
    handler: (partitionId: string, events: ReceivedEventData[]) => Promise<void>;
    /** Handler failures; the batch is retried after retryDelayMs. Defaults to console.error. */
    onError?: (error: unknown, context: PartitionErrorContext) => void;
}

export interface EventHubSubscription {
    /** Stops every partition; resolves once in-flight handler calls have returned. */
    close(): Promise<void>;
}

export interface Checkpoint {
    readonly consumerGroup: string;
    readonly partitionId: string;
    readonly sequenceNumber: number;
}

export interface PartitionStats {
    readonly partitionId: string;
    readonly retainedEventCount: number;
    readonly beginningSequenceNumber: number;
    /** Events ever enqueued, including those retention has removed. */
    readonly enqueuedEventCount: number;
}

export interface EventHubStats {
    readonly eventHubName: string;
    readonly partitions: PartitionStats[];
    readonly totalRetainedEvents: number;
    readonly totalEnqueuedEvents: number;
}

/**
 * A local Event Hub: partitioned append-only logs with sequence numbers, byte offsets and enqueued times; sends
 * by round-robin, partition key (the service's own hash) or partition id; time- and count-bounded retention; consumer
 * groups with independent positions and checkpoints; and push subscriptions that deliver each partition in order.
 * In memory only, or with a store (see EventHubStore): then the store holds the log and memory a recent tail of it.
 *
 * Round-robin is per send call: one send is one batch, and the service puts a batch on a single partition (the
 * Functions output binding likewise sends an invocation's events as batches). Retention is exact per event, where
 * the service drops whole storage segments and so may keep events somewhat longer.
 */
export class LocalEventHub {
    readonly name: string;
    readonly partitionIds: readonly string[];
    readonly retentionMs: number;
    readonly maxEventBytes: number;
    readonly maxRetainedEventsPerPartition: number;
    readonly maxStoredEventsPerPartition: number;
    /** When the hub was created; the management READ reports it as `created_at`. */
    readonly createdAt: Date;
    private readonly clock: Clock;
    private readonly store: EventHubStore | undefined;
    private readonly partitions = new Map<string, PartitionLog>();
    /** With a store: where each partition's stored log begins (memory holds a tail of it). */
    private readonly stored = new Map<string, StoredLogHead>();
    private readonly appendListeners = new Map<string, Set<() => void>>();
    /** Subscribed pumps, for counting the events the cap drops before they read them. */
    private readonly pumps = new Set<PartitionPump>();
    /** Per consumer group: events the cap dropped unread (unreadEventsTrimmed). */
    private readonly unreadTrimmed = new Map<string, number>();
    /** "group/partition" keys in a burst of such losses, already warned about. */
    private readonly losing = new Set<string>();
    private readonly checkpoints = new Map<string, Map<string, number>>([[DEFAULT_CONSUMER_GROUP, new Map()]]);
    private nextRoundRobinIndex = 0;
    private readonly pendingSends: PendingSend[] = [];

    constructor(options: LocalEventHubOptions) {
        this.name = options.name;
        const partitionCount = options.partitionCount ?? 4;
        this.retentionMs = options.retentionMs ?? 3_600_000;
        this.maxEventBytes = options.maxEventBytes ?? 1_048_576;
        this.maxRetainedEventsPerPartition = options.maxRetainedEventsPerPartition ?? 250_000;
        this.maxStoredEventsPerPartition = options.maxStoredEventsPerPartition ?? 1_000_000;
        this.clock = options.clock ?? systemClock;
        this.store = options.store;
        requirePositiveInteger('partitionCount', partitionCount);
        requirePositiveInteger('retentionMs', this.retentionMs);
        requirePositiveInteger('maxEventBytes', this.maxEventBytes);
        requirePositiveInteger('maxRetainedEventsPerPartition', this.maxRetainedEventsPerPartition);
        requirePositiveInteger('maxStoredEventsPerPartition', this.maxStoredEventsPerPartition);
        this.partitionIds = Array.from({ length: partitionCount }, (_, index) => String(index));
        for (const partitionId of this.partitionIds) {
            this.partitions.set(partitionId, new PartitionLog(this.name, partitionId));
            this.appendListeners.set(partitionId, new Set());
        }
        const snapshot = this.store?.snapshot(this.partitionIds, this.clock.now());
        this.createdAt = snapshot?.createdAt ?? this.clock.now();
        if (snapshot !== undefined) {
            for (const partitionId of this.partitionIds) {
                const stored = snapshot.partitions.get(partitionId);
                this.requirePartition(partitionId).restore(
                    stored ?? { endSequenceNumber: 0, endOffset: 0, lastEnqueued: undefined },
                );
                this.stored.set(partitionId, {
                    beginning: stored?.first?.sequenceNumber ?? stored?.endSequenceNumber ?? 0,
                    enqueuedNoLaterThanMs: stored?.first?.enqueuedTimeUtc.getTime() ?? Number.NEGATIVE_INFINITY,
                    lastRetentionCheckMs: Number.NEGATIVE_INFINITY,
                });
            }
            for (const [group, checkpoints] of snapshot.consumerGroups) {
                this.checkpoints.set(group, new Map(checkpoints));
            }
            // Retention went on while the runtime was down.
            const nowMs = this.nowMs();
            this.partitions.forEach((partition) => this.trim(partition, nowMs));
        }
    }

    /**
     * Appends the events, all to one partition, and returns them as consumers will see them. All-or-nothing: an
     * oversize event rejects the whole send before anything is stored. With a store, the events are committed before
     * this returns (one transaction per call; see sendAsync for the grouped form).
     */
    send(events: readonly EventDataToSend[], options: SendOptions = {}): ReceivedEventData[] {
        const prepared = this.prepareSend(events, options);
        if (prepared === undefined) {
            return [];
        }
        if (this.pendingSends.length > 0) {
            // Sends queued by sendAsync come first: they were made first.
            this.commitPendingSends();
        }
        const { partition } = prepared;
        const nowMs = this.nowMs();
        const mark = this.store === undefined ? undefined : partition.mark();
        const stored = this.appendToMemory(prepared, new Date(nowMs));
        if (mark !== undefined) {
            try {
                (this.store as EventHubStore).append(encodedEvents(events, stored, prepared.sizes));
            } catch (error) {
                // No consumer has seen them (nothing ran in between): take them back and tell the sender.
                partition.rollBack(mark);
                throw error;
            }
        }
        this.trim(partition, nowMs);
        for (const listener of this.appendListeners.get(partition.partitionId) ?? []) {
            listener();
        }
        return stored;
    }

    /**
     * As send, resolving with the stored events once they are committed: a durable hub gathers the sends made in one
     * turn of the event loop and commits them in one transaction (group commit) before it resolves any of them or
     * lets a reader see them, so thousands of sends a second cost far fewer commits. The in-process output binding
     * and the AMQP endpoint send this way, acknowledging on resolution. A failed commit rejects every send of the
     * group and stores none. Without a store this is send, resolved.
     */
    sendAsync(events: readonly EventDataToSend[], options: SendOptions = {}): Promise<ReceivedEventData[]> {
        try {
            if (this.store === undefined) {
                return Promise.resolve(this.send(events, options));
            }
            const prepared = this.prepareSend(events, options);
            if (prepared === undefined) {
                return Promise.resolve([]);
            }
            return new Promise((resolve, reject) => {
                if (this.pendingSends.push({ ...prepared, sent: events, resolve, reject }) === 1) {
                    setImmediate(() => this.commitPendingSends());
                }
            });
        } catch (error) {
            return Promise.reject(error instanceof Error ? error : new Error(String(error)));
        }
    }

    /** Pull API: up to maxCount events from fromSequenceNumber; before the first retained event reads from it. */
    read(partitionId: string, fromSequenceNumber: number, maxCount: number): ReceivedEventData[] {
        requirePositiveInteger('maxCount', maxCount);
        const partition = this.trimmedPartition(partitionId);
        const head = this.stored.get(partitionId);
        const store = this.store;
        const inMemoryFrom = partition.beginningSequenceNumber;
        if (store === undefined || head === undefined || fromSequenceNumber >= inMemoryFrom) {
            return partition.read(fromSequenceNumber, maxCount);
        }
        // Before the memory tail: one page from the store, topped up from memory, so that only the end of the
        // partition gives a short read (the job's replay reads until one).
        const from = Math.max(fromSequenceNumber, head.beginning);
        const events =
            from < inMemoryFrom ? store.read(partitionId, from, Math.min(maxCount, inMemoryFrom - from)) : [];
        return events.length < maxCount
            ? events.concat(partition.read(inMemoryFrom, maxCount - events.length))
            : events;
    }

    getPartitionProperties(partitionId: string): PartitionProperties {
        const partition = this.trimmedPartition(partitionId);
        const properties = partition.properties();
        const head = this.stored.get(partitionId);
        if (head === undefined || properties.lastEnqueuedSequenceNumber === -1) {
            return properties;
        }
        return {
            ...properties,
            beginningSequenceNumber: head.beginning,
            isEmpty: head.beginning === partition.endSequenceNumber,
        };
    }

    /**
     * The sequence number a reader starting at `position` reads first (the end of the partition when nothing
     * retained is at or past it), for the positions an AMQP receiver's filter names (EventPosition in the SDK):
     * offsets are byte positions, so "after offset o" is the first event whose offset is greater; "after an enqueued
     * time" is the first event enqueued strictly later.
     */
    seek(partitionId: string, position: SeekPosition): number {
        const partition = this.trimmedPartition(partitionId);
        switch (position.kind) {
            case 'earliest':
                return this.beginningOf(partition);
            case 'latest':
                return partition.endSequenceNumber;
            case 'sequenceNumber': {
                const first = position.inclusive ? position.sequenceNumber : position.sequenceNumber + 1;
                return Math.min(Math.max(first, this.beginningOf(partition)), partition.endSequenceNumber);
            }
            case 'offset':
                return this.firstSequenceNumberWhere(partition, (event) =>
                    position.inclusive
                        ? Number(event.offset) >= position.offset
                        : Number(event.offset) > position.offset,
                );
            case 'enqueuedTime':
                return this.firstSequenceNumberWhere(
                    partition,
                    (event) => event.enqueuedTimeUtc.getTime() > position.afterMs,
                );
        }
    }

    hasConsumerGroup(name: string): boolean {
        return this.checkpoints.has(name);
    }

    /** Creates the consumer group if it does not exist (an ARM PUT is idempotent the same way). */
    createConsumerGroup(name: string): void {
        if (name.length === 0 || name.length > 50) {
            throw new InvalidEventHubArgumentError('consumerGroup', name, 'must be 1 to 50 characters');
        }
        if (!this.checkpoints.has(name)) {
            this.store?.createConsumerGroup(name);
            this.checkpoints.set(name, new Map());
        }
    }

    consumerGroups(): string[] {
        return [...this.checkpoints.keys()];
    }

    checkpoint(consumerGroup: string, partitionId: string, sequenceNumber: number): void {
        const groupCheckpoints = this.requireConsumerGroup(consumerGroup);
        const partition = this.requirePartition(partitionId);
        if (
            !Number.isSafeInteger(sequenceNumber) ||
            sequenceNumber < 0 ||
            sequenceNumber >= partition.endSequenceNumber
        ) {
            throw new InvalidEventHubArgumentError(
                'sequenceNumber',
                sequenceNumber,
                `must be an enqueued sequence number of partition "${partitionId}" (0 to ${partition.endSequenceNumber - 1})`,
            );
        }
        groupCheckpoints.set(partitionId, sequenceNumber);
        this.store?.checkpoint(consumerGroup, partitionId, sequenceNumber);
    }

    getCheckpoint(consumerGroup: string, partitionId: string): Checkpoint | undefined {
        this.requirePartition(partitionId);
        const sequenceNumber = this.requireConsumerGroup(consumerGroup).get(partitionId);
        return sequenceNumber === undefined ? undefined : { consumerGroup, partitionId, sequenceNumber };
    }

    /**
     * Delivers every partition to the handler from the consumer group's checkpoint, or from startPosition where there
     * is none. Several subscriptions on one group each get every event (like non-epoch receivers); coordinating them
     * is the caller's business, as with the SDK without a load-balancing checkpoint store.
     */
    subscribe(consumerGroup: string, options: SubscribeOptions): EventHubSubscription {
        this.requireConsumerGroup(consumerGroup);
        const maxBatchSize = options.maxBatchSize ?? 100;
        const retryDelayMs = options.retryDelayMs ?? 1_000;
        requirePositiveInteger('maxBatchSize', maxBatchSize);
        if (!(Number.isFinite(retryDelayMs) && retryDelayMs >= 0)) {
            throw new InvalidEventHubArgumentError('retryDelayMs', retryDelayMs, 'must be a duration ≥ 0 ms');
        }
        const onError = options.onError ?? logPartitionError(this.name);
        const pumps = this.partitionIds.map(
            (partitionId) =>
                new PartitionPump(this, {
                    consumerGroup,
                    partitionId,
                    startSequenceNumber: this.startSequenceNumber(
                        consumerGroup,
                        partitionId,
                        options.startPosition,
                        options.ignoreCheckpoints === true,
                    ),
                    maxBatchSize,
                    retryDelayMs,
                    handler: options.handler,
                    onError,
                    onBatchProcessed: (lastSequenceNumber) => {
                        if (options.checkpointAfterEachBatch === true) {
                            this.checkpoint(consumerGroup, partitionId, lastSequenceNumber);
                        }
                    },
                }),
        );
        pumps.forEach((pump) => this.pumps.add(pump));
        return {
            close: () => {
                pumps.forEach((pump) => this.pumps.delete(pump));
                return Promise.all(pumps.map((pump) => pump.close())).then(() => undefined);
            },
        };
    }

    /**
     * Events the count cap dropped before a subscribed consumer group had read them (really lost: with a store, the
     * store's cap, maxStoredEventsPerPartition; without, maxRetainedEventsPerPartition), by consumer group, since
     * start. Such a loss is also logged once per burst (see trim).
     */
    unreadEventsTrimmed(): Record<string, number> {
        return Object.fromEntries(this.unreadTrimmed);
    }

    /** Calls the listener after each send that appends to the partition; returns the unsubscribe function. */
    onEventsAppended(partitionId: string, listener: () => void): () => void {
        this.requirePartition(partitionId);
        const listeners = this.appendListeners.get(partitionId) as Set<() => void>;
        listeners.add(listener);
        return () => listeners.delete(listener);
    }

    stats(): EventHubStats {
        const nowMs = this.nowMs();
        const partitions = this.partitionIds.map((partitionId) => {
            const partition = this.requirePartition(partitionId);
            this.trim(partition, nowMs);
            const beginning = this.beginningOf(partition);
            return {
                partitionId,
                retainedEventCount: partition.endSequenceNumber - beginning,
                beginningSequenceNumber: beginning,
                enqueuedEventCount: partition.endSequenceNumber,
            };
        });
        return {
            eventHubName: this.name,
            partitions,
            totalRetainedEvents: partitions.reduce((sum, partition) => sum + partition.retainedEventCount, 0),
            totalEnqueuedEvents: partitions.reduce((sum, partition) => sum + partition.enqueuedEventCount, 0),
        };
    }

    /** Commits the sends still queued and writes what the store holds back (checkpoints); the hub is not used after. */
    close(): void {
        this.commitPendingSends();
        this.store?.close();
    }

    /** Checks a send (sizes, partition) and picks its partition; undefined for an empty send. */
    private prepareSend(events: readonly EventDataToSend[], options: SendOptions): PreparedSend | undefined {
        const sizes = events.map((event) => {
            const bytes = measureEventBytes(event);
            if (bytes > this.maxEventBytes) {
                throw new EventTooLargeError(this.name, bytes, this.maxEventBytes);
            }
            return bytes;
        });
        if (events.length === 0) {
            // Nothing to place: validate the options but leave the round-robin cursor where it is.
            if (options.partitionId !== undefined || options.partitionKey !== undefined) {
                this.targetPartition(options);
            }
            return undefined;
        }
        return { partition: this.targetPartition(options), events, sizes, partitionKey: options.partitionKey ?? null };
    }

    private appendToMemory(send: PreparedSend, enqueuedTime: Date): ReceivedEventData[] {
        return send.events.map((event, index) =>
            send.partition.append(
                event.body,
                event.properties === undefined ? NO_PROPERTIES : { ...event.properties },
                send.partitionKey,
                send.sizes[index] ?? 0,
                enqueuedTime,
                event.amqp,
            ),
        );
    }

    /** The group commit of sendAsync: every queued send in one transaction, then readers are woken. */
    private commitPendingSends(): void {
        const sends = this.pendingSends.splice(0);
        if (sends.length === 0) {
            return;
        }
        const nowMs = this.nowMs();
        const enqueuedTime = new Date(nowMs);
        const marks = sends.map((send) => send.partition.mark());
        const stored = sends.map((send) => this.appendToMemory(send, enqueuedTime));
        try {
            (this.store as EventHubStore).append(
                sends.flatMap((send, index) => encodedEvents(send.sent, stored[index]!, send.sizes)),
            );
        } catch (error) {
            // Latest first, so a partition that took several sends ends where it stood before the first.
            for (let index = sends.length - 1; index >= 0; index--) {
                sends[index]!.partition.rollBack(marks[index]!);
            }
            sends.forEach((send) => send.reject(error));
            return;
        }
        // Committed: settle the sends before anything else can throw. What follows runs inside setImmediate, where
        // a throw would be an uncaught exception that stops the runtime, so its failures are logged instead (a failed
        // trim is retried by the next one; a throwing listener does not stop the others).
        sends.forEach((send, index) => send.resolve(stored[index]!));
        for (const partition of new Set(sends.map((send) => send.partition))) {
            try {
                this.trim(partition, nowMs);
            } catch (error) {
                logAfterCommitError(this.name, partition.partitionId, 'trimming', error);
            }
            for (const listener of this.appendListeners.get(partition.partitionId) ?? []) {
                try {
                    listener();
                } catch (error) {
                    logAfterCommitError(this.name, partition.partitionId, 'waking a reader', error);
                }
            }
        }
    }

    private trim(partition: PartitionLog, nowMs: number): void {
        const head = this.stored.get(partition.partitionId);
        if (head !== undefined) {
            this.trimStored(partition, head, nowMs);
            return;
        }
        // Retention first, then the cap, so what only the cap dropped is known: retention drops events in Azure
        // too, but the cap is this stand-in's own memory bound, and a consumer it overtakes loses events silently.
        partition.trim(nowMs, this.retentionMs, Number.POSITIVE_INFINITY);
        const retainedFrom = partition.beginningSequenceNumber;
        partition.trim(nowMs, this.retentionMs, this.maxRetainedEventsPerPartition);
        this.countUnreadTrimmed(partition.partitionId, retainedFrom, partition.beginningSequenceNumber);
    }

    /**
     * With a store: memory keeps its tail (retention and the in-memory cap drop events there freely: the store still
     * has them), and the stored log loses events to retention, then to the store's cap; only the latter counts as a
     * loss to readers behind (see countUnreadTrimmed). Retention is checked at most once a second per partition, and
     * only once the oldest stored event may have expired, because finding the first unexpired stored event is a
     * binary search over the store; until then expired events stay readable, as Azure keeps whole storage segments
     * past their retention.
     */
    private trimStored(partition: PartitionLog, head: StoredLogHead, nowMs: number): void {
        const partitionId = partition.partitionId;
        partition.trim(nowMs, this.retentionMs, this.maxRetainedEventsPerPartition);
        const end = partition.endSequenceNumber;
        const oldestKeptMs = nowMs - this.retentionMs;
        let beginning = head.beginning;
        if (
            beginning < end &&
            head.enqueuedNoLaterThanMs <= oldestKeptMs &&
            nowMs - head.lastRetentionCheckMs >= STORED_RETENTION_CHECK_INTERVAL_MS
        ) {
            head.lastRetentionCheckMs = nowMs;
            // Memory has applied retention already: its first event (if any) is unexpired, so the search ends there.
            beginning = this.firstStoredWhere(
                partitionId,
                beginning,
                partition.beginningSequenceNumber,
                (event) => event.enqueuedTimeUtc.getTime() > oldestKeptMs,
            );
            beginning = this.skipMissingStored(partition, beginning);
            head.enqueuedNoLaterThanMs =
                beginning < end ? this.positionOf(partition, beginning).enqueuedTimeUtc.getTime() : oldestKeptMs;
        }
        const capped = Math.max(beginning, end - this.maxStoredEventsPerPartition);
        // Between retention checks [beginning, capped) may hold expired events: retention dropped those, not the cap,
        // so a reader behind loses to the cap only from the first unexpired one (searched only when a reader is).
        const retainedFrom =
            capped > beginning && head.enqueuedNoLaterThanMs <= oldestKeptMs && this.hasPumpBefore(partitionId, capped)
                ? this.firstStoredWhere(
                      partitionId,
                      beginning,
                      capped,
                      (event) => event.enqueuedTimeUtc.getTime() > oldestKeptMs,
                  )
                : beginning;
        this.countUnreadTrimmed(partitionId, retainedFrom, capped);
        head.beginning = capped;
        partition.dropBefore(capped);
        (this.store as EventHubStore).trim(partitionId, capped, partition, nowMs);
    }

    /**
     * Where the retained log begins given the retention search's answer, which may be a missing stored row (the
     * search treats one as the next stored event): the first stored event from it, else the memory tail. Skipped
     * rows are logged once (the beginning moves past them); a reader positioned in them still gets the
     * StateCorruptError from its read.
     */
    private skipMissingStored(partition: PartitionLog, beginning: number): number {
        const inMemoryFrom = partition.beginningSequenceNumber;
        if (beginning >= inMemoryFrom) {
            return beginning;
        }
        const store = this.store as EventHubStore;
        const next = store.firstPositionFrom(partition.partitionId, beginning);
        const first = next !== undefined && next.sequenceNumber < inMemoryFrom ? next.sequenceNumber : inMemoryFrom;
        if (first > beginning) {
            let damage: string;
            try {
                store.position(partition.partitionId, beginning);
                damage = 'not found';
            } catch (error) {
                damage =
                    error instanceof StateCorruptError
                        ? `state file ${error.file}: ${error.reason}`
                        : error instanceof Error
                          ? error.message
                          : String(error);
            }
            console.warn(
                `[eventHubs:${this.name}] partition ${partition.partitionId}: retention skipped the damaged stored ` +
                    `events ${beginning} to ${first - 1} (${damage}); the log now begins at ${first}`,
            );
        }
        return first;
    }

    /** Whether a subscribed pump on the partition has not yet read up to sequenceNumber. */
    private hasPumpBefore(partitionId: string, sequenceNumber: number): boolean {
        for (const pump of this.pumps) {
            if (pump.partitionId === partitionId && pump.readPosition < sequenceNumber) {
                return true;
            }
        }
        return false;
    }

    /** The partition's first retained event's sequence number: in the store when there is one, else in memory. */
    private beginningOf(partition: PartitionLog): number {
        return this.stored.get(partition.partitionId)?.beginning ?? partition.beginningSequenceNumber;
    }

    /** As PartitionLog.firstSequenceNumberWhere over the whole retained log, the stored part included. */
    private firstSequenceNumberWhere(partition: PartitionLog, matches: (event: LastEnqueuedEvent) => boolean): number {
        const inMemory = partition.firstSequenceNumberWhere(matches);
        const head = this.stored.get(partition.partitionId);
        if (head === undefined || inMemory > partition.beginningSequenceNumber) {
            return inMemory;
        }
        return this.firstStoredWhere(partition.partitionId, head.beginning, partition.beginningSequenceNumber, matches);
    }

    /**
     * The first sequence number in [low, high) of the store whose event `matches` (monotonic, as in
     * PartitionLog.firstSequenceNumberWhere), else high: a binary search of index lookups, so a seek into a million
     * stored events costs about 20 index reads and decodes nothing. A missing row (a damaged store) counts as the
     * next stored event, or as matching when none is stored before high; that keeps the predicate monotonic, so the
     * search never fails on damage and answers at most the first of the missing rows before the first match (a
     * reader sent there gets the StateCorruptError from its read).
     */
    private firstStoredWhere(
        partitionId: string,
        low: number,
        high: number,
        matches: (event: LastEnqueuedEvent) => boolean,
    ): number {
        const store = this.store as EventHubStore;
        while (low < high) {
            const middle = Math.floor((low + high) / 2);
            const next = store.firstPositionFrom(partitionId, middle);
            if (next === undefined || next.sequenceNumber >= high || matches(next)) high = middle;
            else low = next.sequenceNumber + 1;
        }
        return low;
    }

    /** Where a retained event sits: from memory when it is in the tail, else from the store. */
    private positionOf(partition: PartitionLog, sequenceNumber: number): LastEnqueuedEvent {
        return (
            partition.read(sequenceNumber, 1).find((event) => event.sequenceNumber === sequenceNumber) ??
            (this.store as EventHubStore).position(partition.partitionId, sequenceNumber)
        );
    }

    /**
     * Counts, per subscribed consumer group on the partition, the events in [from, to) the cap dropped before the
     * group's pump reached them, and logs a warning when such a burst begins (the pump behind the beginning of the
     * partition); the burst ends once a trim finds the pump caught up, so a group kept behind (the Stream Analytics
     * job while its output is blocked) is warned about once, not at every send.
     */
    private countUnreadTrimmed(partitionId: string, from: number, to: number): void {
        for (const pump of this.pumps) {
            if (pump.partitionId !== partitionId) {
                continue;
            }
            const key = `${pump.consumerGroup}/${partitionId}`;
            const lost = to - Math.max(from, pump.readPosition);
            if (lost <= 0) {
                if (pump.readPosition >= to) {
                    this.losing.delete(key);
                }
                continue;
            }
            this.unreadTrimmed.set(pump.consumerGroup, (this.unreadTrimmed.get(pump.consumerGroup) ?? 0) + lost);
            if (!this.losing.has(key)) {
                this.losing.add(key);
                const cap = this.store === undefined ? 'retention cap' : 'disk cap';
                const capEvents =
                    this.store === undefined ? this.maxRetainedEventsPerPartition : this.maxStoredEventsPerPartition;
                console.warn(
                    `[eventHubs:${this.name}] partition ${partitionId}: the ${cap} of ${capEvents} events dropped ` +
                        `${lost} events consumer group ` +
                        `"${pump.consumerGroup}" had not read (from sequence number ${Math.max(from, pump.readPosition)}); ` +
                        'further losses while it stays behind are counted, not logged',
                );
            }
        }
    }

    private nowMs(): number {
        return this.clock.now().getTime();
    }

    private targetPartition(options: SendOptions): PartitionLog {
        if (options.partitionId !== undefined && options.partitionKey !== undefined) {
            throw new InvalidEventHubArgumentError(
                'partitionKey',
                options.partitionKey,
                `cannot be combined with partitionId "${options.partitionId}"`,
            );
        }
        if (options.partitionId !== undefined) {
            return this.requirePartition(options.partitionId);
        }
        const count = this.partitionIds.length;
        const index =
            options.partitionKey !== undefined
                ? partitionIndexForKey(options.partitionKey, count)
                : this.nextRoundRobinIndex++ % count;
        return this.requirePartition(String(index));
    }

    private startSequenceNumber(
        consumerGroup: string,
        partitionId: string,
        position: StartPosition = 'latest',
        ignoreCheckpoint = false,
    ): number {
        const partition = this.requirePartition(partitionId);
        const checkpoint = ignoreCheckpoint ? undefined : this.checkpoints.get(consumerGroup)?.get(partitionId);
        if (checkpoint !== undefined) {
            return checkpoint + 1;
        }
        if (position === 'earliest') {
            return 0;
        }
        if (position === 'latest') {
            return partition.endSequenceNumber;
        }
        const explicit = position[partitionId];
        if (explicit === undefined) {
            return partition.endSequenceNumber;
        }
        return explicit.isInclusive === true ? explicit.sequenceNumber : explicit.sequenceNumber + 1;
    }

    private trimmedPartition(partitionId: string): PartitionLog {
        const partition = this.requirePartition(partitionId);
        this.trim(partition, this.nowMs());
        return partition;
    }

    private requirePartition(partitionId: string): PartitionLog {
        const partition = this.partitions.get(partitionId);
        if (partition === undefined) {
            throw new InvalidEventHubArgumentError(
                'partitionId',
                partitionId,
                `is not a partition of event hub "${this.name}" (expected one of ${this.partitionIds.join(', ')})`,
            );
        }
        return partition;
    }

    private requireConsumerGroup(consumerGroup: string): Map<string, number> {
        const groupCheckpoints = this.checkpoints.get(consumerGroup);
        if (groupCheckpoints === undefined) {
            throw new InvalidEventHubArgumentError(
                'consumerGroup',
                consumerGroup,
                `does not exist on event hub "${this.name}" (existing: ${this.consumerGroups().join(', ')})`,
            );
        }
        return groupCheckpoints;
    }
}

/** Retention over a store is checked at most this often per partition (see trimStored). */
const STORED_RETENTION_CHECK_INTERVAL_MS = 1_000;

/** Where a partition's stored log begins (a durable hub's memory holds only a tail of it). */
interface StoredLogHead {
    /** The first retained event's sequence number (the store may still hold older rows: it deletes in batches). */
    beginning: number;
    /** A time no later than the first retained event's enqueued time: retention has nothing to do before it expires. */
    enqueuedNoLaterThanMs: number;
    lastRetentionCheckMs: number;
}

/** A checked send, its partition chosen. */
interface PreparedSend {
    readonly partition: PartitionLog;
    readonly events: readonly EventDataToSend[];
    readonly sizes: readonly number[];
    readonly partitionKey: string | null;
}

interface PendingSend extends PreparedSend {
    readonly sent: readonly EventDataToSend[];
    readonly resolve: (stored: ReceivedEventData[]) => void;
    readonly reject: (error: unknown) => void;
}

/** What the store keeps of each stored event: the event, its size and, for an AMQP event, its encoding. */
function encodedEvents(
    sent: readonly EventDataToSend[],
    stored: readonly ReceivedEventData[],
    sizes: readonly number[],
): EncodedEvent[] {
    return stored.map((event, index) => ({
        event,
        sizeBytes: sizes[index] ?? 0,
        amqpMessage: sent[index]?.encodedMessage,
    }));
}

function requirePositiveInteger(argument: string, value: number): void {
    if (!Number.isSafeInteger(value) || value < 1) {
        throw new InvalidEventHubArgumentError(argument, value, 'must be a positive integer');
    }
}

function logAfterCommitError(eventHubName: string, partitionId: string, step: string, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    console.error(
        `[eventHubs:${eventHubName}] partition ${partitionId}: ${step} after a committed send failed ` +
            `(the send succeeded): ${reason}`,
    );
}

function logPartitionError(eventHubName: string): (error: unknown, context: PartitionErrorContext) => void {
    return (error, context) => {
        const reason = error instanceof Error ? error.message : String(error);
        console.error(
            `[eventHubs:${eventHubName}/${context.consumerGroup}] partition ${context.partitionId} batch ` +
                `${context.firstSequenceNumber}-${context.lastSequenceNumber} failed (attempt ${context.attempt}), ` +
                `retrying: ${reason}`,
        );
    };
}
