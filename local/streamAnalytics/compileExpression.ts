import type { CallExpression, ColumnExpression, Expression } from './ast';
import { DATE_PARTS, type DatePart } from './dateFunctions';
import { QueryCompileError, QueryRuntimeError, type SourcePosition } from './errors';
import * as fn from './functions';
import { SCALAR_FUNCTIONS, TABLE_VALUED_FUNCTIONS } from './functionTable';
import * as records from './recordFunctions';
import { METADATA_COLUMN } from './rows';
import { DateTime, parseDateTime, type Value } from './values';
import { isWindowCall } from './windows';

/** A compiled expression: a closure over the context it runs in (an event row, or a closed window's group). */
export type Evaluator<C> = (context: C) => Value;

/** How names resolve in the clause being compiled; each clause kind (row, grouped, TIMESTAMP BY) supplies one. */
export interface Scope<C> {
    column(expression: ColumnExpression): Evaluator<C>;
    timestamp(at: SourcePosition): Evaluator<C>;
    /** A grouped SELECT/HAVING reads GROUP BY expressions from the group instead of re-evaluating them. */
    groupExpression?(expression: Expression): Evaluator<C> | undefined;
    /** Returns the evaluator of an aggregate call, or throws where aggregates are not allowed. */
    aggregate(call: CallExpression): Evaluator<C>;
}

export const AGGREGATES = new Set(['COUNT', 'SUM', 'MIN', 'MAX', 'AVG']);
const UNSUPPORTED_AGGREGATES = new Set([
    'TOPONE', 'COLLECT', 'COLLECTTOP', 'PERCENTILE_CONT', 'PERCENTILE_DISC', 'STDEV', 'STDEVP', 'VAR', 'VARP',
    'LAG', 'LAST', 'ISFIRST', 'ANOMALYDETECTION_SPIKEANDDIP', 'ANOMALYDETECTION_CHANGEPOINT',
]); // prettier-ignore

export function isAggregateCall(expression: Expression): expression is CallExpression {
    return expression.kind === 'call' && AGGREGATES.has(expression.name);
}

export function compileExpression<C>(expression: Expression, scope: Scope<C>): Evaluator<C> {
    const grouped = scope.groupExpression?.(expression);
    if (grouped !== undefined) {
        return grouped;
    }
    switch (expression.kind) {
        case 'literal': {
            const value = expression.value;
            return () => value;
        }
        case 'column':
            return scope.column(expression);
        case 'timestamp':
            return scope.timestamp(expression.at);
        case 'unary':
            return compileUnary(expression.operator, compileExpression(expression.operand, scope), expression.at);
        case 'binary':
            return compileBinary(expression, scope);
        case 'isNull': {
            const operand = compileExpression(expression.operand, scope);
            return expression.negated ? (c) => operand(c) !== null : (c) => operand(c) === null;
        }
        case 'between': {
            const [operand, low, high] = [expression.operand, expression.low, expression.high].map((e) =>
                compileExpression(e, scope),
            ) as [Evaluator<C>, Evaluator<C>, Evaluator<C>];
            const negated = expression.negated;
            return (c) => {
                const value = operand(c);
                const above = fn.compare(value, low(c));
                const below = fn.compare(value, high(c));
                if (above === undefined || below === undefined) {
                    return null;
                }
                return (above >= 0 && below <= 0) !== negated;
            };
        }
        case 'in': {
            const operand = compileExpression(expression.operand, scope);
            const list = expression.list.map((e) => compileExpression(e, scope));
            const negated = expression.negated;
            return (c) => {
                const value = operand(c);
                if (value === null) {
                    return null;
                }
                return list.some((item) => fn.compare(value, item(c)) === 0) !== negated;
            };
        }
        case 'case':
            return compileCase(expression, scope);
        case 'cast': {
            const operand = compileExpression(expression.operand, scope);
            const type = expression.type;
            if (expression.orNull) {
                return (c) => {
                    try {
                        return fn.cast(operand(c), type, castFailed);
                    } catch (error) {
                        if (error === CAST_FAILED) {
                            return null;
                        }
                        throw error;
                    }
                };
            }
            const fail = failAt(expression.at);
            return (c) => fn.cast(operand(c), type, fail);
        }
        case 'call':
            return compileCall(expression, scope);
    }
}

