import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { NcrontabSchedule, startTimerTrigger, type TimerInfo } from '../../../../local/host/triggers/timerTrigger';

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

    it('rejects a field out of range when constructed, quoting the expression', () => {
        expect(() => new NcrontabSchedule('61 * * * * *')).toThrow(
            'Invalid NCRONTAB schedule "61 * * * * *": Constraint error, got value 61 expected range 0-59',
        );
    });
});

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

    function start(options: { runOnStartup?: boolean; durationMs?: (call: number) => number; fail?: boolean } = {}) {
        let running = 0;
        let maxRunning = 0;
        const trigger = startTimerTrigger({
            schedule: new NcrontabSchedule('*/10 * * * * *'),
            runOnStartup: options.runOnStartup ?? false,
            now,
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
            { at: at(10), timer: { Schedule: { AdjustForDST: true }, ScheduleStatus: null, IsPastDue: false } },
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
            { at: at(3), timer: { Schedule: { AdjustForDST: true }, ScheduleStatus: null, IsPastDue: false } },
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
            { at: at(10), status: null, isPastDue: false },
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
            { at: at(35), status: null, isPastDue: true },
            { at: at(40), status: { Last: at(35), Next: at(40), LastUpdated: at(35) }, isPastDue: false },
        ]);
        await trigger.stop();
    });

    it('runs an occurrence once when its timer fires a little early', async () => {
        const { trigger } = start();
        // The clock lags the timer by 5 ms, so the timer fires when the clock still reads 00:00:09.995.
        skewMs = -5;
        await vi.advanceTimersByTimeAsync(7_005);
        await vi.advanceTimersByTimeAsync(9_000);
        expect(calls.map((c) => ({ at: c.at, status: c.timer.ScheduleStatus }))).toEqual([
            { at: at(9, 995), status: null },
        ]);
        await vi.advanceTimersByTimeAsync(1_010);
        expect(calls.map((c) => ({ at: c.at, status: c.timer.ScheduleStatus }))).toEqual([
            { at: at(9, 995), status: null },
            { at: at(20), status: { Last: at(10), Next: at(20), LastUpdated: at(10) } },
        ]);
        await trigger.stop();
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
});
