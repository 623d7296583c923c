import type { Clock } from '../../domain/clock';
import type { LocalEventHub } from '../eventHubs';
import type { LocalServiceBusQueue } from '../serviceBus';

export interface RuntimeSnapshot {
    /** Names per second reaching the Event Hub over about the last five seconds. */
    namesPerSecond: number;
    totalNames: number;
    queueDepth: number;
    deadLetters: number;
    windowsEmitted: number;
    /** Change-feed lag of the Cosmos DB trigger, when it has polled. */
    changeFeedLagMs: number | undefined;
    invocations: Record<string, { succeeded: number; failed: number }>;
}

const RATE_WINDOW_MS = 5_000;

/**
 * Counts what the status line shows and the benchmark reports. Window latency is measured the first time each
 * (window, letter) document reaches the change-feed trigger: arrival minus window end, i.e. the time from a window
 * closing to its count reaching the function that broadcasts it.
 */
export class RuntimeMetrics {
    readonly #queues: Map<string, LocalServiceBusQueue>;
    readonly #eventHubs: Map<string, LocalEventHub>;
    readonly #clock: Clock;
    readonly #windows = new Set<number>();
    readonly #seenDocuments = new Set<string>();
    readonly #invocations: Record<string, { succeeded: number; failed: number }> = {};
    #lag: () => number | undefined = () => undefined;
    /** (time, total names) at each snapshot, back to the newest one at least RATE_WINDOW_MS old. */
    readonly #nameSamples: Array<{ at: number; total: number }> = [];
    /** Window-close-to-trigger latencies in ms, newest last (bounded). */
    readonly windowLatenciesMs: number[] = [];

    constructor(options: {
        queues: Map<string, LocalServiceBusQueue>;
        eventHubs: Map<string, LocalEventHub>;
        clock: Clock;
    }) {
        this.#queues = options.queues;
        this.#eventHubs = options.eventHubs;
        this.#clock = options.clock;
    }

    recordWindowRows(rows: readonly Record<string, unknown>[]): void {
        for (const row of rows) {
            const windowEnd = Date.parse(String(row.windowEnd));
            if (!Number.isNaN(windowEnd)) {
                this.#windows.add(windowEnd);
            }
        }
    }

    recordChangeFeedBatch(documents: readonly unknown[]): void {
        const now = this.#clock.now().getTime();
        for (const document of documents) {
            if (document === null || typeof document !== 'object') {
                continue;
            }
            const { id, windowEnd } = document as { id?: unknown; windowEnd?: unknown };
            const end = Date.parse(String(windowEnd));
            if (typeof id !== 'string' || Number.isNaN(end) || this.#seenDocuments.has(id)) {
                continue;
            }
            this.#seenDocuments.add(id);
            this.windowLatenciesMs.push(now - end);
            if (this.windowLatenciesMs.length > 100_000) {
                this.windowLatenciesMs.splice(0, 50_000);
            }
        }
        if (this.#seenDocuments.size > 200_000) {
            this.#seenDocuments.clear();
        }
    }

    recordInvocation(functionName: string, outcome: 'succeeded' | 'failed'): void {
        const counts = (this.#invocations[functionName] ??= { succeeded: 0, failed: 0 });
        counts[outcome] += 1;
    }

    setChangeFeedLag(lag: () => number | undefined): void {
        this.#lag = lag;
    }

    snapshot(): RuntimeSnapshot {
        const now = this.#clock.now().getTime();
        const totalNames = [...this.#eventHubs.values()].reduce((sum, hub) => sum + hub.stats().totalEnqueuedEvents, 0);
        // The rate is measured against a sample about RATE_WINDOW_MS old, not the previous snapshot, so the status
        // line and /_local/status (or any other caller) can poll at their own pace without skewing each other.
        this.#nameSamples.push({ at: now, total: totalNames });
        while (this.#nameSamples.length > 2 && this.#nameSamples[1]!.at <= now - RATE_WINDOW_MS) {
            this.#nameSamples.shift();
        }
        const baseline = this.#nameSamples[0]!;
        const elapsed = (now - baseline.at) / 1000;
        const namesPerSecond = elapsed > 0 ? (totalNames - baseline.total) / elapsed : 0;
        const queues = [...this.#queues.values()];
        return {
            namesPerSecond,
            totalNames,
            queueDepth: queues.reduce((sum, q) => sum + q.activeMessageCount + q.lockedMessageCount, 0),
            deadLetters: queues.reduce((sum, q) => sum + q.deadLetterMessageCount, 0),
            windowsEmitted: this.#windows.size,
            changeFeedLagMs: this.#lag(),
            invocations: structuredClone(this.#invocations),
        };
    }
}
