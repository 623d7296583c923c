import type { AccumulatorFactory } from './aggregates';
import type { Evaluator } from './compileExpression';
import { isTrue } from './functions';
import type { Operator } from './operators';
import type { Row } from './rows';
import { type Value, valueKey } from './values';
import { firstWindowEnd, type WindowSpec } from './windows';

/**
 * Analytic functions (https://learn.microsoft.com/stream-analytics-query/analytic-functions-azure-stream-analytics):
 * LAG, LAST, ISFIRST and aggregates with `OVER (... LIMIT DURATION ...)`. They are computed over every event of the
 * statement's input (in a JOIN, of the source they read), in timestamp order (arrival order among equal
 * timestamps), before WHERE, JOIN and GROUP BY.
 * `PARTITION BY` keeps one history per key; `WHEN` decides which events enter the history; `LIMIT DURATION` bounds
 * how far back an event may be, which also bounds the memory each history holds.
 */
export interface AnalyticFunction {
    /** The value for `row`; `qualifies` is the row's WHEN result (true without WHEN). */
    evaluate(row: Row, partition: string | number, qualifies: boolean): Value;
    /** Drops state no later event can need, now that every later event is at or after `watermark`. */
    prune(watermark: number): void;
}

export interface AnalyticDefinition {
    readonly partitionBy: readonly Evaluator<Row>[];
    readonly when: Evaluator<Row> | undefined;
    readonly create: () => AnalyticFunction;
    /** How far before an event the events its value depends on can lie (LIMIT DURATION, or ISFIRST's interval), ms. */
    readonly lookbackMs: number;
}

/** Computes the statement's analytic functions for each row (arriving in timestamp order) and attaches them. */
export class AnalyticOperator implements Operator {
    readonly targets: Operator[] = [];
    private readonly functions: AnalyticFunction[];

    constructor(private readonly definitions: readonly AnalyticDefinition[]) {
        this.functions = definitions.map((definition) => definition.create());
    }

    onRow(row: Row): void {
        const analytics: Value[] = new Array<Value>(this.definitions.length);
        for (let index = 0; index < this.definitions.length; index += 1) {
            const definition = this.definitions[index]!;
            const partition = partitionKey(definition.partitionBy, row);
            const qualifies = definition.when === undefined || isTrue(definition.when(row));
            analytics[index] = this.functions[index]!.evaluate(row, partition, qualifies);
        }
        const extended: Row = {
            fields: row.fields,
            ts: row.ts,
            subMsTicks: row.subMsTicks,
            enqueuedMs: row.enqueuedMs,
            event: row.event,
            properties: row.properties,
            analytics,
        };
        for (const target of this.targets) {
            target.onRow(extended);
        }
    }

    onWatermark(watermark: number): void {
        for (const fn of this.functions) {
            fn.prune(watermark);
        }
        for (const target of this.targets) {
            target.onWatermark(watermark);
        }
    }
}

function partitionKey(partitionBy: readonly Evaluator<Row>[], row: Row): string | number {
    if (partitionBy.length === 0) {
        return '';
    }
    if (partitionBy.length === 1) {
        return valueKey(partitionBy[0]!(row));
    }
    return partitionBy.map((key) => `${String(valueKey(key(row)))}`).join('\u0001');
}

interface Entry {
    readonly ts: number;
    readonly value: Value;
}

/** Entries of one partition in timestamp order, dropping those older than the duration from the front. */
class History {
    private entries: Entry[] = [];
    private head = 0;

    push(entry: Entry): void {
        this.entries.push(entry);
    }

    /** Forgets entries with ts < oldest. */
    dropBefore(oldest: number): void {
        while (this.head < this.entries.length && this.entries[this.head]!.ts < oldest) {
            this.head += 1;
        }
        // Compact once half the array is dead: amortised O(1) per entry, and a partition that gets an event now and
        // then (thousands of keys) holds about its live entries, not up to 64 dead ones as well.
        if (this.head > 0 && this.head * 2 >= this.entries.length) {
            this.entries = this.entries.slice(this.head);
            this.head = 0;
        }
    }

    get size(): number {
        return this.entries.length - this.head;
    }

    /** The entry `back` places from the newest (0 = newest), or undefined. */
    fromNewest(back: number): Entry | undefined {
        const index = this.entries.length - 1 - back;
        return index >= this.head ? this.entries[index] : undefined;
    }

    forEach(visit: (entry: Entry) => void): void {
        for (let index = this.head; index < this.entries.length; index += 1) {
            visit(this.entries[index]!);
        }
    }

