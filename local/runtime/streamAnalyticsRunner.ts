import { z } from 'zod';

import type { Clock } from '../../domain/clock';
import type { LocalEventHub, ReceivedEventData } from '../eventHubs';
import type { RecordTable } from '../state';
import {
    compileQuery,
    EARLY_ARRIVAL_MS,
    type InputEvent,
    type JobMetrics,
    type JobSettings,
    type OutputRow,
    type StreamJob,
} from '../streamAnalytics';

/** The state store scope of the jobs' progress records (one record per job, keyed by the job's name). */
export const STREAM_ANALYTICS_PROGRESS_SCOPE = 'stream-analytics-progress';

/**
 * What the local job keeps across restarts: when it first started and, per output alias, the last output event
 * time (the largest System.Timestamp() the output has acknowledged), both ISO 8601 UTC. That is all Azure uses on a
 * user restart too: its internal checkpoints are not used then, and the state is rebuilt by replaying the input
 * (https://learn.microsoft.com/azure/stream-analytics/stream-analytics-concepts-checkpoint-replay, "Job recovery
 * from a user initiated stop and start").
 */
export const streamJobProgressSchema = z.object({
    jobStartTime: z.iso.datetime(),
    lastOutputEventTimes: z.record(z.string(), z.iso.datetime()),
});

export type StreamJobProgress = z.infer<typeof streamJobProgressSchema>;

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
    /**
     * Where the job keeps its progress: the state store's records in STREAM_ANALYTICS_PROGRESS_SCOPE (checked with
     * streamJobProgressSchema), under the job's name. Absent (`--in-memory`): every start is a first start.
     */
    progress?: { records: RecordTable<StreamJobProgress>; jobName: string };
    /** Told when a restart cannot rebuild its windows whole (the Event Hub no longer holds what it must reread). */
    onWarning?: (message: string) => void;
}

export interface StreamAnalyticsRunner {
    stop(): Promise<void>;
    job: StreamJob;
    /** The output start time of each output alias, epoch ms: what this start resumed from. */
    readonly outputStartTimes: Readonly<Record<string, number>>;
    /** Events reread at start to rebuild the windows open at the output start time. */
    readonly replayedEvents: number;
}

/** Reads a partition in slices this size while replaying. */
const REPLAY_SLICE = 10_000;

/**
 * Runs the project's .asaql continuously, as the Stream Analytics job does in Azure, and restarts it the way Azure
 * restarts a job with output start mode "When last stopped" (LastOutputEventTime).
 *
 * - Output start time: on a first start (no progress record; always under `--in-memory`) the job start time
 *   (JobStartTime). After that, per output, its last output event time ("Azure Stream Analytics will use the last
 *   output time to restart the job so no data is lost": https://learn.microsoft.com/azure/stream-analytics/start-job#start-options);
 *   an output that has written nothing yet starts at the job's first start time.
 * - Input start: the windows open at the output start time T are rebuilt whole, so every input partition is reread
 *   from the first event enqueued at or after T - lookback - 5 min. Lookback is the compiled query's reach
 *   (QueryPlan.lookbackMs: the 30 s window of the letter-count query); 5 min is the early-arrival window: an event
 *   whose time is more than 5 minutes after its enqueued time is dropped as early, so nothing enqueued before that
 *   point can fall in a window ending at or after T. This is Azure's own translation of the starting event time to
 *   an arrival time ("starting event time minus the 5-minute early arriving window":
 *   https://learn.microsoft.com/azure/stream-analytics/stream-analytics-time-handling#early-arriving-events). The
 *   late-arrival tolerance does not widen it: a late event is dropped or moved later, never earlier.
 * - Replay: the reread events go to the job in enqueued-time order across partitions, each batch at a job clock
 *   equal to its enqueued time, as if it arrived live; then the job clock is the real clock again and each partition
 *   continues from the end of what was reread. Event and enqueued times come from the Event Hub, so the windows come
 *   out as they did before the restart ("exactly once processing ... applies even in case of restart of the job":
 *   https://learn.microsoft.com/stream-analytics-query/event-delivery-guarantees-azure-stream-analytics). One
 *   difference: Azure journals the arrival times it estimates for idle partitions and this job does not, so an event
 *   the first run dropped only because it was read more than the late-arrival tolerance after it was enqueued (a
 *   blocked output) can be counted on replay.
 * - Suppression: rows earlier than their output's start time are computed and dropped (JobOptions.outputStartTimes):
 *   the replay starts inside the windows before T, and their partial counts must not overwrite the complete ones.
 *   Rows at T itself are rebuilt whole and written again, which the deterministic document ids absorb (Azure warns
 *   that "some duplicates may be seen in the output" after "When last stopped"), unless retention has trimmed events
 *   the replay needs: then the job warns (onWarning) and keeps that window as written.
 * - Progress: committed after the sink has acknowledged a batch, never before. A crash between the write and the
 *   commit leaves the previous last output time, so the restart writes that batch's windows again, complete, under
 *   the same ids: at-least-once delivery, as Azure's.
 * - Output error policy "retry": a failed write blocks further output and is retried until it succeeds, so nothing
 *   is lost. Input positions are the job's own, not consumer-group checkpoints (it writes none), as in Azure.
 */
