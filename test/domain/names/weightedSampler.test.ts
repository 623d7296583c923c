import { describe, expect, it } from 'vitest';

import { WeightedSampler } from '../../../domain/names/weightedSampler';
import { createRandomSource } from '../../../domain/random';

describe('WeightedSampler', () => {
    it('draws items in proportion to their weights', () => {
        const sampler = new WeightedSampler([
            ['a', 1],
            ['b', 3],
            ['c', 6],
        ]);
        const random = createRandomSource(3);
        const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
        for (let i = 0; i < 100_000; i++) {
            counts[sampler.sample(random)]! += 1;
        }
        expect(Math.round(counts.a! / 1000)).toBeGreaterThanOrEqual(9);
        expect(Math.round(counts.a! / 1000)).toBeLessThanOrEqual(11);
        expect(Math.round(counts.b! / 1000)).toBeGreaterThanOrEqual(29);
        expect(Math.round(counts.b! / 1000)).toBeLessThanOrEqual(31);
        expect(Math.round(counts.c! / 1000)).toBeGreaterThanOrEqual(59);
        expect(Math.round(counts.c! / 1000)).toBeLessThanOrEqual(61);
    });

    it('always returns the only item', () => {
        const sampler = new WeightedSampler([['only', 5]]);
        expect(sampler.sample(createRandomSource(1))).toBe('only');
    });

    it('rejects an empty list and non-positive weights, quoting the value', () => {
        expect(() => new WeightedSampler([])).toThrow('WeightedSampler needs at least one entry (got 0)');
        expect(() => new WeightedSampler([['x', 0]])).toThrow(
            'WeightedSampler weights must be positive finite numbers (got 0)',
        );
        expect(() => new WeightedSampler([['x', Number.NaN]])).toThrow(
            'WeightedSampler weights must be positive finite numbers (got NaN)',
        );
    });
});
