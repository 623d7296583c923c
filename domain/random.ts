import { randomInt } from 'node:crypto';

import prand from 'pure-rand';

/** A source of uniform randomness; seedable so tests and replays get the same names. */
export interface RandomSource {
    /** A whole number in [min, max], both inclusive. */
    nextInt(min: number, max: number): number;
    /** A number in [0, 1). */
    nextFloat(): number;
}

const TWO_POW_32 = 2 ** 32;

/** xoroshiro128+ from pure-rand: fast, well tested, and reproducible from a 32-bit seed. */
export function createRandomSource(seed: number = randomInt(0, 2 ** 31)): RandomSource {
    const generator = prand.xoroshiro128plus(seed);
    return {
        nextInt: (min, max) => prand.unsafeUniformIntDistribution(min, max, generator),
        nextFloat: () => prand.unsafeUniformIntDistribution(0, TWO_POW_32 - 1, generator) / TWO_POW_32,
    };
}
