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

    /**
     * True for a schedule that fires more than once a minute (every ten seconds, say): the host turns `useMonitor` off
     * for those, so their status is never stored. Only schedules whose minute-and-up fields are all `*` qualify.
     * Source: Azure/azure-webjobs-sdk-extensions TimerSchedule.ShouldDisableScheduleMonitor.
     */
    firesMoreThanOncePerMinute(now: Date): boolean {
        if (
            !this.expression
                .split(/\s+/)
                .slice(1)
                .every((field) => field === '*')
        ) {
            return false;
        }
        const first = this.next(now);
        return this.next(first).getTime() <= now.getTime() + 60_000;
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

/** ISO 8601 instants. `Last` (and `LastUpdated` before the first run) is NEVER_OCCURRED until there is one. */
export interface ScheduleStatus {
    Last: string;
    Next: string;
    LastUpdated: string;
}

export interface TimerInfo {
    Schedule: { AdjustForDST: boolean };
    ScheduleStatus: ScheduleStatus | null;
    IsPastDue: boolean;
}

/** .NET's default(DateTime), which the host's status holds for "no occurrence yet". */
export const NEVER_OCCURRED = '0001-01-01T00:00:00.000Z';

/**
 * Where a monitored timer (`useMonitor`, the default for schedules of a minute or more) keeps its status across
 * host restarts; the host's StorageScheduleMonitor keeps it in a blob of AzureWebJobsStorage. Reads and writes are
 * best effort for the trigger, as in the host: a failed write is reported and the schedule goes on.
 */
export interface ScheduleMonitor {
    /** The recorded status, or null when the timer has never recorded one. */
    getStatus(): Promise<ScheduleStatus | null>;
    updateStatus(status: ScheduleStatus): Promise<void>;
}

export interface TimerTriggerOptions {
    schedule: NcrontabSchedule;
    runOnStartup: boolean;
    now: () => Date;
    invoke: (timer: TimerInfo) => Promise<void>;
    onError: (error: unknown) => void;
    /** Persists the schedule status; without one, the status lives as long as the trigger. */
    monitor?: ScheduleMonitor;
}

/**
 * Runs a timer trigger the way the host's TimerListener does: one invocation at a time; `runOnStartup` fires once
 * at start; the next occurrence is computed from when an invocation started, so an occurrence that a slow
 * invocation overran fires once, right after it, instead of every missed occurrence being replayed. A timer that
 * fires a little early counts as its occurrence, so the occurrence cannot run twice.
 *
 * With a `monitor`, start follows the host's ScheduleMonitor.CheckPastDueAsync: the recorded status is read; if the
 * schedule changed since it was written, `Next` is recomputed (from `Last`, else `LastUpdated`, moved to now when
 * already past); if now is after the recorded `Next`, an occurrence was missed while the host was down and the
 * trigger fires at once with `IsPastDue` true (once, whatever the number missed), before `runOnStartup`. Every
 * invocation then records `{ Last, Next, LastUpdated }` and passes the status it started with as `ScheduleStatus`.
 * Without a monitor (useMonitor off), `ScheduleStatus` is null, as the host passes it.
 * `IsPastDue` is also set when the running trigger woke a whole occurrence late (the machine slept, the event loop
 * was blocked), a local addition: the host detects missed occurrences only at start.
 * Source: Azure/azure-webjobs-sdk-extensions TimerListener.cs and ScheduleMonitor.cs;
 * https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer (useMonitor, isPastDue).
 */
export function startTimerTrigger({ schedule, runOnStartup, now, invoke, onError, monitor }: TimerTriggerOptions): {
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
            // The host hands the status to the function only when the schedule is monitored.
            await invoke({
                Schedule: { AdjustForDST: true },
                ScheduleStatus: monitor ? status : null,
                IsPastDue: reason === 'pastDue',
            });
        } catch (error) {
            onError(error);
        }
        const recorded = reason === 'schedule' && next > invocationTime ? next : invocationTime;
        next = schedule.next(recorded);
        status = { Last: recorded.toISOString(), Next: next.toISOString(), LastUpdated: recorded.toISOString() };
        await monitor?.updateStatus(status).catch(onError);
    };

    /** The host's CheckPastDueAsync; returns whether an occurrence was missed while no host ran. */
    const checkPastDue = async (monitor: ScheduleMonitor, at: Date): Promise<boolean> => {
        const recorded = await monitor.getStatus();
        if (!recorded) {
            await monitor.updateStatus({
                Last: NEVER_OCCURRED,
                Next: schedule.next(at).toISOString(),
                LastUpdated: at.toISOString(),
            });
            // The first invocation sees a status with no occurrence yet, as the host's listener initialises it.
            status = { Last: NEVER_OCCURRED, Next: next.toISOString(), LastUpdated: NEVER_OCCURRED };
            return false;
        }
        let basis =
            recorded.Last !== NEVER_OCCURRED
                ? new Date(recorded.Last)
                : recorded.LastUpdated !== NEVER_OCCURRED
                  ? new Date(recorded.LastUpdated)
                  : at;
        let expected = schedule.next(basis);
        if (new Date(recorded.Next).getTime() !== expected.getTime()) {
            // The schedule changed since the status was written: an occurrence of the new schedule that is
            // already past does not count as missed.
            if (at > expected) {
                basis = at;
                expected = schedule.next(at);
            }
            status = { Last: NEVER_OCCURRED, Next: expected.toISOString(), LastUpdated: basis.toISOString() };
            await monitor.updateStatus(status);
        } else {
            status = recorded;
        }
        next = new Date(status.Next);
        return at > next;
    };

    const loop = async () => {
        let pastDue = false;
        if (monitor) {
            try {
                pastDue = await checkPastDue(monitor, now());
            } catch (error) {
                // The host fails the listener's start here; locally the timer keeps its in-memory schedule.
                onError(error);
            }
        }
        if (pastDue) {
            await run(now(), 'pastDue');
        } else if (runOnStartup) {
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
