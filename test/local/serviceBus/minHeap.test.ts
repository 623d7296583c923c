import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { MinHeap } from '../../../local/serviceBus/minHeap';

describe('MinHeap', () => {
    it('pops any mix of pushes in ascending order', () => {
        fc.assert(
            fc.property(fc.array(fc.integer()), (values) => {
                const heap = new MinHeap<number>((a, b) => a < b);
                values.forEach((value) => heap.push(value));
                const popped: number[] = [];
                for (let value = heap.pop(); value !== undefined; value = heap.pop()) {
                    popped.push(value);
                }
                expect(popped).toEqual([...values].sort((a, b) => a - b));
            }),
        );
    });

    it('keeps heap order after retain drops entries', () => {
        fc.assert(
            fc.property(fc.array(fc.integer({ min: 0, max: 1000 })), (values) => {
                const heap = new MinHeap<number>((a, b) => a < b);
                values.forEach((value) => heap.push(value));
                heap.retain((value) => value % 3 !== 0);
                const popped: number[] = [];
                for (let value = heap.pop(); value !== undefined; value = heap.pop()) {
                    popped.push(value);
                }
                expect(popped).toEqual(values.filter((value) => value % 3 !== 0).sort((a, b) => a - b));
            }),
        );
    });

    it('peeks without removing and reports its size', () => {
        const heap = new MinHeap<number>((a, b) => a < b);
        expect([heap.peek(), heap.pop(), heap.size]).toEqual([undefined, undefined, 0]);
        [5, 1, 3].forEach((value) => heap.push(value));
        expect([heap.peek(), heap.size]).toEqual([1, 3]);
    });
});
