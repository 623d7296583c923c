import type { CallExpression, Expression } from './ast';
import { QueryCompileError } from './errors';

/**
 * A tumbling or hopping window. Window ends sit at `k * hop + offset` on a grid aligned to time zero (the Unix
 * epoch); a window covers (end - size, end]: start-exclusive, end-inclusive, so an event exactly on an edge
 * belongs to the window that ends there. A tumbling window is a hopping window whose hop equals its size.
 */
export interface WindowSpec {
    readonly sizeMs: number;
    readonly hopMs: number;
    readonly offsetMs: number;
}

const MAX_WINDOW_MS = 7 * 86_400_000;

const UNIT_MS: Readonly<Record<string, number>> = {
    DAY: 86_400_000, DD: 86_400_000, D: 86_400_000,
    HOUR: 3_600_000, HH: 3_600_000,
    MINUTE: 60_000, MI: 60_000, N: 60_000,
    SECOND: 1000, SS: 1000, S: 1000,
    MILLISECOND: 1, MS: 1,
    MICROSECOND: 0.001, MCS: 0.001,
}; // prettier-ignore

const WINDOW_FUNCTIONS = new Set(['TUMBLINGWINDOW', 'TUMBLING', 'HOPPINGWINDOW', 'HOPPING']);
const UNSUPPORTED_WINDOWS = new Set([
    'SLIDINGWINDOW', 'SLIDING', 'SESSIONWINDOW', 'SESSION', 'SNAPSHOTWINDOW', 'SNAPSHOT', 'WINDOWS',
]); // prettier-ignore

/** True when a GROUP BY item is a window function call this engine could be asked for (supported or not). */
export function isWindowCall(expression: Expression): boolean {
    return windowCall(expression) !== undefined;
}

export function windowCall(expression: Expression): CallExpression | undefined {
    return expression.kind === 'call' &&
        (WINDOW_FUNCTIONS.has(expression.name) || UNSUPPORTED_WINDOWS.has(expression.name))
        ? expression
        : undefined;
}

export function parseWindow(call: CallExpression): WindowSpec {
    if (UNSUPPORTED_WINDOWS.has(call.name)) {
        throw QueryCompileError.at(
            'unsupported',
            call.at,
            `${call.name} is not supported by the local Stream Analytics engine`,
        );
    }
    const hopping = call.name.startsWith('HOPPING');
    const named = call.args[0]?.kind === 'call' && call.args[0].name === 'DURATION';
    const spec = named ? namedForm(call, hopping) : positionalForm(call, hopping);
    if (spec.sizeMs <= 0 || spec.sizeMs > MAX_WINDOW_MS) {
        throw invalid(call, `window size must be more than 0 and at most 7 days (got ${spec.sizeMs} ms)`);
    }
    if (spec.hopMs <= 0 || spec.hopMs > spec.sizeMs) {
        throw invalid(call, `hop size must be more than 0 and at most the window size (got ${spec.hopMs} ms)`);
    }
    if (Math.abs(spec.offsetMs) >= spec.hopMs) {
        throw invalid(call, `offset must be smaller than the hop size (got ${spec.offsetMs} ms)`);
    }
    return spec;
}

/** `(unit, size[, hop][, offset])`. */
function positionalForm(call: CallExpression, hopping: boolean): WindowSpec {
    const expected = hopping ? [3, 4] : [2, 3];
    if (call.args.length < expected[0]! || call.args.length > expected[1]!) {
        throw invalid(call, `${call.name} takes (timeunit, windowsize${hopping ? ', hopsize' : ''}[, offsetsize])`);
    }
    const unit = timeUnit(call.args[0]!);
    const size = integer(call.args[1]!) * unit;
    const hop = hopping ? integer(call.args[2]!) * unit : size;
    const offsetArg = call.args[hopping ? 3 : 2];
    return checkWhole(call, { sizeMs: size, hopMs: hop, offsetMs: offsetArg ? integer(offsetArg) * unit : 0 });
}

/** `(Duration(unit, size)[, Hop(unit, hop)][, Offset(unit, offset)])`. */
function namedForm(call: CallExpression, hopping: boolean): WindowSpec {
    const parts = new Map<string, number>();
    for (const arg of call.args) {
        if (arg.kind !== 'call' || !['DURATION', 'HOP', 'OFFSET'].includes(arg.name) || parts.has(arg.name)) {
            throw invalid(arg, `${call.name} expects Duration(...)${hopping ? ', Hop(...)' : ''}[, Offset(...)] here`);
        }
        if (arg.args.length !== 2) {
            throw invalid(arg, `${arg.name} takes (timeunit, size)`);
        }
        parts.set(arg.name, integer(arg.args[1]!) * timeUnit(arg.args[0]!));
    }
    if (hopping !== parts.has('HOP')) {
        throw invalid(call, hopping ? `${call.name} needs a Hop(...)` : `${call.name} does not take a Hop(...)`);
    }
    const size = parts.get('DURATION')!;
    return checkWhole(call, { sizeMs: size, hopMs: parts.get('HOP') ?? size, offsetMs: parts.get('OFFSET') ?? 0 });
}

function checkWhole(call: CallExpression, spec: WindowSpec): WindowSpec {
    if (![spec.sizeMs, spec.hopMs, spec.offsetMs].every(Number.isInteger)) {
        throw QueryCompileError.at(
            'unsupported',
            call.at,
            'window sizes that are not whole milliseconds are not supported by the local Stream Analytics engine',
        );
    }
    return spec;
}

function timeUnit(expression: Expression): number {
    const unit =
        expression.kind === 'column' && expression.path.length === 1
            ? UNIT_MS[expression.path[0]!.toUpperCase()]
            : undefined;
    if (unit === undefined) {
        throw invalid(expression, 'expected a time unit (day, hour, minute, second, millisecond or microsecond)');
    }
    return unit;
}

function integer(expression: Expression): number {
    if (expression.kind === 'literal' && expression.isInteger && typeof expression.value === 'number') {
        return expression.value;
    }
    if (expression.kind === 'unary' && expression.operator === '-') {
        return -integer(expression.operand);
    }
    throw invalid(expression, 'expected a whole-number literal');
}

function invalid(expression: Expression, reason: string): QueryCompileError {
    return QueryCompileError.at('invalid', expression.at, reason);
}

/** The end of the first window that contains `ts`: the smallest grid point at or after it. */
export function firstWindowEnd(spec: WindowSpec, ts: number): number {
    return Math.ceil((ts - spec.offsetMs) / spec.hopMs) * spec.hopMs + spec.offsetMs;
}

/** Every window end whose window (end - size, end] contains `ts`, in ascending order. */
export function windowEndsFor(spec: WindowSpec, ts: number): number[] {
    const ends: number[] = [];
    for (let end = firstWindowEnd(spec, ts); end - spec.sizeMs < ts; end += spec.hopMs) {
        ends.push(end);
    }
    return ends;
}