/** Thrown by TRY_CAST's conversion and caught right there; one shared instance, as it carries no data. */
const CAST_FAILED = new Error('TRY_CAST failed');
const castFailed: fn.Fail = () => {
    throw CAST_FAILED;
};

/** A `fail` that raises a QueryRuntimeError at the expression's position. */
export function failAt(at: SourcePosition): fn.Fail {
    return (value, reason) => {
        throw new QueryRuntimeError(at.line, at.column, value, reason);
    };
}

function compileUnary<C>(operator: '-' | '+' | 'NOT', operand: Evaluator<C>, at: SourcePosition): Evaluator<C> {
    if (operator === 'NOT') {
        return (c) => {
            const value = operand(c);
            return typeof value === 'boolean' ? !value : null;
        };
    }
    const fail = failAt(at);
    const sign = operator === '-' ? -1 : 1;
    return (c) => {
        const value = operand(c);
        if (value === null) {
            return null;
        }
        return typeof value === 'number' ? sign * value : fail(value, `unary ${operator} needs a number`);
    };
}

function compileBinary<C>(expression: Expression & { kind: 'binary' }, scope: Scope<C>): Evaluator<C> {
    const left = compileExpression(expression.left, scope);
    const right = compileExpression(expression.right, scope);
    switch (expression.operator) {
        case 'AND':
            return (c) => {
                const a = left(c);
                if (a === false) {
                    return false;
                }
                const b = right(c);
                if (b === false) {
                    return false;
                }
                return a === true && b === true ? true : null;
            };
        case 'OR':
            return (c) => {
                const a = left(c);
                if (a === true) {
                    return true;
                }
                const b = right(c);
                if (b === true) {
                    return true;
                }
                return a === false && b === false ? false : null;
            };
        case '=':
            return comparison(left, right, (order) => order === 0);
        case '<>':
            return comparison(left, right, (order) => order !== 0);
        case '<':
            return comparison(left, right, (order) => order < 0);
        case '<=':
            return comparison(left, right, (order) => order <= 0);
        case '>':
            return comparison(left, right, (order) => order > 0);
        case '>=':
            return comparison(left, right, (order) => order >= 0);
        default: {
            const arithmeticOperator = expression.operator;
            const fail = failAt(expression.at);
            return (c) => fn.arithmetic(arithmeticOperator, left(c), right(c), fail);
        }
    }
}

function comparison<C>(left: Evaluator<C>, right: Evaluator<C>, test: (order: number) => boolean): Evaluator<C> {
    return (c) => {
        const order = fn.compare(left(c), right(c));
        return order === undefined ? null : test(order);
    };
}

function compileCase<C>(expression: Expression & { kind: 'case' }, scope: Scope<C>): Evaluator<C> {
    const operand = expression.operand ? compileExpression(expression.operand, scope) : undefined;
    const branches = expression.branches.map((branch) => ({
        when: compileExpression(branch.when, scope),
        then: compileExpression(branch.then, scope),
    }));
    const otherwise = expression.otherwise ? compileExpression(expression.otherwise, scope) : () => null;
    if (operand === undefined) {
        return (c) => {
            for (const branch of branches) {
                if (branch.when(c) === true) {
                    return branch.then(c);
                }
            }
            return otherwise(c);
        };
    }
    return (c) => {
        const value = operand(c);
        for (const branch of branches) {
            if (fn.compare(value, branch.when(c)) === 0) {
                return branch.then(c);
            }
        }
        return otherwise(c);
    };
}

