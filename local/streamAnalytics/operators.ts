import type { Accumulator, AccumulatorFactory } from './aggregates';
import type { Evaluator } from './compileExpression';
import { isTrue } from './functions';
import type { Row } from './rows';
import { toOutputValue, type Value, valueKey } from './values';
import { firstWindowEnd, windowEndsFor, type WindowSpec } from './windows';

/**
 * The running dataflow of a job. Rows flow from input sources through steps to outputs, each carrying its
 * System.Timestamp(); watermarks flow the same way and are the only trigger for closing windows and releasing output.
 */
export interface Operator {
    onRow(row: Row): void;
    onWatermark(watermark: number): void;
}

/** WHERE + SELECT without aggregation: stateless, row by row. */
export class ProjectOperator implements Operator {
    readonly targets: Operator[] = [];

    constructor(
        private readonly where: Evaluator<Row> | undefined,
        private readonly project: (row: Row) => Record<string, Value>,
    ) {}

    onRow(row: Row): void {
        if (this.where !== undefined && !isTrue(this.where(row))) {
            return;
        }
        const projected: Row = {
            fields: this.project(row),
            ts: row.ts,
            subMsTicks: row.subMsTicks,
            enqueuedMs: NaN,
            event: undefined,
        };
        for (const target of this.targets) {
            target.onRow(projected);
        }
    }

    onWatermark(watermark: number): void {
        for (const target of this.targets) {
            target.onWatermark(watermark);
        }
    }
}

/** The values a grouped SELECT/HAVING can see when a window closes. */
export interface GroupResult {
    readonly keys: readonly Value[];
    readonly aggregates: readonly Value[];
    readonly windowEnd: number;
    /** The `Window('id', ...)` id of the window that produced the group, or null. */
    readonly windowId: string | null;
}

export interface AggregateDefinition {
    readonly argument: Evaluator<Row> | undefined;
    readonly create: AccumulatorFactory;
}

/** The parts of a grouped statement every window kind shares. */
export interface GroupedQuery {
    readonly where: Evaluator<Row> | undefined;
    readonly keys: readonly Evaluator<Row>[];
    readonly aggregates: readonly AggregateDefinition[];
    readonly having: Evaluator<GroupResult> | undefined;
    readonly project: (group: GroupResult) => Record<string, Value>;
    readonly windowId: string | null;
}

interface Group {
    readonly keys: Value[];
    readonly accumulators: Accumulator[];
}

/** Evaluates HAVING and the SELECT list of a closed group and sends the row on, stamped with the window end. */
function emitGroup(
    query: GroupedQuery,
    targets: readonly Operator[],
    keys: readonly Value[],
    accumulators: readonly Accumulator[],
    end: number,
): void {
    const result: GroupResult = {
        keys,
        aggregates: accumulators.map((accumulator) => accumulator.result()),
        windowEnd: end,
        windowId: query.windowId,
    };
    if (query.having !== undefined && !isTrue(query.having(result))) {
        return;
    }
    const row: Row = { fields: query.project(result), ts: end, enqueuedMs: NaN, event: undefined };
    for (const target of targets) {
        target.onRow(row);
    }
}

function groupKeyOf(query: GroupedQuery, row: Row): { key: string | number; values: Value[] } {
    const values = query.keys.map((key) => key(row));
    return { key: values.length === 1 ? valueKey(values[0]!) : keyOf(values), values };
}

/**
 * WHERE + GROUP BY keys + one tumbling, hopping or snapshot window + aggregates, emitted when the watermark passes a
 * window's end. A snapshot window ends at each distinct timestamp (https://learn.microsoft.com/stream-analytics-query/snapshot-window-azure-stream-analytics).
 */
export class WindowedAggregateOperator implements Operator {
    readonly targets: Operator[] = [];
    /** Open windows by end time; each holds its groups in first-seen order. */
    private readonly windows = new Map<number, Map<string | number, Group>>();
    private readonly tumbling: boolean;
    private readonly snapshot: boolean;
    private readonly where: Evaluator<Row> | undefined;
    private readonly keys: readonly Evaluator<Row>[];
    private readonly aggregates: readonly AggregateDefinition[];
    private lastEnd = NaN;
    private lastGroups: Map<string | number, Group> | undefined;

