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
 * Builds the accumulator factory for COUNT(*), COUNT(x), COUNT(DISTINCT x), SUM, MIN, MAX and AVG. NULLs are
 * ignored except by COUNT(*); COUNT always yields a whole number (bigint); SUM/MIN/MAX/AVG of no values is NULL.
 */
export function accumulatorFor(call: CallExpression, fail: Fail): AccumulatorFactory {
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
    expectOneArgument(call);
    switch (call.name) {
        case 'SUM':
            return () => new Sum(fail);
        case 'AVG':
            return () => new Average(fail);
        case 'MIN':
            return () => new Extreme(-1, fail);
        default:
            return () => new Extreme(1, fail);
    }
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
