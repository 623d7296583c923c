import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { systemClock } from '../../../domain/clock';
import { LocalServiceBusQueue, type LocalServiceBusQueueOptions } from '../../../local/serviceBus/localServiceBusQueue';

const START = Date.parse('2026-03-01T12:00:00.000Z');
const DAY_MS = 86_400_000;

function queueWith(options: Partial<LocalServiceBusQueueOptions> = {}): LocalServiceBusQueue {
    return new LocalServiceBusQueue({ name: 'newnames-queue', clock: systemClock, ...options });
}

function iso(ms: number): Date {
    return new Date(ms);
}

describe('LocalServiceBusQueue', () => {
    let queue: LocalServiceBusQueue | undefined;

    beforeEach(() => {
        vi.useFakeTimers({ now: START });
    });

    afterEach(() => {
        queue?.close();
        vi.useRealTimers();
    });

    it('assigns sequence number, ids and times on send and hands out a peek-locked copy', () => {
        queue = queueWith();
        expect(queue.send({ body: '{"names":["Ada"]}', messageId: 'm-1', contentType: 'application/json' })).toEqual({
            messageId: 'm-1',
            sequenceNumber: 1,
        });
        const second = queue.send({ body: Buffer.from('raw'), applicationProperties: { source: 'timer' } });
        expect(second.sequenceNumber).toBe(2);
        expect(second.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

        vi.advanceTimersByTime(1_000);
        const received = queue.receive(5);
        expect(received).toEqual([
            {
                body: '{"names":["Ada"]}',
                messageId: 'm-1',
                sequenceNumber: 1,
                deliveryCount: 1,
                enqueuedTimeUtc: iso(START),
                expiresAtUtc: iso(START + 14 * DAY_MS),
                lockedUntilUtc: iso(START + 61_000),
                lockToken: expect.any(String),
                contentType: 'application/json',
                applicationProperties: {},
                timeToLiveMs: 14 * DAY_MS,
            },
            {
                body: Buffer.from('raw'),
                messageId: second.messageId,
                sequenceNumber: 2,
                deliveryCount: 1,
                enqueuedTimeUtc: iso(START),
                expiresAtUtc: iso(START + 14 * DAY_MS),
                lockedUntilUtc: iso(START + 61_000),
                lockToken: expect.any(String),
                contentType: undefined,
                applicationProperties: { source: 'timer' },
                timeToLiveMs: 14 * DAY_MS,
            },
        ]);
        expect(received[0]!.lockToken).not.toBe(received[1]!.lockToken);
    });

    it('does not hand a locked message to a second receiver', () => {
        queue = queueWith();
        queue.send({ body: 'a' });
        queue.send({ body: 'b' });
        expect(queue.receive(1).map((m) => m.body)).toEqual(['a']);
        expect(queue.receive(10).map((m) => m.body)).toEqual(['b']);
        expect(queue.receive(10)).toEqual([]);
        expect([queue.activeMessageCount, queue.lockedMessageCount, queue.deadLetterMessageCount]).toEqual([0, 2, 0]);
    });

    it('removes a completed message and rejects a second settlement of the same lock', () => {
        queue = queueWith();
        queue.send({ body: 'a' });
        const [message] = queue.receive(1);
        queue.complete(message!.lockToken);
        expect([queue.activeMessageCount, queue.lockedMessageCount]).toEqual([0, 0]);
        expect(() => queue!.complete(message!.lockToken)).toThrow(
            'The lock supplied is invalid. Either the lock expired, or the message has already been removed from ' +
                `the queue. (queue "newnames-queue", lock token "${message!.lockToken}")`,
        );
        expect(() => queue!.abandon('no-such-token')).toThrow(expect.objectContaining({ code: 'MessageLockLost' }));
    });

    it('redelivers an abandoned message first, in sequence order, with the delivery counted', () => {
        queue = queueWith();
        queue.send({ body: 'a' });
        queue.send({ body: 'b' });
        const [first] = queue.receive(1);
        queue.abandon(first!.lockToken);
        expect(queue.receive(2).map((m) => [m.body, m.deliveryCount])).toEqual([
            ['a', 2],
            ['b', 1],
        ]);
    });

    it('returns a message to the queue when its lock expires and refuses the stale lock token', () => {
        queue = queueWith({ lockDurationMs: 30_000 });
        queue.send({ body: 'a' });
        const [first] = queue.receive(1);
        vi.advanceTimersByTime(29_999);
        expect(queue.lockedMessageCount).toBe(1);
        vi.advanceTimersByTime(1);
        expect([queue.activeMessageCount, queue.lockedMessageCount]).toEqual([1, 0]);
        expect(() => queue!.complete(first!.lockToken)).toThrow(expect.objectContaining({ code: 'MessageLockLost' }));
        const [second] = queue.receive(1);
        expect([second!.deliveryCount, second!.lockedUntilUtc]).toEqual([2, iso(START + 60_000)]);
    });

    it('notices an expired lock on the next operation even before its timer fires', () => {
        let nowMs = START;
        queue = new LocalServiceBusQueue({ name: 'q', lockDurationMs: 10_000, clock: { now: () => new Date(nowMs) } });
        queue.send({ body: 'a' });
        const [first] = queue.receive(1);
        nowMs += 10_000;
        expect(() => queue!.renewLock(first!.lockToken)).toThrow(expect.objectContaining({ code: 'MessageLockLost' }));
        expect(queue.receive(1).map((m) => m.deliveryCount)).toEqual([2]);
    });

    it('keeps a renewed lock for a full lock duration from the renewal', () => {
        queue = queueWith({ lockDurationMs: 30_000 });
        queue.send({ body: 'a' });
        const [message] = queue.receive(1);
        vi.advanceTimersByTime(20_000);
        expect(queue.renewLock(message!.lockToken)).toEqual(iso(START + 50_000));
        vi.advanceTimersByTime(29_000);
        expect(queue.lockedMessageCount).toBe(1);
        queue.complete(message!.lockToken);
        expect([queue.activeMessageCount, queue.lockedMessageCount, queue.deadLetterMessageCount]).toEqual([0, 0, 0]);
    });

    it('dead-letters a message after maxDeliveryCount deliveries with the service reason and description', () => {
        queue = queueWith({ maxDeliveryCount: 3 });
        queue.send({ body: 'poison', messageId: 'p-1', applicationProperties: { attempt: 1 } });
        for (let attempt = 1; attempt <= 3; attempt++) {
            const [message] = queue.receive(1);
            expect(message!.deliveryCount).toBe(attempt);
            vi.advanceTimersByTime(1_000);
            queue.abandon(message!.lockToken);
        }
        expect(queue.receive(1)).toEqual([]);
        expect(queue.deadLetters()).toEqual([
            {
                body: 'poison',
                messageId: 'p-1',
                sequenceNumber: 1,
                deliveryCount: 3,
                enqueuedTimeUtc: iso(START),
                expiresAtUtc: iso(START + 14 * DAY_MS),
                deadLetteredTimeUtc: iso(START + 3_000),
                deadLetterReason: 'MaxDeliveryCountExceeded',
                deadLetterErrorDescription: 'Message could not be consumed after 3 delivery attempts.',
                contentType: undefined,
                applicationProperties: { attempt: 1 },
                timeToLiveMs: 14 * DAY_MS,
            },
        ]);
        expect([queue.activeMessageCount, queue.lockedMessageCount, queue.deadLetterMessageCount]).toEqual([0, 0, 1]);
    });

    it('counts lock expiries towards maxDeliveryCount too', () => {
        queue = queueWith({ maxDeliveryCount: 2, lockDurationMs: 5_000 });
        queue.send({ body: 'slow' });
        queue.receive(1);
        vi.advanceTimersByTime(5_000);
        queue.receive(1);
        vi.advanceTimersByTime(5_000);
        expect(queue.deadLetters().map((m) => [m.deadLetterReason, m.deliveryCount])).toEqual([
            ['MaxDeliveryCountExceeded', 2],
        ]);
    });

    it('moves an expired message to the dead-letter queue on a timer, without any receiver', () => {
        queue = queueWith();
        queue.send({ body: 'late', messageId: 'l-1', timeToLiveMs: 10_000 });
        queue.send({ body: 'fine' });
        vi.advanceTimersByTime(10_000);
        expect(queue.deadLetters()).toEqual([
            {
                body: 'late',
                messageId: 'l-1',
                sequenceNumber: 1,
                deliveryCount: 0,
                enqueuedTimeUtc: iso(START),
                expiresAtUtc: iso(START + 10_000),
                deadLetteredTimeUtc: iso(START + 10_000),
                deadLetterReason: 'TTLExpiredException',
                deadLetterErrorDescription: 'The message expired and was dead lettered.',
                contentType: undefined,
                applicationProperties: {},
                timeToLiveMs: 10_000,
            },
        ]);
        expect(queue.receive(5).map((m) => m.body)).toEqual(['fine']);
    });

    it('drops expired messages when dead-lettering on expiration is off', () => {
        queue = queueWith({ deadLetteringOnMessageExpiration: false });
        queue.send({ body: 'late', timeToLiveMs: 10_000 });
        vi.advanceTimersByTime(10_000);
        expect([queue.activeMessageCount, queue.deadLetterMessageCount]).toEqual([0, 0]);
        expect(queue.receive(1)).toEqual([]);
    });

    it('caps a message time to live at the queue default', () => {
        queue = queueWith({ defaultMessageTimeToLiveMs: 60_000 });
        queue.send({ body: 'a', timeToLiveMs: 3_600_000 });
        expect(queue.receive(1).map((m) => [m.timeToLiveMs, m.expiresAtUtc])).toEqual([[60_000, iso(START + 60_000)]]);
    });

    it('lets a locked message outlive its expiry and expires it when the lock is abandoned', () => {
        queue = queueWith();
        queue.send({ body: 'a', timeToLiveMs: 5_000 });
        queue.send({ body: 'b', timeToLiveMs: 5_000 });
        const [a, b] = queue.receive(2);
        vi.advanceTimersByTime(6_000);
        expect(queue.lockedMessageCount).toBe(2);
        queue.complete(a!.lockToken);
        queue.abandon(b!.lockToken);
        expect(queue.deadLetters().map((m) => [m.body, m.deadLetterReason, m.deliveryCount])).toEqual([
            ['b', 'TTLExpiredException', 1],
        ]);
    });

    it('dead-letters on request with the caller reason and description', () => {
        queue = queueWith();
        queue.send({ body: 'not json' });
        const [message] = queue.receive(1);
        queue.deadLetter(message!.lockToken, { reason: 'InvalidMessage', description: 'body is not JSON' });
        expect(
            queue.deadLetters().map((m) => [m.deadLetterReason, m.deadLetterErrorDescription, m.deliveryCount]),
        ).toEqual([['InvalidMessage', 'body is not JSON', 1]]);
        expect(() => queue!.complete(message!.lockToken)).toThrow(expect.objectContaining({ code: 'MessageLockLost' }));
    });

    it('resubmits a dead-lettered copy with a new sequence number and a fresh delivery count', () => {
        queue = queueWith({ maxDeliveryCount: 1 });
        queue.send({ body: 'x', messageId: 'x-1', contentType: 'text/plain', applicationProperties: { k: 'v' } });
        queue.abandon(queue.receive(1)[0]!.lockToken);
        vi.advanceTimersByTime(2_000);
        expect(queue.resubmitDeadLetter(1)).toEqual({ messageId: 'x-1', sequenceNumber: 2 });
        expect(queue.deadLetterMessageCount).toBe(0);
        expect(queue.receive(1)).toEqual([
            {
                body: 'x',
                messageId: 'x-1',
                sequenceNumber: 2,
                deliveryCount: 1,
                enqueuedTimeUtc: iso(START + 2_000),
                expiresAtUtc: iso(START + 2_000 + 14 * DAY_MS),
                lockedUntilUtc: iso(START + 62_000),
                lockToken: expect.any(String),
                contentType: 'text/plain',
                applicationProperties: { k: 'v' },
                timeToLiveMs: 14 * DAY_MS,
            },
        ]);
    });

    it('resubmits all and purges dead letters, refusing unknown sequence numbers', () => {
        queue = queueWith({ maxDeliveryCount: 1 });
        for (const body of ['a', 'b', 'c']) {
            queue.send({ body, messageId: body });
        }
        for (const message of queue.receive(3)) {
            queue.abandon(message.lockToken);
        }
        queue.purgeDeadLetter(2);
        expect(() => queue!.purgeDeadLetter(2)).toThrow(
            'No message with sequence number 2 in the dead-letter queue of "newnames-queue"',
        );
        expect(() => queue!.resubmitDeadLetter(99)).toThrow(expect.objectContaining({ code: 'DeadLetterNotFound' }));
        expect(queue.resubmitAllDeadLetters()).toEqual([
            { messageId: 'a', sequenceNumber: 4 },
            { messageId: 'c', sequenceNumber: 5 },
        ]);
        expect([queue.activeMessageCount, queue.deadLetterMessageCount]).toEqual([2, 0]);
        queue.abandon(queue.receive(1)[0]!.lockToken);
        expect(queue.purgeAllDeadLetters()).toBe(1);
    });

    it('rejects a body over the size limit, quoting the size', () => {
        queue = queueWith({ maxMessageSizeBytes: 10 });
        expect(() => queue!.send({ body: 'ééééééé' })).toThrow(
            'The message body was 14 bytes and the maximum body size is 10 bytes (queue "newnames-queue")',
        );
        expect(queue.activeMessageCount).toBe(0);
    });

    it('rejects options the service would refuse', () => {
        expect(() => queueWith({ lockDurationMs: 6 * 60_000 })).toThrow(
            'Invalid Service Bus option "lockDurationMs": must be an integer from 1 to 300000 (got 360000)',
        );
        expect(() => queueWith({ maxDeliveryCount: 0 })).toThrow(
            expect.objectContaining({ code: 'InvalidQueueOption' }),
        );
        queue = queueWith();
        expect(() => queue!.receive(0)).toThrow(expect.objectContaining({ option: 'maxMessages' }));
        expect(() => queue!.send({ body: 'a', timeToLiveMs: 0 })).toThrow(
            expect.objectContaining({ option: 'timeToLiveMs' }),
        );
    });

    it('tells listeners when messages become receivable again', () => {
        queue = queueWith({ lockDurationMs: 1_000 });
        const listener = vi.fn();
        const unsubscribe = queue.onMessagesAvailable(listener);
        queue.send({ body: 'a' });
        queue.receive(1);
        vi.advanceTimersByTime(1_000);
        expect(listener).toHaveBeenCalledTimes(2);
        unsubscribe();
        queue.send({ body: 'b' });
        expect(listener).toHaveBeenCalledTimes(2);
    });

    it('keeps heaps bounded when many messages are abandoned and settled', () => {
        queue = queueWith();
        for (let i = 0; i < 5_000; i++) {
            queue.send({ body: String(i) });
            queue.abandon(queue.receive(1)[0]!.lockToken);
            queue.complete(queue.receive(1)[0]!.lockToken);
        }
        const internals = queue as unknown as { expiries: { size: number }; lockDeadlines: { size: number } };
        expect(internals.expiries.size).toBeLessThanOrEqual(1_025);
        expect(internals.lockDeadlines.size).toBeLessThanOrEqual(1_025);
    });
    it('keeps a scheduled message invisible until its time, then enqueues it at that time with its TTL from then', () => {
        queue = queueWith();
        const sent = queue.send({ body: 'later', timeToLiveMs: 60_000, scheduledEnqueueTimeUtc: iso(START + 5_000) });
        expect([queue.activeMessageCount, queue.scheduledMessageCount, queue.receive(1)]).toEqual([0, 1, []]);
        expect(queue.peek(1, 5).map((m) => [m.sequenceNumber, m.state])).toEqual([[sent.sequenceNumber, 'scheduled']]);
        vi.advanceTimersByTime(5_000);
        const [message] = queue.receive(1);
        expect([
            message!.body,
            message!.enqueuedTimeUtc,
            message!.expiresAtUtc,
            message!.scheduledEnqueueTimeUtc,
        ]).toEqual(['later', iso(START + 5_000), iso(START + 65_000), iso(START + 5_000)]);
    });

    it('cancels a scheduled message, and refuses to cancel one that is not scheduled', () => {
        queue = queueWith();
        const scheduled = queue.send({ body: 'x', scheduledEnqueueTimeUtc: iso(START + 5_000) });
        const active = queue.send({ body: 'y' });
        queue.cancelScheduled(scheduled.sequenceNumber);
        vi.advanceTimersByTime(5_000);
        expect(queue.receive(5).map((m) => m.body)).toEqual(['y']);
        expect(() => queue!.cancelScheduled(active.sequenceNumber)).toThrow(
            `Message not found in "newnames-queue": no scheduled message with sequence number ${active.sequenceNumber}`,
        );
    });

    it('hands a deferred message out only by sequence number, back to deferred when abandoned, and expires it', () => {
        queue = queueWith();
        const sent = queue.send({ body: 'd', timeToLiveMs: 60_000 });
        queue.defer(queue.receive(1)[0]!.lockToken, { propertiesToModify: { step: 2 } });
        expect([queue.receive(1), queue.deferredMessageCount, queue.activeMessageCount]).toEqual([[], 1, 0]);
        const [again] = queue.receiveDeferred([sent.sequenceNumber]);
        expect([again!.state, again!.deliveryCount, again!.applicationProperties]).toEqual([
            'deferred',
            2,
            { step: 2 },
        ]);
        queue.abandon(again!.lockToken);
        expect(queue.deferredMessageCount).toBe(1);
        expect(() => queue!.receiveDeferred([sent.sequenceNumber + 1])).toThrow(/no deferred message/);
        vi.advanceTimersByTime(60_000);
        expect([queue.deferredMessageCount, queue.deadLetters().map((m) => m.deadLetterReason)]).toEqual([
            0,
            ['TTLExpiredException'],
        ]);
    });

    it('receives and deletes: the message is gone as it is handed out', () => {
        queue = queueWith();
        queue.send({ body: 'r' });
        const [message] = queue.receive(1, 'receiveAndDelete');
        expect([message!.body, message!.lockToken, message!.deliveryCount]).toEqual(['r', '', 1]);
        expect([queue.activeMessageCount, queue.lockedMessageCount, queue.peek(1, 5)]).toEqual([0, 0, []]);
    });

    it('serves the dead-letter sub-queue as a queue: receivable, peekable, never dead-lettered again', () => {
        queue = queueWith({ maxDeliveryCount: 1 });
        queue.send({ body: 'p', messageId: 'p-1' });
        queue.abandon(queue.receive(1)[0]!.lockToken);
        const deadLetters = queue.deadLetterSubQueue!;
        expect(deadLetters.name).toBe('newnames-queue/$DeadLetterQueue');
        for (let attempt = 0; attempt < 3; attempt++) {
            queue.deadLetterSubQueue!.abandon(deadLetters.receive(1)[0]!.lockToken);
        }
        const [entry] = deadLetters.peek(1, 5);
        expect([entry!.messageId, entry!.sequenceNumber, entry!.deadLetterReason, entry!.deliveryCount]).toEqual([
            'p-1',
            1,
            'MaxDeliveryCountExceeded',
            4,
        ]);
        deadLetters.complete(deadLetters.receive(1)[0]!.lockToken);
        expect([queue.deadLetterMessageCount, queue.deadLetters()]).toEqual([0, []]);
        expect(() => deadLetters.send({ body: 'x' })).toThrow(/cannot be sent to/);
    });
});
