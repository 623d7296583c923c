import { describe, expect, it } from 'vitest';

import { parseBackfillBody, pickWindowUpdates } from '../../dashboard/src/windowUpdates';

const window = {
    windowStart: '2026-11-22T06:00:00.000Z',
    windowEnd: '2026-11-22T06:00:30.000Z',
    counts: [{ letter: 'A', count: 2 }],
};

describe('pickWindowUpdates', () => {
    it('keeps well-formed windows and drops the malformed ones beside them', () => {
        expect(
            pickWindowUpdates([
                window,
                null,
                'text',
                { ...window, windowEnd: 'yesterday' },
                { ...window, counts: [{ letter: 'A', count: '2' }] },
                { ...window, counts: 'A=2' },
            ]),
        ).toEqual([window]);
    });
});

describe('parseBackfillBody', () => {
    it('returns the windows of a letter-counts response', () => {
        expect(parseBackfillBody({ windows: [window] })).toEqual([window]);
    });

    it('names what it got when the body has no windows array', () => {
        expect(() => parseBackfillBody({ error: 'nope' })).toThrow(
            'Backfill response has no "windows" array (got {"error":"nope"})',
        );
    });
});
