/**
 * Event ordering for one input read by one FROM clause, as Stream Analytics documents it
 * (https://learn.microsoft.com/azure/stream-analytics/stream-analytics-time-handling and
 * https://learn.microsoft.com/azure/stream-analytics/event-ordering):
 *
 * - Each partition has its own watermark: the largest event time seen minus the out-of-order tolerance, and, when no
 *   events come, the estimated arrival time (last arrival time plus the wall-clock time elapsed since) minus the
 *   late-arrival tolerance. The input's watermark is the smallest over its partitions, so an idle partition holds
 *   output back by up to the late-arrival tolerance.
 * - An event whose time is more than the late-arrival tolerance before its arrival time is late: it is dropped or
 *   its time is adjusted to arrival time minus the tolerance. More than 5 minutes after its arrival time it is early:
 *   dropped or adjusted to arrival time plus 5 minutes.
 * - An event whose time is below its partition's watermark is out of order: dropped or adjusted to the watermark.
 */
export interface EventOrderingPolicy {
    readonly lateArrivalMs: number;
    readonly outOfOrderMs: number;
    readonly action: 'Adjust' | 'Drop';
}

/** Fixed by the service: "This window is fixed at 5 minutes". */
export const EARLY_ARRIVAL_MS = 5 * 60_000;

export interface OrderingCounters {
    lateInputEvents: number;
    earlyInputEvents: number;
    outOfOrderEvents: number;
    droppedEvents: number;
    adjustedEvents: number;
}

interface PartitionState {
    maxEventTime: number;
    lastArrival: number | undefined;
    lastSeenAt: number;
    watermark: number;
}

export class InputWatermark {
    private readonly partitions = new Map<string, PartitionState>();

    constructor(
        partitionIds: readonly string[],
        private readonly policy: EventOrderingPolicy,
        startedAt: number,
        private readonly counters: OrderingCounters,
    ) {
        for (const id of partitionIds) {
            this.partitions.set(id, {
                maxEventTime: -Infinity,
                lastArrival: undefined,
                lastSeenAt: startedAt,
                watermark: -Infinity,
            });
        }
    }

    hasPartition(partitionId: string): boolean {
        return this.partitions.has(partitionId);
    }

    /**
     * Applies the late, early and out-of-order policies to one event and records it. Returns the event's time as
     * the query sees it (System.Timestamp), or undefined when the policy drops it.
     */
    admit(partitionId: string, eventTime: number, arrival: number, now: number): number | undefined {
        const partition = this.partitions.get(partitionId)!;
        let time = eventTime;
        if (time > arrival + EARLY_ARRIVAL_MS) {
            this.counters.earlyInputEvents += 1;
            time = this.apply(arrival + EARLY_ARRIVAL_MS);
        } else if (time < arrival - this.policy.lateArrivalMs) {
            this.counters.lateInputEvents += 1;
            time = this.apply(arrival - this.policy.lateArrivalMs);
        }
        if (Number.isNaN(time)) {
            return undefined;
        }
        const watermark = this.partitionWatermark(partition, now);
        if (time < watermark) {
            this.counters.outOfOrderEvents += 1;
            time = this.apply(watermark);
            if (Number.isNaN(time)) {
                return undefined;
            }
        }
        if (time > partition.maxEventTime) {
            partition.maxEventTime = time;
        }
        if (partition.lastArrival === undefined || arrival >= partition.lastArrival) {
            partition.lastArrival = arrival;
        }
        partition.lastSeenAt = now;
        return time;
    }

    /** The input's watermark at `now`: the smallest partition watermark. */
    current(now: number): number {
        let smallest = Infinity;
        for (const partition of this.partitions.values()) {
            smallest = Math.min(smallest, this.partitionWatermark(partition, now));
        }
        return smallest;
    }

    private partitionWatermark(partition: PartitionState, now: number): number {
        const estimatedArrival = (partition.lastArrival ?? partition.lastSeenAt) + (now - partition.lastSeenAt);
        const candidate = Math.max(
            partition.maxEventTime - this.policy.outOfOrderMs,
            estimatedArrival - this.policy.lateArrivalMs,
        );
        if (candidate > partition.watermark) {
            partition.watermark = candidate;
        }
        return partition.watermark;
    }

    /** NaN marks a dropped event without a second return channel. */
    private apply(adjustedTime: number): number {
        if (this.policy.action === 'Drop') {
            this.counters.droppedEvents += 1;
            return NaN;
        }
        this.counters.adjustedEvents += 1;
        return adjustedTime;
    }
}
