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
 * A stream-to-stream `[INNER] JOIN` or `LEFT [OUTER] JOIN` with a DATEDIFF time bound
 * (https://learn.microsoft.com/stream-analytics-query/join-azure-stream-analytics). Each side keeps its rows only as
 * long as a row of the other side could still match them, which the time bound and the other side's watermark
 * decide, so memory is bounded by the join's duration. Rows are bucketed by the ON clause's equality keys, so a row
 * is compared only with the other side's rows of its key. A matched pair is stamped with the later of its two times;
 * a LEFT JOIN's unmatched left row is emitted with NULL right columns once no match can come any more, stamped at
 * left time + the upper bound.
 */
export class StreamJoinOperator {
    readonly targets: Operator[] = [];
    readonly left: Operator;
    readonly right: Operator;
    /** Held rows in arrival order (which follows time closely), for eviction. */
    private leftQueue: HeldLeft[] = [];
    private rightQueue: HeldRight[] = [];
    private leftHead = 0;
    private rightHead = 0;
    private readonly leftByKey = new Map<string | number, HeldLeft[]>();
    private readonly rightByKey = new Map<string | number, HeldRight[]>();
    private leftWatermark = -Infinity;
    private rightWatermark = -Infinity;
    private forwarded = -Infinity;

    constructor(
        private readonly kind: 'inner' | 'left',
        private readonly on: Evaluator<Row>,
        private readonly bound: JoinTimeBound,
        private readonly keys: JoinKeys | undefined,
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
        return this.leftQueue.length - this.leftHead + this.rightQueue.length - this.rightHead;
    }

    private onLeft(row: Row): void {
        const key = this.keys === undefined ? '' : this.keys.left(row);
        const held: HeldLeft = { row, key, matched: false, evicted: false };
        for (const right of this.rightByKey.get(key) ?? []) {
            if (this.tryPair(row, right.row)) {
                held.matched = true;
            }
        }
        this.leftQueue.push(held);
        bucket(this.leftByKey, key).push(held);
    }

    private onRight(row: Row): void {
        const key = this.keys === undefined ? '' : this.keys.right(row);
        for (const held of this.leftByKey.get(key) ?? []) {
            if (this.tryPair(held.row, row)) {
                held.matched = true;
            }
        }
        const held: HeldRight = { row, key, evicted: false };
        this.rightQueue.push(held);
        bucket(this.rightByKey, key).push(held);
    }

    private tryPair(left: Row, right: Row): boolean {
        const delta = right.ts - left.ts;
        if (delta < this.bound.minDeltaMs || delta > this.bound.maxDeltaMs) {
            return false;
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
        // A right row can match a future left row (time >= the left watermark) only while right.ts - min >= it.
        while (
            this.rightHead < this.rightQueue.length &&
            this.rightQueue[this.rightHead]!.row.ts - this.bound.minDeltaMs < this.leftWatermark
        ) {
            const held = this.rightQueue[this.rightHead]!;
            this.rightHead += 1;
            held.evicted = true;
            unbucket(this.rightByKey, held.key);
        }
        while (
            this.leftHead < this.leftQueue.length &&
            this.leftQueue[this.leftHead]!.row.ts + this.bound.maxDeltaMs < this.rightWatermark
        ) {
            const held = this.leftQueue[this.leftHead]!;
            this.leftHead += 1;
            held.evicted = true;
            unbucket(this.leftByKey, held.key);
            if (this.kind === 'left' && !held.matched) {
                this.emit(combined(held.row, null, held.row.ts + Math.max(this.bound.upperMs, 0)));
            }
        }
        this.compact();
        let watermark = Math.min(this.leftWatermark, this.rightWatermark);
        if (this.kind === 'left') {
            // An unmatched left row still held will be emitted at left time + upper bound: hold time back for it.
            for (let index = this.leftHead; index < this.leftQueue.length; index += 1) {
                const held = this.leftQueue[index]!;
                if (!held.matched) {
                    watermark = Math.min(watermark, held.row.ts + Math.max(this.bound.upperMs, 0));
                    break;
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

    private compact(): void {
        if (this.leftHead > 1024 && this.leftHead * 2 > this.leftQueue.length) {
            this.leftQueue = this.leftQueue.slice(this.leftHead);
            this.leftHead = 0;
        }
        if (this.rightHead > 1024 && this.rightHead * 2 > this.rightQueue.length) {
            this.rightQueue = this.rightQueue.slice(this.rightHead);
            this.rightHead = 0;
        }
    }

    private emit(row: Row): void {
        for (const target of this.targets) {
            target.onRow(row);
        }
    }
}

function bucket<T>(map: Map<string | number, T[]>, key: string | number): T[] {
    let rows = map.get(key);
    if (rows === undefined) {
        rows = [];
        map.set(key, rows);
    }
    return rows;
}

/** Drops the evicted rows at the front of a key's bucket (rows of one key arrive, and leave, in order). */
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
