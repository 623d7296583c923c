import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { systemClock } from '../../../domain/clock';
import { LocalServiceBusQueue, type LocalServiceBusQueueOptions } from '../../../local/serviceBus/localServiceBusQueue';
import type { ReceivedServiceBusMessage } from '../../../local/serviceBus/messages';
import type { ProcessorErrorContext } from '../../../local/serviceBus/queueProcessor';

const START = Date.parse('2026-03-01T12:00:00.000Z');

interface Deferred {
    promise: Promise<void>;
    resolve: () => void;
}

function deferred(): Deferred {
    let resolve = (): void => undefined;
    const promise = new Promise<void>((done) => {
        resolve = done;
    });
    return { promise, resolve };
}

function queueWith(options: Partial<LocalServiceBusQueueOptions> = {}): LocalServiceBusQueue {
    return new LocalServiceBusQueue({ name: 'newnames-queue', clock: systemClock, ...options });
}

/** Lets queued microtasks and zero-delay timers run without moving the fake clock. */
async function settle(): Promise<void> {
    await vi.advanceTimersByTimeAsync(0);
}

describe('QueueProcessor', () => {
    const queues: LocalServiceBusQueue[] = [];

    beforeEach(() => {
        vi.useFakeTimers({ now: START });
    });

    afterEach(() => {
        queues.splice(0).forEach((queue) => queue.close());
        vi.useRealTimers();
    });

    function track(queue: LocalServiceBusQueue): LocalServiceBusQueue {
        queues.push(queue);
        return queue;
    }

    it('hands each message to the handler and completes it on success', async () => {
        const queue = track(queueWith());
        const seen: ReceivedServiceBusMessage[] = [];
        const processor = queue.startProcessor({
            maxConcurrentCalls: 4,
            handler: (message) => {
                seen.push(message);
                return Promise.resolve();
            },
        });
        queue.send({ body: '{"names":["Ada"]}', messageId: 'm-1', contentType: 'application/json' });
        queue.send({ body: 'two', messageId: 'm-2' });
        await settle();
        expect(seen.map((m) => [m.messageId, m.sequenceNumber, m.deliveryCount])).toEqual([
            ['m-1', 1, 1],
            ['m-2', 2, 1],
        ]);
        expect(seen[0]).toEqual({
            body: '{"names":["Ada"]}',
            messageId: 'm-1',
            sequenceNumber: 1,
            deliveryCount: 1,
            enqueuedTimeUtc: new Date(START),
            expiresAtUtc: new Date(START + 14 * 86_400_000),
            lockedUntilUtc: new Date(START + 60_000),
            lockToken: expect.any(String),
            contentType: 'application/json',
            applicationProperties: {},
            timeToLiveMs: 14 * 86_400_000,
        });
        expect([queue.activeMessageCount, queue.lockedMessageCount, queue.deadLetterMessageCount]).toEqual([0, 0, 0]);
        await processor.stop();
    });

    it('abandons on failure so the message comes back with its delivery count, then dead-letters it', async () => {
        const queue = track(queueWith({ maxDeliveryCount: 3 }));
        const deliveries: number[] = [];
        const errors: [string, ProcessorErrorContext][] = [];
        const processor = queue.startProcessor({
            maxConcurrentCalls: 1,
            handler: (message) => {
                deliveries.push(message.deliveryCount);
                return Promise.reject(new Error(`boom ${message.deliveryCount}`));
            },
            onError: (error, context) => errors.push([(error as Error).message, context]),
        });
        queue.send({ body: 'poison', messageId: 'p-1' });
        await settle();
        expect(deliveries).toEqual([1, 2, 3]);
        expect(errors).toEqual(
            [1, 2, 3].map((deliveryCount) => [
                `boom ${deliveryCount}`,
                { phase: 'handler', queueName: 'newnames-queue', messageId: 'p-1', sequenceNumber: 1, deliveryCount },
            ]),
        );
        expect(queue.deadLetters().map((m) => [m.deadLetterReason, m.deadLetterErrorDescription])).toEqual([
            ['MaxDeliveryCountExceeded', 'Message could not be consumed after 3 delivery attempts.'],
        ]);
        await processor.stop();
    });

    it('never runs more handlers at once than maxConcurrentCalls', async () => {
        const queue = track(queueWith());
        const gates: Deferred[] = [];
        let running = 0;
        let peak = 0;
        let done = 0;
        const processor = queue.startProcessor({
            maxConcurrentCalls: 3,
            handler: async () => {
                running++;
                peak = Math.max(peak, running);
                const gate = deferred();
                gates.push(gate);
                await gate.promise;
                running--;
                done++;
            },
        });
        for (let i = 0; i < 10; i++) {
            queue.send({ body: String(i) });
        }
        await settle();
        expect([running, queue.lockedMessageCount, queue.activeMessageCount]).toEqual([3, 3, 7]);
        while (done < 10) {
            gates.splice(0).forEach((gate) => gate.resolve());
            await settle();
        }
        expect([peak, queue.lockedMessageCount, queue.activeMessageCount]).toEqual([3, 0, 0]);
        await processor.stop();
    });

    it('stop() waits for in-flight handlers, settles their messages and receives nothing more', async () => {
        const queue = track(queueWith());
        const gate = deferred();
        const handled: string[] = [];
        const processor = queue.startProcessor({
            maxConcurrentCalls: 1,
            handler: async (message) => {
                await gate.promise;
                handled.push(String(message.body));
            },
        });
        queue.send({ body: 'first' });
        queue.send({ body: 'second' });
        await settle();
        let stopped = false;
        const stopping = processor.stop().then(() => {
            stopped = true;
        });
        await settle();
        expect([stopped, processor.inFlightCount]).toEqual([false, 1]);
        gate.resolve();
        await stopping;
        expect(handled).toEqual(['first']);
        expect([queue.activeMessageCount, queue.lockedMessageCount]).toEqual([1, 0]);
        queue.send({ body: 'third' });
        await settle();
        expect(handled).toEqual(['first']);
    });

    it('sleeps while the queue is empty and wakes when a message arrives', async () => {
        const queue = track(queueWith());
        const handled: string[] = [];
        const processor = queue.startProcessor({
            maxConcurrentCalls: 2,
            handler: (message) => {
                handled.push(String(message.body));
                return Promise.resolve();
            },
        });
        await vi.advanceTimersByTimeAsync(60_000);
        expect(vi.getTimerCount()).toBe(0);
        queue.send({ body: 'late arrival' });
        await settle();
        expect(handled).toEqual(['late arrival']);
        await processor.stop();
    });

    it('renews the lock while a slow handler runs, so the message is delivered once', async () => {
        const queue = track(queueWith({ lockDurationMs: 10_000 }));
        const deliveries: number[] = [];
        const errors: unknown[] = [];
        const processor = queue.startProcessor({
            maxConcurrentCalls: 1,
            handler: async (message) => {
                deliveries.push(message.deliveryCount);
                await new Promise((resolve) => setTimeout(resolve, 45_000));
            },
            onError: (error) => errors.push(error),
        });
        queue.send({ body: 'slow' });
        await vi.advanceTimersByTimeAsync(46_000);
        expect([deliveries, errors, queue.activeMessageCount, queue.lockedMessageCount]).toEqual([[1], [], 0, 0]);
        await processor.stop();
    });

    it('lets the lock lapse after maxAutoLockRenewalDuration: the message is redelivered and completion fails', async () => {
        const queue = track(queueWith({ lockDurationMs: 10_000 }));
        const deliveries: number[] = [];
        const errors: [string | undefined, ProcessorErrorContext][] = [];
        const processor = queue.startProcessor({
            maxConcurrentCalls: 2,
            maxAutoLockRenewalDurationMs: 15_000,
            handler: async (message) => {
                deliveries.push(message.deliveryCount);
                if (message.deliveryCount === 1) {
                    await new Promise((resolve) => setTimeout(resolve, 40_000));
                }
            },
            onError: (error, context) => errors.push([(error as { code?: string }).code, context]),
        });
        queue.send({ body: 'slow', messageId: 's-1' });
        // Renewed at 5 s and 10 s (until 20 s); the next renewal would fall after the 15 s budget, so the lock lapses.
        await vi.advanceTimersByTimeAsync(19_999);
        expect(deliveries).toEqual([1]);
        await vi.advanceTimersByTimeAsync(1);
        expect(deliveries).toEqual([1, 2]);
        await vi.advanceTimersByTimeAsync(30_000);
        expect(errors).toEqual([
            [
                'MessageLockLost',
                {
                    phase: 'complete',
                    queueName: 'newnames-queue',
                    messageId: 's-1',
                    sequenceNumber: 1,
                    deliveryCount: 1,
                },
            ],
        ]);
        expect([queue.activeMessageCount, queue.lockedMessageCount, queue.deadLetterMessageCount]).toEqual([0, 0, 0]);
        await processor.stop();
    });

    it('rejects a maxConcurrentCalls below one', () => {
        const queue = track(queueWith());
        expect(() => queue.startProcessor({ maxConcurrentCalls: 0, handler: () => Promise.resolve() })).toThrow(
            'Invalid Service Bus option "maxConcurrentCalls": must be an integer ≥ 1 (got 0)',
        );
    });
});
