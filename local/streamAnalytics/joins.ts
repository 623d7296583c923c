import TinyQueue from 'tinyqueue';

import type { Evaluator } from './compileExpression';
import { isTrue } from './functions';
import type { Operator } from './operators';
import type { Row } from './rows';
import type { Value } from './values';

/**
 * One DATEDIFF bound of a stream-to-stream JOIN: the new (right) event's time minus the time of one source already
 * in the left row (`side`, its index in FROM order; 0 for a left row of a single source) lies within [min, max].
 * Either end may be infinite when the ON clause bounds only one direction against that source.
 */
export interface JoinTimeBound {
    readonly side: number;
    /** Conservative bounds (a unit of slack for DATEDIFF's boundary counting), used to forget rows. */
    readonly minDeltaMs: number;
    readonly maxDeltaMs: number;
    /**
     * The documented upper bound (the DATEDIFF bound times its unit), where a LEFT JOIN stamps a left row that found
     * no match: "left ts + upper bound" (https://learn.microsoft.com/stream-analytics-query/system-timestamp-stream-analytics).
     */
    readonly upperMs: number;
}

/** The time bounds of one stream-to-stream JOIN step: at least one finite lower and one finite upper bound. */
export interface JoinTime {
    readonly bounds: readonly JoinTimeBound[];
    /**
     * How far a left row's time can be after the time of any of its sources: 0 for a single source; a left row that
     * is itself a join result is stamped with its latest source (or a LEFT JOIN's deadline), so each earlier join
     * adds its own spread. It turns the left watermark into a watermark of every source in the left row.
     */
    readonly leftSpreadMs: number;
}

const NO_FIELDS: Readonly<Record<string, Value>> = Object.freeze({});

function sidesOf(row: Row): readonly (Row | null)[] {
    return row.sides ?? [row];
}

/** One source's row of a (possibly single-source) row, without building a sides array per call. */
function sideOf(row: Row, index: number): Row | null | undefined {
    return row.sides === undefined ? (index === 0 ? row : undefined) : row.sides[index];
}

/** A row of both sides, stamped with `ts` and the 100 ns ticks of the side it takes its time from. */
function combined(left: Row, right: Row | null, ts: number, subMsTicks = left.subMsTicks): Row {
    return {
        fields: NO_FIELDS,
        ts,
        subMsTicks,
        enqueuedMs: NaN,
        event: undefined,
        sides: [...sidesOf(left), right],
        ...(left.analytics === undefined ? {} : { analytics: left.analytics }),
    };
}

interface HeldLeft {
    readonly row: Row;
    readonly key: string | number;
    /** The latest time a right row may have and still match (conservative): past it the row is forgotten. */
    readonly deadline: number;
    /** Where a LEFT JOIN stamps this row if it finds no match. */
    readonly unmatchedTs: number;
    matched: boolean;
    evicted: boolean;
}

interface HeldRight {
    readonly row: Row;
    readonly key: string | number;
    evicted: boolean;
}

/** Equality conditions `left = right` of the ON clause, as key functions of each side: they bucket the held rows. */
export interface JoinKeys {
    readonly left: (row: Row) => string | number;
    readonly right: (row: Row) => string | number;
}

/**
 * A stream-to-stream `[INNER] JOIN` or `LEFT [OUTER] JOIN` with DATEDIFF time bounds
 * (https://learn.microsoft.com/stream-analytics-query/join-azure-stream-analytics). The left side is a stream or,
 * in a join of three or more streams, the result of the joins before it ((a JOIN b) JOIN c), whose sources the
 * bounds name. Each side keeps its rows only as long as a row of the other side could still match them, which the
 * bounds and the other side's watermark decide, so memory is bounded by the join's duration. Rows are bucketed by
 * the ON clause's equality keys, so a row is compared only with the other side's rows of its key.
 *
 * A matched pair is stamped with the later of its two times (for a left row that is a join result, its own stamp,
 * the latest of its sources). A LEFT JOIN's unmatched left row is emitted with NULL right columns once no match can
 * come any more, stamped at the latest instant a match could still have arrived: the earliest over the bounds of
 * (that source's time + the upper bound), never before the left row's own time; with two streams that is the
 * documented "left ts + upper bound". A bound naming a source that is NULL in the left row (it found no match in an
 * earlier LEFT JOIN) is NULL, so such a row matches nothing and goes on at once with its own time.
 */
