import type { ReceivedEventData } from './events';
import type { RestoredPartitionLog } from './partitionLog';

/** What a store kept of one hub, read once when the hub is created. */
export interface EventHubSnapshot {
    /** When the hub was first created; a restarted hub reports the same `created_at`. */
    readonly createdAt: Date;
    /** Per partition id, the partitions the store has seen; partitions it never saw start empty. */
    readonly partitions: ReadonlyMap<string, RestoredPartitionLog>;
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
 * does. With one, the hub still serves every read from memory (it loads the retained events at start and appends
 * to both): the Stream Analytics job and AMQP receivers read every event, and the retained set is bounded by the
 * hub's count cap, so memory holds the same events in both modes and the store is written, never read, while
 * running.
 *
 * Calls are synchronous: `append` returns once the events are committed, before the hub acknowledges the send.
 */
export interface EventHubStore {
    /** The stored state: the hub's creation time, each partition's retained events and counters, the groups. */
    snapshot(partitionIds: readonly string[], createdAt: Date): EventHubSnapshot;
    /** Commits the events (of one send, or of a group of sends on any partitions) in one transaction. */
    append(events: readonly EncodedEvent[]): void;
    /**
     * Retention moved the partition's first retained event to `beginningSequenceNumber`; the store removes the
     * events before it when it sees fit (in batches), remembering where the log ends.
     */
    trim(
        partitionId: string,
        beginningSequenceNumber: number,
        end: Omit<RestoredPartitionLog, 'events'>,
        nowMs: number,
    ): void;
    createConsumerGroup(name: string): void;
    checkpoint(consumerGroup: string, partitionId: string, sequenceNumber: number): void;
    /** Writes anything still pending (checkpoints); the hub is not used afterwards. */
    close(): void;
}
