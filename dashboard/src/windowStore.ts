import type { WindowUpdate } from '../../domain/letterCounts/windowUpdate';
import { BUCKETS, OTHER_BUCKET } from '../../domain/names/firstLetter';

/** The buckets the dashboard shows, in order: A to Z, then "other" (domain/names/firstLetter.ts). */
export const ALPHABET: readonly string[] = BUCKETS;

/** How a bucket is labelled: the letter itself, "Other" for the bucket of names without an A to Z first letter. */
export function bucketLabel(bucket: string): string {
    return bucket === OTHER_BUCKET ? 'Other' : bucket;
}

/** One window as the dashboard holds it: every bucket (A to Z and other), 0 where none was counted. */
export interface StoredWindow {
    windowStart: string;
    windowEnd: string;
    windowEndMs: number;
    counts: ReadonlyMap<string, number>;
}

export interface Totals {
    /** Names counted over the windows held. */
    names: number;
    /** Per letter, over the windows held. */
    byLetter: ReadonlyMap<string, number>;
    /** Names per minute over the time the held windows span (oldest start to newest end); 0 when empty. */
    namesPerMinute: number;
    /** Names in the newest window held. */
    latestWindowNames: number;
}

export interface ApplyResult {
    /** Window ends (ms) whose counts changed; empty for a duplicate, a stale value or a window too old to keep. */
    changed: number[];
    /** Window ends (ms) the store did not hold before this update. */
    added: number[];
}

/**
 * The dashboard's view of the latest N windows, merged from live messages and backfills in any order.
 *
 * Each (window, letter) is a max-register: a newer message for it carries the new total (never an increment), and
 * a letter's count within a window only grows as late events are counted, so taking the larger value keeps the
 * newest total whichever order messages arrive in. That makes merging commutative and idempotent: a duplicated
 * broadcast, a change-feed redelivery, a window split over several batches, or a backfill racing a live message
 * all end in the same state.
 */
export class WindowStore {
    readonly #maxWindows: number;
    /** Sorted by windowEndMs ascending. */
    #windows: Array<{ windowStart: string; windowEnd: string; windowEndMs: number; counts: Map<string, number> }> = [];

    constructor(maxWindows: number) {
        if (!(Number.isInteger(maxWindows) && maxWindows >= 1)) {
            throw new RangeError(`maxWindows must be a whole number of at least 1 (got ${String(maxWindows)})`);
        }
        this.#maxWindows = maxWindows;
    }

    get maxWindows(): number {
        return this.#maxWindows;
    }

    /** Merges several updates (a backfill, say); the result lists each changed or added window once. */
    applyAll(updates: readonly WindowUpdate[]): ApplyResult {
        const changed = new Set<number>();
        const added = new Set<number>();
        for (const update of updates) {
            const result = this.apply(update);
            result.changed.forEach((end) => changed.add(end));
            result.added.forEach((end) => added.add(end));
        }
        // A window added by one update can be evicted by a later, newer one in the same batch.
        const held = new Set(this.#windows.map((window) => window.windowEndMs));
        return {
            changed: [...changed].filter((end) => held.has(end)).sort((a, b) => a - b),
            added: [...added].filter((end) => held.has(end)).sort((a, b) => a - b),
        };
    }

    apply(update: WindowUpdate): ApplyResult {
        const windowEndMs = Date.parse(update.windowEnd);
        if (Number.isNaN(windowEndMs)) {
            return { changed: [], added: [] };
        }
        let window = this.#windows.find((held) => held.windowEndMs === windowEndMs);
        const isNew = window === undefined;
        if (!window) {
            const oldest = this.#windows[0];
            if (this.#windows.length >= this.#maxWindows && oldest && windowEndMs < oldest.windowEndMs) {
                return { changed: [], added: [] };
            }
            window = { windowStart: update.windowStart, windowEnd: update.windowEnd, windowEndMs, counts: new Map() };
            // Out-of-order windows go where they belong, not at the end.
            const index = this.#windows.findIndex((held) => held.windowEndMs > windowEndMs);
            this.#windows.splice(index === -1 ? this.#windows.length : index, 0, window);
            if (this.#windows.length > this.#maxWindows) {
                this.#windows.shift();
            }
        }
        let changed = isNew;
        for (const { letter, count } of update.counts) {
            if (!ALPHABET.includes(letter) || !(Number.isInteger(count) && count >= 0)) {
                continue;
            }
            if (count > (window.counts.get(letter) ?? 0)) {
                window.counts.set(letter, count);
                changed = true;
            }
        }
        return { changed: changed ? [windowEndMs] : [], added: isNew ? [windowEndMs] : [] };
    }

    /** Oldest first, every letter present. */
    windows(): StoredWindow[] {
        return this.#windows.map(({ windowStart, windowEnd, windowEndMs, counts }) => ({
            windowStart,
            windowEnd,
            windowEndMs,
            counts: new Map(ALPHABET.map((letter) => [letter, counts.get(letter) ?? 0])),
        }));
    }

    latest(): StoredWindow | undefined {
        return this.windows().at(-1);
    }

    totals(): Totals {
        const byLetter = new Map(ALPHABET.map((letter) => [letter, 0]));
        let names = 0;
        for (const window of this.#windows) {
            for (const [letter, count] of window.counts) {
                byLetter.set(letter, (byLetter.get(letter) ?? 0) + count);
                names += count;
            }
        }
        const oldest = this.#windows[0];
        const newest = this.#windows.at(-1);
        const spanMs = oldest && newest ? newest.windowEndMs - Date.parse(oldest.windowStart) : 0;
        const latestWindowNames = newest ? [...newest.counts.values()].reduce((sum, count) => sum + count, 0) : 0;
        return {
            names,
            byLetter,
            namesPerMinute: spanMs > 0 ? (names * 60_000) / spanMs : 0,
            latestWindowNames,
        };
    }
}
