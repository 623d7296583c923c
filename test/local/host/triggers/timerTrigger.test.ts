import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import {
    NcrontabSchedule,
    NEVER_OCCURRED,
    type ScheduleMonitor,
    type ScheduleStatus,
    startTimerTrigger,
    type TimerInfo,
} from '../../../../local/host/triggers/timerTrigger';

describe('NcrontabSchedule', () => {
    it('gives the first occurrence strictly after an instant, in UTC', () => {
        const daily = new NcrontabSchedule(' 0 30 9 * * * ');
        expect(daily.expression).toBe('0 30 9 * * *');
        expect(daily.next(new Date('2025-01-01T08:00:00Z')).toISOString()).toBe('2025-01-01T09:30:00.000Z');
        expect(daily.next(new Date('2025-01-01T09:30:00Z')).toISOString()).toBe('2025-01-02T09:30:00.000Z');
    });

    it('honours the seconds field', () => {
        const everyTen = new NcrontabSchedule('*/10 * * * * *');
        expect(everyTen.next(new Date('2025-01-01T00:00:03.500Z')).toISOString()).toBe('2025-01-01T00:00:10.000Z');
    });

    it('ignores the process time zone', () => {
        vi.stubEnv('TZ', 'America/New_York');
        expect(new NcrontabSchedule('0 0 9 * * *').next(new Date('2025-07-01T10:00:00Z')).toISOString()).toBe(
            '2025-07-02T09:00:00.000Z',
        );
    });

    it.each(['* * * * *', '0 * * * * * *', ''])('rejects "%s", which does not have six fields', (expression) => {
        expect(() => new NcrontabSchedule(expression)).toThrow(
            `Invalid NCRONTAB schedule "${expression}": expected six fields (second minute hour day month day-of-week)`,
        );
    });

    it.each([
        ['*/2 * * * * *', true],
        ['*/30 * * * * *', true],
        ['0 * * * * *', false],
        ['0 */5 * * * *', false],
        ['*/10 0 * * * *', false],
    ])('"%s" fires more than once a minute (the host then turns useMonitor off): %s', (expression, expected) => {
        expect(new NcrontabSchedule(expression).firesMoreThanOncePerMinute(new Date('2025-01-01T00:00:03Z'))).toBe(
            expected,
        );
    });

    it('rejects a field out of range when constructed, quoting the expression', () => {
        expect(() => new NcrontabSchedule('61 * * * * *')).toThrow(
            'Invalid NCRONTAB schedule "61 * * * * *": Constraint error, got value 61 expected range 0-59',
        );
    });
});

/** An in-memory stand-in for the status blob, recording every write. */
function memoryMonitor(initial: ScheduleStatus | null = null) {
    let stored = initial;
    const writes: ScheduleStatus[] = [];
    const monitor: ScheduleMonitor = {
        getStatus: () => Promise.resolve(stored && { ...stored }),
        updateStatus: (status) => {
            stored = { ...status };
            writes.push({ ...status });
            return Promise.resolve();
        },
    };
    return { monitor, writes, stored: () => stored };
}

