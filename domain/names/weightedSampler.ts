import type { RandomSource } from '../random';

/**
 * Draws items in proportion to their weights in O(1) per draw with Walker's alias method (Vose's construction).
 * Written here rather than taken from a package: the npm options are either unmaintained or sample in O(log n)
 * with floating cumulative sums, and the algorithm is thirty lines.
 */
export class WeightedSampler<T> {
    readonly #items: readonly T[];
    readonly #probability: Float64Array;
    readonly #alias: Uint32Array;

    constructor(entries: ReadonlyArray<readonly [T, number]>) {
        if (entries.length === 0) {
            throw new RangeError('WeightedSampler needs at least one entry (got 0)');
        }
        const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
        const bad = entries.find(([, weight]) => !(weight > 0) || !Number.isFinite(weight));
        if (bad) {
            throw new RangeError(`WeightedSampler weights must be positive finite numbers (got ${String(bad[1])})`);
        }
        const n = entries.length;
        this.#items = entries.map(([item]) => item);
        this.#probability = new Float64Array(n);
        this.#alias = new Uint32Array(n);
        const scaled = entries.map(([, weight]) => (weight * n) / total);
        const small: number[] = [];
        const large: number[] = [];
        scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
        while (small.length > 0 && large.length > 0) {
            const less = small.pop()!;
            const more = large.pop()!;
            this.#probability[less] = scaled[less]!;
            this.#alias[less] = more;
            scaled[more] = scaled[more]! + scaled[less]! - 1;
            (scaled[more] < 1 ? small : large).push(more);
        }
        // Whatever remains is 1 up to rounding error.
        for (const i of [...small, ...large]) {
            this.#probability[i] = 1;
        }
    }

    sample(random: RandomSource): T {
        const column = random.nextInt(0, this.#items.length - 1);
        const index = random.nextFloat() < this.#probability[column]! ? column : this.#alias[column]!;
        return this.#items[index]!;
    }
}