    constructor(
        private readonly query: GroupedQuery,
        private readonly window: WindowSpec | 'snapshot',
    ) {
        this.snapshot = window === 'snapshot';
        this.tumbling = window === 'snapshot' || window.hopMs === window.sizeMs;
        this.where = query.where;
        this.keys = query.keys;
        this.aggregates = query.aggregates;
    }

    onRow(row: Row): void {
        if (this.where !== undefined && !isTrue(this.where(row))) {
            return;
        }
        const keyValues = this.keys.length === 1 ? this.keys[0]!(row) : this.keys.map((key) => key(row));
        const groupKey = this.keys.length === 1 ? valueKey(keyValues) : keyOf(keyValues as Value[]);
        if (this.tumbling) {
            const end = this.snapshot ? row.ts : firstWindowEnd(this.window as WindowSpec, row.ts);
            const group = this.group(end, groupKey, keyValues);
            for (let index = 0; index < this.aggregates.length; index += 1) {
                const argument = this.aggregates[index]!.argument;
                group.accumulators[index]!.add(argument === undefined ? null : argument(row));
            }
            return;
        }
        const values = this.aggregates.map((aggregate) =>
            aggregate.argument === undefined ? null : aggregate.argument(row),
        );
        for (const end of windowEndsFor(this.window as WindowSpec, row.ts)) {
            const group = this.group(end, groupKey, keyValues);
            values.forEach((value, index) => group.accumulators[index]!.add(value));
        }
    }

    onWatermark(watermark: number): void {
        const closed = [...this.windows.keys()].filter((end) => end < watermark).sort((a, b) => a - b);
        for (const end of closed) {
            const groups = this.windows.get(end)!;
            this.windows.delete(end);
            if (end === this.lastEnd) {
                this.lastEnd = NaN;
                this.lastGroups = undefined;
            }
            for (const group of groups.values()) {
                emitGroup(this.query, this.targets, group.keys, group.accumulators, end);
            }
        }
        for (const target of this.targets) {
            target.onWatermark(watermark);
        }
    }

    /** How many windows are open; lets tests check that closed windows release their state. */
    openWindowCount(): number {
        return this.windows.size;
    }

    /** `keyValues` is the single key value when there is one GROUP BY key (no array per event), else the array. */
    private group(end: number, key: string | number, keyValues: Value | Value[]): Group {
        // Consecutive events mostly fall in the same window: skip the lookup by end then.
        let groups = end === this.lastEnd ? this.lastGroups : this.windows.get(end);
        if (groups === undefined) {
            groups = new Map();
            this.windows.set(end, groups);
        }
        this.lastEnd = end;
        this.lastGroups = groups;
        let group = groups.get(key);
        if (group === undefined) {
            group = {
                keys: this.keys.length === 1 ? [keyValues] : (keyValues as Value[]),
                accumulators: this.aggregates.map((aggregate) => aggregate.create()),
            };
            groups.set(key, group);
        }
        return group;
    }
}

interface SlidingGroup {
    readonly keys: Value[];
    /** Events in timestamp order with their aggregate arguments. */
    entries: { readonly ts: number; readonly values: readonly Value[] }[];
    /** Instants where the window's content changes and that are not evaluated yet. */
    instants: number[];
}

/**
 * A sliding window (https://learn.microsoft.com/stream-analytics-query/sliding-window-azure-stream-analytics):
 * logically every window (t - size, t], evaluated only where its content changes: at each event's time (the event
 * enters) and at that time + size (it leaves). Empty windows emit nothing. Needs its rows in timestamp order.
 */
export class SlidingAggregateOperator implements Operator {
    readonly targets: Operator[] = [];
    private readonly groups = new Map<string | number, SlidingGroup>();

    constructor(
        private readonly query: GroupedQuery,
        private readonly sizeMs: number,
    ) {}

    onRow(row: Row): void {
        if (this.query.where !== undefined && !isTrue(this.query.where(row))) {
            return;
        }
        const { key, values: keys } = groupKeyOf(this.query, row);
        let group = this.groups.get(key);
        if (group === undefined) {
            group = { keys, entries: [], instants: [] };
            this.groups.set(key, group);
        }
        const values = this.query.aggregates.map((aggregate) =>
            aggregate.argument === undefined ? null : aggregate.argument(row),
        );
        group.entries.push({ ts: row.ts, values });
        group.instants.push(row.ts, row.ts + this.sizeMs);
    }