    newest(): number {
        return this.entries.length > this.head ? this.entries[this.entries.length - 1]!.ts : -Infinity;
    }
}

/** Histories by partition key, pruned by LIMIT DURATION. */
abstract class HistoryFunction implements AnalyticFunction {
    private readonly histories = new Map<string | number, History>();

    constructor(protected readonly durationMs: number) {}

    abstract evaluate(row: Row, partition: string | number, qualifies: boolean): Value;

    protected history(partition: string | number, now: number): History {
        let history = this.histories.get(partition);
        if (history === undefined) {
            history = new History();
            this.histories.set(partition, history);
        }
        // LIMIT DURATION(unit, n): events at most n units before the current one count.
        history.dropBefore(now - this.durationMs);
        return history;
    }

    prune(watermark: number): void {
        for (const [partition, history] of this.histories) {
            if (history.newest() < watermark - this.durationMs) {
                this.histories.delete(partition);
            }
        }
    }

    /** Events held over all partitions; bounded by the duration. */
    held(): number {
        let held = 0;
        for (const history of this.histories.values()) {
            held += history.size;
        }
        return held;
    }
}

/**
 * LAG(e, offset, default) (https://learn.microsoft.com/stream-analytics-query/lag-azure-stream-analytics): e of the
 * offset-th previous qualifying event of the partition within the duration; default (or NULL) when there is none.
 * LAST(e, default) (https://learn.microsoft.com/stream-analytics-query/last-azure-stream-analytics) is the same
 * counting the current event (offset 0).
 */
export class LagFunction extends HistoryFunction {
    constructor(
        private readonly value: Evaluator<Row>,
        private readonly offset: number,
        private readonly fallback: Evaluator<Row> | undefined,
        durationMs: number,
    ) {
        super(durationMs);
    }

    evaluate(row: Row, partition: string | number, qualifies: boolean): Value {
        const history = this.history(partition, row.ts);
        let result: Value;
        if (this.offset === 0) {
            if (qualifies) {
                history.push({ ts: row.ts, value: this.value(row) });
            }
            const last = history.fromNewest(0);
            result = last !== undefined ? last.value : this.fallback === undefined ? null : this.fallback(row);
        } else {
            const previous = history.fromNewest(this.offset - 1);
            result = previous !== undefined ? previous.value : this.fallback === undefined ? null : this.fallback(row);
            if (qualifies) {
                history.push({ ts: row.ts, value: this.value(row) });
            }
        }
        return result;
    }
}

/**
 * `AGG(e) OVER ([PARTITION BY k] LIMIT DURATION(unit, n) [WHEN c])`
 * (https://learn.microsoft.com/stream-analytics-query/over-azure-stream-analytics): the aggregate over the current
 * event and the qualifying events of its partition at most the duration before it.
 */
export class OverAggregateFunction extends HistoryFunction {
    constructor(
        private readonly argument: Evaluator<Row> | undefined,
        private readonly accumulator: AccumulatorFactory,
        durationMs: number,
    ) {
        super(durationMs);
    }

    evaluate(row: Row, partition: string | number, qualifies: boolean): Value {
        const history = this.history(partition, row.ts);
        if (qualifies) {
            history.push({ ts: row.ts, value: this.argument === undefined ? null : this.argument(row) });
        }
        const accumulator = this.accumulator();
        history.forEach((entry) => accumulator.add(entry.value));
        return accumulator.result();
    }
}

/**
 * ISFIRST(unit, n) (https://learn.microsoft.com/stream-analytics-query/isfirst-azure-stream-analytics): 1 when the
 * event is the first qualifying one of its partition in its n-unit interval (aligned as tumbling windows), else 0;
 * 0 when the event itself fails WHEN.
 */
export class IsFirstFunction implements AnalyticFunction {
    private readonly intervalEnds = new Map<string | number, number>();

    constructor(private readonly interval: WindowSpec) {}

    evaluate(row: Row, partition: string | number, qualifies: boolean): Value {
        if (!qualifies) {
            return 0;
        }
        const end = firstWindowEnd(this.interval, row.ts);
        if (this.intervalEnds.get(partition) === end) {
            return 0;
        }
        this.intervalEnds.set(partition, end);
        return 1;
    }

    prune(watermark: number): void {
        for (const [partition, end] of this.intervalEnds) {
            if (end < watermark) {
                this.intervalEnds.delete(partition);
            }
        }
    }
}
