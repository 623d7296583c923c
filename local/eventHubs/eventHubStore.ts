import type { ReceivedEventData } from './events';
import type { LastEnqueuedEvent, PartitionLogEnd, StoredPartitionLog } from './partitionLog';

/** What a store kept of one hub, read once when the hub is created. */
export interface EventHubSnapshot {
    /** When the hub was first created; a restarted hub reports the same `created_at`. */
    readonly createdAt: Date;
    /** Per partition id, where each stored log begins and ends (partitions the store never saw: empty from 0). */
    readonly partitions: ReadonlyMap<string, StoredPartitionLog>;
    /** Consumer groups created on the hub ($Default is implied), each with its checkpoints by partition id. */
    readonly consumerGroups: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

/**
 * The bytes an event is stored as, beside the event itself: for an event that came over AMQP, the message as the
 * producer encoded it (restoring it through the same decoding keeps every AMQP section exactly); absent for an
 * in-process event, which the store encodes itself.
 */
export interface EncodedEvent {
    readonly event: ReceivedEventData;
    /** The size the offsets advanced by (the service's measure of the event), not the stored bytes. */
    readonly sizeBytes: number;
    readonly amqpMessage: Buffer | undefined;
}

/**
 * Where a LocalEventHub keeps its partition logs and consumer positions beyond the process (the on-disk
 * implementation is SqliteEventHubStore). Without one the hub keeps everything in memory only, as `--in-memory`
 * does. With one, the store holds each partition's log within the hub's retention and disk cap, and memory only a
 * recent tail (the hub's maxRetainedEventsPerPartition, filled by new appends; a start loads no events): a reader
 * positioned before the tail (a Stream Analytics job replaying after a restart, an AMQP receiver at an old position)
 * reads from the store in pages and then continues from memory. Readers that keep up never touch the store.
 *
 * Calls are synchronous: `append` returns once the events are committed, before the hub acknowledges the send.
 */
export interface EventHubStore {
    /** The stored state: the hub's creation time, where each partition's log begins and ends, the groups. */
    snapshot(partitionIds: readonly string[], createdAt: Date): EventHubSnapshot;
    /** Commits the events (of one send, or of a group of sends on any partitions) in one transaction. */
    append(events: readonly EncodedEvent[]): void;
    /**
     * The `count` stored events from fromSequenceNumber on, in order, exactly as they were appended (sequence
     * numbers, offsets, enqueued times, partition keys, properties, bodies, AMQP sections). The hub asks only for
     * events it knows are stored (committed, not trimmed), so a missing or undecodable one is a corrupt store.
     */
    read(partitionId: string, fromSequenceNumber: number, count: number): ReceivedEventData[];
    /** A stored event's sequence number, offset and enqueued time, for seeking by offset or time without decoding. */
    position(partitionId: string, sequenceNumber: number): LastEnqueuedEvent;
    /**
     * The position of the first stored event at or after sequenceNumber, or undefined when none is: lets a search
     * step over missing rows (a damaged store) instead of failing on them.
     */
    firstPositionFrom(partitionId: string, sequenceNumber: number): LastEnqueuedEvent | undefined;
    /**
     * The hub's retention or disk cap moved the partition's first retained event to `beginningSequenceNumber`; the
     * store removes the events before it when it sees fit (in batches), remembering where the log ends.
     */
    trim(partitionId: string, beginningSequenceNumber: number, end: PartitionLogEnd, nowMs: number): void;
    createConsumerGroup(name: string): void;
    checkpoint(consumerGroup: string, partitionId: string, sequenceNumber: number): void;
    /** Writes anything still pending (checkpoints); the hub is not used afterwards. */
    close(): void;
}