    onWatermark(watermark: number): void {
        const due: { at: number; group: SlidingGroup; order: number }[] = [];
        let order = 0;
        for (const group of this.groups.values()) {
            const ready = [...new Set(group.instants.filter((at) => at < watermark))].sort((a, b) => a - b);
            group.instants = group.instants.filter((at) => at >= watermark);
            for (const at of ready) {
                due.push({ at, group, order });
            }
            order += 1;
        }
        due.sort((a, b) => a.at - b.at || a.order - b.order);
        for (const { at, group } of due) {
            const accumulators = this.query.aggregates.map((aggregate) => aggregate.create());
            let count = 0;
            for (const entry of group.entries) {
                if (entry.ts > at - this.sizeMs && entry.ts <= at) {
                    count += 1;
                    entry.values.forEach((value, index) => accumulators[index]!.add(value));
                }
            }
            if (count > 0) {
                emitGroup(this.query, this.targets, group.keys, accumulators, at);
            }
        }
        for (const [key, group] of this.groups) {
            // Later instants are the ones pending and those of events still to come (at or after the watermark);
            // an entry matters to an instant t only while entry.ts > t - size.
            const next = Math.min(watermark, ...group.instants);
            group.entries = group.entries.filter((entry) => entry.ts > next - this.sizeMs);
            if (group.entries.length === 0 && group.instants.length === 0) {
                this.groups.delete(key);
            }
        }
        for (const target of this.targets) {
            target.onWatermark(watermark);
        }
    }

    /** Events held; bounded by what the window size can still need. */
    heldEvents(): number {
        let held = 0;
        for (const group of this.groups.values()) {
            held += group.entries.length;
        }
        return held;
    }
}

interface Session {
    start: number;
    last: number;
    closeAt: number;
    closedByMaximum: boolean;
    readonly groups: Map<string | number, Group>;
}

/**
 * A session window (https://learn.microsoft.com/stream-analytics-query/session-window-azure-stream-analytics):
 * opens at an event; an event at most `timeout` after the last one extends it; otherwise it ends at last + timeout.
 * The maximum duration is checked at multiples of it (from time zero): at such a checkpoint t, a session with
 * t - start >= maximum ends at t and a new one opens there. Sessions are per OVER (PARTITION BY) key; GROUP BY keys
 * split a session into groups. Needs its rows in timestamp order.
 */
export class SessionAggregateOperator implements Operator {
    readonly targets: Operator[] = [];
    private readonly sessions = new Map<string | number, Session>();

    constructor(
        private readonly query: GroupedQuery,
        private readonly timeoutMs: number,
        private readonly maxDurationMs: number,
        private readonly partitionBy: readonly Evaluator<Row>[],
    ) {}

    onRow(row: Row): void {
        if (this.query.where !== undefined && !isTrue(this.query.where(row))) {
            return;
        }
        const partition = this.partitionBy.length === 0 ? '' : keyOf(this.partitionBy.map((evaluate) => evaluate(row)));
        let session = this.sessions.get(partition);
        let start = row.ts;
        if (session !== undefined && row.ts > session.closeAt) {
            this.sessions.delete(partition);
            this.emit(session);
            if (session.closedByMaximum && row.ts - session.last <= this.timeoutMs) {
                start = session.closeAt; // "a new window is opened at the same point"
            }
            session = undefined;
        }
        if (session === undefined) {
            session = { start, last: row.ts, closeAt: row.ts, closedByMaximum: false, groups: new Map() };
            this.sessions.set(partition, session);
        }
        session.last = row.ts;
        const checkpoint = Math.ceil((session.start + this.maxDurationMs) / this.maxDurationMs) * this.maxDurationMs;
        session.closedByMaximum = checkpoint < row.ts + this.timeoutMs;
        session.closeAt = Math.min(row.ts + this.timeoutMs, checkpoint);
        const { key, values } = groupKeyOf(this.query, row);
        let group = session.groups.get(key);
        if (group === undefined) {
            group = { keys: values, accumulators: this.query.aggregates.map((aggregate) => aggregate.create()) };
            session.groups.set(key, group);
        }
        for (let index = 0; index < this.query.aggregates.length; index += 1) {
            const argument = this.query.aggregates[index]!.argument;
            group.accumulators[index]!.add(argument === undefined ? null : argument(row));
        }
    }

