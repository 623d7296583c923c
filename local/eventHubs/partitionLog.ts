import type { AmqpEventParts, PartitionProperties, ReceivedEventData } from './events';

/**
 * One partition's append-only log. Sequence numbers are contiguous, so the event with sequence number n sits at a
 * fixed distance from the first retained one: reads are O(1) to locate and trimming the head is O(1) amortised.
 */
export class PartitionLog {
    private events: ReceivedEventData[] = [];
    private head = 0;
    private nextSequenceNumber = 0;
    private nextOffset = 0;
    private lastEnqueued: ReceivedEventData | undefined;

    constructor(
        private readonly eventHubName: string,
        readonly partitionId: string,
    ) {}

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
        this.lastEnqueued = event;
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
        if (this.head >= 1024 && this.head * 2 >= events.length) {
            this.events = events.slice(this.head);
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
    firstSequenceNumberWhere(matches: (event: ReceivedEventData) => boolean): number {
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
        const last = this.lastEnqueued;
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
