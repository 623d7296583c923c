import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ALPHABET, bucketLabel, type StoredWindow, WindowStore } from '../../dashboard/src/windowStore';
import type { WindowUpdate } from '../../domain/letterCounts/windowUpdate';

function update(windowEnd: string, counts: Record<string, number>, seconds = 30): WindowUpdate {
    return {
        windowStart: new Date(Date.parse(windowEnd) - seconds * 1000).toISOString(),
        windowEnd,
        counts: Object.entries(counts).map(([letter, count]) => ({ letter, count })),
    };
}

/** A window as the store reports it: all 26 letters, zeros included. */
function stored(windowEnd: string, counts: Record<string, number>, seconds = 30): StoredWindow {
    return {
        windowStart: new Date(Date.parse(windowEnd) - seconds * 1000).toISOString(),
        windowEnd,
        windowEndMs: Date.parse(windowEnd),
        counts: new Map(ALPHABET.map((letter) => [letter, counts[letter] ?? 0])),
    };
}

const T1 = '2026-11-22T06:00:30.000Z';
const T2 = '2026-11-22T06:01:00.000Z';
const T3 = '2026-11-22T06:01:30.000Z';
const T4 = '2026-11-22T06:02:00.000Z';

describe('WindowStore', () => {
    it('holds each window with every letter, oldest first', () => {
        const store = new WindowStore(5);
        expect(store.applyAll([update(T1, { A: 2 }), update(T2, { B: 1, Z: 4 })])).toEqual({
            changed: [Date.parse(T1), Date.parse(T2)],
            added: [Date.parse(T1), Date.parse(T2)],
        });
        expect(store.windows()).toEqual([stored(T1, { A: 2 }), stored(T2, { B: 1, Z: 4 })]);
        expect(store.latest()).toEqual(stored(T2, { B: 1, Z: 4 }));
    });

    it('merges a window broadcast in several parts letter by letter', () => {
        const store = new WindowStore(5);
        store.apply(update(T1, { A: 2, C: 1 }));
        expect(store.apply(update(T1, { B: 3 }))).toEqual({ changed: [Date.parse(T1)], added: [] });
        expect(store.windows()).toEqual([stored(T1, { A: 2, B: 3, C: 1 })]);
    });

    it('replaces a count with the newer total instead of adding to it', () => {
        const store = new WindowStore(5);
        store.apply(update(T1, { A: 2 }));
        store.apply(update(T1, { A: 5 }));
        expect(store.windows()).toEqual([stored(T1, { A: 5 })]);
    });

    it('ignores a duplicate and reports no change', () => {
        const store = new WindowStore(5);
        store.apply(update(T1, { A: 2 }));
        expect(store.apply(update(T1, { A: 2 }))).toEqual({ changed: [], added: [] });
        expect(store.windows()).toEqual([stored(T1, { A: 2 })]);
    });

    it('keeps the newer total when a stale copy of the window arrives after it', () => {
        const store = new WindowStore(5);
        store.apply(update(T1, { A: 5 }));
        expect(store.apply(update(T1, { A: 2 }))).toEqual({ changed: [], added: [] });
        expect(store.windows()).toEqual([stored(T1, { A: 5 })]);
    });

    it('inserts an out-of-order window in its place', () => {
        const store = new WindowStore(5);
        store.applyAll([update(T1, { A: 1 }), update(T3, { C: 3 })]);
        expect(store.apply(update(T2, { B: 2 }))).toEqual({ changed: [Date.parse(T2)], added: [Date.parse(T2)] });
        expect(store.windows().map((window) => window.windowEnd)).toEqual([T1, T2, T3]);
    });

    it('keeps only the newest N windows and drops updates older than all of them', () => {
        const store = new WindowStore(2);
        store.applyAll([update(T1, { A: 1 }), update(T2, { B: 2 }), update(T3, { C: 3 })]);
        expect(store.windows().map((window) => window.windowEnd)).toEqual([T2, T3]);
        expect(store.apply(update(T1, { A: 9 }))).toEqual({ changed: [], added: [] });
        expect(store.windows().map((window) => window.windowEnd)).toEqual([T2, T3]);
    });

    it('does not report a window evicted later in the same batch', () => {
        const store = new WindowStore(1);
        expect(store.applyAll([update(T1, { A: 1 }), update(T2, { B: 2 })])).toEqual({
            changed: [Date.parse(T2)],
            added: [Date.parse(T2)],
        });
    });

    it('holds the "other" bucket beside A to Z and labels it Other', () => {
        const store = new WindowStore(5);
        store.apply(update(T1, { A: 2, other: 3 }));
        expect(store.windows()).toEqual([stored(T1, { A: 2, other: 3 })]);
        expect([...store.windows()[0]!.counts.keys()].slice(-2)).toEqual(['Z', 'other']);
        expect(store.totals().names).toBe(5);
        expect(ALPHABET.map(bucketLabel).slice(-2)).toEqual(['Z', 'Other']);
    });

    it('skips letters outside A to Z and other, and counts that are not whole non-negative numbers', () => {
        const store = new WindowStore(5);
        store.apply({
            windowStart: '2026-11-22T06:00:00.000Z',
            windowEnd: T1,
            counts: [
                { letter: 'a', count: 3 },
                { letter: 'Ä', count: 3 },
                { letter: 'OTHER', count: 3 },
                { letter: 'B', count: -1 },
                { letter: 'C', count: 1.5 },
                { letter: 'D', count: 4 },
            ],
        });
        expect(store.windows()).toEqual([stored(T1, { D: 4 })]);
    });

    it('ignores an update whose window end is not a date', () => {
        const store = new WindowStore(5);
        expect(store.apply(update(T1, { A: 1 }))).toEqual({ changed: [Date.parse(T1)], added: [Date.parse(T1)] });
        expect(store.apply({ windowStart: 'x', windowEnd: 'not a date', counts: [] })).toEqual({
            changed: [],
            added: [],
        });
    });

    it('computes totals, names per minute over the span held, and the latest window', () => {
        const store = new WindowStore(5);
        // T1 and T2 are adjacent, T4 leaves a gap: the span is T1's start to T4's end, two minutes.
        store.applyAll([update(T1, { A: 2, B: 1 }), update(T2, { A: 3 }), update(T4, { Z: 6 })]);
        const totals = store.totals();
        expect(totals).toEqual({
            names: 12,
            byLetter: new Map(ALPHABET.map((letter) => [letter, { A: 5, B: 1, Z: 6 }[letter] ?? 0])),
            namesPerMinute: 6,
            latestWindowNames: 6,
        });
    });

    it('reports zero totals when empty', () => {
        expect(new WindowStore(3).totals()).toEqual({
            names: 0,
            byLetter: new Map(ALPHABET.map((letter) => [letter, 0])),
            namesPerMinute: 0,
            latestWindowNames: 0,
        });
    });

    it('refuses a bound that is not a whole number of at least 1', () => {
        expect(() => new WindowStore(0)).toThrow('maxWindows must be a whole number of at least 1 (got 0)');
    });

    it('ends in the same state whatever the order and repetition of the updates', () => {
        const ends = [T1, T2, T3, T4];
        const updateArb = fc.record({
            end: fc.constantFrom(...ends),
            letter: fc.constantFrom('A', 'B', 'C'),
            count: fc.nat(20),
        });
        fc.assert(
            fc.property(fc.array(updateArb, { maxLength: 30 }), fc.integer({ min: 1, max: 4 }), (updates, bound) => {
                const asUpdates = updates.map(({ end, letter, count }) => update(end, { [letter]: count }));
                const forward = new WindowStore(bound);
                forward.applyAll(asUpdates);
                const shuffledTwice = new WindowStore(bound);
                shuffledTwice.applyAll([...asUpdates].reverse());
                shuffledTwice.applyAll(asUpdates);
                expect(shuffledTwice.windows()).toEqual(forward.windows());
            }),
        );
    });
});
