/** Formats an instant the way the pipeline stores it everywhere: ISO-8601 UTC with milliseconds. */
export function toIsoUtc(instant: Date): string {
    return instant.toISOString();
}

/**
 * Parses an ISO-8601 timestamp that carries an explicit UTC designator or offset. Returns undefined otherwise:
 * a timestamp without a zone would be read in the machine's local time, which is exactly the bug to avoid.
 * Accepts Stream Analytics' seven-digit fractions ("2026-11-22T06:00:30.0000000Z").
 */
export function parseIsoUtc(text: string): Date | undefined {
    const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(text);
    if (!match) {
        return undefined;
    }
    const fraction = match[2] ? match[2].slice(0, 4).padEnd(4, '0') : '';
    const date = new Date(`${match[1]}${fraction}${match[3]}`);
    return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * A datetime in the form Stream Analytics writes to its outputs (System.Timestamp() in the Cosmos DB documents):
 * ISO 8601 UTC with seven fractional digits, e.g. "2026-11-22T06:00:30.5000000Z". `ms` is epoch milliseconds and
 * `subMsTicks` the 100 ns ticks within the millisecond (0-9999), as Stream Analytics keeps them.
 * The single source of this format for the local engine (local/streamAnalytics/values.ts) and the recount
 * (domain/letterCounts/recount.ts): windowEnd is the letter-count partition key, so two formats would write two
 * documents for one window.
 */
export function formatStreamAnalyticsTime(ms: number, subMsTicks = 0): string {
    const iso = new Date(ms).toISOString();
    const ticks = subMsTicks === 0 ? '0000' : String(subMsTicks).padStart(4, '0');
    // Years beyond 9999 or before 0 print with a sign and six digits; datetime only covers 0001-9999.
    const dot = iso.indexOf('.');
    return `${iso.slice(0, dot)}.${iso.slice(dot + 1, dot + 4)}${ticks}Z`;
}
