import type { AmqpEventParts, PartitionProperties, ReceivedEventData } from './events';

/** The last event a partition enqueued, as its runtime information reports it even after retention removed it. */
export type LastEnqueuedEvent = Pick<ReceivedEventData, 'sequenceNumber' | 'offset' | 'enqueuedTimeUtc'>;

/** Where a partition's log continues: numbering is never reused, even when retention removed every event. */
export interface PartitionLogEnd {
    /** The next event's sequence number and byte offset. */
    readonly endSequenceNumber: number;
    readonly endOffset: number;
    readonly lastEnqueued: LastEnqueuedEvent | undefined;
}

/**
 * A partition's log as a store keeps it (see EventHubStore): where it begins and ends. Its events stay in the store,
 * which reads them on demand.
 */
export interface StoredPartitionLog extends PartitionLogEnd {
    /** The oldest stored event, or undefined when the store holds none of the partition's events. */
    readonly first: LastEnqueuedEvent | undefined;
}

/** Where a log stood before an append, so an append its store could not commit can be taken back. */
export interface PartitionLogMark {
    readonly length: number;
    readonly endSequenceNumber: number;
    readonly endOffset: number;
    readonly lastEnqueued: LastEnqueuedEvent | undefined;
}

/**
 * One partition's append-only log. Sequence numbers are contiguous, so the event with sequence number n sits at a
 * fixed distance from the first retained one: reads are O(1) to locate and trimming the head is O(1) amortised.
 */
export class PartitionLog {
    private events: ReceivedEventData[] = [];
    private head = 0;
    private nextSequenceNumber = 0;
    private nextOffset = 0;
    private last: LastEnqueuedEvent | undefined;

    constructor(
        private readonly eventHubName: string,
        readonly partitionId: string,
    ) {}

    /**
     * Continues a stored log from its end with nothing in memory: a durable hub reads older events from its store
     * (and appends to both), so a start loads no events at all.
     */
    restore(end: PartitionLogEnd): void {
        this.events = [];
        this.head = 0;
        this.nextSequenceNumber = end.endSequenceNumber;
        this.nextOffset = end.endOffset;
        this.last = end.lastEnqueued;
    }

    /** The newest event ever appended, kept when retention removes it (runtime information reports it). */
    get lastEnqueued(): LastEnqueuedEvent | undefined {
        return this.last;
    }

    /** Byte offset the next appended event will get. */
    get endOffset(): number {
        return this.nextOffset;
    }

    mark(): PartitionLogMark {
        return {
            length: this.events.length,
            endSequenceNumber: this.nextSequenceNumber,
            endOffset: this.nextOffset,
            lastEnqueued: this.last,
        };
    }

    /** Takes back everything appended since `mark` (no trim may have run in between). */
    rollBack(mark: PartitionLogMark): void {
        this.events.length = mark.length;
        this.nextSequenceNumber = mark.endSequenceNumber;
        this.nextOffset = mark.endOffset;
        this.last = mark.lastEnqueued;
    }

    get retainedCount(): number {
        return this.events.length - this.head;
    }

    /** Sequence number the next appended event will get; also the count of events ever appended. */
    get endSequenceNumber(): number {
        return this.nextSequenceNumber;
    }

    /** Sequence number of the oldest retained event (= endSequenceNumber when nothing is retained). */
    get beginningSequenceNumber(): number {
        return this.events[this.head]?.sequenceNumber ?? this.nextSequenceNumber;
    }

    /** `enqueuedTime` is shared by the events of one send: one Date per batch instead of per event. */
    append(
        body: unknown,
        properties: Readonly<Record<string, unknown>>,
        partitionKey: string | null,
        bytes: number,
        enqueuedTime: Date,
        amqp?: AmqpEventParts,
    ): ReceivedEventData {
        const event: ReceivedEventData = {
            body,
            properties,
            partitionId: this.partitionId,
            sequenceNumber: this.nextSequenceNumber++,
            offset: String(this.nextOffset),
            enqueuedTimeUtc: enqueuedTime,
            partitionKey,
            ...(amqp === undefined ? {} : { amqp }),
        };
        this.nextOffset += bytes;
        this.events.push(event);
        this.last = event;
        return event;
    }

    /** Drops events older than the retention period and, beyond that, the oldest events over the in-memory cap. */
    trim(nowMs: number, retentionMs: number, maxRetained: number): void {
        const oldestKeptMs = nowMs - retentionMs;
        const events = this.events;
        while (this.head < events.length) {
            const first = events[this.head] as ReceivedEventData;
            if (events.length - this.head <= maxRetained && first.enqueuedTimeUtc.getTime() > oldestKeptMs) {
                break;
            }
            this.head++;
        }
        this.compact();
    }

    /** Drops the events before `sequenceNumber` (a durable hub's store no longer holds them). */
    dropBefore(sequenceNumber: number): void {
        const first = this.events[this.head];
        if (first !== undefined && first.sequenceNumber < sequenceNumber) {
            this.head = Math.min(this.events.length, this.head + (sequenceNumber - first.sequenceNumber));
            this.compact();
        }
    }

    /** Releases the array's head once it is most of the array, so trimming stays O(1) amortised. */
    private compact(): void {
        if (this.head >= 1024 && this.head * 2 >= this.events.length) {
            this.events = this.events.slice(this.head);
            this.head = 0;
        }
    }

    /** Up to maxCount events from fromSequenceNumber; a position before the first retained event starts there. */
    read(fromSequenceNumber: number, maxCount: number): ReceivedEventData[] {
        const first = this.events[this.head];
        if (first === undefined) {
            return [];
        }
        const start = this.head + Math.max(0, fromSequenceNumber - first.sequenceNumber);
        return this.events.slice(start, start + maxCount);
    }

    /**
     * The sequence number of the first retained event that `matches`, or endSequenceNumber when none does. Events are
     * in offset and enqueued-time order, so `matches` must be monotonic (false...false true...true): binary search.
     */
    firstSequenceNumberWhere(matches: (event: LastEnqueuedEvent) => boolean): number {
        let low = this.head;
        let high = this.events.length;
        while (low < high) {
            const middle = (low + high) >>> 1;
            if (matches(this.events[middle] as ReceivedEventData)) high = middle;
            else low = middle + 1;
        }
        return this.events[low]?.sequenceNumber ?? this.nextSequenceNumber;
    }

    properties(): PartitionProperties {
        const last = this.last;
        return {
            eventHubName: this.eventHubName,
            partitionId: this.partitionId,
            // A partition that never received an event reports -1 throughout, as the service does.
            beginningSequenceNumber: last === undefined ? -1 : this.beginningSequenceNumber,
            lastEnqueuedSequenceNumber: last?.sequenceNumber ?? -1,
            lastEnqueuedOffset: last?.offset ?? '-1',
            lastEnqueuedOnUtc: last?.enqueuedTimeUtc ?? new Date(0),
            isEmpty: this.retainedCount === 0,
        };
    }
}
