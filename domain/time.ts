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