function compileCall<C>(call: CallExpression, scope: Scope<C>): Evaluator<C> {
    if (AGGREGATES.has(call.name)) {
        return scope.aggregate(call);
    }
    if (UNSUPPORTED_AGGREGATES.has(call.name)) {
        throw QueryCompileError.at(
            'unsupported',
            call.at,
            `${call.name} is not supported by the local Stream Analytics engine`,
        );
    }
    if (isWindowCall(call) || ['DURATION', 'HOP', 'OFFSET'].includes(call.name)) {
        throw QueryCompileError.at('invalid', call.at, `${call.name} can only appear in GROUP BY`);
    }
    if (call.star || call.distinct) {
        throw QueryCompileError.at(
            'invalid',
            call.at,
            `${call.star ? '*' : 'DISTINCT'} is only allowed in aggregates, not in ${call.name}`,
        );
    }
    if (TABLE_VALUED_FUNCTIONS.has(call.name)) {
        throw QueryCompileError.at(
            'invalid',
            call.at,
            `${call.name} returns a table: use it as CROSS APPLY ${call.name}(...) AS alias, not as a value`,
        );
    }
    const fail = failAt(call.at);
    const arity = (min: number, max: number): void => {
        if (call.args.length < min || call.args.length > max) {
            const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
            throw QueryCompileError.at(
                'invalid',
                call.at,
                `${call.name} takes ${expected} arguments (got ${call.args.length})`,
            );
        }
    };
    const compileArgs = (from = 0): Evaluator<C>[] => call.args.slice(from).map((arg) => compileExpression(arg, scope));
    switch (call.name) {
        case 'COALESCE': {
            arity(1, Infinity);
            const parts = compileArgs();
            return (c) => {
                for (const part of parts) {
                    const value = part(c);
                    if (value !== null) {
                        return value;
                    }
                }
                return null;
            };
        }
        case 'NULLIF': {
            // NULLIF(a, b): NULL when a equals b, else a (R:nullif).
            arity(2, 2);
            const [a, b] = compileArgs() as [Evaluator<C>, Evaluator<C>];
            return (c) => {
                const value = a(c);
                return fn.compare(value, b(c)) === 0 ? null : value;
            };
        }
        case 'GETMETADATAPROPERTYVALUE': {
            arity(2, 2);
            const input = call.args[0]!;
            if (input.kind !== 'column' || input.path.length !== 1) {
                throw QueryCompileError.at(
                    'invalid',
                    input.at,
                    'the first argument of GetMetadataPropertyValue is the input alias',
                );
            }
            const metadata = scope.column({ kind: 'column', path: [METADATA_COLUMN], at: input.at });
            const path = compileExpression(call.args[1]!, scope);
            return (c) => records.metadataPropertyValue(fail, metadata(c), path(c));
        }
        default:
            break;
    }
    const builtin = SCALAR_FUNCTIONS.get(call.name);
    if (builtin === undefined) {
        throw QueryCompileError.at(
            'unsupported',
            call.at,
            `function ${call.name} is not supported by the local Stream Analytics engine`,
        );
    }
    arity(builtin.minArgs, builtin.maxArgs);
    const args = builtin.datePart ? [constant<C>(datePart(call.args[0]!)), ...compileArgs(1)] : compileArgs();
    const evaluate = builtin.evaluate;
    // Fixed-arity closures keep the per-event path free of argument arrays.
    switch (args.length) {
        case 0:
            return () => evaluate(fail);
        case 1: {
            const [a] = args as [Evaluator<C>];
            return (c) => evaluate(fail, a(c));
        }
        case 2: {
            const [a, b] = args as [Evaluator<C>, Evaluator<C>];
            return (c) => evaluate(fail, a(c), b(c));
        }
        case 3: {
            const [a, b, d] = args as [Evaluator<C>, Evaluator<C>, Evaluator<C>];
            return (c) => evaluate(fail, a(c), b(c), d(c));
        }
        default:
            return (c) => evaluate(fail, ...args.map((arg) => arg(c)));
    }
}

