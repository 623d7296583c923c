import { AmqpError } from '../../amqp';
import type { SeekPosition } from '../localEventHub';

/** The source-filter key under which an Event Hubs receiver names its start (EH SDK `partitionReceiver.ts`). */
export const SELECTOR_FILTER_KEY = 'apache.org:selector-filter:string';

const EXPRESSION =
    /^\s*amqp\.annotation\.(x-opt-offset|x-opt-sequence-number|x-opt-enqueued-time)\s*(>=|>)\s*'([^']*)'\s*$/i;

/**
 * Reads the selector-filter expression an Event Hubs receiver attaches with (EH SDK `eventPosition.ts`,
 * `getEventPositionFilter`): `amqp.annotation.x-opt-offset > '-1'` (earliest), `> '@latest'` (latest), `> 'o'` /
 * `>= 'o'` (an offset), `amqp.annotation.x-opt-sequence-number > 'n'` / `>= 'n'`, `amqp.annotation.x-opt-enqueued-time
 * > 'ms'` (epoch milliseconds). A receiver without a filter starts at the beginning. Anything else is refused with
 * `amqp:invalid-field` quoting the expression, rather than read from a guessed position.
 */
export function parseEventPositionFilter(filter: unknown): SeekPosition {
    const expression = selectorOf(filter);
    if (expression === undefined) return { kind: 'earliest' };
    const match = EXPRESSION.exec(expression);
    if (match === null) throw invalidFilter(expression);
    const [, annotation, operator, value] = match as unknown as [string, string, string, string];
    const inclusive = operator === '>=';
    switch (annotation.toLowerCase()) {
        case 'x-opt-offset':
            if (value === '@latest') return { kind: 'latest' };
            if (value === '-1' && !inclusive) return { kind: 'earliest' };
            return { kind: 'offset', offset: integerOf(value, expression), inclusive };
        case 'x-opt-sequence-number':
            return { kind: 'sequenceNumber', sequenceNumber: integerOf(value, expression), inclusive };
        default:
            return { kind: 'enqueuedTime', afterMs: integerOf(value, expression) - (inclusive ? 1 : 0) };
    }
}

/** The expression under the selector key; rhea hands a described value over as `{ descriptor, value }` or as is. */
function selectorOf(filter: unknown): string | undefined {
    if (typeof filter !== 'object' || filter === null) return undefined;
    const entry = (filter as Record<string, unknown>)[SELECTOR_FILTER_KEY];
    if (entry === undefined || entry === null) return undefined;
    if (typeof entry === 'string') return entry;
    const value = (entry as { value?: unknown }).value;
    if (typeof value === 'string') return value;
    throw invalidFilter(JSON.stringify(entry));
}

function integerOf(text: string, expression: string): number {
    if (!/^-?\d+$/.test(text)) throw invalidFilter(expression);
    return Number(text);
}

function invalidFilter(expression: string): AmqpError {
    return new AmqpError(
        'amqp:invalid-field',
        `The receiver's filter ${JSON.stringify(expression)} is not an Event Hubs position (offset, sequence number or enqueued time)`,
        400,
    );
}