export function startStreamAnalyticsRunner(options: StreamAnalyticsRunnerOptions): StreamAnalyticsRunner {
    const plan = compileQuery(options.queryText, {
        inputs: Object.fromEntries(
            Object.entries(options.inputs).map(([alias, { hub }]) => [alias, { partitionIds: hub.partitionIds }]),
        ),
        outputs: Object.keys(options.outputs),
        jobSettings: options.jobSettings,
    });
    const records = options.progress?.records;
    const jobName = options.progress?.jobName ?? '';
    const progress: StreamJobProgress = records?.get(jobName) ?? {
        jobStartTime: options.clock.now().toISOString(),
        lastOutputEventTimes: {},
    };
    records?.put(jobName, progress);
    const outputStartTimes: Record<string, number> = Object.fromEntries(
        plan.outputAliases.map((alias) => [
            alias,
            Date.parse(progress.lastOutputEventTimes[alias] ?? progress.jobStartTime),
        ]),
    );
    const readFromMs = Math.min(...Object.values(outputStartTimes)) - plan.lookbackMs - EARLY_ARRIVAL_MS;
    const trimmed = trimmedPartitions(options.inputs, readFromMs);
    if (trimmed.length > 0) {
        // Retention has removed events the replay needs: the windows it rebuilds lack them. The window of the last
        // output time was written whole before; writing it again now would replace it with a smaller count.
        for (const alias of plan.outputAliases) {
            if (progress.lastOutputEventTimes[alias] !== undefined) {
                outputStartTimes[alias] = outputStartTimes[alias]! + 1;
            }
        }
        options.onWarning?.(
            `the Event Hub may no longer hold every event since ${new Date(readFromMs).toISOString()} (retention has ` +
                `trimmed ${trimmed.join(', ')}), so the windows after the last output time are rebuilt without them ` +
                '(npm run recount derives them again from the raw-names blobs)',
        );
    }

    // The job's clock: the enqueued time of the batch being replayed, then the real clock. (It starts at the replay's
    // start, any finite time: a partition's idle estimate only counts the time elapsed since it was last read.)
    let replayingAt: number | undefined = Number.isFinite(readFromMs) ? readFromMs : 0;
    const jobClock: Clock = { now: () => (replayingAt === undefined ? options.clock.now() : new Date(replayingAt)) };
    const job = plan.createJob({
        clock: jobClock,
        outputStartTimes,
        sink: async (alias, rows, batch) => {
            await options.outputs[alias]!(rows);
            // Only now that the write is acknowledged: a restart from here on resumes at this batch's last window.
            const previous = progress.lastOutputEventTimes[alias];
            if (records !== undefined && (previous === undefined || Date.parse(previous) < batch.lastOutputEventTime)) {
                progress.lastOutputEventTimes[alias] = new Date(batch.lastOutputEventTime).toISOString();
                records.put(jobName, progress);
            }
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

    const toInputEvents = (events: readonly ReceivedEventData[]): InputEvent[] =>
        events.map((event) => ({ enqueuedTime: event.enqueuedTimeUtc, body: event.body }));
    // The next sequence number each partition of each input hands to the job.
    const positions = new Map<string, Map<string, number>>();
    const replayedEvents = replay(options.inputs, readFromMs, positions, (alias, partitionId, events) => {
        replayingAt = events[0]!.enqueuedTimeUtc.getTime();
        job.push(alias, partitionId, toInputEvents(events));
    });
    replayingAt = undefined;
    // The downtime passes for the watermark as idle time, releasing the windows the replay has completed.
    job.advance(options.clock.now().getTime());
    reportEventOrdering();
    if (job.pendingBatches() > 0) {
        void deliver();
    }

    const subscriptions = Object.entries(options.inputs).map(([alias, { hub, consumerGroup }]) => {
        if (!hub.consumerGroups().includes(consumerGroup)) {
            hub.createConsumerGroup(consumerGroup);
        }
        const next = positions.get(alias)!;
        return hub.subscribe(consumerGroup, {
            // The job keeps its own positions (its progress record), as Azure's does: a checkpoint left on the group
            // by an older state folder must not move them.
            ignoreCheckpoints: true,
            startPosition: Object.fromEntries(
                [...next].map(([partitionId, sequenceNumber]) => [partitionId, { sequenceNumber, isInclusive: true }]),
            ),
            maxBatchSize: 1000,
            handler: async (partitionId, received) => {
                const from = next.get(partitionId)!;
                const events = received.filter((event) => event.sequenceNumber >= from);
                if (events.length === 0) {
                    return;
                }
                next.set(partitionId, events[events.length - 1]!.sequenceNumber + 1);
                job.push(alias, partitionId, toInputEvents(events));
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
        outputStartTimes,
        replayedEvents,
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

/**
 * The partitions (as "input/partition") whose retained log starts after `fromMs` although events were removed from
 * its head: retention may have taken events enqueued at or after `fromMs`, which a replay from there needs.
 */
function trimmedPartitions(inputs: StreamAnalyticsRunnerOptions['inputs'], fromMs: number): string[] {
    const trimmed: string[] = [];
    for (const [alias, { hub }] of Object.entries(inputs)) {
        for (const partitionId of hub.partitionIds) {
            const beginning = hub.getPartitionProperties(partitionId).beginningSequenceNumber;
            const start = Number.isFinite(fromMs)
                ? hub.seek(partitionId, { kind: 'enqueuedTime', afterMs: fromMs - 1 })
                : hub.seek(partitionId, { kind: 'earliest' });
            if (beginning > 0 && start === beginning) {
                trimmed.push(`${alias}/${partitionId}`);
            }
        }
    }
    return trimmed;
}

/**
 * Rereads every partition of every input from the first event enqueued at or after `fromMs` to its current end,
 * and hands the events to `push` in enqueued-time order across partitions and inputs (ties in input, then partition
 * order), one batch per partition and enqueued instant. Records in `positions` where each partition continues.
 * Returns how many events it reread.
 *
 * A merge of the partitions read a page at a time (REPLAY_SLICE events each), not a sort of everything reread: at
 * 5,000 names/s the 5.5 minutes are over 1.6 million events, which a durable hub serves from its database, and
 * holding them all at once cost 740 MB of heap where the pages cost a few MB.
 */
function replay(
    inputs: StreamAnalyticsRunnerOptions['inputs'],
    fromMs: number,
    positions: Map<string, Map<string, number>>,
    push: (alias: string, partitionId: string, events: ReceivedEventData[]) => void,
): number {
    // In input, then partition order: the merge breaks ties between equal instants by this order.
    const cursors: ReplayCursor[] = [];
    for (const [alias, { hub }] of Object.entries(inputs)) {
        positions.set(alias, new Map());
        for (const partitionId of hub.partitionIds) {
            const next = Number.isFinite(fromMs)
                ? hub.seek(partitionId, { kind: 'enqueuedTime', afterMs: fromMs - 1 })
                : hub.seek(partitionId, { kind: 'earliest' });
            cursors.push({ alias, partitionId, hub, page: [], index: 0, next, ended: false });
        }
    }
    let count = 0;
    for (;;) {
        let earliest: ReplayCursor | undefined;
        let earliestAt = Number.POSITIVE_INFINITY;
        for (const cursor of cursors) {
            const event = currentEvent(cursor);
            if (event !== undefined && event.enqueuedTimeUtc.getTime() < earliestAt) {
                earliest = cursor;
                earliestAt = event.enqueuedTimeUtc.getTime();
            }
        }
        if (earliest === undefined) {
            break;
        }
        const events: ReceivedEventData[] = [];
        for (let event = currentEvent(earliest); event?.enqueuedTimeUtc.getTime() === earliestAt;) {
            events.push(event);
            earliest.index++;
            event = currentEvent(earliest);
        }
        count += events.length;
        push(earliest.alias, earliest.partitionId, events);
    }
    for (const cursor of cursors) {
        // Where the live reading continues: after the last event reread (the partition's end: nothing can be
        // appended while this synchronous replay runs).
        positions.get(cursor.alias)!.set(cursor.partitionId, cursor.hub.seek(cursor.partitionId, { kind: 'latest' }));
    }
    return count;
}

/** One partition's place in the replay: the page being merged and where the next page starts. */
interface ReplayCursor {
    readonly alias: string;
    readonly partitionId: string;
    readonly hub: LocalEventHub;
    page: ReceivedEventData[];
    index: number;
    next: number;
    /** A page came back short: the partition's end (a hub's read is short only there). */
    ended: boolean;
}

/** The cursor's next event, reading the next page when the current one is used up; undefined at the end. */
function currentEvent(cursor: ReplayCursor): ReceivedEventData | undefined {
    if (cursor.index >= cursor.page.length && !cursor.ended) {
        cursor.page = cursor.hub.read(cursor.partitionId, cursor.next, REPLAY_SLICE);
        cursor.index = 0;
        cursor.ended = cursor.page.length < REPLAY_SLICE;
        const last = cursor.page[cursor.page.length - 1];
        if (last !== undefined) {
            cursor.next = last.sequenceNumber + 1;
        }
    }
    return cursor.page[cursor.index];
}
