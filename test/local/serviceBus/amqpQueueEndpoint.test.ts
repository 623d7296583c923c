import { setTimeout as sleep } from 'node:timers/promises';

import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type AmqpServer, startAmqpServer } from '../../../local/amqp';
import {
    LocalServiceBusQueue,
    type LocalServiceBusQueueOptions,
    type ServiceBusMessageStore,
} from '../../../local/serviceBus';
import { serveQueueOverAmqp } from '../../../local/serviceBus/amqpQueueEndpoint';

const KEYS = { RootManageSharedAccessKey: 'SAS_KEY_VALUE' };
const QUEUE = 'orders';
// Fail fast instead of the SDK's minutes of retries (wire-protocols.md §2.5).
const FAST = { retryOptions: { maxRetries: 0, timeoutInMs: 5_000 } };
const NO_RENEWAL = { maxAutoLockRenewalDurationInMs: 0 };

describe('Service Bus queue over AMQP, driven by the official @azure/service-bus client', () => {
    let server: AmqpServer;
    let queue: LocalServiceBusQueue;
    let client: ServiceBusClient;

    function start(options: Partial<LocalServiceBusQueueOptions> = {}): void {
        queue = new LocalServiceBusQueue({ name: QUEUE, ...options });
        serveQueueOverAmqp(server, queue);
        client = new ServiceBusClient(
            `Endpoint=sb://127.0.0.1:${server.port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`,
            FAST,
        );
    }

    beforeEach(async () => {
        server = await startAmqpServer({ port: 0, sharedAccessKeys: KEYS });
    });

    afterEach(async () => {
        await client?.close();
        queue?.close();
        await server.close();
    });

    it('sends one and a batch, and hands them out peek-locked with the properties and annotations the SDK reads', async () => {
        start();
        const sender = client.createSender(QUEUE);
        const before = Date.now();
        await sender.sendMessages({
            body: { names: ['Ada'] },
            messageId: 'm-1',
            correlationId: 'c-1',
            contentType: 'application/json',
            subject: 'names',
            applicationProperties: { source: 'timer', attempt: 2, ok: true },
            timeToLive: 60_000,
        });
        const batch = await sender.createMessageBatch();
        batch.tryAddMessage({ body: 'two', messageId: 'm-2' });
        batch.tryAddMessage({ body: Buffer.from([1, 2, 3]), messageId: 'm-3' });
        await sender.sendMessages(batch);

        const receiver = client.createReceiver(QUEUE, NO_RENEWAL);
        const received = await receiver.receiveMessages(3, { maxWaitTimeInMs: 2_000 });
        expect(received.map(pick)).toEqual([
            {
                body: { names: ['Ada'] },
                messageId: 'm-1',
                correlationId: 'c-1',
                contentType: 'application/json',
                subject: 'names',
                applicationProperties: { source: 'timer', attempt: 2, ok: true },
                timeToLive: 60_000,
                sequenceNumber: 1,
                deliveryCount: 0,
                state: 'active',
            },
            expect.objectContaining({ body: 'two', messageId: 'm-2', sequenceNumber: 2, deliveryCount: 0 }),
            expect.objectContaining({ body: Buffer.from([1, 2, 3]), messageId: 'm-3', sequenceNumber: 3 }),
        ]);
        const first = received[0]!;
        expect(first.enqueuedTimeUtc!.getTime()).toBeGreaterThanOrEqual(before - 1);
        expect(first.expiresAtUtc!.getTime()).toBe(first.enqueuedTimeUtc!.getTime() + 60_000);
        // The lock clock starts when the message is taken to satisfy credit, not when it was enqueued.
        expect(first.lockedUntilUtc!.getTime()).toBeGreaterThanOrEqual(first.enqueuedTimeUtc!.getTime() + 60_000);
        expect(first.lockedUntilUtc!.getTime()).toBeLessThanOrEqual(Date.now() + 60_000);
        expect(first.lockToken).toMatch(/^[0-9a-f-]{36}$/);
        expect([queue.activeMessageCount, queue.lockedMessageCount]).toEqual([0, 3]);

        // The lock token the SDK derived from the delivery tag is the broker's: renewal and completion find it.
        const renewedUntil = await receiver.renewMessageLock(first);
        expect(renewedUntil.getTime()).toBeGreaterThanOrEqual(first.lockedUntilUtc!.getTime());
        await Promise.all(received.map((message) => receiver.completeMessage(message)));
        expect([queue.activeMessageCount, queue.lockedMessageCount]).toEqual([0, 0]);
    });

    it('redelivers an abandoned message with its delivery count raised, then dead-letters it at maxDeliveryCount', async () => {
        start({ maxDeliveryCount: 2 });
        await client.createSender(QUEUE).sendMessages({ body: 'poison', messageId: 'p' });
        const receiver = client.createReceiver(QUEUE, NO_RENEWAL);
        const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
        await receiver.abandonMessage(first!, { retried: true });
        const [second] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
        expect([second!.messageId, second!.deliveryCount, second!.applicationProperties]).toEqual([
            'p',
            1,
            { retried: true },
        ]);
        await receiver.abandonMessage(second!);
        expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toEqual([]);

        const deadLetters = client.createReceiver(QUEUE, { subQueueType: 'deadLetter', ...NO_RENEWAL });
        const [dead] = await deadLetters.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
        expect([
            dead!.messageId,
            dead!.deadLetterReason,
            dead!.deadLetterErrorDescription,
            dead!.deliveryCount,
        ]).toEqual(['p', 'MaxDeliveryCountExceeded', 'Message could not be consumed after 2 delivery attempts.', 2]);
        await deadLetters.completeMessage(dead!);
        expect(queue.deadLetterMessageCount).toBe(0);
    });

    it('dead-letters on request with the reason, description and properties given', async () => {
        start();
        await client.createSender(QUEUE).sendMessages({ body: 'bad', messageId: 'b' });
        const receiver = client.createReceiver(QUEUE, NO_RENEWAL);
        const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
        await receiver.deadLetterMessage(message!, {
            deadLetterReason: 'InvalidMessage',
            deadLetterErrorDescription: 'field "names" missing',
            step: 'validate',
        });
        expect(queue.deadLetters()).toEqual([
            expect.objectContaining({
                messageId: 'b',
                deadLetterReason: 'InvalidMessage',
                deadLetterErrorDescription: 'field "names" missing',
                applicationProperties: { step: 'validate' },
            }),
        ]);
        const [peeked] = await client.createReceiver(QUEUE, { subQueueType: 'deadLetter' }).peekMessages(1);
        expect([peeked!.messageId, peeked!.deadLetterReason, peeked!.applicationProperties]).toEqual([
            'b',
            'InvalidMessage',
            {
                step: 'validate',
                DeadLetterReason: 'InvalidMessage',
                DeadLetterErrorDescription: 'field "names" missing',
            },
        ]);
    });

    it('defers a message, receives it by sequence number and settles it through $management', async () => {
        start();
        await client.createSender(QUEUE).sendMessages([
            { body: 'later', messageId: 'd' },
            { body: 'now', messageId: 'n' },
        ]);
        const receiver = client.createReceiver(QUEUE, NO_RENEWAL);
        const [deferred] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
        await receiver.deferMessage(deferred!);
        const [next] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
        expect(next!.messageId).toBe('n');
        await receiver.completeMessage(next!);
        expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toEqual([]);

        const [again] = await receiver.receiveDeferredMessages(deferred!.sequenceNumber!);
        expect([again!.messageId, again!.state, again!.deliveryCount]).toEqual(['d', 'deferred', 1]);
        const renewed = await receiver.renewMessageLock(again!);
        expect(renewed.getTime()).toBeGreaterThan(Date.now());
        await receiver.completeMessage(again!);
        expect([queue.deferredMessageCount, queue.activeMessageCount, queue.lockedMessageCount]).toEqual([0, 0, 0]);
        await expect(receiver.receiveDeferredMessages(deferred!.sequenceNumber!)).rejects.toMatchObject({
            code: 'MessageNotFound',
        });
    });

    it('schedules and cancels messages, and delivers a scheduled one when its time comes', async () => {
        start();
        const sender = client.createSender(QUEUE);
        const [cancelled] = await sender.scheduleMessages(
            { body: 'never', messageId: 'x' },
            new Date(Date.now() + 60_000),
        );
        const soon = new Date(Date.now() + 500);
        await sender.sendMessages({ body: 'soon', messageId: 's', scheduledEnqueueTimeUtc: soon });
        const receiver = client.createReceiver(QUEUE, NO_RENEWAL);
        expect((await receiver.peekMessages(5)).map((m) => [m.messageId, m.state])).toEqual([
            ['x', 'scheduled'],
            ['s', 'scheduled'],
        ]);
        await sender.cancelScheduledMessages(cancelled!);
        expect(queue.scheduledMessageCount).toBe(1);
        await expect(sender.cancelScheduledMessages(cancelled!)).rejects.toMatchObject({ code: 'MessageNotFound' });

        const [delivered] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 3_000 });
        expect(delivered!.messageId).toBe('s');
        expect(Date.now()).toBeGreaterThanOrEqual(soon.getTime() - 5);
        expect(delivered!.scheduledEnqueueTimeUtc?.getTime()).toBe(soon.getTime());
    });

    it('receives and deletes in receiveAndDelete mode, and peeks without locking', async () => {
        start();
        await client.createSender(QUEUE).sendMessages([1, 2, 3].map((n) => ({ body: n, messageId: `r${n}` })));
        const peeker = client.createReceiver(QUEUE);
        expect((await peeker.peekMessages(2)).map((m) => m.messageId)).toEqual(['r1', 'r2']);
        expect((await peeker.peekMessages(5)).map((m) => m.messageId)).toEqual(['r3']);
        expect(queue.lockedMessageCount).toBe(0);

        const receiver = client.createReceiver(QUEUE, { receiveMode: 'receiveAndDelete' });
        const received = await receiver.receiveMessages(5, { maxWaitTimeInMs: 1_000 });
        expect(received.map((m) => [m.body as unknown, m.lockToken])).toEqual([
            [1, undefined],
            [2, undefined],
            [3, undefined],
        ]);
        expect([queue.activeMessageCount, queue.lockedMessageCount]).toEqual([0, 0]);
    });

    it('redelivers after the lock expires, and refuses settling with the lost lock or settling twice', async () => {
        start({ lockDurationMs: 1_000 });
        await client.createSender(QUEUE).sendMessages([
            { body: 'slow', messageId: 'l' },
            { body: 'twice', messageId: 't' },
        ]);
        const receiver = client.createReceiver(QUEUE, NO_RENEWAL);
        const [slow, twice] = await receiver.receiveMessages(2, { maxWaitTimeInMs: 2_000 });
        await receiver.completeMessage(twice!);
        await expect(receiver.completeMessage(twice!)).rejects.toThrow(/already settled|lock/i);

        await sleep(1_200);
        const [redelivered] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
        expect([redelivered!.messageId, redelivered!.deliveryCount]).toEqual(['l', 1]);
        await expect(receiver.completeMessage(slow!)).rejects.toMatchObject({ code: 'MessageLockLost' });
        await expect(receiver.renewMessageLock(slow!)).rejects.toMatchObject({ code: 'MessageLockLost' });
        await receiver.completeMessage(redelivered!);
    });

    it('serves a streaming subscriber by link credit', async () => {
        start();
        const seen: string[] = [];
        const done = new Promise<void>((resolve, reject) => {
            const subscription = client.createReceiver(QUEUE).subscribe(
                {
                    processMessage: async (message: ServiceBusReceivedMessage) => {
                        seen.push(String(message.body));
                        if (seen.length === 20) {
                            await subscription.close();
                            resolve();
                        }
                    },
                    processError: ({ error }) => {
                        reject(error);
                        return Promise.resolve();
                    },
                },
                { maxConcurrentCalls: 4 },
            );
        });
        await client.createSender(QUEUE).sendMessages(Array.from({ length: 20 }, (_, n) => ({ body: `s${n}` })));
        await done;
        expect(seen.sort()).toEqual(Array.from({ length: 20 }, (_, n) => `s${n}`).sort());
        await sleep(50);
        expect(queue.activeMessageCount + queue.lockedMessageCount).toBe(0);
    });

    it("keeps a long-lived peek-lock link going past rhea's 2,048-delivery session buffer, locking only what credit asks", async () => {
        start();
        const total = 2_100;
        for (let offset = 0; offset < total; offset += 700) {
            await client
                .createSender(QUEUE)
                .sendMessages(Array.from({ length: 700 }, (_, n) => ({ body: offset + n })));
        }
        let seen = 0;
        let mostLocked = 0;
        await new Promise<void>((resolve, reject) => {
            const subscription = client.createReceiver(QUEUE).subscribe(
                {
                    processMessage: async () => {
                        mostLocked = Math.max(mostLocked, queue.lockedMessageCount);
                        if (++seen === total) {
                            await subscription.close();
                            resolve();
                        }
                    },
                    processError: ({ error }) => {
                        reject(error);
                        return Promise.resolve();
                    },
                },
                { maxConcurrentCalls: 8 },
            );
        });
        expect(seen).toBe(total);
        expect(mostLocked).toBeLessThanOrEqual(8);
    }, 60_000);

    it('refuses a message over the size limit: the SDK by the announced max-message-size, the broker by the queue limit', async () => {
        start({ maxMessageSizeBytes: 1_024 });
        const sender = client.createSender(QUEUE);
        await expect(sender.sendMessages({ body: Buffer.alloc(300_000) })).rejects.toMatchObject({
            code: 'MessageSizeExceeded',
        });
        await expect(sender.sendMessages({ body: Buffer.alloc(2_000) })).rejects.toMatchObject({
            code: 'MessageSizeExceeded',
            message: expect.stringContaining('2000 bytes and the maximum body size is 1024 bytes'),
        });
        expect(queue.activeMessageCount).toBe(0);
    });

    it('refuses a receiver on a missing entity, a session receiver, a topic subscription and sending to the dead-letter queue', async () => {
        start();
        await expect(
            client.createReceiver('missing').receiveMessages(1, { maxWaitTimeInMs: 1_000 }),
        ).rejects.toMatchObject({ code: 'MessagingEntityNotFound' });
        // SDK 7.9.5 rejects acceptSession with rhea's raw error record and acceptNextSession with a ServiceBusError
        // (code GeneralError); both carry the condition's description, and neither waits for a timeout.
        await expect(client.acceptSession(QUEUE, 'session-1')).rejects.toMatchObject({
            condition: 'amqp:not-implemented',
            description: expect.stringContaining('Sessions (a session receiver) is not supported'),
        });
        await expect(client.acceptNextSession(QUEUE)).rejects.toMatchObject({
            code: 'GeneralError',
            message: expect.stringContaining('Sessions (a session receiver) is not supported'),
        });
        await expect(
            client.createReceiver('topic', 'subscription').receiveMessages(1, { maxWaitTimeInMs: 1_000 }),
        ).rejects.toMatchObject({ message: expect.stringContaining('Topics and subscriptions is not supported') });
        await expect(client.createSender(`${QUEUE}/$DeadLetterQueue`).sendMessages({ body: 'x' })).rejects.toThrow(
            /cannot be sent to/,
        );
    });

    it('with a store, sends dispositions and transfers only after their group commit, and refuses them when it fails', async () => {
        // A store that keeps the last committed state of each message, by id, to check each acknowledgement against.
        const ids = new Map<number, string>();
        const committed = new Map<string, string>();
        let failWrites = false;
        const store: ServiceBusMessageStore = {
            load: () => ({ nextSequenceNumber: 1, messages: [] }),
            write: (writes) => {
                if (failWrites) {
                    throw new Error('disk I/O error');
                }
                for (const { inserted, updated, deleted } of writes) {
                    for (const message of inserted) {
                        ids.set(message.sequenceNumber, message.messageId);
                        committed.set(message.messageId, 'sent');
                    }
                    for (const message of updated) {
                        committed.set(ids.get(message.sequenceNumber)!, `delivered ${message.deliveryCount}`);
                    }
                    deleted.forEach((sequenceNumber) => committed.set(ids.get(sequenceNumber)!, 'completed'));
                }
            },
        };
        start({ store });
        const sender = client.createSender(QUEUE);
        // Concurrent sends: each accepted disposition finds its message on disk.
        const accepted: Array<string | undefined> = [];
        await Promise.all(
            Array.from({ length: 6 }, (_, index) =>
                sender
                    .sendMessages({ body: `m${index}`, messageId: `m${index}` })
                    .then(() => accepted.push(committed.get(`m${index}`))),
            ),
        );
        expect(accepted).toEqual(Array.from({ length: 6 }, () => 'sent'));
        const receiver = client.createReceiver(QUEUE, NO_RENEWAL);
        const received = await receiver.receiveMessages(6, { maxWaitTimeInMs: 2_000 });
        // A transfer goes out only once its delivery count is committed (the header counts prior deliveries).
        expect(received.map((message) => [message.messageId, committed.get(message.messageId as string)])).toEqual(
            Array.from({ length: 6 }, (_, index) => [`m${index}`, 'delivered 1']),
        );
        const [first, second, ...rest] = received;
        const completed = await Promise.all(
            rest.map((message) =>
                receiver.completeMessage(message).then(() => committed.get(message.messageId as string)),
            ),
        );
        expect(completed).toEqual(['completed', 'completed', 'completed', 'completed']);

        failWrites = true;
        await expect(receiver.completeMessage(first!)).rejects.toThrow(/disk I\/O error/);
        await expect(receiver.abandonMessage(second!)).rejects.toThrow(/disk I\/O error/);
        await expect(sender.sendMessages({ body: 'refused', messageId: 'refused' })).rejects.toThrow(/disk I\/O error/);
        failWrites = false;
        // The refused send left nothing; the failed settlements stay applied and are written by the next commit.
        expect(queue.peek(1, 10).map((message) => message.messageId)).toEqual(['m1']);
        expect([committed.get('m0'), committed.get('m1'), committed.has('refused')]).toEqual([
            'completed',
            'delivered 1',
            false,
        ]);
    });

    it('shares one broker state with in-process callers', async () => {
        start();
        queue.send({ body: '{"from":"in-process"}', messageId: 'ip', contentType: 'application/json' });
        await client.createSender(QUEUE).sendMessages({ body: { from: 'sdk' }, messageId: 'sdk' });
        const [inProcess] = queue.receive(1);
        expect(inProcess!.messageId).toBe('ip');
        const receiver = client.createReceiver(QUEUE, NO_RENEWAL);
        const [viaSdk] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
        expect([viaSdk!.messageId, viaSdk!.body]).toEqual(['sdk', { from: 'sdk' }]);
        queue.abandon(inProcess!.lockToken);
        const [again] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
        expect([again!.messageId, again!.body, again!.deliveryCount]).toEqual(['ip', { from: 'in-process' }, 1]);
    });
});

function pick(message: ServiceBusReceivedMessage) {
    return {
        body: message.body as unknown,
        messageId: message.messageId,
        correlationId: message.correlationId,
        contentType: message.contentType,
        subject: message.subject,
        applicationProperties: message.applicationProperties,
        timeToLive: message.timeToLive,
        sequenceNumber: message.sequenceNumber?.toNumber(),
        deliveryCount: message.deliveryCount,
        state: message.state,
    };
}