export class StreamJoinOperator {
    readonly targets: Operator[] = [];
    readonly left: Operator;
    readonly right: Operator;
    /** Held left rows by deadline (a left row that is a join result may arrive after one with a later deadline). */
    private readonly leftHeap = new TinyQueue<HeldLeft>([], (a, b) => compare(a.deadline, b.deadline));
    /** LEFT JOIN: held rows without a match yet, by the stamp they would get; matched ones are skipped lazily. */
    private readonly unmatchedHeap = new TinyQueue<HeldLeft>([], (a, b) => compare(a.unmatchedTs, b.unmatchedTs));
    /** Held right rows in arrival order (which follows time closely), for eviction. */
    private rightQueue: HeldRight[] = [];
    private rightHead = 0;
    private readonly leftByKey = new Map<string | number, HeldLeft[]>();
    private readonly rightByKey = new Map<string | number, HeldRight[]>();
    private leftWatermark = -Infinity;
    private rightWatermark = -Infinity;
    private forwarded = -Infinity;
    /** A right row older than the left watermark plus this can match no future left row. */
    private readonly rightLifetimeMs: number;

    constructor(
        private readonly kind: 'inner' | 'left',
        private readonly on: Evaluator<Row>,
        private readonly time: JoinTime,
        private readonly keys: JoinKeys | undefined,
    ) {
        // A future left row has time >= the left watermark, so each of its sources >= watermark - spread; a bound
        // needs that source <= right.ts - min.
        const latestLower = Math.max(...time.bounds.map((bound) => bound.minDeltaMs));
        this.rightLifetimeMs = latestLower - time.leftSpreadMs;
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

    /** Rows held on both sides; bounded by the time bounds. */
    heldRows(): number {
        return this.leftHeap.length + this.rightQueue.length - this.rightHead;
    }

    private onLeft(row: Row): void {
        const key = this.keys === undefined ? '' : this.keys.left(row);
        let deadline = Infinity;
        let latestMatch = Infinity;
        for (const bound of this.time.bounds) {
            const side = sideOf(row, bound.side);
            if (side === null || side === undefined) {
                deadline = -Infinity;
                latestMatch = -Infinity;
                break;
            }
            deadline = Math.min(deadline, side.ts + bound.maxDeltaMs);
            latestMatch = Math.min(latestMatch, side.ts + bound.upperMs);
        }
        const held: HeldLeft = {
            row,
            key,
            deadline,
            unmatchedTs: Math.max(row.ts, latestMatch),
            matched: false,
            evicted: false,
        };
        for (const right of this.rightByKey.get(key) ?? []) {
            if (!right.evicted && this.tryPair(row, right.row)) {
                held.matched = true;
            }
        }
        this.leftHeap.push(held);
        bucket(this.leftByKey, key).push(held);
        if (this.kind === 'left' && !held.matched) {
            this.unmatchedHeap.push(held);
        }
    }

    private onRight(row: Row): void {
        const key = this.keys === undefined ? '' : this.keys.right(row);
        for (const held of this.leftByKey.get(key) ?? []) {
            if (!held.evicted && this.tryPair(held.row, row)) {
                held.matched = true;
            }
        }
        const held: HeldRight = { row, key, evicted: false };
        this.rightQueue.push(held);
        bucket(this.rightByKey, key).push(held);
    }

    private tryPair(left: Row, right: Row): boolean {
        for (const bound of this.time.bounds) {
            const side = sideOf(left, bound.side);
            if (side === null || side === undefined) {
                return false;
            }
            const delta = right.ts - side.ts;
            if (delta < bound.minDeltaMs || delta > bound.maxDeltaMs) {
                return false;
            }
        }
        const later = right.ts > left.ts || (right.ts === left.ts && (right.subMsTicks ?? 0) > (left.subMsTicks ?? 0));
        const pair = later ? combined(left, right, right.ts, right.subMsTicks) : combined(left, right, left.ts);
        if (!isTrue(this.on(pair))) {
            return false;
        }
        this.emit(pair);
        return true;
    }

    private progress(): void {
        const rightHorizon = this.leftWatermark + this.rightLifetimeMs;
        while (this.rightHead < this.rightQueue.length && this.rightQueue[this.rightHead]!.row.ts < rightHorizon) {
            const held = this.rightQueue[this.rightHead]!;
            this.rightHead += 1;
            held.evicted = true;
            unbucket(this.rightByKey, held.key);
        }
        // A left row can match a future right row (time >= the right watermark) only up to its deadline.
        while (this.leftHeap.length > 0 && this.leftHeap.peek()!.deadline < this.rightWatermark) {
            const held = this.leftHeap.pop()!;
            held.evicted = true;
            unbucket(this.leftByKey, held.key);
            if (this.kind === 'left' && !held.matched) {
                this.emit(combined(held.row, null, held.unmatchedTs));
            }
        }
        if (this.rightHead > 1024 && this.rightHead * 2 > this.rightQueue.length) {
            this.rightQueue = this.rightQueue.slice(this.rightHead);
            this.rightHead = 0;
        }
        let watermark = Math.min(this.leftWatermark, this.rightWatermark);
        if (this.kind === 'left') {
            // An unmatched left row still held will be emitted at its stamp: hold time back for it.
            let next = this.unmatchedHeap.peek();
            while (next !== undefined && (next.matched || next.evicted)) {
                this.unmatchedHeap.pop();
                next = this.unmatchedHeap.peek();
            }
            if (next !== undefined) {
                watermark = Math.min(watermark, next.unmatchedTs);
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

/** Orders times, the infinite ones included (a deadline is -Infinity for a row that can match nothing). */
function compare(a: number, b: number): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

function bucket<T>(map: Map<string | number, T[]>, key: string | number): T[] {
    let rows = map.get(key);
    if (rows === undefined) {
        rows = [];
        map.set(key, rows);
    }
    return rows;
}

/**
 * Drops the evicted rows at the front of a key's bucket. Rows of one key mostly leave in the order they came; one
 * evicted behind a held row stays until the rows before it leave, and matching skips it.
 */
function unbucket<T extends { evicted: boolean }>(map: Map<string | number, T[]>, key: string | number): void {
    const rows = map.get(key);
    if (rows === undefined) {
        return;
    }
    let first = 0;
    while (first < rows.length && rows[first]!.evicted) {
        first += 1;
    }
    if (first === rows.length) {
        map.delete(key);
    } else if (first > 0) {
        rows.splice(0, first);
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
 * one row per row of the table-valued function (recordFunctions.ts: `GetArrayElements` gives `{ArrayIndex,
 * ArrayValue}`, `GetRecordProperties` `{PropertyName, PropertyValue}`), keeping the row's time. NULL or an empty
 * array/record yields no row, or, for OUTER APPLY, one row with the APPLY alias NULL; a value of the wrong type
 * stops the job with the function's located error (declare the column's type with CREATE TABLE to drop such events).
 */
export class ApplyOperator implements Operator {
    readonly targets: Operator[] = [];

    constructor(
        private readonly source: Evaluator<Row>,
        private readonly rowsOf: (value: Value) => readonly Record<string, Value>[],
        private readonly outer: boolean,
    ) {}

    onRow(row: Row): void {
        const produced = this.rowsOf(this.source(row));
        for (const fields of produced) {
            this.emit(row, fields);
        }
        if (produced.length === 0 && this.outer) {
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