describe('startTimerTrigger', () => {
    const START = Date.parse('2025-01-01T00:00:03Z');
    const at = (seconds: number, ms = 0) =>
        new Date(Date.parse('2025-01-01T00:00:00Z') + seconds * 1000 + ms).toISOString();
    /** The trigger's clock: fake time plus a skew a test can set (a suspended machine, a timer that fires early). */
    let skewMs = 0;
    const now = () => new Date(Date.now() + skewMs);
    const calls: Array<{ at: string; timer: TimerInfo }> = [];
    const errors: unknown[] = [];

    beforeEach(() => {
        vi.useFakeTimers({ now: START, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
        skewMs = 0;
    });
    afterEach(() => {
        vi.useRealTimers();
        calls.length = 0;
        errors.length = 0;
    });

    /** A monitored trigger (the status bookkeeping is visible to the function only then). */
    function start(options: { runOnStartup?: boolean; durationMs?: (call: number) => number; fail?: boolean } = {}) {
        let running = 0;
        let maxRunning = 0;
        const trigger = startTimerTrigger({
            schedule: new NcrontabSchedule('*/10 * * * * *'),
            runOnStartup: options.runOnStartup ?? false,
            now,
            monitor: memoryMonitor().monitor,
            invoke: async (timer) => {
                calls.push({ at: now().toISOString(), timer });
                running += 1;
                maxRunning = Math.max(maxRunning, running);
                const duration = options.durationMs?.(calls.length) ?? 0;
                if (duration > 0) {
                    await new Promise((resolve) => setTimeout(resolve, duration));
                }
                running -= 1;
                if (options.fail) {
                    throw new Error(`run ${calls.length} failed`);
                }
            },
            onError: (error) => errors.push(error),
        });
        return { trigger, maxRunning: () => maxRunning };
    }

    it('fires on each occurrence, with the status the previous run recorded', async () => {
        const { trigger } = start();
        await vi.advanceTimersByTimeAsync(6_999);
        expect(calls).toEqual([]);
        await vi.advanceTimersByTimeAsync(1 + 20_000);
        expect(calls).toEqual([
            {
                at: at(10),
                timer: {
                    Schedule: { AdjustForDST: true },
                    ScheduleStatus: { Last: NEVER_OCCURRED, Next: at(10), LastUpdated: NEVER_OCCURRED },
                    IsPastDue: false,
                },
            },
            {
                at: at(20),
                timer: {
                    Schedule: { AdjustForDST: true },
                    ScheduleStatus: { Last: at(10), Next: at(20), LastUpdated: at(10) },
                    IsPastDue: false,
                },
            },
            {
                at: at(30),
                timer: {
                    Schedule: { AdjustForDST: true },
                    ScheduleStatus: { Last: at(20), Next: at(30), LastUpdated: at(20) },
                    IsPastDue: false,
                },
            },
        ]);
        await trigger.stop();
    });

    it('runs once at start with runOnStartup, then on the schedule', async () => {
        const { trigger } = start({ runOnStartup: true });
        await vi.advanceTimersByTimeAsync(0);
        expect(calls.map((c) => c.at)).toEqual([at(3)]);
        await vi.advanceTimersByTimeAsync(7_000);
        expect(calls).toEqual([
            {
                at: at(3),
                timer: {
                    Schedule: { AdjustForDST: true },
                    ScheduleStatus: { Last: NEVER_OCCURRED, Next: at(10), LastUpdated: NEVER_OCCURRED },
                    IsPastDue: false,
                },
            },
            {
                at: at(10),
                timer: {
                    Schedule: { AdjustForDST: true },
                    ScheduleStatus: { Last: at(3), Next: at(10), LastUpdated: at(3) },
                    IsPastDue: false,
                },
            },
        ]);
        await trigger.stop();
    });

    it('never overlaps runs: after a slow run the occurrence it overran fires once, at once', async () => {
        const { trigger, maxRunning } = start({ durationMs: (call) => (call === 1 ? 25_000 : 0) });
        await vi.advanceTimersByTimeAsync(47_000);
        expect(maxRunning()).toBe(1);
        expect(calls.map((c) => ({ at: c.at, status: c.timer.ScheduleStatus, isPastDue: c.timer.IsPastDue }))).toEqual([
            {
                at: at(10),
                status: { Last: NEVER_OCCURRED, Next: at(10), LastUpdated: NEVER_OCCURRED },
                isPastDue: false,
            },
            { at: at(35), status: { Last: at(10), Next: at(20), LastUpdated: at(10) }, isPastDue: false },
            { at: at(40), status: { Last: at(35), Next: at(40), LastUpdated: at(35) }, isPastDue: false },
            { at: at(50), status: { Last: at(40), Next: at(50), LastUpdated: at(40) }, isPastDue: false },
        ]);
        await trigger.stop();
    });

    it('sets IsPastDue once when it wakes a whole occurrence late, without replaying missed occurrences', async () => {
        const { trigger } = start();
        await vi.advanceTimersByTimeAsync(5_000);
        // The machine was suspended for 25 s: the clock moved on while the timer did not fire.
        skewMs = 25_000;
        await vi.advanceTimersByTimeAsync(2_000);
        expect(calls.map((c) => ({ at: c.at, isPastDue: c.timer.IsPastDue }))).toEqual([
            { at: at(35), isPastDue: true },
        ]);
        await vi.advanceTimersByTimeAsync(5_000);
        expect(calls.map((c) => ({ at: c.at, status: c.timer.ScheduleStatus, isPastDue: c.timer.IsPastDue }))).toEqual([
            {
                at: at(35),
                status: { Last: NEVER_OCCURRED, Next: at(10), LastUpdated: NEVER_OCCURRED },
                isPastDue: true,
            },
            { at: at(40), status: { Last: at(35), Next: at(40), LastUpdated: at(35) }, isPastDue: false },
        ]);
        await trigger.stop();
    });

    it('runs an occurrence once when its timer fires a little early', async () => {
        const { trigger } = start();
        await vi.advanceTimersByTimeAsync(0); // the start reads the monitor, then sets the timer
        // The clock lags the timer by 5 ms, so the timer fires when the clock still reads 00:00:09.995.
        skewMs = -5;
        await vi.advanceTimersByTimeAsync(7_005);
        await vi.advanceTimersByTimeAsync(9_000);
        expect(calls.map((c) => ({ at: c.at, status: c.timer.ScheduleStatus }))).toEqual([
            { at: at(9, 995), status: { Last: NEVER_OCCURRED, Next: at(10), LastUpdated: NEVER_OCCURRED } },
        ]);
        await vi.advanceTimersByTimeAsync(1_010);
        expect(calls.map((c) => ({ at: c.at, status: c.timer.ScheduleStatus }))).toEqual([
            { at: at(9, 995), status: { Last: NEVER_OCCURRED, Next: at(10), LastUpdated: NEVER_OCCURRED } },
            { at: at(20), status: { Last: at(10), Next: at(20), LastUpdated: at(10) } },
        ]);
        await trigger.stop();
    });

    it('hands the function no status when the schedule is not monitored, as the host does', async () => {
        const trigger = startTimerTrigger({
            schedule: new NcrontabSchedule('*/10 * * * * *'),
            runOnStartup: false,
            now,
            invoke: (timer) => {
                calls.push({ at: now().toISOString(), timer });
                return Promise.resolve();
            },
            onError: (error) => errors.push(error),
        });
        await vi.advanceTimersByTimeAsync(17_000);
        await trigger.stop();
        expect(calls.map((c) => ({ at: c.at, status: c.timer.ScheduleStatus }))).toEqual([
            { at: at(10), status: null },
            { at: at(20), status: null },
        ]);
    });

    it('reports a failed run to onError and keeps the schedule', async () => {
        const { trigger } = start({ fail: true });
        await vi.advanceTimersByTimeAsync(17_000);
        expect(calls.map((c) => c.at)).toEqual([at(10), at(20)]);
        expect(errors).toEqual([new Error('run 1 failed'), new Error('run 2 failed')]);
        await trigger.stop();
    });

    it('stop() waits for the running invocation and prevents further runs', async () => {
        const { trigger } = start({ durationMs: () => 15_000 });
        await vi.advanceTimersByTimeAsync(8_000);
        let stopped = false;
        const stopping = trigger.stop().then(() => {
            stopped = true;
        });
        await vi.advanceTimersByTimeAsync(10_000);
        expect(stopped).toBe(false);
        await vi.advanceTimersByTimeAsync(5_000);
        await stopping;
        expect(stopped).toBe(true);
        await vi.advanceTimersByTimeAsync(60_000);
        expect(calls.map((c) => c.at)).toEqual([at(10)]);
    });

    it('waits for an occurrence further away than setTimeout can wait at once', async () => {
        const trigger = startTimerTrigger({
            schedule: new NcrontabSchedule('0 0 0 1 1 *'),
            runOnStartup: false,
            now,
            invoke: (timer) => {
                calls.push({ at: now().toISOString(), timer });
                return Promise.resolve();
            },
            onError: (error) => errors.push(error),
        });
        await vi.advanceTimersByTimeAsync(300 * 86_400_000);
        expect(calls).toEqual([]);
        await vi.advanceTimersByTimeAsync(65 * 86_400_000);
        expect(calls.map((c) => c.at)).toEqual(['2026-01-01T00:00:00.000Z']);
        await trigger.stop();
    });

    it('stop() while sleeping ends at once and nothing runs', async () => {
        const { trigger } = start();
        await vi.advanceTimersByTimeAsync(1_000);
        await trigger.stop();
        await vi.advanceTimersByTimeAsync(60_000);
        expect(calls).toEqual([]);
        expect(vi.getTimerCount()).toBe(0);
    });

    describe('with a schedule monitor (useMonitor)', () => {
        const startMonitored = (monitor: ScheduleMonitor, expression = '*/10 * * * * *', runOnStartup = false) =>
            startTimerTrigger({
                schedule: new NcrontabSchedule(expression),
                runOnStartup,
                now,
                monitor,
                invoke: (timer) => {
                    calls.push({ at: now().toISOString(), timer });
                    return Promise.resolve();
                },
                onError: (error) => errors.push(error),
            });

        it('records an initial status, hands the first run a status with no occurrence yet, then records each run', async () => {
            const { monitor, writes } = memoryMonitor();
            const trigger = startMonitored(monitor);
            await vi.advanceTimersByTimeAsync(16_000);
            await trigger.stop();
            expect(writes).toEqual([
                { Last: NEVER_OCCURRED, Next: at(10), LastUpdated: at(3) },
                { Last: at(10), Next: at(20), LastUpdated: at(10) },
            ]);
            expect(calls).toEqual([
                {
                    at: at(10),
                    timer: {
                        Schedule: { AdjustForDST: true },
                        ScheduleStatus: { Last: NEVER_OCCURRED, Next: at(10), LastUpdated: NEVER_OCCURRED },
                        IsPastDue: false,
                    },
                },
            ]);
            expect(errors).toEqual([]);
        });

        it('fires once at start with IsPastDue after downtime that missed occurrences, then keeps the schedule', async () => {
            const { monitor, writes } = memoryMonitor();
            const first = startMonitored(monitor);
            await vi.advanceTimersByTimeAsync(8_000); // runs at 00:00:10
            await first.stop();
            // Down for 45 s: the occurrences at 20, 30, 40 and 50 are missed.
            skewMs = 45_000;
            calls.length = 0;
            const second = startMonitored(monitor, '*/10 * * * * *', true);
            await vi.advanceTimersByTimeAsync(0);
            expect(calls).toEqual([
                {
                    at: at(56),
                    timer: {
                        Schedule: { AdjustForDST: true },
                        ScheduleStatus: { Last: at(10), Next: at(20), LastUpdated: at(10) },
                        IsPastDue: true,
                    },
                },
            ]);
            // Past due takes the place of runOnStartup; the schedule then resumes from the run.
            await vi.advanceTimersByTimeAsync(4_000);
            await second.stop();
            expect(calls.map((c) => ({ at: c.at, isPastDue: c.timer.IsPastDue }))).toEqual([
                { at: at(56), isPastDue: true },
                { at: at(60), isPastDue: false },
            ]);
            expect(writes.slice(-2)).toEqual([
                { Last: at(56), Next: at(60), LastUpdated: at(56) },
                { Last: at(60), Next: at(70), LastUpdated: at(60) },
            ]);
        });

        it('is not past due after downtime that missed no occurrence', async () => {
            const { monitor } = memoryMonitor({ Last: at(0), Next: at(10), LastUpdated: at(0) });
            const trigger = startMonitored(monitor);
            await vi.advanceTimersByTimeAsync(7_000);
            await trigger.stop();
            expect(
                calls.map((c) => ({ at: c.at, isPastDue: c.timer.IsPastDue, status: c.timer.ScheduleStatus })),
            ).toEqual([{ at: at(10), isPastDue: false, status: { Last: at(0), Next: at(10), LastUpdated: at(0) } }]);
        });

        it('does not count occurrences of a schedule that changed while down as missed', async () => {
            // Recorded under an hourly schedule; restarted at 00:00:03 with every-ten-seconds, whose first occurrence
            // after the recorded Last (23:00:10) differs from the recorded Next and is long past.
            const { monitor, writes } = memoryMonitor({
                Last: '2024-12-31T23:00:00.000Z',
                Next: '2025-01-01T00:00:00.000Z',
                LastUpdated: '2024-12-31T23:00:00.000Z',
            });
            const trigger = startMonitored(monitor);
            await vi.advanceTimersByTimeAsync(0);
            expect(calls).toEqual([]);
            expect(writes).toEqual([{ Last: NEVER_OCCURRED, Next: at(10), LastUpdated: at(3) }]);
            await vi.advanceTimersByTimeAsync(7_000);
            await trigger.stop();
            expect(calls.map((c) => ({ at: c.at, isPastDue: c.timer.IsPastDue }))).toEqual([
                { at: at(10), isPastDue: false },
            ]);
        });

        it('reports a status it cannot read and keeps the schedule in memory', async () => {
            const trigger = startMonitored({
                getStatus: () => Promise.reject(new Error('status blob unreadable')),
                updateStatus: () => Promise.reject(new Error('status blob unwritable')),
            });
            await vi.advanceTimersByTimeAsync(7_000);
            await trigger.stop();
            expect(calls.map((c) => c.at)).toEqual([at(10)]);
            expect(errors).toEqual([new Error('status blob unreadable'), new Error('status blob unwritable')]);
        });
    });
});
