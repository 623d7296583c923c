import type { CallExpression, ColumnExpression, Expression } from './ast';
import { DATE_PARTS, dateDiff, type DatePart } from './dateFunctions';
import { QueryCompileError, QueryRuntimeError, type SourcePosition } from './errors';
import * as fn from './functions';
import { SCALAR_FUNCTIONS, TABLE_VALUED_FUNCTIONS } from './functionTable';
import * as records from './recordFunctions';
import { METADATA_COLUMN } from './rows';
import { DateTime, parseDateTime, parseDateTimeValue, type Value } from './values';
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
    /**
     * An analytic function (LAG, LAST, ISFIRST, or an aggregate with OVER (... LIMIT DURATION ...)): computed over
     * the statement's input before WHERE, so only a row scope offers it.
     */
    analytic?(call: CallExpression): Evaluator<C>;
    /** `System.Window().Id` in a grouped SELECT. */
    windowId?(at: SourcePosition): Evaluator<C>;
    /** A FROM/JOIN source named by itself, as the special DATEDIFF(unit, source1, source2) of a JOIN reads it. */
    sourceTime?(name: string): Evaluator<C> | undefined;
}

/** Aggregate functions (https://learn.microsoft.com/stream-analytics-query/aggregate-functions-azure-stream-analytics). */
export const AGGREGATES = new Set([
    'COUNT', 'SUM', 'MIN', 'MAX', 'AVG', 'STDEV', 'STDEVP', 'VAR', 'VARP', 'COLLECT', 'COLLECTTOP', 'TOPONE',
    'PERCENTILE_CONT', 'PERCENTILE_DISC',
]); // prettier-ignore

/** Analytic functions (https://learn.microsoft.com/stream-analytics-query/analytic-functions-azure-stream-analytics). */
export const ANALYTICS = new Set(['LAG', 'LAST', 'ISFIRST']);

/** Machine-learning functions: documented, but out of scope for a local engine. */
const UNSUPPORTED_FUNCTIONS = new Set(['ANOMALYDETECTION_SPIKEANDDIP', 'ANOMALYDETECTION_CHANGEPOINT']);

/** An aggregate of a GROUP BY (not one turned into an analytic function by OVER (... LIMIT DURATION ...)). */
export function isAggregateCall(expression: Expression): expression is CallExpression {
    return (
        expression.kind === 'call' && AGGREGATES.has(expression.name) && expression.over?.limitDuration === undefined
    );
}