function constant<C>(value: Value): Evaluator<C> {
    return () => value;
}

function datePart(expression: Expression): DatePart {
    const name = expression.kind === 'column' && expression.path.length === 1 ? expression.path[0]!.toUpperCase() : '';
    const part = DATE_PARTS[name];
    if (part !== undefined) {
        return part;
    }
    throw QueryCompileError.at(
        'invalid',
        expression.at,
        'expected a date part (year, quarter, month, dayofyear, day, week, weekday, hour, minute, second, ' +
            'millisecond, microsecond, nanosecond)',
    );
}

/**
 * A canonical text for an expression, equal for two expressions exactly when they are the same up to positions
 * and the case of names: how a grouped SELECT recognises `UPPER(SUBSTRING(name, 1, 1))` as its GROUP BY key.
 */
export function expressionKey(expression: Expression): string {
    switch (expression.kind) {
        case 'literal':
            return `lit(${JSON.stringify(expression.value)})`;
        case 'column':
            return `col(${expression.path.map((part) => part.toUpperCase()).join('.')})`;
        case 'timestamp':
            return 'ts()';
        case 'unary':
            return `${expression.operator}(${expressionKey(expression.operand)})`;
        case 'binary':
            return `${expression.operator}(${expressionKey(expression.left)},${expressionKey(expression.right)})`;
        case 'isNull':
            return `isnull${expression.negated ? '!' : ''}(${expressionKey(expression.operand)})`;
        case 'between':
            return `between${expression.negated ? '!' : ''}(${[expression.operand, expression.low, expression.high].map(expressionKey).join(',')})`;
        case 'in':
            return `in${expression.negated ? '!' : ''}(${[expression.operand, ...expression.list].map(expressionKey).join(',')})`;
        case 'case':
            return `case(${expression.operand ? expressionKey(expression.operand) : ''};${expression.branches
                .map((b) => `${expressionKey(b.when)}=>${expressionKey(b.then)}`)
                .join(';')};${expression.otherwise ? expressionKey(expression.otherwise) : ''})`;
        case 'cast':
            return `${expression.orNull ? 'trycast' : 'cast'}(${expressionKey(expression.operand)},${expression.type})`;
        case 'call':
            return `${expression.name}${expression.distinct ? '!d' : ''}(${expression.star ? '*' : expression.args.map(expressionKey).join(',')})`;
    }
}

/** Visits every sub-expression, outermost first; `visit` returns false to skip an expression's children. */
export function walkExpression(expression: Expression, visit: (expression: Expression) => boolean): void {
    if (!visit(expression)) {
        return;
    }
    const children: Expression[] = [];
    switch (expression.kind) {
        case 'unary':
        case 'isNull':
        case 'cast':
            children.push(expression.operand);
            break;
        case 'binary':
            children.push(expression.left, expression.right);
            break;
        case 'between':
            children.push(expression.operand, expression.low, expression.high);
            break;
        case 'in':
            children.push(expression.operand, ...expression.list);
            break;
        case 'case':
            if (expression.operand) {
                children.push(expression.operand);
            }
            for (const branch of expression.branches) {
                children.push(branch.when, branch.then);
            }
            if (expression.otherwise) {
                children.push(expression.otherwise);
            }
            break;
        case 'call':
            children.push(...expression.args);
            break;
        default:
            break;
    }
    for (const child of children) {
        walkExpression(child, visit);
    }
}

/** The datetime a TIMESTAMP BY value denotes, or undefined when it is NULL or not a datetime. */
export function toEventTime(value: Value): number | undefined {
    if (value instanceof DateTime) {
        return value.ms;
    }
    return typeof value === 'string' ? parseDateTime(value) : undefined;
}
