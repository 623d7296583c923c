import type { RandomSource } from '../random';
import firstNamesData from './data/firstNames.json';
import surnamesData from './data/surnames.json';
import { WeightedSampler } from './weightedSampler';

/**
 * First names weighted by US Social Security births 1950-2024, so the first-letter distribution (the thing the
 * pipeline counts) follows real life. Surnames come from the 1990 US Census list, which the npm copy keeps only as
 * a ranking: they are weighted by 1/rank (Zipf), an approximation that does not affect first letters.
 */
export const firstNameWeights: ReadonlyArray<readonly [string, number]> = firstNamesData.names.map(
    ([name, births]) => [String(name), Number(births)] as const,
);
export const surnameWeights: ReadonlyArray<readonly [string, number]> = surnamesData.names.map(
    (name, rank) => [name, 1 / (rank + 1)] as const,
);

const firstNames = new WeightedSampler(firstNameWeights);
const surnames = new WeightedSampler(surnameWeights);

/** "First Last", drawn independently by frequency. */
export function generateName(random: RandomSource): string {
    return `${firstNames.sample(random)} ${surnames.sample(random)}`;
}

/** The probability that a generated name starts with each letter, straight from the data set. */
export function expectedFirstLetterShares(): Map<string, number> {
    const total = firstNameWeights.reduce((sum, [, weight]) => sum + weight, 0);
    const shares = new Map<string, number>();
    for (const [name, weight] of firstNameWeights) {
        const letter = name[0]!.toUpperCase();
        shares.set(letter, (shares.get(letter) ?? 0) + weight / total);
    }
    return shares;
}
