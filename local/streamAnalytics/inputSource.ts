import type { Evaluator } from './compileExpression';
import { eventSubMsTicks, toEventTime } from './compileExpression';
import type { StatementSource } from './compiler';
import type { Operator } from './operators';
import type { EventHubProperties, Row } from './rows';
import { type Value, valueKey } from './values';
import { type EventOrderingPolicy, InputWatermark, type OrderingCounters } from './watermark';

/** One Event Hub event as the local Event Hub stand-in hands it over: the broker's enqueued time and the JSON body. */
export interface InputEvent extends EventHubProperties {
    readonly enqueuedTime: Date | number;
    readonly body: unknown;
}

export interface JobCounters extends OrderingCounters {
    inputEvents: number;
    /** Bodies that are not JSON objects; Stream Analytics drops them as deserialization errors. */
    deserializationErrors: number;
    /** Events whose TIMESTAMP BY value is NULL or not a datetime; they are dropped. */
    invalidTimestampEvents: number;
    outputRows: number;
}

/**
 * One FROM clause over an input: stamps each event with its event time (TIMESTAMP BY, or the enqueued time),
 * applies the event-ordering policies, and advances the watermark that drives everything downstream.
 */
export class InputSource {
    private readonly watermark: InputWatermark;
    private forwarded = -Infinity;
    private readonly timestampBy: Evaluator<Row> | undefined;
    private readonly substream: Evaluator<Row> | undefined;
    private readonly conforms: ((fields: Readonly<Record<string, Value>>) => boolean) | undefined;
    private finished = false;

    constructor(
        readonly alias: string,
        partitionIds: readonly string[],
        source: StatementSource & { kind: 'input' },
        policy: EventOrderingPolicy,
        startedAt: number,
        private readonly counters: JobCounters,
        private readonly target: Operator,
        private readonly metadataColumns = true,
    ) {
        this.watermark = new InputWatermark(partitionIds, policy, startedAt, counters);
        this.timestampBy = source.timestampBy;
        this.substream = source.substream;
        this.conforms = source.conforms;
    }

    hasPartition(partitionId: string): boolean {
        return this.watermark.hasPartition(partitionId);
    }

    push(partitionId: string, events: readonly InputEvent[], now: number): void {
        let admitted = false;
        // Stream Analytics reports PartitionId as a bigint.
        const partitionValue: string | number = /^\d+$/.test(partitionId) ? Number(partitionId) : partitionId;
        const metadata = this.metadataColumns ? { processedMs: now, partitionId: partitionValue } : undefined;
        for (const event of events) {
            this.counters.inputEvents += 1;
            const body = event.body;
            if (
                body === null ||
                typeof body !== 'object' ||
                Array.isArray(body) ||
                (this.conforms !== undefined && !this.conforms(body as Record<string, Value>))
            ) {
                this.counters.deserializationErrors += 1;
                continue;
            }
            const arrival = typeof event.enqueuedTime === 'number' ? event.enqueuedTime : event.enqueuedTime.getTime();
            const row: Row = {
                fields: body as Record<string, Value>,
                ts: arrival,
                subMsTicks: 0,
                enqueuedMs: arrival,
                event: metadata,
                properties: event,
            };
            let eventTime = arrival;
            let subMsTicks = 0;
            if (this.timestampBy !== undefined) {
                const value = this.timestampBy(row);
                const stamped = toEventTime(value);
                if (stamped === undefined) {
                    this.counters.invalidTimestampEvents += 1;
                    continue;
                }
                eventTime = stamped;
                subMsTicks = eventSubMsTicks(value);
            }
            const substream = this.substream === undefined ? undefined : valueKey(this.substream(row));
            const time = this.watermark.admit(partitionId, eventTime, arrival, now, substream);
            if (time === undefined) {
                continue;
            }
            row.ts = time;
            // An event the ordering policy moved (Adjust) takes the watermark's whole millisecond.
            row.subMsTicks = time === eventTime ? subMsTicks : 0;
            admitted = true;
            this.target.onRow(row);
        }
        this.advance(now, admitted);
    }

    /**
     * Forwards the watermark when it moved, or when new rows arrived: an event adjusted to the current watermark is
     * already final and must be released without waiting for the watermark to move again.
     */
    advance(now: number, rowsArrived = false): void {
        if (this.finished) {
            return;
        }
        const watermark = this.watermark.current(now);
        if (watermark > this.forwarded || (rowsArrived && watermark > -Infinity)) {
            this.forwarded = watermark;
            this.target.onWatermark(watermark);
        }
    }

    /** The end of the input: every pending window and row becomes final. */
    finish(): void {
        if (!this.finished) {
            this.finished = true;
            this.forwarded = Infinity;
            this.target.onWatermark(Infinity);
        }
    }
}
