import { CronExpressionParser } from 'cron-parser';

/** A six-field NCRONTAB schedule (`sec min hour day month day-of-week`), evaluated in UTC as Azure does by default. */
export class NcrontabSchedule {
    readonly expression: string;

    constructor(expression: string) {
        const fields = expression.trim().split(/\s+/);
        if (fields.length !== 6) {
            throw new Error(
                `Invalid NCRONTAB schedule "${expression}": expected six fields (second minute hour day month day-of-week)`,
            );
        }
        this.expression = expression.trim();
        this.next(new Date(0));
    }

    /** The first occurrence strictly after `after`. */
    next(after: Date): Date {
        try {
            return CronExpressionParser.parse(this.expression, { currentDate: after, tz: 'UTC' }).next().toDate();
        } catch (error) {
            throw new Error(`Invalid NCRONTAB schedule "${this.expression}": ${(error as Error).message}`);
        }
    }
}

const MAX_TIMEOUT_MS = 2_147_483_647;

export interface TimerInfo {
    Schedule: { AdjustForDST: boolean };
    ScheduleStatus: { Last: string; Next: string; LastUpdated: string } | null;
    IsPastDue: boolean;
}

export interface TimerTriggerOptions {
    schedule: NcrontabSchedule;
    runOnStartup: boolean;
    now: () => Date;
    invoke: (timer: TimerInfo) => Promise<void>;
    onError: (error: unknown) => void;
}

/**
 * Runs a timer trigger the way the host's TimerListener does: one invocation at a time; `runOnStartup` fires once
 * at start; the next occurrence is computed from when an invocation started, so an occurrence that a slow
 * invocation overran fires once, right after it, instead of every missed occurrence being replayed. A timer that
 * fires a little early counts as its occurrence, so the occurrence cannot run twice. `ScheduleStatus` is what the
 * previous invocation recorded (null before the first, as nothing is persisted locally). `IsPastDue` is set when the
 * trigger woke a whole occurrence late (the machine slept, the event loop was blocked), the local counterpart of
 * the host finding a missed occurrence in its stored status.
 */
export function startTimerTrigger({ schedule, runOnStartup, now, invoke, onError }: TimerTriggerOptions): {
    stop(): Promise<void>;
} {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let wake: (() => void) | undefined;
    let next = schedule.next(now());
    let status: TimerInfo['ScheduleStatus'] = null;

    const sleep = (ms: number) =>
        new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, ms);
        });
    // setTimeout turns a delay over 2^31-1 ms (about 24.8 days) into 1 ms: wait for a far occurrence in steps.
    const sleepUntil = async (instant: Date) => {
        let remaining = instant.getTime() - now().getTime();
        while (!stopped && remaining > MAX_TIMEOUT_MS) {
            await sleep(MAX_TIMEOUT_MS);
            remaining = instant.getTime() - now().getTime();
        }
        if (!stopped) {
            await sleep(Math.max(0, remaining));
        }
    };

    const run = async (invocationTime: Date, reason: 'schedule' | 'startup' | 'pastDue') => {
        try {
            await invoke({ Schedule: { AdjustForDST: true }, ScheduleStatus: status, IsPastDue: reason === 'pastDue' });
        } catch (error) {
            onError(error);
        }
        const recorded = reason === 'schedule' && next > invocationTime ? next : invocationTime;
        next = schedule.next(recorded);
        status = { Last: recorded.toISOString(), Next: next.toISOString(), LastUpdated: recorded.toISOString() };
    };

    const loop = async () => {
        if (runOnStartup) {
            await run(now(), 'startup');
        }
        while (!stopped) {
            const sleptAt = now();
            if (next > sleptAt) {
                await sleepUntil(next);
                if (stopped) {
                    break;
                }
            }
            const wokeAt = now();
            const pastDue = sleptAt < next && schedule.next(next) <= wokeAt;
            await run(wokeAt, pastDue ? 'pastDue' : 'schedule');
        }
    };
    const done = loop();
    return {
        async stop() {
            stopped = true;
            clearTimeout(timer);
            wake?.();
            await done;
        },
    };
}
