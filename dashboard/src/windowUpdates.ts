import type { WindowUpdate } from '../../domain/letterCounts/windowUpdate';

/**
 * Keeps the well-formed window updates from untrusted input (a SignalR message argument or the backfill body) and
 * drops the rest: one malformed element must not hide the valid windows beside it. The store re-checks counts.
 */
export function pickWindowUpdates(values: readonly unknown[]): WindowUpdate[] {
    return values.filter(isWindowUpdate);
}

/** The `windows` of a `GET /api/letter-counts` body, or an error naming what was wrong. */
export function parseBackfillBody(body: unknown): WindowUpdate[] {
    const windows = (body as { windows?: unknown } | null)?.windows;
    if (!Array.isArray(windows)) {
        throw new TypeError(`Backfill response has no "windows" array (got ${JSON.stringify(body)?.slice(0, 80)})`);
    }
    return pickWindowUpdates(windows);
}

function isWindowUpdate(value: unknown): value is WindowUpdate {
    const candidate = value as Partial<WindowUpdate> | null;
    return (
        typeof candidate === 'object' &&
        candidate !== null &&
        typeof candidate.windowStart === 'string' &&
        typeof candidate.windowEnd === 'string' &&
        !Number.isNaN(Date.parse(candidate.windowEnd)) &&
        Array.isArray(candidate.counts) &&
        candidate.counts.every(
            (entry: unknown) =>
                typeof (entry as { letter?: unknown } | null)?.letter === 'string' &&
                typeof (entry as { count?: unknown }).count === 'number',
        )
    );
}
