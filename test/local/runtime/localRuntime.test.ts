import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { formatEventOrderingReport, withWindowSeconds } from '../../../local/runtime/localRuntime';
import { letterCountsQueryPath } from '../../../local/streamAnalytics';

describe('withWindowSeconds', () => {
    it('leaves the query as it is without a window size', () => {
        expect(withWindowSeconds('anything', undefined)).toBe('anything');
    });

    it('rewrites every 30-second tumbling window, whatever the case and spacing', () => {
        expect(withWindowSeconds('GROUP BY TumblingWindow(second, 30) UNION tumblingwindow( SECOND ,30 )', 2)).toBe(
            'GROUP BY TumblingWindow(second, 2) UNION TumblingWindow(second, 2)',
        );
    });

    it('refuses a query without a 30-second tumbling window', () => {
        expect(() => withWindowSeconds('GROUP BY TumblingWindow(second, 10)', 2)).toThrow(
            'windowSeconds: the query has no TumblingWindow(second, 30) to shorten',
        );
    });

    it("shortens the project's own query", () => {
        const query = readFileSync(letterCountsQueryPath(), 'utf8');
        const shortened = withWindowSeconds(query, 2);
        expect(shortened).not.toBe(query);
        expect(shortened).toContain('TumblingWindow(second, 2)');
        expect(shortened).not.toMatch(/TumblingWindow\(\s*second\s*,\s*30\s*\)/i);
    });
});

describe('formatEventOrderingReport', () => {
    it('says how many events were dropped, why, and how to get their names counted', () => {
        expect(
            formatEventOrderingReport({
                lateInputEvents: 5,
                earlyInputEvents: 0,
                outOfOrderEvents: 2,
                droppedEvents: 7,
                adjustedEvents: 0,
            }),
        ).toBe(
            '[stream analytics] warning: 5 late, 0 early, 2 out of order input events; 7 dropped: their names are missing from the live counts until a recount (npm run recount -- --since 2h) derives those windows again from the raw-names blobs',
        );
    });

    it('says where adjusted events were counted', () => {
        expect(
            formatEventOrderingReport({
                lateInputEvents: 1,
                earlyInputEvents: 0,
                outOfOrderEvents: 0,
                droppedEvents: 0,
                adjustedEvents: 1,
            }),
        ).toBe(
            '[stream analytics] warning: 1 late, 0 early, 0 out of order input events; 1 adjusted: counted in a later window than the one they were generated in',
        );
    });
});
