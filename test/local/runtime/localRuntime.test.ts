import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { withWindowSeconds } from '../../../local/runtime/localRuntime';
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
