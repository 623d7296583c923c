import { InvalidRequestError } from '../errors';
import { BUCKETS } from './letterCountDocument';

export const DEFAULT_RECENT_WINDOWS = 20;
export const MAX_RECENT_WINDOWS = 60;

/**
 * The backfill query: the newest documents, enough to cover the most windows anyone may ask for (27 buckets each:
 * A to Z and "other").
 * A constant query keeps it a plain input binding; the handler trims it to the N windows asked for.
 */
export const RECENT_LETTER_COUNTS_QUERY = `SELECT TOP ${MAX_RECENT_WINDOWS * BUCKETS.length} * FROM c ORDER BY c.windowEnd DESC`;

/** Validates the `windows` query parameter: absent means the default, else a whole number in 1..60. */
export function parseRecentWindowsParameter(values: readonly string[]): number {
    if (values.length === 0) {
        return DEFAULT_RECENT_WINDOWS;
    }
    if (values.length > 1) {
        throw new InvalidRequestError('windows', values, 'must be given at most once');
    }
    const text = values[0]!;
    const value = /^\d{1,3}$/.test(text.trim()) ? Number(text.trim()) : NaN;
    if (!(value >= 1 && value <= MAX_RECENT_WINDOWS)) {
        throw new InvalidRequestError('windows', text, `must be a whole number from 1 to ${MAX_RECENT_WINDOWS}`);
    }
    return value;
}
