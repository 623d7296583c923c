import { describe, expect, it } from 'vitest';

import { formatAge, formatRate, formatWindowCount, heatLevel } from '../../dashboard/src/format';

describe('heatLevel', () => {
    it('keeps step 0 for empty cells only and spreads the rest up to the top step', () => {
        expect([0, 1, 2, 5, 9, 10].map((count) => heatLevel(count, 10))).toEqual([0, 1, 1, 3, 6, 7]);
    });

    it('answers 0 when nothing was counted at all', () => {
        expect(heatLevel(0, 0)).toBe(0);
    });
});

describe('formatAge', () => {
    it.each([
        [undefined, 'never'],
        [-500, 'just now'],
        [1_999, 'just now'],
        [2_000, '2 s ago'],
        [119_999, '119 s ago'],
        [180_000, '3 min ago'],
    ])('formats %s ms as %s', (ageMs, text) => {
        expect(formatAge(ageMs)).toBe(text);
    });
});

describe('formatRate', () => {
    it('shows one decimal below 100 per minute and none above', () => {
        expect([0, 7.25, 99.94, 212.4].map(formatRate)).toEqual(['0.0', '7.3', '99.9', '212']);
    });
});

describe('formatWindowCount', () => {
    it('says "window" for one and "windows" otherwise', () => {
        expect([0, 1, 2, 60].map(formatWindowCount)).toEqual(['0 windows', '1 window', '2 windows', '60 windows']);
    });
});
