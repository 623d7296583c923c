import type { Clock } from '../../domain/clock';
import type { LocalEventHub } from '../eventHubs';
import type { LocalServiceBusQueue } from '../serviceBus';
import type { JobMetrics } from '../streamAnalytics';

/**
 * What the Stream Analytics job did not count as it arrived, as the job's metrics in Azure name it: late input
 * events (event time more than the late-arrival tolerance before arrival), early input events (more than 5 minutes
 * after), out-of-order events (behind the watermark) and, of those, how many the policy dropped or adjusted.
 */
export interface EventOrderingSnapshot {
    inputEvents: number;
    lateInputEvents: number;
    earlyInputEvents: number;
    outOfOrderEvents: number;
    droppedEvents: number;
    adjustedEvents: number;
    deserializationErrors: number;
    invalidTimestampEvents: number;
}

/** A warning or error a function logged: an unusable name left out, a skipped document. */
export interface LoggedProblem {
    at: string;
    functionName: string;
    level: string;
    message: string;
}

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
    /** The job's late, early, out-of-order and dropped events since start; undefined before the job runs. */
    streamAnalytics: EventOrderingSnapshot | undefined;
    /**
     * Events the Event Hubs' count cap dropped before a subscribed consumer group read them (lost to that group),
     * summed over hubs and groups since start; each burst is also logged with its hub, partition and group.
     */
    unreadEventsTrimmed: number;
    /**
     * Warnings and errors functions logged: how many per function, and the newest few with their text.
     * `warnings` counts the lines at level warning (an unusable name left out, say); `errors` the lines at level error
     * or critical, from any invocation: a failed one's (the function's own and the host's, its failure counted apart
     * in `invocations`) and one that succeeded but logged an error (the dashboard answering 500, say), which nothing
     * else counts.
     */
    problems: { byFunction: Record<string, number>; warnings: number; errors: number; recent: LoggedProblem[] };
}

const RATE_WINDOW_MS = 5_000;
const RECENT_PROBLEMS = 20;

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
    #jobMetrics: () => JobMetrics | undefined = () => undefined;
    readonly #problemCounts: Record<string, number> = {};
    #warnings = 0;
    #errors = 0;
    readonly #recentProblems: LoggedProblem[] = [];
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

    setStreamAnalyticsMetrics(metrics: () => JobMetrics): void {
        this.#jobMetrics = metrics;
    }

    /** Records a function's log line if it is a warning or an error, so /_local/status shows what went wrong. */
    recordFunctionLog(functionName: string, level: string, message: string): void {
        if (level !== 'warning' && level !== 'error' && level !== 'critical') {
            return;
        }
        this.#problemCounts[functionName] = (this.#problemCounts[functionName] ?? 0) + 1;
        if (level === 'warning') {
            this.#warnings += 1;
        } else {
            this.#errors += 1;
        }
        this.#recentProblems.push({ at: this.#clock.now().toISOString(), functionName, level, message });
        if (this.#recentProblems.length > RECENT_PROBLEMS) {
            this.#recentProblems.shift();
        }
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
            streamAnalytics: eventOrdering(this.#jobMetrics()),
            unreadEventsTrimmed: [...this.#eventHubs.values()].reduce(
                (sum, hub) => Object.values(hub.unreadEventsTrimmed()).reduce((total, n) => total + n, sum),
                0,
            ),
            problems: {
                byFunction: { ...this.#problemCounts },
                warnings: this.#warnings,
                errors: this.#errors,
                recent: structuredClone(this.#recentProblems),
            },
        };
    }
}

function eventOrdering(metrics: JobMetrics | undefined): EventOrderingSnapshot | undefined {
    if (metrics === undefined) {
        return undefined;
    }
    const {
        inputEvents,
        lateInputEvents,
        earlyInputEvents,
        outOfOrderEvents,
        droppedEvents,
        adjustedEvents,
        deserializationErrors,
        invalidTimestampEvents,
    } = metrics;
    return {
        inputEvents,
        lateInputEvents,
        earlyInputEvents,
        outOfOrderEvents,
        droppedEvents,
        adjustedEvents,
        deserializationErrors,
        invalidTimestampEvents,
    };
}
