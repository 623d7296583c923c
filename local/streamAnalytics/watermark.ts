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
 *   always dropped, whatever the policy, and it does not move the watermark ("All early arriving events are
 *   dropped", time-handling page).
 * - An event whose time is below its partition's watermark is out of order: dropped or adjusted to the watermark.
 * - With substreams (`TIMESTAMP BY ... OVER key`), out-of-order handling uses a watermark per key (largest time of
 *   that key minus the tolerance) while the late-arrival tolerance stays global; the partition's watermark, which
 *   releases output, is the smallest over its keys (https://learn.microsoft.com/stream-analytics-query/timestamp-by-azure-stream-analytics).
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
    /** Largest event time per substream key (TIMESTAMP BY ... OVER); undefined without substreams. */
    substreams: Map<string | number, number> | undefined;
}

export class InputWatermark {
    private readonly partitions = new Map<string, PartitionState>();
    private lastPartitionId: string | undefined;
    private lastPartition: PartitionState | undefined;

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
                substreams: undefined,
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
    admit(
        partitionId: string,
        eventTime: number,
        arrival: number,
        now: number,
        substream?: string | number,
    ): number | undefined {
        // A pushed batch comes from one partition: remember it rather than look it up per event.
        if (partitionId !== this.lastPartitionId) {
            this.lastPartitionId = partitionId;
            this.lastPartition = this.partitions.get(partitionId)!;
        }
        const partition = this.lastPartition!;
        let time = eventTime;
        if (time > arrival + EARLY_ARRIVAL_MS) {
            this.counters.earlyInputEvents += 1;
            this.counters.droppedEvents += 1;
            return undefined;
        }
        if (substream !== undefined) {
            return this.admitSubstream(partition, substream, time, arrival, now);
        }
        if (time < arrival - this.policy.lateArrivalMs) {
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

    private admitSubstream(
        partition: PartitionState,
        key: string | number,
        eventTime: number,
        arrival: number,
        now: number,
    ): number | undefined {
        let time = eventTime;
        if (time < arrival - this.policy.lateArrivalMs) {
            this.counters.lateInputEvents += 1;
            time = this.apply(arrival - this.policy.lateArrivalMs);
            if (Number.isNaN(time)) {
                return undefined;
            }
        }
        partition.substreams ??= new Map();
        const keyMax = partition.substreams.get(key) ?? -Infinity;
        const keyWatermark = Math.max(keyMax - this.policy.outOfOrderMs, this.idleWatermark(partition, now));
        if (time < keyWatermark) {
            this.counters.outOfOrderEvents += 1;
            time = this.apply(keyWatermark);
            if (Number.isNaN(time)) {
                return undefined;
            }
        }
        partition.substreams.set(key, Math.max(keyMax, time));
        if (partition.lastArrival === undefined || arrival >= partition.lastArrival) {
            partition.lastArrival = arrival;
        }
        partition.lastSeenAt = now;
        return time;
    }

    private idleWatermark(partition: PartitionState, now: number): number {
        const estimatedArrival = (partition.lastArrival ?? partition.lastSeenAt) + (now - partition.lastSeenAt);
        return estimatedArrival - this.policy.lateArrivalMs;
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
        const idle = this.idleWatermark(partition, now);
        let candidate: number;
        if (partition.substreams === undefined) {
            candidate = Math.max(partition.maxEventTime - this.policy.outOfOrderMs, idle);
        } else {
            candidate = Infinity;
            for (const keyMax of partition.substreams.values()) {
                candidate = Math.min(candidate, Math.max(keyMax - this.policy.outOfOrderMs, idle));
            }
        }
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
