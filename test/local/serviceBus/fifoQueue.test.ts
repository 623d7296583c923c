import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { FifoQueue } from '../../../local/serviceBus/fifoQueue';

describe('FifoQueue', () => {
    it('behaves like an array used as a queue, across compactions', () => {
        fc.assert(
            fc.property(
                fc.array(fc.oneof(fc.constant<'shift'>('shift'), fc.integer()), { maxLength: 5_000 }),
                (operations) => {
                    const queue = new FifoQueue<number>();
                    const model: number[] = [];
                    for (const operation of operations) {
                        if (operation === 'shift') {
                            expect(queue.shift()).toBe(model.shift());
                        } else {
                            queue.push(operation);
                            model.push(operation);
                        }
                        expect([queue.size, queue.peek()]).toEqual([model.length, model[0]]);
                    }
                },
            ),
            { numRuns: 50 },
        );
    });

    it('compacts consumed slots after long runs', () => {
        const queue = new FifoQueue<number>();
        for (let i = 0; i < 3_000; i++) {
            queue.push(i);
        }
        for (let i = 0; i < 2_000; i++) {
            expect(queue.shift()).toBe(i);
        }
        expect([queue.size, queue.peek()]).toEqual([1_000, 2_000]);
    });
});
