import type { CallExpression } from './ast';
import { QueryCompileError } from './errors';
import { compare, type Fail } from './functions';
import { typeName, type Value, valueKey } from './values';

/** The running state of one aggregate in one group of one window. */
export interface Accumulator {
    add(value: Value): void;
    result(): Value;
}

export type AccumulatorFactory = () => Accumulator;

/**
 * Builds the accumulator factory of an aggregate
 * (https://learn.microsoft.com/stream-analytics-query/aggregate-functions-azure-stream-analytics). NULLs are
 * ignored except by COUNT(*); COUNT always yields a whole number (bigint); the others yield NULL for no values.
 *
 * What `add` receives: the argument's value; for TopOne and CollectTop a pair `[value, orderKeys]`; for
 * Percentile_Cont/Disc the ORDER BY value. `descending` gives the OVER (ORDER BY ...) directions.
 */
export function accumulatorFor(
    call: CallExpression,
    fail: Fail,
    descending: readonly boolean[] = [],
): AccumulatorFactory {
    if (call.name === 'COUNT') {
        if (call.star) {
            return () => new CountAll();
        }
        expectOneArgument(call);
        return call.distinct ? () => new CountDistinct() : () => new CountValues();
    }
    if (call.star) {
        throw QueryCompileError.at('invalid', call.at, `${call.name}(*) is not valid; only COUNT takes *`);
    }
    if (call.distinct) {
        throw QueryCompileError.at(
            'unsupported',
            call.at,
            `${call.name}(DISTINCT ...) is not supported by the local Stream Analytics engine`,
        );
    }
    switch (call.name) {
        case 'TOPONE':
            return () => new Top(1, descending, false);
        case 'COLLECTTOP':
            return () => new Top(collectTopCount(call), descending, true);
        case 'COLLECT':
            return () => new Collect();
        case 'PERCENTILE_CONT':
        case 'PERCENTILE_DISC': {
            const fraction = percentile(call);
            const continuous = call.name === 'PERCENTILE_CONT';
            return () => new Percentile(fraction, descending[0] ?? false, continuous, call.name, fail);
        }
        default:
            break;
    }
    expectOneArgument(call);
    switch (call.name) {
        case 'SUM':
            return () => new Sum(fail);
        case 'AVG':
            return () => new Average(fail);
        case 'MIN':
            return () => new Extreme(-1, fail);
        case 'STDEV':
        case 'STDEVP':
        case 'VAR':
        case 'VARP':
            return () => new Spread(call.name as 'STDEV' | 'STDEVP' | 'VAR' | 'VARP', fail);
        default:
            return () => new Extreme(1, fail);
    }
}

/** CollectTop's n: "number of events as integer literal" (https://learn.microsoft.com/stream-analytics-query/collecttop-azure-stream-analytics). */
export function collectTopCount(call: CallExpression): number {
    const first = call.args[0];
    if (first?.kind !== 'literal' || !first.isInteger || typeof first.value !== 'number' || first.value < 1) {
        throw QueryCompileError.at('invalid', call.at, 'CollectTop takes a whole-number literal of at least 1 first');
    }
    return first.value;
}

/** The p of PERCENTILE_CONT/DISC(p): a literal in [0, 1]. */
function percentile(call: CallExpression): number {
    const first = call.args[0];
    if (
        call.args.length !== 1 ||
        first?.kind !== 'literal' ||
        typeof first.value !== 'number' ||
        first.value < 0 ||
        first.value > 1
    ) {
        throw QueryCompileError.at('invalid', call.at, `${call.name} takes one numeric literal between 0 and 1`);
    }
    return first.value;
}

function expectOneArgument(call: CallExpression): void {
    if (call.args.length !== 1) {
        throw QueryCompileError.at('invalid', call.at, `${call.name} takes 1 argument (got ${call.args.length})`);
    }
}

class CountAll implements Accumulator {
    private count = 0;
    add(): void {
        this.count += 1;
    }
    result(): Value {
        return this.count;
    }
}

class CountValues implements Accumulator {
    private count = 0;
    add(value: Value): void {
        if (value !== null) {
            this.count += 1;
        }
    }
    result(): Value {
        return this.count;
    }
}

class CountDistinct implements Accumulator {
    private readonly seen = new Set<string | number>();
    add(value: Value): void {
        if (value !== null) {
            this.seen.add(valueKey(value));
        }
    }
    result(): Value {
        return this.seen.size;
    }
}

class Sum implements Accumulator {
    private total: number | null = null;
    constructor(private readonly fail: Fail) {}
    add(value: Value): void {
        if (value === null) {
            return;
        }
        if (typeof value !== 'number') {
            this.fail(value, `SUM needs numbers, not ${typeName(value)}`);
        }
        this.total = (this.total ?? 0) + value;
    }
    result(): Value {
        return this.total;
    }
}

class Average implements Accumulator {
    private total = 0;
    private count = 0;
    constructor(private readonly fail: Fail) {}
    add(value: Value): void {
        if (value === null) {
            return;
        }
        if (typeof value !== 'number') {
            this.fail(value, `AVG needs numbers, not ${typeName(value)}`);
        }
        this.total += value;
        this.count += 1;
    }
    result(): Value {
        return this.count === 0 ? null : this.total / this.count;
    }
}

