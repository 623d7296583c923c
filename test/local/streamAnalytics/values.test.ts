import { describe, expect, it } from 'vitest';

import { toStreamAnalyticsTime } from '../../../domain/letterCounts/recount';
import { formatStreamAnalyticsTime } from '../../../domain/time';
import { formatDateTime, parseDateTime } from '../../../local/streamAnalytics/values';

describe('parseDateTime', () => {
    it('reads ISO 8601 with a zone, without a zone (as UTC), with seven fractional digits and with a space', () => {
        expect(
            [
                '2026-11-22T06:00:30Z',
                '2026-11-22T08:00:30+02:00',
                '2026-11-22T06:00:30',
                '2026-11-22 06:00:30',
                '2026-11-22T06:00:30.1234567Z',
                '2026-11-22',
            ].map(parseDateTime),
        ).toEqual([
            Date.parse('2026-11-22T06:00:30Z'),
            Date.parse('2026-11-22T06:00:30Z'),
            Date.parse('2026-11-22T06:00:30Z'),
            Date.parse('2026-11-22T06:00:30Z'),
            Date.parse('2026-11-22T06:00:30.123Z'),
            Date.parse('2026-11-22T00:00:00Z'),
        ]);
    });

    it('rejects impossible dates instead of rolling them over', () => {
        expect(
            ['2026-02-31T00:00:00Z', '2026-02-28T24:00:00Z', '2026-13-01T00:00:00Z', 'soon'].map(parseDateTime),
        ).toEqual([undefined, undefined, undefined, undefined]);
    });
});

describe('formatDateTime', () => {
    it('writes the seven-digit form Stream Analytics outputs', () => {
        expect(formatDateTime(Date.parse('2026-11-22T06:00:30.5Z'))).toBe('2026-11-22T06:00:30.5000000Z');
    });

    it('is the one format the recount writes too: windowEnd is the partition key, a second format a second document', () => {
        expect(formatDateTime).toBe(formatStreamAnalyticsTime);
        const instants = [Date.parse('2026-11-22T06:00:30Z'), Date.parse('2026-11-22T06:00:30.007Z') + 0.9996];
        expect(instants.map((ms) => [formatDateTime(ms), toStreamAnalyticsTime(new Date(ms))])).toEqual([
            ['2026-11-22T06:00:30.0000000Z', '2026-11-22T06:00:30.0000000Z'],
            ['2026-11-22T06:00:30.0070000Z', '2026-11-22T06:00:30.0070000Z'],
        ]);
    });
});
