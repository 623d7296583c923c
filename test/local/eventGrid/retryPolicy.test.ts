import { describe, expect, it } from 'vitest';

import {
    DEFAULT_RETRY_SCHEDULE_MS,
    DEFAULT_STATUS_MINIMUM_DELAYS_MS,
    deliveryOutcome,
    isSuccessStatus,
    retryDelayMs,
} from '../../../local/eventGrid/retryPolicy';

const delay = (attempts: number, status: number | undefined) =>
    retryDelayMs(attempts, status, DEFAULT_RETRY_SCHEDULE_MS, DEFAULT_STATUS_MINIMUM_DELAYS_MS);

describe('retryDelayMs', () => {
    it('follows 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, then hourly for ordinary failures', () => {
        expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => delay(n, 500))).toEqual([
            10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000, 3_600_000, 3_600_000,
        ]);
    });

    it('never waits less than the documented minimum for the status', () => {
        expect([404, 401, 403, 408, 503, 413, undefined].map((status) => delay(1, status))).toEqual([
            300_000, 300_000, 300_000, 120_000, 30_000, 10_000, 10_000,
        ]);
        expect(delay(5, 503)).toBe(600_000);
    });
});

describe('deliveryOutcome and isSuccessStatus', () => {
    it('treats only 200-204 as delivered', () => {
        expect([199, 200, 204, 205].map(isSuccessStatus)).toEqual([false, true, true, false]);
    });

    it('names outcomes as Event Grid reports them', () => {
        expect([200, 400, 401, 403, 404, 408, 413, 503, 500].map((s) => deliveryOutcome(s, false))).toEqual([
            'Delivered',
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'NotFound',
            'TimedOut',
            'RequestEntityTooLarge',
            'Busy',
            'GenericError',
        ]);
        expect(deliveryOutcome(undefined, true)).toBe('TimedOut');
        expect(deliveryOutcome(undefined, false)).toBe('GenericError');
    });
});
