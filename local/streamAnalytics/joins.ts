import type { Evaluator } from './compileExpression';
import { isTrue } from './functions';
import type { Operator } from './operators';
import type { Row } from './rows';
import type { Value } from './values';

/** How far apart in time a stream-to-stream JOIN lets its two sides be: right.ts - left.ts within [min, max]. */
export interface JoinTimeBound {
    /** Conservative bounds (a unit of slack for DATEDIFF's boundary counting), used to forget rows. */
    readonly minDeltaMs: number;
    readonly maxDeltaMs: number;
    /**
     * The documented upper bound (the DATEDIFF bound times its unit), where a LEFT JOIN stamps a left row that found
     * no match: "left ts + upper bound" (https://learn.microsoft.com/stream-analytics-query/system-timestamp-stream-analytics).
     */
    readonly upperMs: number;
}

const NO_FIELDS: Readonly<Record<string, Value>> = Object.freeze({});

function sidesOf(row: Row): readonly (Row | null)[] {
    return row.sides ?? [row];
}

function combined(left: Row, right: Row | null, ts: number): Row {
    return {
        fields: NO_FIELDS,
        ts,
        enqueuedMs: NaN,
        event: undefined,
        sides: [...sidesOf(left), right],
        ...(left.analytics === undefined ? {} : { analytics: left.analytics }),
    };
}

interface HeldLeft {
    readonly row: Row;
    matched: boolean;
}

/**
 * A stream-to-stream `[INNER] JOIN` or `LEFT [OUTER] JOIN` with a DATEDIFF time bound
 * (https://learn.microsoft.com/stream-analytics-query/join-azure-stream-analytics). Each side keeps its rows only as
 * long as a row of the other side could still match them, which the time bound and the other side's watermark
 * decide, so memory is bounded by the join's duration. A matched pair is stamped with the later of its two times;
 * a LEFT JOIN's unmatched left row is emitted with NULL right columns once no match can come any more, stamped at
 * left time + the upper bound.
 */
export class StreamJoinOperator {
    readonly targets: Operator[] = [];
    readonly left: Operator;
    readonly right: Operator;
    private heldLeft: HeldLeft[] = [];
    private heldRight: Row[] = [];
    private leftWatermark = -Infinity;
    private rightWatermark = -Infinity;
    private forwarded = -Infinity;

    constructor(
        private readonly kind: 'inner' | 'left',
        private readonly on: Evaluator<Row>,
        private readonly bound: JoinTimeBound,
    ) {
        this.left = {
            onRow: (row) => this.onLeft(row),
            onWatermark: (watermark) => {
                this.leftWatermark = watermark;
                this.progress();
            },
        };
        this.right = {
            onRow: (row) => this.onRight(row),
            onWatermark: (watermark) => {
                this.rightWatermark = watermark;
                this.progress();
            },
        };
    }

    /** Rows held on both sides; bounded by the time bound. */
    heldRows(): number {
        return this.heldLeft.length + this.heldRight.length;
    }

    private onLeft(row: Row): void {
        const held: HeldLeft = { row, matched: false };
        for (const right of this.heldRight) {
            if (this.tryPair(row, right)) {
                held.matched = true;
            }
        }
        this.heldLeft.push(held);
    }

    private onRight(row: Row): void {
        for (const held of this.heldLeft) {
            if (this.tryPair(held.row, row)) {
                held.matched = true;
            }
        }
        this.heldRight.push(row);
    }

    private tryPair(left: Row, right: Row): boolean {
        const delta = right.ts - left.ts;
        if (delta < this.bound.minDeltaMs || delta > this.bound.maxDeltaMs) {
            return false;
        }
        const pair = combined(left, right, Math.max(left.ts, right.ts));
        if (!isTrue(this.on(pair))) {
            return false;
        }
        this.emit(pair);
        return true;
    }

