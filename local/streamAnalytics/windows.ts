import type { CallExpression, Expression } from './ast';
import type { SourcePosition } from './errors';
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
    // Plurals appear in the reference's own examples (`SlidingWindow(hours, 1)` on the PERCENTILE pages).
    DAYS: 86_400_000, HOURS: 3_600_000, MINUTES: 60_000, SECONDS: 1000, MILLISECONDS: 1, MICROSECONDS: 0.001,
}; // prettier-ignore

const WINDOW_FUNCTIONS = new Set([
    'TUMBLINGWINDOW', 'TUMBLING', 'HOPPINGWINDOW', 'HOPPING', 'SLIDINGWINDOW', 'SLIDING', 'SESSIONWINDOW', 'SESSION',
    'WINDOWS',
]); // prettier-ignore

/**
 * One window of a GROUP BY (https://learn.microsoft.com/stream-analytics-query/windowing-azure-stream-analytics):
 * tumbling and hopping windows on a fixed grid; sliding windows (size) evaluated wherever their content changes;
 * session windows (timeout, maximum duration, optional partition key); snapshot windows (`System.Timestamp()`),
 * which group the events that share one timestamp.
 */
export type WindowDefinition =
    | { readonly kind: 'hopping'; readonly spec: WindowSpec }
    | { readonly kind: 'sliding'; readonly sizeMs: number }
    | {
          readonly kind: 'session';
          readonly timeoutMs: number;
          readonly maxDurationMs: number;
          readonly partitionBy: readonly Expression[];
      }
    | { readonly kind: 'snapshot' };

/** A window of a GROUP BY, with its id when it is a `Window('id', ...)` member of `Windows(...)`. */
export interface WindowMember {
    readonly id: string | null;
    readonly window: WindowDefinition;
    readonly at: SourcePosition;
}

/** True when a GROUP BY item is a window function call (a snapshot's `System.Timestamp()` is told apart later). */
export function isWindowCall(expression: Expression): boolean {
    return windowCall(expression) !== undefined;
}

export function windowCall(expression: Expression): CallExpression | undefined {
    return expression.kind === 'call' && WINDOW_FUNCTIONS.has(expression.name) ? expression : undefined;
}

/** The windows of one GROUP BY window item: one, or the members of `Windows(...)`. */
export function parseWindows(call: CallExpression): WindowMember[] {
    if (call.name !== 'WINDOWS') {
        return [{ id: null, window: parseWindowDefinition(call), at: call.at }];
    }
    if (call.args.length === 0) {
        throw invalid(call, 'Windows(...) needs at least one window definition');
    }
    const members = call.args.map((arg): WindowMember => {
        if (arg.kind === 'timestamp') {
            return { id: null, window: { kind: 'snapshot' }, at: arg.at };
        }
        if (arg.kind === 'call' && arg.name === 'WINDOW') {
            const [id, definition] = arg.args;
            if (arg.args.length !== 2 || id?.kind !== 'literal' || typeof id.value !== 'string') {
                throw invalid(arg, "Window takes ('id', window definition), the id a string literal");
            }
            if (definition?.kind === 'timestamp') {
                return { id: id.value, window: { kind: 'snapshot' }, at: arg.at };
            }
            if (
                definition?.kind !== 'call' ||
                !WINDOW_FUNCTIONS.has(definition.name) ||
                definition.name === 'WINDOWS'
            ) {
                throw invalid(
                    definition ?? arg,
                    'expected a window definition (Tumbling, Hopping, Sliding or Session)',
                );
            }
            return { id: id.value, window: parseWindowDefinition(definition), at: arg.at };
        }
        if (arg.kind !== 'call' || !WINDOW_FUNCTIONS.has(arg.name) || arg.name === 'WINDOWS') {
            throw invalid(arg, 'expected a window definition or Window(id, window definition) inside Windows(...)');
        }
        return { id: null, window: parseWindowDefinition(arg), at: arg.at };
    });
    const named = members.filter((member) => member.id !== null);
    if (named.length !== 0 && named.length !== members.length) {
        throw invalid(call, 'either every member of Windows(...) has an id, or none has');
    }
    const ids = new Set<string>();
    for (const member of named) {
        const upper = member.id!.toUpperCase();
        if (ids.has(upper)) {
            throw QueryCompileError.at('invalid', member.at, `the window id "${member.id!}" is used twice`);
        }
        ids.add(upper);
    }
    return members;
}

