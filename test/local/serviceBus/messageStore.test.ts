import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import {
    LocalServiceBusQueue,
    type LocalServiceBusQueueOptions,
    MAX_DELIVERY_COUNT_EXCEEDED,
    SERVICE_BUS_STATE_COMPONENT,
    type ServiceBusMessageStore,
    SqliteServiceBusMessageStore,
    TTL_EXPIRED_EXCEPTION,
} from '../../../local/serviceBus';
import { StateCorruptError, StateStore } from '../../../local/state';

const START = Date.parse('2026-03-01T12:00:00.000Z');
const QUEUE = 'orders';

describe('LocalServiceBusQueue on the state database', () => {
    let directory: string;
    const opened: Array<{ queue: LocalServiceBusQueue; state: StateStore }> = [];

    /** A queue on the folder's database, as the runtime builds it at start. */
    function open(
        options: Partial<LocalServiceBusQueueOptions> = {},
        wrap = (store: ServiceBusMessageStore) => store,
    ): LocalServiceBusQueue {
        const state = StateStore.open({ directory, components: [SERVICE_BUS_STATE_COMPONENT] });
        try {
            const queue = new LocalServiceBusQueue({
                name: QUEUE,
                store: wrap(new SqliteServiceBusMessageStore(state)),
                ...options,
            });
            opened.push({ queue, state });
            return queue;
        } catch (error) {
            state.close();
            throw error;
        }
    }

    /** Stops and starts again on the same folder: only what was committed comes back. */
    function reopen(options: Partial<LocalServiceBusQueueOptions> = {}): LocalServiceBusQueue {
        for (const { queue, state } of opened.splice(0)) {
            queue.close();
            state.close();
        }
        return open(options);
    }

    beforeEach(() => {
        vi.useFakeTimers({ now: START });
        directory = mkdtempSync(path.join(tmpdir(), 'sb-state-'));
    });

    afterEach(() => {
        for (const { queue, state } of opened.splice(0)) {
            queue.close();
            state.close();
        }
        vi.useRealTimers();
        rmSync(directory, { recursive: true, force: true });
    });

    it('keeps active, scheduled, deferred and dead-lettered messages with every field, and ends the locks', () => {
        let queue = open();
        queue.send({
            body: '{"names":["Ada"]}',
            messageId: 'active-text',
            contentType: 'application/json',
            correlationId: 'c-1',
            subject: 'names',
            applicationProperties: { source: 'timer', attempt: 2, ok: true, at: new Date(START - 1), none: null },
            timeToLiveMs: 3_600_000,
        });
        queue.send({
            body: Buffer.from([0, 1, 2, 255]),
            messageId: 'active-bytes',
            // What the AMQP endpoint keeps: a body section kind with its value, other properties, annotations.
            wire: {
                bodyType: 'value',
                value: { n: 1, when: new Date(START) },
                properties: { to: 'orders', creation_time: new Date(START - 5) },
                annotations: { 'x-opt-partition-key': 'p' },
            },
        });
        queue.send({ body: 'later', messageId: 'scheduled', scheduledEnqueueTimeUtc: new Date(START + 3_600_000) });
        queue.send({ body: 'aside', messageId: 'deferred' });
        queue.send({ body: 'bad', messageId: 'dead' });
        queue.send({ body: 'in flight', messageId: 'locked' });
        vi.advanceTimersByTime(1_000);
        const [first, second, deferred, dead] = queue.receive(4);
        queue.defer(deferred!.lockToken, { propertiesToModify: { why: 'later' } });
        queue.deadLetter(dead!.lockToken, {
            reason: 'Unparseable',
            description: 'not JSON',
            propertiesToModify: { seen: 1 },
        });
        queue.abandon(first!.lockToken);
        queue.abandon(second!.lockToken);
        const before = { queue: queue.peek(1, 100), deadLetters: queue.deadLetters() };
        expect(before.queue.map((message) => [message.messageId, message.state, message.deliveryCount])).toEqual([
            ['active-text', undefined, 1],
            ['active-bytes', undefined, 1],
            ['scheduled', 'scheduled', 0],
            ['deferred', 'deferred', 1],
            ['locked', undefined, 0],
        ]);
        // Held when the runtime stops.
        const held = queue.receive(3).map((message) => message.messageId);
        expect(held).toEqual(['active-text', 'active-bytes', 'locked']);

        queue = reopen();
        expect({ queue: queue.peek(1, 100), deadLetters: queue.deadLetters() }).toEqual({
            // The locks ended with the stop: their deliveries stay counted, as a lock expiry leaves them, and no
            // lock time is kept (a peek shows the time of a message's last lock until then).
            queue: before.queue.map((message) => ({
                ...message,
                deliveryCount: message.deliveryCount + (held.includes(message.messageId) ? 1 : 0),
                lockedUntilUtc: new Date(0),
            })),
            deadLetters: before.deadLetters,
        });
        expect(before.deadLetters).toEqual([
            expect.objectContaining({
                messageId: 'dead',
                sequenceNumber: 5,
                deliveryCount: 1,
                deadLetterReason: 'Unparseable',
                deadLetterErrorDescription: 'not JSON',
                applicationProperties: { seen: 1 },
                deadLetteredTimeUtc: new Date(START + 1_000),
            }),
        ]);
        expect({
            active: queue.activeMessageCount,
            locked: queue.lockedMessageCount,
            deferred: queue.deferredMessageCount,
            scheduled: queue.scheduledMessageCount,
            deadLetters: queue.deadLetterMessageCount,
        }).toEqual({ active: 3, locked: 0, deferred: 1, scheduled: 1, deadLetters: 1 });

        // Everything still works from there: lowest sequence first, deferred by number, scheduled cancellable.
        expect(queue.receive(10).map((message) => [message.messageId, message.deliveryCount])).toEqual([
            ['active-text', 3],
            ['active-bytes', 3],
            ['locked', 2],
        ]);
        expect(queue.receiveDeferred([4])[0]).toMatchObject({
            messageId: 'deferred',
            deliveryCount: 2,
            applicationProperties: { why: 'later' },
        });
        queue.cancelScheduled(3);
        const subQueue = queue.deadLetterSubQueue!;
        expect(subQueue.receive(1)[0]).toMatchObject({ messageId: 'dead', deadLetterReason: 'Unparseable' });
    });

    it('continues sequence numbers after the highest ever given out, even when that message is gone', () => {
        let queue = open();
        queue.sendBatch([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
        for (const message of queue.receive(3)) {
            queue.complete(message.lockToken);
        }
        queue = reopen();
        expect(queue.peek(1, 10)).toEqual([]);
        expect(queue.send({ body: 'd' }).sequenceNumber).toBe(4);
        queue = reopen();
        expect(queue.sendBatch([{ body: 'e' }, { body: 'f' }]).map((sent) => sent.sequenceNumber)).toEqual([5, 6]);
    });

    it('releases locks at a restart as expired locks, dead-lettering once the restarts reach maxDeliveryCount', () => {
        const options = { maxDeliveryCount: 3 };
        let queue = open(options);
        queue.send({ body: 'poison', messageId: 'p' });
        queue.send({ body: 'aside', messageId: 'd' });
        queue.receive(1);
        queue.defer(queue.receive(1)[0]!.lockToken);
        // The deferred one is locked again, by sequence number, when the runtime stops: it goes back to deferred.
        queue.receiveDeferred([2]);

        queue = reopen(options);
        expect(queue.peek(2, 1)[0]).toMatchObject({ messageId: 'd', state: 'deferred', deliveryCount: 2 });
        expect(queue.receive(1)[0]).toMatchObject({ messageId: 'p', deliveryCount: 2 });
        queue = reopen(options);
        expect(queue.receive(1)[0]).toMatchObject({ messageId: 'p', deliveryCount: 3 });

        vi.advanceTimersByTime(5_000);
        queue = reopen(options);
        expect(queue.activeMessageCount).toBe(0);
        expect(queue.deadLetters()).toEqual([
            expect.objectContaining({
                messageId: 'p',
                deliveryCount: 3,
                deadLetterReason: MAX_DELIVERY_COUNT_EXCEEDED,
                deadLetterErrorDescription: 'Message could not be consumed after 3 delivery attempts.',
                deadLetteredTimeUtc: new Date(START + 5_000),
            }),
        ]);
        // On disk too: one more restart finds it where it is, not back in the queue.
        queue = reopen(options);
        expect([queue.activeMessageCount, queue.deferredMessageCount, queue.deadLetterMessageCount]).toEqual([0, 1, 1]);
    });

    it('applies the expiries and schedules that fell due while the runtime was stopped', () => {
        let queue = open();
        queue.send({ body: 'short', messageId: 'short', timeToLiveMs: 10_000 });
        queue.send({ body: 'soon', messageId: 'soon', scheduledEnqueueTimeUtc: new Date(START + 5_000) });
        queue = reopen();
        expect(queue.scheduledMessageCount).toBe(1);

        vi.setSystemTime(START + 60_000);
        queue = reopen();
        expect(queue.deadLetters()).toEqual([
            expect.objectContaining({
                messageId: 'short',
                deadLetterReason: TTL_EXPIRED_EXCEPTION,
                deadLetteredTimeUtc: new Date(START + 60_000),
            }),
        ]);
        expect(queue.receive(5)).toEqual([
            expect.objectContaining({
                messageId: 'soon',
                sequenceNumber: 2,
                enqueuedTimeUtc: new Date(START + 5_000),
                scheduledEnqueueTimeUtc: new Date(START + 5_000),
                deliveryCount: 1,
            }),
        ]);
    });

    it('keeps dead-letter removals and resubmits', () => {
        let queue = open();
        queue.sendBatch([{ body: 'one' }, { body: 'two' }]);
        for (const message of queue.receive(2)) {
            queue.deadLetter(message.lockToken, { reason: 'r', description: 'd' });
        }
        queue.purgeDeadLetter(1);
        expect(queue.resubmitDeadLetter(2)).toMatchObject({ sequenceNumber: 3 });
        queue = reopen();
        expect(queue.deadLetters()).toEqual([]);
        expect(
            queue.peek(1, 10).map((message) => [message.sequenceNumber, message.body, message.deliveryCount]),
        ).toEqual([[3, 'two', 0]]);
    });

    it('writes a batch send and a batch of settlements in one transaction each', () => {
        let writes = 0;
        const counting = (store: ServiceBusMessageStore): ServiceBusMessageStore => ({
            load: (entity) => store.load(entity),
            write: (changes) => {
                writes += 1;
                store.write(changes);
            },
        });
        const queue = open({}, counting);
        queue.sendBatch([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
        expect(writes).toBe(1);
        const tokens = queue.receive(3).map((message) => message.lockToken);
        writes = 0;
        queue.inOneCommit(() => tokens.forEach((token) => queue.complete(token)));
        expect(writes).toBe(1);
        expect(reopen().peek(1, 10)).toEqual([]);
    });

    it('refuses a row it cannot read, naming the file and the message', () => {
        open().send({ body: 'x', applicationProperties: { a: 1 } });
        reopen();
        opened[0]!.state.database.prepare("UPDATE service_bus_messages SET application_properties = x'00ff'").run();
        expect(() => reopen()).toThrow(StateCorruptError);
        expect(() => reopen()).toThrow(/namestream\.db.*application properties of Service Bus message 1 in "orders"/);
    });

    it('acknowledges a send only once it is committed: a failed commit leaves no message behind', () => {
        const failing: ServiceBusMessageStore = {
            load: () => ({ nextSequenceNumber: 1, messages: [] }),
            write: () => {
                throw new Error('disk I/O error');
            },
        };
        const queue = new LocalServiceBusQueue({ name: QUEUE, store: failing });
        opened.push({ queue, state: { close: () => undefined } as unknown as StateStore });
        expect(() => queue.sendBatch([{ body: 'a' }, { body: 'b' }])).toThrow('disk I/O error');
        expect([queue.activeMessageCount, queue.receive(5).length]).toEqual([0, 0]);
    });

    it('keeps a settlement whose commit failed for the next commit, so disk and memory agree again', () => {
        let failNext = false;
        const failingOnce = (store: ServiceBusMessageStore): ServiceBusMessageStore => ({
            load: (entity) => store.load(entity),
            write: (changes) => {
                if (failNext) {
                    failNext = false;
                    throw new Error('disk I/O error');
                }
                store.write(changes);
            },
        });
        const queue = open({}, failingOnce);
        queue.sendBatch([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
        const [a, b] = queue.receive(2).map((message) => message.lockToken);
        failNext = true;
        expect(() => queue.complete(a!)).toThrow('disk I/O error');
        expect([queue.lockedMessageCount, queue.activeMessageCount]).toEqual([1, 1]);
        failNext = true;
        expect(() => queue.send({ body: 'refused' })).toThrow('disk I/O error');
        // The next commit writes the failed complete too; the refused send leaves nothing.
        queue.complete(b!);
        expect(
            reopen()
                .peek(1, 10)
                .map((message) => message.body),
        ).toEqual(['c']);
    });

    it('brings a message back after a restart when its complete failed to commit and nothing committed since', () => {
        let fail = false;
        const queue = open({}, (store) => ({
            load: (entity) => store.load(entity),
            write: (changes) => {
                if (fail) throw new Error('disk I/O error');
                store.write(changes);
            },
        }));
        queue.send({ body: 'a' });
        const [message] = queue.receive(1);
        fail = true;
        expect(() => queue.complete(message!.lockToken)).toThrow('disk I/O error');
        // A crash now: the runtime stops without another commit.
        const restarted = reopen();
        expect(restarted.receive(1).map((received) => [received.body, received.deliveryCount])).toEqual([['a', 2]]);
    });
});