/** LAG, LAST, ISFIRST, or an aggregate with OVER (... LIMIT DURATION ...). */
export function isAnalyticCall(expression: Expression): boolean {
    return (
        expression.kind === 'call' &&
        (ANALYTICS.has(expression.name) ||
            (AGGREGATES.has(expression.name) && expression.over?.limitDuration !== undefined))
    );
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
            if (expression.operator === '~') {
                const operand = compileExpression(expression.operand, scope);
                const asBit = isFloatTyped(expression.operand);
                const fail = failAt(expression.at);
                return (c) => fn.bitwiseNot(operand(c), asBit, fail);
            }
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
        case 'windowId':
            if (scope.windowId === undefined) {
                throw QueryCompileError.at(
                    'invalid',
                    expression.at,
                    'System.Window() can only be used in the SELECT of a GROUP BY with a window',
                );
            }
            return scope.windowId(expression.at);
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

/**
 * Whether an expression is a float whatever its value: a literal with a fraction or exponent (`75.0`), or a CAST to
 * float. Numbers do not carry their type at run time (a whole float is a whole number), so the bitwise operators
 * use this to apply the float rule of R:bitwise-and (`170 & 75.0` is `170 & 1`) where the query shows the type.
 */
function isFloatTyped(expression: Expression): boolean {
    return (
        (expression.kind === 'literal' && typeof expression.value === 'number' && !expression.isInteger) ||
        (expression.kind === 'cast' && expression.type === 'float')
    );
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
        case '&':
        case '|':
        case '^': {
            const operator = expression.operator;
            const [leftAsBit, rightAsBit] = [isFloatTyped(expression.left), isFloatTyped(expression.right)];
            const fail = failAt(expression.at);
            return (c) => fn.bitwise(operator, left(c), leftAsBit, right(c), rightAsBit, fail);
        }
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
    if (isAnalyticCall(call)) {
        if (scope.analytic === undefined) {
            throw QueryCompileError.at(
                'invalid',
                call.at,
                `the analytic function ${call.name} cannot be used here (nor inside another analytic function)`,
            );
        }
        return scope.analytic(call);
    }
    if (AGGREGATES.has(call.name)) {
        return scope.aggregate(call);
    }
    if (UNSUPPORTED_FUNCTIONS.has(call.name)) {
        throw QueryCompileError.at(
            'unsupported',
            call.at,
            `${call.name} (machine learning) is not supported by the local Stream Analytics engine`,
        );
    }
    if (isWindowCall(call) || ['DURATION', 'HOP', 'OFFSET', 'TIMEOUT', 'MAXDURATION', 'WINDOW'].includes(call.name)) {
        throw QueryCompileError.at('invalid', call.at, `${call.name} can only appear in GROUP BY`);
    }
    if (call.over !== undefined) {
        throw QueryCompileError.at('invalid', call.over.at, `OVER cannot follow ${call.name}`);
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
            // The metadata of the named source: in a JOIN, the row of that side.
            const metadata = scope.column({ kind: 'column', path: [input.path[0]!, METADATA_COLUMN], at: input.at });
            const path = compileExpression(call.args[1]!, scope);
            return (c) => records.metadataPropertyValue(fail, metadata(c), path(c));
        }
        case 'DATEDIFF': {
            // DATEDIFF(unit, source1, source2) in a JOIN's ON reads the two sources' event times
            // (https://learn.microsoft.com/stream-analytics-query/join-azure-stream-analytics); other calls fall through
            // to the function table.
            const sourceTime = (expression: Expression | undefined): Evaluator<C> | undefined =>
                expression?.kind === 'column' && expression.path.length === 1
                    ? scope.sourceTime?.(expression.path[0]!)
                    : undefined;
            const first = sourceTime(call.args[1]);
            const second = sourceTime(call.args[2]);
            if (first === undefined && second === undefined) {
                break;
            }
            arity(3, 3);
            const part = datePart(call.args[0]!);
            const a = first ?? compileExpression(call.args[1]!, scope);
            const b = second ?? compileExpression(call.args[2]!, scope);
            return (c) => dateDiff(part, a(c), b(c), fail);
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
            return `${expression.name}${expression.distinct ? '!d' : ''}(${expression.star ? '*' : expression.args.map(expressionKey).join(',')})${expression.over ? overKey(expression.over) : ''}`;
        case 'windowId':
            return 'windowid()';
    }
}

function overKey(over: NonNullable<CallExpression['over']>): string {
    const parts = [
        over.partitionBy.map(expressionKey).join(','),
        over.orderBy.map((item) => `${expressionKey(item.expression)}${item.descending ? ' desc' : ''}`).join(','),
        over.limitDuration
            ? `${expressionKey(over.limitDuration.unit)},${expressionKey(over.limitDuration.length)}`
            : '',
        over.when ? expressionKey(over.when) : '',
    ];
    return `over(${parts.join(';')})`;
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
            if (expression.over) {
                children.push(
                    ...expression.over.partitionBy,
                    ...expression.over.orderBy.map((item) => item.expression),
                );
                if (expression.over.when) {
                    children.push(expression.over.when);
                }
            }
            break;
        default:
            break;
    }
    for (const child of children) {
        walkExpression(child, visit);
    }
}

/** The last TIMESTAMP BY string read and its time: the events of one message usually share their timestamp. */
let lastTimestampText: string | undefined;
let lastTimestampMs = 0;

/**
 * The datetime a TIMESTAMP BY value denotes, in epoch milliseconds, or undefined when it is NULL or not a datetime.
 * Runs once per event: strings are read by parseDateTime (values.ts, the one datetime reader, whose fast path takes
 * the common full UTC form), and the last string read is remembered, since the events of one message share it.
 */
export function toEventTime(value: Value): number | undefined {
    if (typeof value === 'string') {
        if (value === lastTimestampText) {
            return lastTimestampMs;
        }
        const ms = parseDateTime(value);
        if (ms !== undefined) {
            lastTimestampText = value;
            lastTimestampMs = ms;
        }
        return ms;
    }
    return value instanceof DateTime ? value.ms : undefined;
}

/**
 * The 100 ns ticks past the millisecond (0-9999) of a value toEventTime accepted: a datetime's own, or those of the
 * string as parseDateTimeValue reads it. Kept apart from toEventTime so the common case, three fractional digits or
 * fewer (no character at index 23 is a digit), costs two character reads; any other string goes to the grammar, as
 * a 1- or 2-digit fraction may be followed by an offset's digits (`.5+0130`).
 */
export function eventSubMsTicks(value: Value): number {
    if (typeof value === 'string') {
        const fourth = value.charCodeAt(23) - 48; // NaN past the end of the text
        if (value.charCodeAt(19) !== 46 /* . */ || !(fourth >= 0 && fourth <= 9)) {
            return 0;
        }
        return parseDateTimeValue(value)?.subMsTicks ?? 0;
    }
    return value instanceof DateTime ? value.subMsTicks : 0;
}
