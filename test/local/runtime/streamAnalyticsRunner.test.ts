import { afterEach, describe, expect, it } from 'vitest';

import { LocalEventHub } from '../../../local/eventHubs';
import {
    type EventOrderingReport,
    startStreamAnalyticsRunner,
    type StreamAnalyticsRunner,
} from '../../../local/runtime/streamAnalyticsRunner';
import type { OutputRow } from '../../../local/streamAnalytics';

const START = Date.parse('2026-11-22T06:00:00Z');
const QUERY = `SELECT System.Timestamp() AS windowEnd, COUNT(*) AS names INTO counts FROM namesInput GROUP BY TumblingWindow(second, 10)`;

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
