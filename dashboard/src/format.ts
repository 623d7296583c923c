/** Number of heatmap colour steps (styles.css defines .heat-0 to .heat-7). */
export const HEAT_LEVELS = 8;

/**
 * The colour step of a heatmap cell: 0 only for an empty cell, so "none" never looks like "a few", then linear
 * steps up to the largest count shown.
 */
export function heatLevel(count: number, max: number, levels = HEAT_LEVELS): number {
    if (count <= 0 || max <= 0) {
        return 0;
    }
    return Math.min(levels - 1, 1 + Math.floor(((count - 1) / max) * (levels - 1)));
}

/** "just now", "12 s ago", "3 min ago", "never" – for the last-update age line. */
export function formatAge(ageMs: number | undefined): string {
    if (ageMs === undefined) {
        return 'never';
    }
    const seconds = Math.max(0, Math.floor(ageMs / 1000));
    if (seconds < 2) {
        return 'just now';
    }
    if (seconds < 120) {
        return `${seconds} s ago`;
    }
    return `${Math.floor(seconds / 60)} min ago`;
}

/** A window's end as the local wall-clock time, e.g. "14:03:30". */
export function formatWindowTime(windowEndMs: number, locale?: string): string {
    return new Date(windowEndMs).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** A rate with one decimal below 100 and none above, e.g. "7.5" or "212". */
export function formatRate(perMinute: number): string {
    return perMinute < 100 ? perMinute.toFixed(1) : Math.round(perMinute).toString();
}

/** "1 window", "20 windows": how many windows the totals cover, for the "Names, last ..." label. */
export function formatWindowCount(windows: number): string {
    return `${windows} ${windows === 1 ? 'window' : 'windows'}`;
}
