import type { UpdateSource } from './connection';

/** When one window was first and last rendered, relative to its end (the moment Stream Analytics could close it). */
export interface WindowRenderRecord {
    windowEnd: string;
    /** How the window first reached the page: a live SignalR message or a backfill after (re)connecting. */
    source: UpdateSource;
    firstRenderLatencyMs: number;
    lastRenderLatencyMs: number;
    renders: number;
}

/**
 * Measures, in the page, how long after a window closed its counts were on screen. Backfilled windows are kept but
 * marked: their latency is how long the page was away, not how fast the pipeline is. Bounded so a page left open
 * for days does not grow.
 */
export class RenderLog {
    readonly #records = new Map<string, WindowRenderRecord>();
    readonly #limit: number;

    constructor(limit = 1_000) {
        this.#limit = limit;
    }

    record(windowEnd: string, source: UpdateSource, renderedAtMs: number): void {
        const latency = renderedAtMs - Date.parse(windowEnd);
        const existing = this.#records.get(windowEnd);
        if (existing) {
            existing.lastRenderLatencyMs = latency;
            existing.renders += 1;
            return;
        }
        this.#records.set(windowEnd, {
            windowEnd,
            source,
            firstRenderLatencyMs: latency,
            lastRenderLatencyMs: latency,
            renders: 1,
        });
        if (this.#records.size > this.#limit) {
            this.#records.delete(this.#records.keys().next().value!);
        }
    }

    entries(): WindowRenderRecord[] {
        return [...this.#records.values()].map((record) => ({ ...record }));
    }
}