    onWatermark(watermark: number): void {
        const closed = [...this.sessions].filter(([, session]) => session.closeAt < watermark);
        closed.sort((a, b) => a[1].closeAt - b[1].closeAt);
        for (const [partition, session] of closed) {
            this.sessions.delete(partition);
            this.emit(session);
        }
        for (const target of this.targets) {
            target.onWatermark(watermark);
        }
    }

    openSessionCount(): number {
        return this.sessions.size;
    }

    private emit(session: Session): void {
        for (const group of session.groups.values()) {
            emitGroup(this.query, this.targets, group.keys, group.accumulators, session.closeAt);
        }
    }
}

/**
 * Holds rows until the watermark passes them and releases them in timestamp order (arrival order among equal
 * timestamps), as Stream Analytics re-sorts events within the out-of-order tolerance. Placed only in front of
 * operators whose result depends on order: analytic functions, joins, sliding and session windows.
 */
export class ReorderOperator implements Operator {
    readonly targets: Operator[] = [];
    private pending: Row[] = [];

    onRow(row: Row): void {
        this.pending.push(row);
    }

    onWatermark(watermark: number): void {
        if (this.pending.length > 0) {
            const ready: Row[] = [];
            const waiting: Row[] = [];
            for (const row of this.pending) {
                (row.ts <= watermark ? ready : waiting).push(row);
            }
            this.pending = waiting;
            ready.sort((a, b) => a.ts - b.ts);
            for (const row of ready) {
                for (const target of this.targets) {
                    target.onRow(row);
                }
            }
        }
        for (const target of this.targets) {
            target.onWatermark(watermark);
        }
    }
}

/** Joins several upstreams into one stream (UNION, Windows()): rows pass through, the watermark is the smallest. */
export class MergeOperator {
    readonly targets: Operator[] = [];
    private readonly watermarks: number[] = [];
    private forwarded = -Infinity;

    port(): Operator {
        const index = this.watermarks.push(-Infinity) - 1;
        return {
            onRow: (row) => {
                for (const target of this.targets) {
                    target.onRow(row);
                }
            },
            onWatermark: (watermark) => {
                this.watermarks[index] = watermark;
                const smallest = Math.min(...this.watermarks);
                if (smallest > this.forwarded || smallest === Infinity) {
                    this.forwarded = smallest;
                    for (const target of this.targets) {
                        target.onWatermark(smallest);
                    }
                }
            },
        };
    }
}

function keyOf(values: readonly Value[]): string | number {
    return values.map((value) => `${typeof value}:${String(valueKey(value))}`).join('\u0001');
}

export type OutputRow = Record<string, unknown>;

/**
 * Collects rows for one output alias from every statement writing INTO it, and releases them in timestamp order
 * once every writer's watermark has reached them, which is when Stream Analytics itself would write them.
 */
export class OutputBuffer {
    private pending: Row[] = [];
    private readonly writerWatermarks: number[] = [];

    constructor(
        readonly alias: string,
        private readonly emit: (alias: string, rows: OutputRow[], lastOutputEventTime: number) => void,
        /** Rows earlier than this (the output start time, epoch ms) are dropped instead of written. */
        private readonly startTime = -Infinity,
    ) {}

    /** One port per statement writing INTO this output. */
    port(): Operator {
        const index = this.writerWatermarks.push(-Infinity) - 1;
        return {
            onRow: (row) => this.pending.push(row),
            onWatermark: (watermark) => {
                this.writerWatermarks[index] = watermark;
                this.release(Math.min(...this.writerWatermarks));
            },
        };
    }

    private release(watermark: number): void {
        if (this.pending.length === 0) {
            return;
        }
        const ready: Row[] = [];
        const waiting: Row[] = [];
        for (const row of this.pending) {
            if (row.ts > watermark) {
                waiting.push(row);
            } else if (row.ts >= this.startTime) {
                ready.push(row);
            }
        }
        this.pending = waiting;
        if (ready.length === 0) {
            return;
        }
        ready.sort((a, b) => a.ts - b.ts); // stable: rows of one timestamp keep their order
        this.emit(
            this.alias,
            ready.map((row) => toOutputRow(row.fields)),
            ready[ready.length - 1]!.ts,
        );
    }
}

function toOutputRow(fields: Readonly<Record<string, Value>>): OutputRow {
    const row: OutputRow = {};
    for (const name of Object.keys(fields)) {
        row[name] = toOutputValue(fields[name]!);
    }
    return row;
}
