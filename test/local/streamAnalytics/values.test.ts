import { describe, expect, it } from 'vitest';

import { toStreamAnalyticsTime } from '../../../domain/letterCounts/recount';
import { formatStreamAnalyticsTime } from '../../../domain/time';
import {
    compareDateTimes,
    DateTime,
    formatDateTime,
    parseDateTime,
    parseDateTimeValue,
    valueKey,
} from '../../../local/streamAnalytics/values';

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

describe('7-digit (100 ns) datetimes', () => {
    it('keeps every fractional digit from parsing to output', () => {
        expect(
            [
                '2026-11-22T06:00:30.1234567Z',
                '2026-11-22T06:00:30.0000001Z',
                '2026-11-22T08:00:30.9999999+02:00',
                '2026-11-22T06:00:30.12345',
                '0001-01-01T00:00:00Z',
                '1969-12-31T23:59:59.9999999Z',
            ].map((text) => parseDateTimeValue(text)?.toJSON()),
        ).toEqual([
            '2026-11-22T06:00:30.1234567Z',
            '2026-11-22T06:00:30.0000001Z',
            '2026-11-22T06:00:30.9999999Z',
            '2026-11-22T06:00:30.1234500Z',
            '0001-01-01T00:00:00.0000000Z',
            '1969-12-31T23:59:59.9999999Z',
        ]);
    });

    it('orders and keys datetimes by their ticks, not only their milliseconds', () => {
        const a = parseDateTimeValue('2026-11-22T06:00:30.1234567Z')!;
        const b = parseDateTimeValue('2026-11-22T06:00:30.1234568Z')!;
        expect([compareDateTimes(a, b) < 0, compareDateTimes(b, a) > 0, compareDateTimes(a, a)]).toEqual([
            true,
            true,
            0,
        ]);
        expect(a.ms).toBe(b.ms);
        expect(valueKey(a) === valueKey(b)).toBe(false);
    });

    it('converts to and from 100 ns ticks since the epoch exactly, before and after 1970', () => {
        const before = parseDateTimeValue('1969-12-31T23:59:59.9999999Z')!;
        expect(before.epochTicks()).toBe(-1n);
        expect(DateTime.fromEpochTicks(-1n)).toEqual(before);
        const later = parseDateTimeValue('9999-12-31T23:59:59.9999999Z')!;
        expect(DateTime.fromEpochTicks(later.epochTicks())).toEqual(later);
    });
});

describe('formatDateTime', () => {
    it('writes the seven-digit form Stream Analytics outputs', () => {
        expect([
            formatDateTime(Date.parse('2026-11-22T06:00:30.5Z')),
            formatDateTime(Date.parse('2026-11-22T06:00:30.5Z'), 42),
        ]).toEqual(['2026-11-22T06:00:30.5000000Z', '2026-11-22T06:00:30.5000042Z']);
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
