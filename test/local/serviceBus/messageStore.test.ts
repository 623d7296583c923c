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

    describe('group commit (the *Async API the trigger, the output binding and the AMQP endpoint use)', () => {
        /** Every store write, and every acknowledgement, in the order they happened. */
        let log: string[];
        let failWrites: boolean;
        const recording = (store: ServiceBusMessageStore): ServiceBusMessageStore => ({
            load: (entity) => store.load(entity),
            write: (changes) => {
                if (failWrites) {
                    log.push('write failed');
                    throw new Error('disk I/O error');
                }
                store.write(changes);
                const count = (key: 'inserted' | 'updated' | 'deleted') =>
                    changes.reduce((sum, change) => sum + change[key].length, 0);
                log.push(`write +${count('inserted')} ~${count('updated')} -${count('deleted')}`);
            },
        });
        const acknowledge = <T>(name: string, operation: Promise<T>): Promise<T> =>
            operation.then(
                (value) => {
                    log.push(`${name} ok`);
                    return value;
                },
                (error: unknown) => {
                    log.push(`${name} failed: ${(error as Error).message}`);
                    throw error;
                },
            );
        /** Lets the turn end, so its group commit (a real setImmediate) runs, and the promises settle. */
        const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
        /** Enough turns for receive, commit, function and settlement to follow each other (nothing waits on I/O). */
        const quiesce = async () => {
            for (let turn = 0; turn < 5; turn++) {
                await nextTurn();
            }
        };

        beforeEach(() => {
            log = [];
            failWrites = false;
            // The clock stays fake; the event loop's turns are real, as the group commit depends on them.
            vi.useRealTimers();
            vi.useFakeTimers({
                now: START,
                toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'],
            });
        });

        it('commits the sends, receives and settlements of one turn in one transaction, acknowledging after it', async () => {
            const queue = open({ maxDeliveryCount: 5 }, recording);
            queue.sendBatch([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
            const [a, b] = queue.receive(2).map((message) => message.lockToken);
            log = [];

            // One turn: two sends, a complete, an abandon, a receive (which gets c, then b given back).
            const sent = [
                acknowledge('send d', queue.sendBatchAsync([{ body: 'd' }])),
                acknowledge('send e+f', queue.sendBatchAsync([{ body: 'e' }, { body: 'f' }])),
            ];
            const settled = [
                acknowledge('complete a', queue.completeAsync(a!)),
                acknowledge('abandon b', queue.abandonAsync(b!)),
            ];
            const { messages, committed } = queue.receiveAsync(5);
            void acknowledge('receive', committed);
            // The received messages are locked at once (they count against credit), but nothing is acknowledged yet.
            expect(messages.map((message) => [message.body, message.deliveryCount])).toEqual([
                ['b', 2],
                ['c', 1],
            ]);
            expect(log).toEqual([]);

            await nextTurn();
            // a deleted; b and c updated (b once, though abandoned and received again); d, e, f inserted.
            expect(log).toEqual([
                'write +3 ~2 -1',
                'send d ok',
                'send e+f ok',
                'complete a ok',
                'abandon b ok',
                'receive ok',
            ]);
            expect((await Promise.all(sent)).flat().map((message) => message.sequenceNumber)).toEqual([4, 5, 6]);
            await Promise.all(settled);
            // The sends became receivable only with the commit, numbered in the order they were made.
            expect(queue.receive(5).map((message) => message.body)).toEqual(['d', 'e', 'f']);
            expect(
                reopen()
                    .peek(1, 10)
                    .map((message) => [message.body, message.deliveryCount]),
            ).toEqual([
                ['b', 2],
                ['c', 1],
                ['d', 1],
                ['e', 1],
                ['f', 1],
            ]);
        });

        it('fails every operation of a group whose commit fails: none is acknowledged and its sends leave nothing', async () => {
            const queue = open({}, recording);
            queue.sendBatch([{ body: 'a' }, { body: 'b' }]);
            const [a] = queue.receive(1).map((message) => message.lockToken);
            log = [];
            failWrites = true;
            const outcomes = Promise.allSettled([
                acknowledge('send c', queue.sendBatchAsync([{ body: 'c' }])),
                acknowledge('complete a', queue.completeAsync(a!)),
                acknowledge('receive', queue.receiveAsync(5).committed),
            ]);
            await nextTurn();
            expect((await outcomes).map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
            expect(log).toEqual([
                'write failed',
                'send c failed: disk I/O error',
                'complete a failed: disk I/O error',
                'receive failed: disk I/O error',
            ]);
            // The refused send is nowhere; b stays locked by the failed receive until its lock expires. The next
            // commit (here the counts' own) writes the failed complete and b's delivery, as after a failed
            // synchronous commit.
            failWrites = false;
            expect([queue.activeMessageCount, queue.lockedMessageCount]).toEqual([0, 1]);
            const next = acknowledge('send d', queue.sendBatchAsync([{ body: 'd' }]));
            await nextTurn();
            expect((await next).map((message) => message.sequenceNumber)).toEqual([4]);
            expect(log.slice(-3)).toEqual(['write +0 ~1 -1', 'write +1 ~0 -0', 'send d ok']);
            expect(
                reopen()
                    .peek(1, 10)
                    .map((message) => [message.body, message.deliveryCount]),
            ).toEqual([
                ['b', 1],
                ['d', 0],
            ]);
        });

        it('rejects a bad send at once without joining the group, and numbers a synchronous send after pending ones', async () => {
            const queue = open({ maxMessageSizeBytes: 4 }, recording);
            await expect(queue.sendBatchAsync([{ body: 'too long' }])).rejects.toThrow(/8 bytes/);
            const pending = queue.sendBatchAsync([{ body: 'a' }]);
            // The synchronous send commits the pending group first, then itself.
            expect(queue.send({ body: 'b' }).sequenceNumber).toBe(2);
            expect(log).toEqual(['write +1 ~0 -0', 'write +1 ~0 -0']);
            expect((await pending).map((message) => message.sequenceNumber)).toEqual([1]);
        });

        it('commits a group still waiting when the queue closes', async () => {
            const queue = open({}, recording);
            const pending = queue.sendBatchAsync([{ body: 'a' }]);
            queue.close();
            expect(log).toEqual(['write +1 ~0 -0']);
            await pending;
            expect(
                reopen()
                    .peek(1, 10)
                    .map((message) => message.body),
            ).toEqual(['a']);
        });

        it('runs the trigger function only after its delivery count is committed, and not at all if that fails', async () => {
            const queue = open({}, recording);
            queue.sendBatch([{ body: 'a' }, { body: 'b' }]);
            log = [];
            const errors: string[] = [];
            const processor = queue.startProcessor({
                maxConcurrentCalls: 4,
                handler: (message) => {
                    log.push(`handler ${String(message.body)} (delivery ${message.deliveryCount})`);
                    return Promise.resolve();
                },
                onError: (error, context) =>
                    errors.push(`${context.phase} ${context.sequenceNumber}: ${String(error)}`),
            });
            await quiesce();
            expect(log).toEqual([
                'write +0 ~2 -0',
                'handler a (delivery 1)',
                'handler b (delivery 1)',
                'write +0 ~0 -2',
            ]);
            expect(errors).toEqual([]);

            // c is received at once (the processor is idle); its delivery count's commit fails: no function runs.
            queue.send({ body: 'c' });
            failWrites = true;
            log = [];
            await quiesce();
            expect(log).toEqual(['write failed']);
            expect(errors).toEqual(['receive 3: Error: disk I/O error']);
            failWrites = false;
            await processor.stop();
            expect(queue.lockedMessageCount).toBe(1);
        });

        it('does not run the function for a message whose lock expired before its receive was committed', async () => {
            const queue = open({ lockDurationMs: 1_000 }, recording);
            queue.send({ body: 'a' });
            const handled: string[] = [];
            const errors: string[] = [];
            const processor = queue.startProcessor({
                maxConcurrentCalls: 1,
                handler: (message) => {
                    handled.push(`${String(message.body)} (delivery ${message.deliveryCount})`);
                    return Promise.resolve();
                },
                onError: (error, context) => errors.push(`${context.phase}: ${String(error)}`),
            });
            // The processor's receive (a microtask) locks a; before its group commit (end of turn) the lock expires
            // and another receiver takes a.
            await Promise.resolve();
            expect(queue.lockedMessageCount).toBe(1);
            vi.advanceTimersByTime(1_001);
            const [other] = queue.receive(1);
            expect([other?.body, other?.deliveryCount]).toEqual(['a', 2]);
            await quiesce();
            expect([handled, errors]).toEqual([[], []]);
            queue.complete(other!.lockToken);
            await processor.stop();
            expect([queue.activeMessageCount, queue.lockedMessageCount]).toEqual([0, 0]);
        });

        it('resolves a grouped receive with only the messages whose locks are still held', async () => {
            const queue = open({ lockDurationMs: 1_000 }, recording);
            queue.sendBatch([{ body: 'a' }, { body: 'b' }]);
            const grouped = queue.receiveAsync(2);
            vi.advanceTimersByTime(600);
            // b's lock is renewed, a's expires before the group commit.
            queue.renewLock(grouped.messages[1]!.lockToken);
            vi.advanceTimersByTime(500);
            await nextTurn();
            expect((await grouped.committed).map((message) => message.body)).toEqual(['b']);
            expect(queue.receive(5).map((message) => [message.body, message.deliveryCount])).toEqual([['a', 2]]);
        });

        it('puts back the messages of a receive-and-delete whose commit fails, with their numbers and counts', async () => {
            const queue = open({}, recording);
            queue.sendBatch([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
            queue.abandon(queue.receive(1)[0]!.lockToken);
            failWrites = true;
            expect(() => queue.receive(2, 'receiveAndDelete')).toThrow('disk I/O error');
            const grouped = queue.receiveAsync(2, 'receiveAndDelete');
            expect(grouped.messages.map((message) => message.body)).toEqual(['a', 'b']);
            await expect(grouped.committed).rejects.toThrow('disk I/O error');
            expect(queue.activeMessageCount).toBe(3);
            // The next commit must not delete them: they are all still there, in order, with their delivery counts.
            failWrites = false;
            queue.send({ body: 'd' });
            expect(
                reopen()
                    .receive(5, 'receiveAndDelete')
                    .map((message) => [message.body, message.sequenceNumber, message.deliveryCount]),
            ).toEqual([
                ['a', 1, 2],
                ['b', 2, 1],
                ['c', 3, 1],
                ['d', 4, 1],
            ]);
        });

        it('puts back deferred messages taken in receive-and-delete when that commit fails', () => {
            const queue = open({}, recording);
            queue.sendBatch([{ body: 'a' }, { body: 'b' }]);
            queue.receive(2).forEach((message) => queue.defer(message.lockToken));
            failWrites = true;
            expect(() => queue.receiveDeferred([1, 2], 'receiveAndDelete')).toThrow('disk I/O error');
            expect(queue.deferredMessageCount).toBe(2);
            failWrites = false;
            queue.send({ body: 'c' });
            const restarted = reopen();
            expect(restarted.deferredMessageCount).toBe(2);
            expect(
                restarted
                    .receiveDeferred([1, 2], 'receiveAndDelete')
                    .map((message) => [message.body, message.deliveryCount]),
            ).toEqual([
                ['a', 2],
                ['b', 2],
            ]);
        });

        it('keeps a dead letter whose resubmit failed to commit, and never commits its removal alone', async () => {
            let writesLeft = Number.POSITIVE_INFINITY;
            const queue = open({ maxDeliveryCount: 1 }, (store) => ({
                load: (entity) => store.load(entity),
                write: (changes) => {
                    if (writesLeft-- <= 0) throw new Error('disk I/O error');
                    store.write(changes);
                },
            }));
            queue.sendBatch([{ body: 'a' }, { body: 'b' }]);
            queue.receive(2).forEach((message) => queue.abandon(message.lockToken));
            const listed = queue.deadLetters();
            expect(listed.map((entry) => entry.body)).toEqual(['a', 'b']);

            // The resubmit's own commit fails: a stays a dead letter, in its place, and the next commit keeps it.
            writesLeft = 0;
            expect(() => queue.resubmitDeadLetter(1)).toThrow('disk I/O error');
            expect(queue.deadLetters()).toEqual(listed);
            writesLeft = Number.POSITIVE_INFINITY;
            queue.send({ body: 'c' });

            // A grouped send is pending: it commits first (and succeeds), then the removal with the copy (fails).
            const grouped = queue.sendBatchAsync([{ body: 'd' }]);
            writesLeft = 1;
            expect(() => queue.resubmitDeadLetter(1)).toThrow('disk I/O error');
            expect((await grouped).map((sent) => sent.sequenceNumber)).toEqual([5]);
            writesLeft = Number.POSITIVE_INFINITY;
            queue.send({ body: 'e' });

            const restarted = reopen();
            expect(restarted.deadLetters()).toEqual(listed);
            expect(restarted.peek(1, 10).map((message) => message.body)).toEqual(['c', 'd', 'e']);
        });
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
