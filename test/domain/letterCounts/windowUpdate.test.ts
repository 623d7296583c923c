import { describe, expect, it } from 'vitest';

import { windowEndFor } from '../../../domain/letterCounts/letterCountDocument';
import { groupIntoWindows, toWindowCloudEvent } from '../../../domain/letterCounts/windowUpdate';
import { letterCountDoc } from '../../support/letterCounts';

const doc = letterCountDoc;

describe('groupIntoWindows', () => {
    it('groups a batch spanning several windows, oldest first, letters sorted, last version wins', () => {
        const result = groupIntoWindows([
            doc('2026-11-22T06:01:00Z', 'M', 4),
            doc('2026-11-22T06:00:30.0000000Z', 'J', 2),
            { ...doc('2026-11-22T06:00:30Z', 'A', 1), _ts: 1, _etag: 'x' },
            doc('2026-11-22T06:00:30Z', 'J', 3),
        ]);
        expect(result).toEqual({
            windows: [
                {
                    windowStart: '2026-11-22T06:00:00.000Z',
                    windowEnd: '2026-11-22T06:00:30.000Z',
                    counts: [
                        { letter: 'A', count: 1 },
                        { letter: 'J', count: 3 },
                    ],
                },
                {
                    windowStart: '2026-11-22T06:00:30.000Z',
                    windowEnd: '2026-11-22T06:01:00.000Z',
                    counts: [{ letter: 'M', count: 4 }],
                },
            ],
            rejected: [],
        });
    });

    it('sets aside documents that break the contract, with the reason', () => {
        const result = groupIntoWindows([
            doc('2026-11-22T06:00:30Z', 'A', 1),
            { ...doc('2026-11-22T06:00:30Z', 'B', 1), count: 1.5 },
            { ...doc('2026-11-22T06:00:30Z', 'C', 1), id: '1-C' },
            'garbage',
        ]);
        expect(result.windows.map((w) => w.counts)).toEqual([[{ letter: 'A', count: 1 }]]);
        expect(result.rejected.map((e) => e.message)).toEqual([
            'Invalid message: field "count" must be a whole number (got 1.5)',
            'Invalid message: field "id" must be "1795327230-C" for this window and letter (got "1-C")',
            'Invalid message: field "document" must be an object (got "garbage")',
        ]);
    });
});

describe('toWindowCloudEvent', () => {
    const window = {
        windowStart: '2026-11-22T06:00:00.000Z',
        windowEnd: '2026-11-22T06:00:30.000Z',
        counts: [{ letter: 'A', count: 1 }],
    };

    it('builds a CloudEvents 1.0 event for the window', () => {
        const event = toWindowCloudEvent(window);
        expect(event).toEqual({
            specversion: '1.0',
            id: expect.stringMatching(/^1795327230-[0-9a-f]{16}$/),
            source: '/namestream/letter-counts',
            type: 'Namestream.LetterCounts.WindowUpdated',
            subject: '/windows/2026-11-22T06:00:30.000Z',
            time: '2026-11-22T06:00:30.000Z',
            datacontenttype: 'application/json',
            data: window,
        });
    });

    it('gives the same window content the same id, and changed counts a new one', () => {
        expect(toWindowCloudEvent(window).id).toBe(toWindowCloudEvent({ ...window }).id);
        expect(toWindowCloudEvent(window).id).not.toBe(
            toWindowCloudEvent({ ...window, counts: [{ letter: 'A', count: 2 }] }).id,
        );
    });
});

describe('windowEndFor', () => {
    it('is start-exclusive and end-inclusive on an epoch-aligned grid', () => {
        expect(windowEndFor(new Date('2026-11-22T06:00:30.000Z')).toISOString()).toBe('2026-11-22T06:00:30.000Z');
        expect(windowEndFor(new Date('2026-11-22T06:00:30.001Z')).toISOString()).toBe('2026-11-22T06:01:00.000Z');
        expect(windowEndFor(new Date('2026-11-22T06:00:00.001Z')).toISOString()).toBe('2026-11-22T06:00:30.000Z');
    });
});
