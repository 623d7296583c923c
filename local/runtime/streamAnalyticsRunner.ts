import type { Clock } from '../../domain/clock';
import type { LocalEventHub } from '../eventHubs';
import { compileQuery, type JobMetrics, type JobSettings, type OutputRow, type StreamJob } from '../streamAnalytics';

/** Events the event-ordering policies caught since the previous report (see local/streamAnalytics/watermark.ts). */
export interface EventOrderingReport {
    lateInputEvents: number;
    earlyInputEvents: number;
    outOfOrderEvents: number;
    droppedEvents: number;
    adjustedEvents: number;
}

export interface StreamAnalyticsRunnerOptions {
    /** The query text (the runtime reads infra/letter-counts.asaql). */
    queryText: string;
    jobSettings: JobSettings;
    /** Each input alias reads an Event Hub through its own consumer group, as the job's input does. */
    inputs: Record<string, { hub: LocalEventHub; consumerGroup: string }>;
    /** Each output alias writes rows somewhere; the runner retries a failed write until it succeeds. */
    outputs: Record<string, (rows: readonly OutputRow[]) => Promise<void>>;
    clock: Clock;
    /** How often time is advanced without events, so idle partitions release output. */
    tickMs?: number;
    retryDelayMs?: number;
    onError: (error: unknown) => void;
    onOutput?: (alias: string, rows: readonly OutputRow[]) => void;
    /**
     * Called after a batch or a tick in which events were late, early or out of order, with how many since the last
     * call, so a dropped name is never silent (the job's metrics in Azure; the log and /_local/status locally).
     */
    onEventOrdering?: (report: EventOrderingReport) => void;
}

export interface StreamAnalyticsRunner {
    stop(): Promise<void>;
    job: StreamJob;
}

/**
 * Runs the project's .asaql continuously, as the Stream Analytics job does in Azure: reads each input from its own
 * consumer group starting at job start time, advances time on a tick, and writes output with the job's "retry"
 * output error policy: a failed write blocks further output and is retried until it succeeds, so nothing is lost,
 * and because documents are upserted by their deterministic id, a retried batch cannot count twice.
 */
export function startStreamAnalyticsRunner(options: StreamAnalyticsRunnerOptions): StreamAnalyticsRunner {
    const plan = compileQuery(options.queryText, {
        inputs: Object.fromEntries(
            Object.entries(options.inputs).map(([alias, { hub }]) => [alias, { partitionIds: hub.partitionIds }]),
        ),
        outputs: Object.keys(options.outputs),
        jobSettings: options.jobSettings,
    });
    const job = plan.createJob({
        clock: options.clock,
        sink: async (alias, rows) => {
            await options.outputs[alias]!(rows);
            options.onOutput?.(alias, rows);
        },
    });
    const retryDelayMs = options.retryDelayMs ?? 1000;
    let reported: JobMetrics = job.metrics();
    const reportEventOrdering = (): void => {
        const now = job.metrics();
        const report: EventOrderingReport = {
            lateInputEvents: now.lateInputEvents - reported.lateInputEvents,
            earlyInputEvents: now.earlyInputEvents - reported.earlyInputEvents,
            outOfOrderEvents: now.outOfOrderEvents - reported.outOfOrderEvents,
            droppedEvents: now.droppedEvents - reported.droppedEvents,
            adjustedEvents: now.adjustedEvents - reported.adjustedEvents,
        };
        reported = now;
        if (report.lateInputEvents + report.earlyInputEvents + report.outOfOrderEvents > 0) {
            options.onEventOrdering?.(report);
        }
    };
    let stopped = false;
    // Output is delivered by one chain at a time, in order, as the job's single writer per output does.
    let delivering: Promise<void> = Promise.resolve();
    const deliver = (): Promise<void> => {
        delivering = delivering.then(async () => {
            // Always try once, so stopping still writes what is ready; after a failure, retry only while running.
            for (;;) {
                try {
                    await job.flush();
                    return;
                } catch (error) {
                    options.onError(error);
                    if (stopped) {
                        return;
                    }
                    await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
                }
            }
        });
        return delivering;
    };

    const subscriptions = Object.entries(options.inputs).map(([alias, { hub, consumerGroup }]) => {
        if (!hub.consumerGroups().includes(consumerGroup)) {
            hub.createConsumerGroup(consumerGroup);
        }
        return hub.subscribe(consumerGroup, {
            startPosition: 'latest',
            maxBatchSize: 1000,
            checkpointAfterEachBatch: true,
            handler: async (partitionId, events) => {
                job.push(
                    alias,
                    partitionId,
                    events.map((event) => ({ enqueuedTime: event.enqueuedTimeUtc, body: event.body })),
                );
                reportEventOrdering();
                // Waiting for output before taking the next batch is the back-pressure a blocked output applies.
                await deliver();
            },
            onError: options.onError,
        });
    });
    const tick = setInterval(() => {
        job.advance(options.clock.now().getTime());
        reportEventOrdering();
        if (job.pendingBatches() > 0) {
            void deliver();
        }
    }, options.tickMs ?? 200);

    return {
        job,
        async stop() {
            clearInterval(tick);
            // Before closing the inputs: a pump waits for its batch handler, which waits for blocked output.
            stopped = true;
            await Promise.all(subscriptions.map((s) => s.close()));
            // Windows the watermark has already passed are complete: write them (one attempt) rather than leave
            // them for a tick that will not come.
            job.advance(options.clock.now().getTime());
            if (job.pendingBatches() > 0) {
                await deliver();
            }
            await delivering;
        },
    };
}