    private progress(): void {
        // A right row can match a future left row (time >= the left watermark) only while right.ts - min >= it.
        this.heldRight = this.heldRight.filter((row) => row.ts - this.bound.minDeltaMs >= this.leftWatermark);
        const keep: HeldLeft[] = [];
        for (const held of this.heldLeft) {
            if (held.row.ts + this.bound.maxDeltaMs >= this.rightWatermark) {
                keep.push(held);
            } else if (this.kind === 'left' && !held.matched) {
                this.emit(combined(held.row, null, held.row.ts + Math.max(this.bound.upperMs, 0)));
            }
        }
        this.heldLeft = keep;
        let watermark = Math.min(this.leftWatermark, this.rightWatermark);
        if (this.kind === 'left') {
            // An unmatched left row still held will be emitted at left time + upper bound: hold time back for it.
            for (const held of this.heldLeft) {
                if (!held.matched) {
                    watermark = Math.min(watermark, held.row.ts + Math.max(this.bound.upperMs, 0));
                }
            }
        }
        if (watermark > this.forwarded) {
            this.forwarded = watermark;
            for (const target of this.targets) {
                target.onWatermark(watermark);
            }
        }
    }

    private emit(row: Row): void {
        for (const target of this.targets) {
            target.onRow(row);
        }
    }
}

/**
 * A JOIN with reference data (https://learn.microsoft.com/stream-analytics-query/reference-data-join-azure-stream-analytics):
 * every stream row is matched against the static table, with no time bound; an unmatched row of a LEFT JOIN goes on
 * with NULL reference columns. Rows keep the stream row's time; the table never advances time.
 */
export class ReferenceJoinOperator implements Operator {
    readonly targets: Operator[] = [];

    constructor(
        private readonly kind: 'inner' | 'left',
        private readonly on: Evaluator<Row>,
        private readonly table: readonly Row[],
    ) {}

    onRow(row: Row): void {
        let matched = false;
        for (const reference of this.table) {
            const pair = combined(row, reference, row.ts);
            if (isTrue(this.on(pair))) {
                matched = true;
                this.emit(pair);
            }
        }
        if (!matched && this.kind === 'left') {
            this.emit(combined(row, null, row.ts));
        }
    }

    onWatermark(watermark: number): void {
        for (const target of this.targets) {
            target.onWatermark(watermark);
        }
    }

    private emit(row: Row): void {
        for (const target of this.targets) {
            target.onRow(row);
        }
    }
}

/**
 * `CROSS APPLY` / `OUTER APPLY` (https://learn.microsoft.com/stream-analytics-query/apply-azure-stream-analytics):
 * one row per element of `GetArrayElements(array)` (`{ArrayIndex, ArrayValue}`) or per property of
 * `GetRecordProperties(record)` (`{PropertyName, PropertyValue}`), keeping the row's time. NULL or an empty
 * array/record yields no row, or, for OUTER APPLY, one row with the APPLY alias NULL.
 */
export class ApplyOperator implements Operator {
    readonly targets: Operator[] = [];

    constructor(
        private readonly source: Evaluator<Row>,
        private readonly kind: 'elements' | 'properties',
        private readonly outer: boolean,
    ) {}

    onRow(row: Row): void {
        const value = this.source(row);
        let produced = false;
        if (this.kind === 'elements' && Array.isArray(value)) {
            (value as readonly Value[]).forEach((element, index) => {
                produced = true;
                this.emit(row, { ArrayIndex: index, ArrayValue: element });
            });
        } else if (this.kind === 'properties' && isRecord(value)) {
            for (const [name, property] of Object.entries(value)) {
                produced = true;
                this.emit(row, { PropertyName: name, PropertyValue: property });
            }
        }
        if (!produced && this.outer) {
            this.emitRow(combined(row, null, row.ts));
        }
    }

    onWatermark(watermark: number): void {
        for (const target of this.targets) {
            target.onWatermark(watermark);
        }
    }

    private emit(row: Row, fields: Record<string, Value>): void {
        this.emitRow(combined(row, { fields, ts: row.ts, enqueuedMs: NaN, event: undefined }, row.ts));
    }

    private emitRow(row: Row): void {
        for (const target of this.targets) {
            target.onRow(row);
        }
    }
}

function isRecord(value: Value): value is Readonly<Record<string, Value>> {
    return value !== null && typeof value === 'object' && !Array.isArray(value) && value.constructor === Object;
}
