import { describe, expect, it } from 'vitest';

import { expectedFirstLetterShares, generateName } from '../../../domain/names/nameGenerator';
import { createRandomSource } from '../../../domain/random';

describe('generateName', () => {
    it('draws the same names from the same seed', () => {
        const a = createRandomSource(7);
        const b = createRandomSource(7);
        const first = Array.from({ length: 20 }, () => generateName(a));
        expect(Array.from({ length: 20 }, () => generateName(b))).toEqual(first);
    });

    it('draws "First Last" names that start with a capital letter', () => {
        const random = createRandomSource(1);
        for (let i = 0; i < 1000; i++) {
            expect(generateName(random)).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/);
        }
    });

    it("matches the data set's first-letter frequencies (chi-square, 200,000 seeded draws)", () => {
        const random = createRandomSource(20261122);
        const draws = 200_000;
        const observed = new Map<string, number>();
        for (let i = 0; i < draws; i++) {
            const letter = generateName(random)[0]!;
            observed.set(letter, (observed.get(letter) ?? 0) + 1);
        }
        const expected = expectedFirstLetterShares();
        let chiSquare = 0;
        for (const [letter, share] of expected) {
            const expectedCount = share * draws;
            chiSquare += ((observed.get(letter) ?? 0) - expectedCount) ** 2 / expectedCount;
        }
        // Letters the data set lacks must never appear.
        expect([...observed.keys()].filter((letter) => !expected.has(letter))).toEqual([]);
        // Critical value of chi-square for 25 degrees of freedom at p = 0.001 is 52.62.
        expect(chiSquare).toBeLessThan(52.62);
        // And the distribution is the skewed real-life one, not uniform: J, M and D are common, Q and X rare.
        expect(expected.get('J')!).toBeGreaterThan(0.08);
        expect(expected.get('Q') ?? 0).toBeLessThan(0.002);
    });
});
