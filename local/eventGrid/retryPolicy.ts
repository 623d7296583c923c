/**
 * Event Grid's delivery rules (delivery-and-retry.md): success is 200-204 only; 400 and 413 go to dead-letter at
 * once; other failures wait for the next step of the schedule, but never less than the status's minimum.
 * The small random jitter Event Grid adds is left out so runs are reproducible.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, then hourly (the TTL, default 24 h, ends it). */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
    10_000,
    30_000,
    MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    30 * MINUTE,
    HOUR,
];

/** Minimum wait after a failure with this status; `other` covers every status not listed and network failures. */
export interface StatusMinimumDelaysMs {
    400: number;
    401: number;
    403: number;
    404: number;
    408: number;
    413: number;
    503: number;
    other: number;
}

export const DEFAULT_STATUS_MINIMUM_DELAYS_MS: StatusMinimumDelaysMs = {
    400: 5 * MINUTE,
    401: 5 * MINUTE,
    403: 5 * MINUTE,
    404: 5 * MINUTE,
    408: 2 * MINUTE,
    413: 10_000,
    503: 30_000,
    other: 10_000,
};

export function isSuccessStatus(status: number): boolean {
    return status >= 200 && status <= 204;
}

/** With dead-lettering configured these never succeed on retry, so they are dead-lettered at once. */
export function isUnrecoverableStatus(status: number): boolean {
    return status === 400 || status === 413;
}

/** `failedAttempts` counts attempts so far (1 after the first failure); `status` is undefined for no response. */
export function retryDelayMs(
    failedAttempts: number,
    status: number | undefined,
    schedule: readonly number[],
    minimums: StatusMinimumDelaysMs,
): number {
    const step = schedule[Math.min(failedAttempts, schedule.length) - 1] ?? schedule[schedule.length - 1] ?? HOUR;
    const minimum =
        status !== undefined && status in minimums ? minimums[status as keyof StatusMinimumDelaysMs] : minimums.other;
    return Math.max(step, minimum);
}

/** The `lastDeliveryOutcome` names Event Grid reports. */
export type DeliveryOutcome =
    | 'Delivered'
    | 'BadRequest'
    | 'Unauthorized'
    | 'Forbidden'
    | 'NotFound'
    | 'TimedOut'
    | 'RequestEntityTooLarge'
    | 'Busy'
    | 'GenericError';

export function deliveryOutcome(status: number | undefined, timedOut: boolean): DeliveryOutcome {
    if (timedOut) return 'TimedOut';
    if (status === undefined) return 'GenericError';
    if (isSuccessStatus(status)) return 'Delivered';
    switch (status) {
        case 400:
            return 'BadRequest';
        case 401:
            return 'Unauthorized';
        case 403:
            return 'Forbidden';
        case 404:
            return 'NotFound';
        case 408:
            return 'TimedOut';
        case 413:
            return 'RequestEntityTooLarge';
        case 503:
            return 'Busy';
        default:
            return 'GenericError';
    }
}
