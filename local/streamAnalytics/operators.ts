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
        const projected: Row = { fields: this.project(row), ts: row.ts, enqueuedMs: NaN, event: undefined };
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
}

export interface AggregateDefinition {
    readonly argument: Evaluator<Row> | undefined;
    readonly create: AccumulatorFactory;
}

interface Group {
    readonly keys: Value[];
    readonly accumulators: Accumulator[];
}

/** WHERE + GROUP BY keys + one tumbling or hopping window + aggregates, emitted when the watermark passes a window. */
export class WindowedAggregateOperator implements Operator {
    readonly targets: Operator[] = [];
    /** Open windows by end time; each holds its groups in first-seen order. */
    private readonly windows = new Map<number, Map<string | number, Group>>();
    private readonly tumbling: boolean;

    constructor(
        private readonly where: Evaluator<Row> | undefined,
        private readonly window: WindowSpec,
        private readonly keys: readonly Evaluator<Row>[],
        private readonly aggregates: readonly AggregateDefinition[],
        private readonly having: Evaluator<GroupResult> | undefined,
        private readonly project: (group: GroupResult) => Record<string, Value>,
    ) {
        this.tumbling = window.hopMs === window.sizeMs;
    }

    onRow(row: Row): void {
        if (this.where !== undefined && !isTrue(this.where(row))) {
            return;
        }
        const keyValues = this.keys.length === 1 ? this.keys[0]!(row) : this.keys.map((key) => key(row));
        const groupKey = this.keys.length === 1 ? valueKey(keyValues) : keyOf(keyValues as Value[]);
        if (this.tumbling) {
            const group = this.group(firstWindowEnd(this.window, row.ts), groupKey, keyValues);
            for (let index = 0; index < this.aggregates.length; index += 1) {
                const argument = this.aggregates[index]!.argument;
                group.accumulators[index]!.add(argument === undefined ? null : argument(row));
            }
            return;
        }
        const values = this.aggregates.map((aggregate) =>
            aggregate.argument === undefined ? null : aggregate.argument(row),
        );
        for (const end of windowEndsFor(this.window, row.ts)) {
            const group = this.group(end, groupKey, keyValues);
            values.forEach((value, index) => group.accumulators[index]!.add(value));
        }
    }

    onWatermark(watermark: number): void {
        const closed = [...this.windows.keys()].filter((end) => end < watermark).sort((a, b) => a - b);
        for (const end of closed) {
            const groups = this.windows.get(end)!;
            this.windows.delete(end);
            for (const group of groups.values()) {
                const result: GroupResult = {
                    keys: group.keys,
                    aggregates: group.accumulators.map((accumulator) => accumulator.result()),
                    windowEnd: end,
                };
                if (this.having !== undefined && !isTrue(this.having(result))) {
                    continue;
                }
                const row: Row = { fields: this.project(result), ts: end, enqueuedMs: NaN, event: undefined };
                for (const target of this.targets) {
                    target.onRow(row);
                }
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
        let groups = this.windows.get(end);
        if (groups === undefined) {
            groups = new Map();
            this.windows.set(end, groups);
        }
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
        private readonly emit: (alias: string, rows: OutputRow[]) => void,
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
            (row.ts <= watermark ? ready : waiting).push(row);
        }
        if (ready.length === 0) {
            return;
        }
        this.pending = waiting;
        ready.sort((a, b) => a.ts - b.ts); // stable: rows of one timestamp keep their order
        this.emit(
            this.alias,
            ready.map((row) => toOutputRow(row.fields)),
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
