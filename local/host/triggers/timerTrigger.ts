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
 * Runs a timer trigger the way the host does: one invocation at a time (a slow invocation delays, never overlaps,
 * the next), `runOnStartup` fires once at start, and an occurrence that was missed because the previous run took
 * too long fires once, late, with `IsPastDue` set, instead of replaying every missed occurrence.
 */
export function startTimerTrigger({ schedule, runOnStartup, now, invoke, onError }: TimerTriggerOptions): {
    stop(): Promise<void>;
} {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let wake: (() => void) | undefined;
    let last: Date | undefined;

    const sleepUntil = (instant: Date) =>
        new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, Math.max(0, instant.getTime() - now().getTime()));
        });

    const run = async (isPastDue: boolean, scheduled: Date) => {
        const status = last
            ? {
                  Last: last.toISOString(),
                  Next: schedule.next(scheduled).toISOString(),
                  LastUpdated: now().toISOString(),
              }
            : null;
        try {
            await invoke({ Schedule: { AdjustForDST: true }, ScheduleStatus: status, IsPastDue: isPastDue });
        } catch (error) {
            onError(error);
        }
        last = scheduled;
    };

    const loop = async () => {
        let scheduled = schedule.next(now());
        if (runOnStartup) {
            await run(false, now());
        }
        while (!stopped) {
            await sleepUntil(scheduled);
            if (stopped) {
                break;
            }
            // Past due when we are at least one whole occurrence late.
            const isPastDue = schedule.next(scheduled).getTime() <= now().getTime();
            await run(isPastDue, scheduled);
            scheduled = schedule.next(now());
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
