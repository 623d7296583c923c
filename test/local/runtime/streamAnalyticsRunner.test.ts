import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';

import { EVENT_HUBS_STATE_COMPONENT, LocalEventHub, SqliteEventHubStore } from '../../../local/eventHubs';
import {
    type EventOrderingReport,
    startStreamAnalyticsRunner,
    STREAM_ANALYTICS_PROGRESS_SCOPE,
    type StreamAnalyticsRunner,
    type StreamJobProgress,
    streamJobProgressSchema,
} from '../../../local/runtime/streamAnalyticsRunner';
import { type RecordTable, StateStore } from '../../../local/state';
import { letterCountsJobSettings, letterCountsQueryPath, type OutputRow } from '../../../local/streamAnalytics';

const START = Date.parse('2026-11-22T06:00:00Z');
const QUERY = `SELECT System.Timestamp() AS windowEnd, COUNT(*) AS names INTO counts FROM namesInput GROUP BY TumblingWindow(second, 10)`;

/**
 * Starts the job on `hub` with a saved progress record (a restart, "when last stopped"), lets it replay, and stops
 * it: the rows it wrote and the warnings it logged.
 */
async function restartFromProgress(
    hub: LocalEventHub,
    records: RecordTable<StreamJobProgress>,
    clock: { now: () => Date },
): Promise<{ runner: StreamAnalyticsRunner; warnings: string[]; delivered: OutputRow[] }> {
    const delivered: OutputRow[] = [];
    const warnings: string[] = [];
    const runner = startStreamAnalyticsRunner({
        queryText: QUERY,
        jobSettings: {
            eventsLateArrivalMaxDelayInSeconds: 1,
            eventsOutOfOrderMaxDelayInSeconds: 0,
            eventsOutOfOrderPolicy: 'Adjust',
        },
        inputs: { namesInput: { hub, consumerGroup: 'asa' } },
        outputs: {
            counts: (rows) => {
                delivered.push(...rows);
                return Promise.resolve();
            },
        },
        clock,
        tickMs: 10,
        onError: () => {},
        onWarning: (message) => warnings.push(message),
        progress: { records, jobName: 'job' },
    });
    await runner.stop();
    return { runner, warnings, delivered };
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
    for (let waited = 0; !condition(); waited += 10) {
        if (waited > 5_000) {
            throw new Error(`Timed out waiting for ${what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
}

describe('startStreamAnalyticsRunner', () => {
    const runners: StreamAnalyticsRunner[] = [];
    afterEach(async () => {
        await Promise.all(runners.splice(0).map((runner) => runner.stop()));
    });

    function setUp(sink: (rows: readonly OutputRow[]) => Promise<void>, { tickMs = 10 } = {}) {
        const clock = { ms: START, now: () => new Date(clock.ms) };
        const hub = new LocalEventHub({ name: 'names', partitionCount: 2, clock });
        const errors: unknown[] = [];
        const observed: Array<{ alias: string; rows: readonly OutputRow[] }> = [];
        const runner = startStreamAnalyticsRunner({
            queryText: QUERY,
            jobSettings: {
                eventsLateArrivalMaxDelayInSeconds: 1,
                eventsOutOfOrderMaxDelayInSeconds: 0,
                eventsOutOfOrderPolicy: 'Adjust',
            },
            inputs: { namesInput: { hub, consumerGroup: 'asa' } },
            outputs: { counts: sink },
            clock,
            tickMs,
            retryDelayMs: 10,
            onError: (error) => errors.push(error),
            onOutput: (alias, rows) => observed.push({ alias, rows }),
        });
        runners.push(runner);
        let sent = 0;
        /** Sends at an instant and waits for the job to read the events, as they would arrive in real time. */
        const sendAt = async (ms: number, count: number) => {
            clock.ms = ms;
            hub.send(Array.from({ length: count }, (_, i) => ({ body: { name: `N${i}` } })));
            sent += count;
            await waitFor(() => runner.job.metrics().inputEvents === sent, `${sent} events read`);
        };
        return { runner, hub, clock, errors, observed, sendAt };
    }

    it('reads the Event Hub through its own consumer group and delivers window output to the sink', async () => {
        const delivered: OutputRow[] = [];
        const { hub, clock, observed, errors, sendAt } = setUp((rows) => {
            delivered.push(...rows);
            return Promise.resolve();
        });
        expect(hub.consumerGroups()).toContain('asa');
        await sendAt(START + 1_000, 3);
        await sendAt(START + 12_000, 2);
        clock.ms = START + 30_000;
        await waitFor(() => delivered.length === 2, 'two windows');
        expect(delivered).toEqual([
            { windowEnd: '2026-11-22T06:00:10.0000000Z', names: 3 },
            { windowEnd: '2026-11-22T06:00:20.0000000Z', names: 2 },
        ]);
        expect(observed.flatMap(({ alias, rows }) => rows.map(() => alias))).toEqual(['counts', 'counts']);
        expect(errors).toEqual([]);
    });

    it('retries a failing sink until it accepts, delivering every row once and in order', async () => {
        const delivered: OutputRow[] = [];
        let failures = 2;
        const { clock, errors, sendAt } = setUp((rows) => {
            if (failures > 0) {
                failures -= 1;
                return Promise.reject(new Error('Cosmos DB is unavailable'));
            }
            delivered.push(...rows);
            return Promise.resolve();
        });
        await sendAt(START + 1_000, 1);
        await sendAt(START + 11_000, 4);
        await sendAt(START + 21_000, 2);
        clock.ms = START + 40_000;
        await waitFor(() => delivered.length === 3, 'three windows');
        expect(delivered).toEqual([
            { windowEnd: '2026-11-22T06:00:10.0000000Z', names: 1 },
            { windowEnd: '2026-11-22T06:00:20.0000000Z', names: 4 },
            { windowEnd: '2026-11-22T06:00:30.0000000Z', names: 2 },
        ]);
        expect(errors.map((error) => (error as Error).name)).toEqual(['OutputDeliveryError', 'OutputDeliveryError']);
    });

    it('stops cleanly: no more reads or output after stop()', async () => {
        const delivered: OutputRow[] = [];
        const { runner, hub, clock } = setUp((rows) => {
            delivered.push(...rows);
            return Promise.resolve();
        });
        await runner.stop();
        hub.send([{ body: { name: 'After' } }]);
        clock.ms = START + 30_000;
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(delivered).toEqual([]);
        expect(runner.job.metrics().inputEvents).toBe(0);
    });

    it('writes the windows the watermark has already closed when it stops, without waiting for a tick', async () => {
        const delivered: OutputRow[] = [];
        const { runner, clock, sendAt } = setUp(
            (rows) => {
                delivered.push(...rows);
                return Promise.resolve();
            },
            { tickMs: 60_000 },
        );
        await sendAt(START + 1_000, 3);
        await sendAt(START + 9_000, 2);
        // No later event closes the window; time alone takes it past its end plus the 1 s late-arrival tolerance.
        clock.ms = START + 15_000;
        expect(delivered).toEqual([]);
        await runner.stop();
        expect(delivered).toEqual([{ windowEnd: '2026-11-22T06:00:10.0000000Z', names: 5 }]);
    });

    it('stops while the sink keeps failing, without waiting for it to recover', async () => {
        const { runner, clock, errors, sendAt } = setUp(() => Promise.reject(new Error('down')));
        await sendAt(START + 1_000, 1);
        clock.ms = START + 30_000;
        await waitFor(() => errors.length >= 2, 'two failed attempts');
        await runner.stop();
        expect(runner.job.pendingBatches()).toBe(1);
    });

    it('stops while a batch waits on a failing sink, instead of hanging in the retry loop', async () => {
        let failing = false;
        const { runner, clock, errors, hub } = setUp(() =>
            failing ? Promise.reject(new Error('down')) : Promise.resolve(),
        );
        clock.ms = START + 1_000;
        hub.send([{ body: { name: 'A' } }]);
        await waitFor(() => runner.job.metrics().inputEvents === 1, 'the first event read');
        failing = true;
        // This event closes the first window, so its batch handler waits for the output to be written.
        clock.ms = START + 15_000;
        hub.send([{ body: { name: 'B' } }]);
        await waitFor(() => errors.length >= 2, 'two failed attempts');
        await runner.stop();
        expect(runner.job.pendingBatches()).toBe(1);
    });

    it('starts its output at job start time, reading back far enough that the first window is complete', async () => {
        // Azure's JobStartTime: "if your query uses a 5-minutes Tumbling Window, Azure Stream Analytics will seek data
        // from 5 minutes ago in the input" and "no partial windowed aggregates are generated" (start-job.md).
        const clock = { ms: START - 25_000, now: () => new Date(clock.ms) };
        const hub = new LocalEventHub({ name: 'names', partitionCount: 1, clock });
        hub.send([{ body: {} }]); // window ending START - 20 s: before the job starts, not written
        clock.ms = START - 3_000;
        hub.send([{ body: {} }, { body: {} }]); // window ending START, open when the job starts
        clock.ms = START;
        const delivered: OutputRow[] = [];
        const runner = startStreamAnalyticsRunner({
            queryText: QUERY,
            jobSettings: {
                eventsLateArrivalMaxDelayInSeconds: 1,
                eventsOutOfOrderMaxDelayInSeconds: 0,
                eventsOutOfOrderPolicy: 'Adjust',
            },
            inputs: { namesInput: { hub, consumerGroup: 'asa' } },
            outputs: {
                counts: (rows) => {
                    delivered.push(...rows);
                    return Promise.resolve();
                },
            },
            clock,
            tickMs: 10,
            onError: () => {},
        });
        runners.push(runner);
        clock.ms = START + 2_000;
        hub.send([{ body: {} }]);
        await waitFor(() => runner.job.metrics().inputEvents === 4, 'the events read');
        clock.ms = START + 20_000;
        await waitFor(() => delivered.length === 2, 'two windows');
        expect({ outputStartTimes: runner.outputStartTimes, replayed: runner.replayedEvents, delivered }).toEqual({
            outputStartTimes: { counts: START },
            replayed: 3,
            delivered: [
                { windowEnd: '2026-11-22T06:00:00.0000000Z', names: 2 },
                { windowEnd: '2026-11-22T06:00:10.0000000Z', names: 1 },
            ],
        });
    });

    it('reports late, early and out-of-order events as they are dropped, once each', async () => {
        const clock = { ms: START, now: () => new Date(clock.ms) };
        const hub = new LocalEventHub({ name: 'names', partitionCount: 1, clock });
        const reports: EventOrderingReport[] = [];
        const runner = startStreamAnalyticsRunner({
            queryText: `SELECT COUNT(*) AS names INTO counts FROM namesInput TIMESTAMP BY generatedAt GROUP BY TumblingWindow(second, 10)`,
            jobSettings: {
                eventsLateArrivalMaxDelayInSeconds: 1,
                eventsOutOfOrderMaxDelayInSeconds: 0,
                eventsOutOfOrderPolicy: 'Drop',
            },
            inputs: { namesInput: { hub, consumerGroup: 'asa' } },
            outputs: { counts: () => Promise.resolve() },
            clock,
            tickMs: 10,
            onError: () => {},
            onEventOrdering: (report) => reports.push(report),
        });
        runners.push(runner);
        const at = (offsetMs: number) => new Date(START + offsetMs).toISOString();
        clock.ms = START + 20_000;
        hub.send([
            { body: { generatedAt: at(20_000) } }, // on time
            { body: { generatedAt: at(5_000) } }, // 15 s before arrival: late, dropped
            { body: { generatedAt: at(20_000 + 6 * 60_000) } }, // 6 minutes ahead: early, dropped
        ]);
        await waitFor(() => reports.length === 1, 'a report');
        clock.ms = START + 20_200;
        // 0.7 s before arrival (not late) but behind the watermark of 20 s: out of order, dropped.
        hub.send([{ body: { generatedAt: at(19_500) } }]);
        await waitFor(() => reports.length === 2, 'a second report');
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(reports).toEqual([
            { lateInputEvents: 1, earlyInputEvents: 1, outOfOrderEvents: 0, droppedEvents: 2, adjustedEvents: 0 },
            { lateInputEvents: 0, earlyInputEvents: 0, outOfOrderEvents: 1, droppedEvents: 1, adjustedEvents: 0 },
        ]);
        expect(runner.job.metrics()).toMatchObject({ inputEvents: 4, droppedEvents: 3 });
    });
});

/**
 * A restart as Azure's "When last stopped": a first runner is killed at a chosen point (its output writes fail from
 * there on and it is stopped, so nothing more lands, as after SIGKILL), events keep arriving while it is down, and a
 * second runner over the same Event Hub content and the progress it committed finishes the job. The Cosmos DB
 * documents (by id, last write wins) must be exactly what the query yields over all the events, computed here by
 * brute force from the documented rules (late: more than 30 s before arrival; out of order: more than 10 s behind
 * the largest admitted event time of its partition; both dropped), and what one uninterrupted run writes.
 */
describe('startStreamAnalyticsRunner across a restart', () => {
    const WINDOW_MS = 30_000;
    const SEND_EVERY_MS = 5_000;
    const SENDS = 168; // 14 minutes: more than the 5.5-minute replay reach, so the replay starts inside the stream
    const DOWN_FROM = 108; // sends 0-107 reach the first runner (9 minutes), 108-131 arrive while it is down
    const RESTART_AT = 132;
    const query = readFileSync(letterCountsQueryPath(), 'utf8');

    interface Send {
        partitionId: '0' | '1';
        events: Array<{ letter: string; delayMs: number }>;
    }
    const sendArbitrary: fc.Arbitrary<Send> = fc.record({
        partitionId: fc.constantFrom('0' as const, '1' as const),
        events: fc.array(
            fc.record({
                letter: fc.constantFrom('A', 'B', 'C'),
                // generatedAt before the enqueued time: mostly on time, sometimes out of order, sometimes late.
                delayMs: fc.oneof(
                    { weight: 18, arbitrary: fc.integer({ min: 0, max: 9_000 }) },
                    { weight: 1, arbitrary: fc.integer({ min: 16_000, max: 29_000 }) },
                    { weight: 1, arbitrary: fc.integer({ min: 31_000, max: 60_000 }) },
                ),
            }),
            { minLength: 1, maxLength: 3 },
        ),
    });

    interface Event {
        partitionId: string;
        enqueuedMs: number;
        body: { eventId: string; letter: string; generatedAt: string };
    }
    function schedule(seed: number): Event[][] {
        const sends = fc.sample(fc.array(sendArbitrary, { minLength: SENDS, maxLength: SENDS }), {
            seed,
            numRuns: 1,
        })[0]!;
        const batches = sends.map((send, index) => {
            const enqueuedMs = START + 1_000 + index * SEND_EVERY_MS;
            return send.events.map((event, position): Event => ({
                partitionId: send.partitionId,
                enqueuedMs,
                body: {
                    eventId: `${index}:${position}`,
                    letter: event.letter,
                    generatedAt: new Date(enqueuedMs - event.delayMs).toISOString(),
                },
            }));
        });
        // A redelivery: the same event again, on the other partition, while its window is open.
        const again = batches[50]![0]!;
        batches[51]!.push({
            ...again,
            partitionId: again.partitionId === '0' ? '1' : '0',
            enqueuedMs: batches[51]![0]!.enqueuedMs,
        });
        return batches;
    }

    /** The documents the query yields over all the events, by the documented rules. */
    function bruteForce(events: readonly Event[]): Map<string, OutputRow> {
        const maxEventTime = new Map<string, number>();
        const eventIds = new Map<string, Set<string>>();
        for (const event of events) {
            const time = Date.parse(event.body.generatedAt);
            const max = maxEventTime.get(event.partitionId) ?? -Infinity;
            if (time < event.enqueuedMs - 30_000 || time < max - 10_000) {
                continue;
            }
            maxEventTime.set(event.partitionId, Math.max(max, time));
            const windowEnd = Math.ceil(time / WINDOW_MS) * WINDOW_MS;
            const key = `${windowEnd}|${event.body.letter}`;
            eventIds.set(key, (eventIds.get(key) ?? new Set()).add(event.body.eventId));
        }
        return new Map(
            [...eventIds].map(([key, ids]) => {
                const [windowEnd, letter] = key.split('|') as [string, string];
                const end = new Date(Number(windowEnd));
                const id = `${Number(windowEnd) / 1000}-${letter}`;
                return [id, { id, windowEnd: end.toISOString().replace('Z', '0000Z'), letter, count: ids.size }];
            }),
        );
    }

    async function until(condition: () => boolean, what: string): Promise<void> {
        for (const started = Date.now(); !condition();) {
            if (Date.now() - started > 10_000) {
                throw new Error(`Timed out waiting for ${what}`);
            }
            await new Promise((resolve) => setImmediate(resolve));
        }
    }

    it("commits an output's progress only once the sink has acknowledged the batch", async () => {
        const folder = mkdtempSync(path.join(tmpdir(), 'asa-progress-'));
        const store = StateStore.open({ directory: folder });
        try {
            const records = store.records(STREAM_ANALYTICS_PROGRESS_SCOPE, streamJobProgressSchema);
            const clock = { ms: START, now: () => new Date(clock.ms) };
            const hub = new LocalEventHub({ name: 'names', partitionCount: 1, clock });
            const committedAtWrite: Array<string | undefined> = [];
            let failures = 1;
            const runner = startStreamAnalyticsRunner({
                queryText: QUERY,
                jobSettings: {
                    eventsLateArrivalMaxDelayInSeconds: 1,
                    eventsOutOfOrderMaxDelayInSeconds: 0,
                    eventsOutOfOrderPolicy: 'Drop',
                },
                inputs: { namesInput: { hub, consumerGroup: 'asa' } },
                outputs: {
                    counts: () => {
                        committedAtWrite.push(records.get('job')?.lastOutputEventTimes.counts);
                        return failures-- > 0 ? Promise.reject(new Error('down')) : Promise.resolve();
                    },
                },
                clock,
                tickMs: 5,
                retryDelayMs: 5,
                onError: () => {},
                progress: { records, jobName: 'job' },
            });
            clock.ms = START + 1_000;
            hub.send([{ body: {} }]);
            await until(() => runner.job.metrics().inputEvents === 1, 'the event read');
            clock.ms = START + 12_000;
            await until(() => committedAtWrite.length === 2, 'a failed write and its retry');
            await runner.stop();
            expect({ committedAtWrite, record: records.get('job') }).toEqual({
                committedAtWrite: [undefined, undefined],
                record: {
                    jobStartTime: new Date(START).toISOString(),
                    lastOutputEventTimes: { counts: '2026-11-22T06:00:10.000Z' },
                },
            });
        } finally {
            store.close();
            rmSync(folder, { recursive: true, force: true });
        }
    });

    it('warns when retention has trimmed events the replay needs, and then keeps the last window it wrote', async () => {
        const clock = { ms: START, now: () => new Date(clock.ms) };
        // Room for 3 events: of the window ending 06:00:10 (4 names, written before the restart) only 1 is left.
        const hub = new LocalEventHub({ name: 'names', partitionCount: 1, clock, maxRetainedEventsPerPartition: 3 });
        for (const offset of [1_000, 2_000, 3_000, 9_000, 12_000, 13_000]) {
            clock.ms = START + offset;
            hub.send([{ body: {} }]);
        }
        clock.ms = START + 40_000;
        const table = new Map<string, StreamJobProgress>([
            [
                'job',
                {
                    jobStartTime: new Date(START).toISOString(),
                    lastOutputEventTimes: { counts: new Date(START + 10_000).toISOString() },
                },
            ],
        ]);
        const records: RecordTable<StreamJobProgress> = {
            get: (key) => table.get(key),
            put: (key, value) => void table.set(key, value),
            delete: (key) => table.delete(key),
            entries: () => [...table],
        };
        const { warnings, delivered } = await restartFromProgress(hub, records, clock);
        expect({ warnings, delivered }).toEqual({
            warnings: [
                'the Event Hub may no longer hold every event since 2026-11-22T05:55:00.000Z (retention has trimmed ' +
                    'namesInput/0), so the windows after the last output time are rebuilt without them (npm run ' +
                    'recount derives them again from the raw-names blobs)',
            ],
            delivered: [{ windowEnd: '2026-11-22T06:00:20.0000000Z', names: 2 }],
        });
    });

    it('rebuilds the windows whole from a durable hub whose memory holds fewer events than the replay rereads', async () => {
        const folder = mkdtempSync(path.join(tmpdir(), 'asa-durable-hub-'));
        const clock = { ms: START, now: () => new Date(clock.ms) };
        let state = StateStore.open({ directory: folder, clock, components: [EVENT_HUBS_STATE_COMPONENT] });
        try {
            // The same events and memory bound as the test above, but the database keeps what memory drops.
            const options = { name: 'names', partitionCount: 1, clock, maxRetainedEventsPerPartition: 3 };
            const sending = new LocalEventHub({ ...options, store: new SqliteEventHubStore(state, 'names') });
            for (const offset of [1_000, 2_000, 3_000, 9_000, 12_000, 13_000]) {
                clock.ms = START + offset;
                sending.send([{ body: {} }]);
            }
            sending.close();
            state.close();
            // Restarted: the hub loads no events into memory, so the replay reads them all from the database.
            clock.ms = START + 40_000;
            state = StateStore.open({ directory: folder, clock, components: [EVENT_HUBS_STATE_COMPONENT] });
            const hub = new LocalEventHub({ ...options, store: new SqliteEventHubStore(state, 'names') });
            const records = state.records(STREAM_ANALYTICS_PROGRESS_SCOPE, streamJobProgressSchema);
            records.put('job', {
                jobStartTime: new Date(START).toISOString(),
                lastOutputEventTimes: { counts: new Date(START + 10_000).toISOString() },
            });
            const { runner, warnings, delivered } = await restartFromProgress(hub, records, clock);
            hub.close();
            // The window at the last output time is rebuilt whole (4 names) and written again under its id.
            expect({ warnings, replayed: runner.replayedEvents, delivered }).toEqual({
                warnings: [],
                replayed: 6,
                delivered: [
                    { windowEnd: '2026-11-22T06:00:10.0000000Z', names: 4 },
                    { windowEnd: '2026-11-22T06:00:20.0000000Z', names: 2 },
                ],
            });
        } finally {
            state.close();
            rmSync(folder, { recursive: true, force: true });
        }
    });

    type Kill = { atWrite: number; writeLands: boolean } | 'while idle' | 'never';
    const cases: Array<{ kill: Kill; seed: number; what: string }> = [
        { kill: 'never', seed: 1, what: 'one uninterrupted run' },
        { kill: { atWrite: 14, writeLands: false }, seed: 2, what: 'killed before a write' },
        { kill: { atWrite: 15, writeLands: true }, seed: 3, what: 'killed after a write, before its progress commit' },
        { kill: { atWrite: 17, writeLands: true }, seed: 4, what: 'killed after a write, before its progress commit' },
        { kill: 'while idle', seed: 5, what: 'killed between writes, with windows computed but not written' },
    ];

    it.each(cases)('$what (seed $seed): every window written once complete, none lost', async ({ kill, seed }) => {
        const folder = mkdtempSync(path.join(tmpdir(), 'asa-progress-'));
        try {
            const batches = schedule(seed);
            const clock = { ms: START, now: () => new Date(clock.ms) };
            const hub = new LocalEventHub({ name: 'names', partitionCount: 2, clock });
            const documents = new Map<string, OutputRow>();
            let writes = 0;
            let killed = false;
            const open = () => StateStore.open({ directory: folder, clock });
            const start = (store: StateStore) =>
                startStreamAnalyticsRunner({
                    queryText: query,
                    jobSettings: letterCountsJobSettings,
                    inputs: { namesInput: { hub, consumerGroup: 'stream-analytics' } },
                    outputs: {
                        letterCountsOutput: (rows) => {
                            writes += 1;
                            const killNow = typeof kill === 'object' && writes === kill.atWrite;
                            if (killed || (killNow && !kill.writeLands)) {
                                killed = true;
                                return Promise.reject(new Error('killed'));
                            }
                            rows.forEach((row) => documents.set(row.id as string, row));
                            if (killNow) {
                                killed = true;
                                // The write landed; the runner sees a failure and so never commits its progress.
                                return Promise.reject(new Error('killed after the write'));
                            }
                            return Promise.resolve();
                        },
                    },
                    clock,
                    tickMs: 5,
                    retryDelayMs: 5,
                    onError: () => {},
                    progress: {
                        records: store.records(STREAM_ANALYTICS_PROGRESS_SCOPE, streamJobProgressSchema),
                        jobName: 'letter-counts',
                    },
                });
            const send = (batch: Event[]) => {
                clock.ms = batch[0]!.enqueuedMs;
                for (const partitionId of ['0', '1']) {
                    const events = batch.filter((event) => event.partitionId === partitionId);
                    if (events.length > 0) {
                        hub.send(
                            events.map((event) => ({ body: event.body })),
                            { partitionId },
                        );
                    }
                }
            };
            const sendLive = async (runner: StreamAnalyticsRunner, batch: Event[]) => {
                send(batch);
                const total = hub.stats().totalEnqueuedEvents;
                const readBefore = runner.job.metrics().inputEvents - runner.replayedEvents;
                const sentBefore = total - batch.length;
                // Read in real time: the job takes the events before the clock moves on.
                await until(
                    () =>
                        killed ||
                        runner.job.metrics().inputEvents - runner.replayedEvents - readBefore >= total - sentBefore,
                    'the job to read a send',
                );
            };

            let store = open();
            const first = start(store);
            const firstUntil = kill === 'never' ? SENDS : DOWN_FROM;
            let sent = 0;
            while (sent < firstUntil && !killed) {
                await sendLive(first, batches[sent]!);
                sent += 1;
            }
            if (kill === 'never') {
                clock.ms = START + SENDS * SEND_EVERY_MS + 2 * 60_000;
                await first.stop();
                store.close();
            } else {
                if (typeof kill === 'object') {
                    expect(killed).toBe(true);
                }
                killed = true;
                await first.stop();
                store.close();
                // Down: events keep arriving at the Event Hub, which keeps them (its log is persisted separately).
                for (const batch of batches.slice(sent, RESTART_AT)) {
                    send(batch);
                }
                clock.ms += 3_000;
                killed = false;
                store = open();
                const second = start(store);
                const resumedFrom = second.outputStartTimes.letterCountsOutput!;
                const committed = store
                    .records(STREAM_ANALYTICS_PROGRESS_SCOPE, streamJobProgressSchema)
                    .get('letter-counts');
                expect(new Date(resumedFrom).toISOString()).toBe(committed?.lastOutputEventTimes.letterCountsOutput);
                // The replay starts inside the stream (not at its beginning), so it rebuilds the earlier windows only in part.
                expect(resumedFrom - WINDOW_MS - 5 * 60_000).toBeGreaterThan(START);
                expect(second.replayedEvents).toBeGreaterThan(0);
                for (const batch of batches.slice(RESTART_AT)) {
                    await sendLive(second, batch);
                }
                clock.ms = START + SENDS * SEND_EVERY_MS + 2 * 60_000;
                await second.stop();
                store.close();
            }
            expect(new Map([...documents].sort(([a], [b]) => a.localeCompare(b)))).toEqual(
                new Map([...bruteForce(batches.flat())].sort(([a], [b]) => a.localeCompare(b))),
            );
        } finally {
            rmSync(folder, { recursive: true, force: true });
        }
    });
});