class Extreme implements Accumulator {
    private best: Value = null;
    constructor(
        private readonly direction: 1 | -1,
        private readonly fail: Fail,
    ) {}
    add(value: Value): void {
        if (value === null) {
            return;
        }
        if (this.best === null) {
            this.best = value;
            return;
        }
        const order = compare(value, this.best);
        if (order === undefined) {
            this.fail(
                value,
                `${this.direction > 0 ? 'MAX' : 'MIN'} cannot compare ${typeName(value)} with ${typeName(this.best)}`,
            );
        }
        if (order * this.direction > 0) {
            this.best = value;
        }
    }
    result(): Value {
        return this.best;
    }
}

/** STDEV/VAR (sample, n - 1) and STDEVP/VARP (population, n), computed with Welford's update; float results. */
class Spread implements Accumulator {
    private count = 0;
    private mean = 0;
    private squares = 0;
    constructor(
        private readonly kind: 'STDEV' | 'STDEVP' | 'VAR' | 'VARP',
        private readonly fail: Fail,
    ) {}
    add(value: Value): void {
        if (value === null) {
            return;
        }
        if (typeof value !== 'number') {
            this.fail(value, `${this.kind} needs numbers, not ${typeName(value)}`);
        }
        this.count += 1;
        const delta = value - this.mean;
        this.mean += delta / this.count;
        this.squares += delta * (value - this.mean);
    }
    result(): Value {
        const population = this.kind === 'STDEVP' || this.kind === 'VARP';
        const divisor = population ? this.count : this.count - 1;
        // T-SQL gives NULL for the sample statistics of fewer than two values; the reference does not say.
        if (this.count === 0 || divisor === 0) {
            return null;
        }
        const variance = Math.max(this.squares / divisor, 0);
        return this.kind.startsWith('STDEV') ? Math.sqrt(variance) : variance;
    }
}

/** Collect([e]): every value (NULLs too), in arrival order (https://learn.microsoft.com/stream-analytics-query/collect-azure-stream-analytics). */
class Collect implements Accumulator {
    private readonly values: Value[] = [];
    add(value: Value): void {
        this.values.push(value);
    }
    result(): Value {
        return [...this.values];
    }
}

/**
 * TopOne / CollectTop(n) OVER (ORDER BY ...): the first events in the ORDER BY order, NULL sorting lowest; equal keys
 * keep arrival order. CollectTop gives `[{rank, value}]` with RANK numbering (ties share a rank).
 */
class Top implements Accumulator {
    private readonly entries: { readonly value: Value; readonly keys: readonly Value[] }[] = [];
    constructor(
        private readonly count: number,
        private readonly descending: readonly boolean[],
        private readonly ranked: boolean,
    ) {}
    add(pair: Value): void {
        const [value, keys] = pair as unknown as [Value, readonly Value[]];
        this.entries.push({ value, keys });
    }
    result(): Value {
        const sorted = [...this.entries].sort((a, b) => this.order(a.keys, b.keys));
        if (!this.ranked) {
            return sorted.length === 0 ? null : sorted[0]!.value;
        }
        const top: Value[] = [];
        let rank = 0;
        for (let index = 0; index < sorted.length && index < this.count; index += 1) {
            if (index === 0 || this.order(sorted[index - 1]!.keys, sorted[index]!.keys) !== 0) {
                rank = index + 1;
            }
            top.push({ rank, value: sorted[index]!.value });
        }
        return top;
    }
    private order(a: readonly Value[], b: readonly Value[]): number {
        for (let index = 0; index < a.length; index += 1) {
            const left = a[index]!;
            const right = b[index]!;
            let order: number;
            if (left === null || right === null) {
                order = left === right ? 0 : left === null ? -1 : 1;
            } else {
                order = compare(left, right) ?? 0;
            }
            if (order !== 0) {
                return this.descending[index] ? -order : order;
            }
        }
        return 0;
    }
}

/**
 * PERCENTILE_CONT(p): linear interpolation at position p * (N - 1) of the sorted values (the reference's example:
 * 0.95 of 0.78, 0.89, 0.93, 0.98, 0.99 is 0.988). PERCENTILE_DISC(p): the first sorted value whose cumulative
 * distribution reaches p (0.99 for the same example). NULLs are ignored.
 */
class Percentile implements Accumulator {
    private readonly values: number[] = [];
    constructor(
        private readonly fraction: number,
        private readonly descending: boolean,
        private readonly continuous: boolean,
        private readonly name: string,
        private readonly fail: Fail,
    ) {}
    add(value: Value): void {
        if (value === null) {
            return;
        }
        if (typeof value !== 'number') {
            this.fail(value, `${this.name} orders by numbers, not ${typeName(value)}`);
        }
        this.values.push(value);
    }
    result(): Value {
        if (this.values.length === 0) {
            return null;
        }
        const sorted = [...this.values].sort((a, b) => (this.descending ? b - a : a - b));
        if (this.continuous) {
            const position = this.fraction * (sorted.length - 1);
            const lower = Math.floor(position);
            const upper = Math.ceil(position);
            return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
        }
        const index = Math.max(Math.ceil(this.fraction * sorted.length) - 1, 0);
        return sorted[index]!;
    }
}