function parseWindowDefinition(call: CallExpression): WindowDefinition {
    if (call.over !== undefined && !call.name.startsWith('SESSION')) {
        throw QueryCompileError.at('invalid', call.over.at, `OVER cannot follow ${call.name}`);
    }
    if (call.name.startsWith('SLIDING')) {
        return { kind: 'sliding', sizeMs: slidingSize(call) };
    }
    if (call.name.startsWith('SESSION')) {
        return sessionWindow(call);
    }
    return { kind: 'hopping', spec: parseWindow(call) };
}

function slidingSize(call: CallExpression): number {
    let size: number;
    if (call.args.length === 1 && call.args[0]!.kind === 'call' && call.args[0].name === 'DURATION') {
        const duration = call.args[0];
        if (duration.args.length !== 2) {
            throw invalid(duration, 'Duration takes (timeunit, size)');
        }
        size = integer(duration.args[1]!) * timeUnit(duration.args[0]!);
    } else if (call.args.length === 2) {
        size = integer(call.args[1]!) * timeUnit(call.args[0]!);
    } else {
        throw invalid(call, `${call.name} takes (timeunit, windowsize) or (Duration(timeunit, windowsize))`);
    }
    return checkSize(call, size, 'window size');
}

function sessionWindow(call: CallExpression): WindowDefinition {
    let timeout: number;
    let maxDuration: number;
    const first = call.args[0];
    if (first?.kind === 'call' && first.name === 'TIMEOUT') {
        const second = call.args[1];
        if (call.args.length !== 2 || second?.kind !== 'call' || second.name !== 'MAXDURATION') {
            throw invalid(call, `${call.name} takes (Timeout(timeunit, size), MaxDuration(timeunit, size))`);
        }
        for (const part of [first, second]) {
            if (part.args.length !== 2) {
                throw invalid(part, `${part.name} takes (timeunit, size)`);
            }
        }
        timeout = integer(first.args[1]!) * timeUnit(first.args[0]!);
        maxDuration = integer(second.args[1]!) * timeUnit(second.args[0]!);
    } else if (call.args.length === 3) {
        const unit = timeUnit(call.args[0]!);
        timeout = integer(call.args[1]!) * unit;
        maxDuration = integer(call.args[2]!) * unit;
    } else {
        throw invalid(call, `${call.name} takes (timeunit, timeoutsize, maxdurationsize)`);
    }
    checkSize(call, timeout, 'session timeout');
    checkSize(call, maxDuration, 'maximum duration');
    const over = call.over;
    if (
        over !== undefined &&
        (over.orderBy.length > 0 || over.limitDuration !== undefined || over.when !== undefined)
    ) {
        throw QueryCompileError.at('invalid', over.at, 'a session window takes only OVER (PARTITION BY key, ...)');
    }
    return { kind: 'session', timeoutMs: timeout, maxDurationMs: maxDuration, partitionBy: over?.partitionBy ?? [] };
}

function checkSize(call: CallExpression, ms: number, what: string): number {
    if (ms <= 0 || ms > MAX_WINDOW_MS) {
        throw invalid(call, `${what} must be more than 0 and at most 7 days (got ${ms} ms)`);
    }
    if (!Number.isInteger(ms)) {
        throw QueryCompileError.at(
            'unsupported',
            call.at,
            'window sizes that are not whole milliseconds are not supported by the local Stream Analytics engine',
        );
    }
    return ms;
}

/** A tumbling or hopping window's grid. */
export function parseWindow(call: CallExpression): WindowSpec {
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

export function timeUnit(expression: Expression): number {
    const unit =
        expression.kind === 'column' && expression.path.length === 1
            ? UNIT_MS[expression.path[0]!.toUpperCase()]
            : undefined;
    if (unit === undefined) {
        throw invalid(expression, 'expected a time unit (day, hour, minute, second, millisecond or microsecond)');
    }
    return unit;
}

export function integer(expression: Expression): number {
    if (expression.kind === 'literal' && expression.isInteger && typeof expression.value === 'number') {
        return expression.value;
    }
    if (expression.kind === 'unary' && expression.operator === '-') {
        return -integer(expression.operand);
    }
    throw invalid(expression, 'expected a whole-number literal');
}

function invalid(expression: { readonly at: SourcePosition }, reason: string): QueryCompileError {
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
