import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver } from '@azure/service-bus';
import { afterAll, describe, expect, it } from 'vitest';

import { startReadyChild } from '../../support/readyChild';

const QUEUE = 'orders';
// Fail fast instead of the SDK's minutes of retries (wire-protocols.md §2.5).
const FAST = { retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } };
const NO_RENEWAL = { maxAutoLockRenewalDurationInMs: 0 };

/**
 * The outside reference for the Service Bus stand-in's state on disk: the official @azure/service-bus client sends,
 * schedules, defers and dead-letters through the AMQP endpoint of a child process that is then killed with SIGKILL
 * (messages still locked), and reads everything back from a new process on the same state folder.
 */
describe('Service Bus queue state through SIGKILL, seen by the official @azure/service-bus client', () => {
    const stateDirectory = mkdtempSync(path.join(tmpdir(), 'sb-crash-'));
    const children: ChildProcess[] = [];
    const clients: ServiceBusClient[] = [];
    afterAll(async () => {
        await Promise.all(clients.map((client) => client.close()));
        children.forEach((child) => child.kill('SIGKILL'));
        rmSync(stateDirectory, { recursive: true, force: true });
    });

    async function startBroker(): Promise<{ client: ServiceBusClient; kill: () => Promise<void> }> {
        const started = await startReadyChild<{ port: number }>(
            path.join(__dirname, 'fixtures', 'durableQueueProcess.ts'),
            [stateDirectory],
            'the broker',
        );
        children.push(started.child);
        const { child, exited } = started;
        const { port } = started.ready;
        const client = new ServiceBusClient(
            `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`,
            FAST,
        );
        clients.push(client);
        return {
            client,
            kill: async () => {
                await client.close();
                child.kill('SIGKILL');
                await exited;
            },
        };
    }

    it('keeps what was acknowledged, ends the locks and carries on numbering', { timeout: 90_000 }, async () => {
        const at = new Date('2026-03-01T12:00:00.000Z');
        let broker = await startBroker();
        const sender = broker.client.createSender(QUEUE);
        // One batch transfer: acknowledged once all six are committed.
        await sender.sendMessages([
            {
                body: { names: ['Ada', 'Émile'] },
                messageId: 'json',
                contentType: 'application/json',
                correlationId: 'c-1',
                subject: 'names',
                applicationProperties: { source: 'timer', attempt: 2, ok: true, at },
                timeToLive: 3_600_000,
            },
            { body: Buffer.from([0, 1, 2, 255]), messageId: 'bytes' },
            { body: 'expires', messageId: 'short-ttl', timeToLive: 1_500 },
            { body: 'aside', messageId: 'to-defer' },
            { body: 'bad', messageId: 'to-dead' },
            { body: 'in flight', messageId: 'held' },
        ]);
        const scheduledFor = new Date(Date.now() + 3_600_000);
        const [scheduled] = await sender.scheduleMessages({ body: 'later', messageId: 'scheduled' }, scheduledFor);
        const receiver = broker.client.createReceiver(QUEUE, NO_RENEWAL);
        const received = await receiveAll(receiver, 6);
        const byId = new Map(received.map((message) => [message.messageId, message]));
        await receiver.deferMessage(byId.get('to-defer')!);
        await receiver.deadLetterMessage(byId.get('to-dead')!, {
            deadLetterReason: 'Unparseable',
            deadLetterErrorDescription: 'not JSON',
            step: 'parse',
        });
        // json, bytes, short-ttl and held are still locked when the broker dies; short-ttl's TTL runs out meanwhile.
        const sentAt = byId.get('json')!.enqueuedTimeUtc!.getTime();
        await sleep(Math.max(0, sentAt + 1_600 - Date.now()));
        await broker.kill();

        broker = await startBroker();
        const queueReceiver = broker.client.createReceiver(QUEUE, NO_RENEWAL);
        const again = await receiveAll(queueReceiver, 3);
        expect(again.map(pick)).toEqual([
            {
                body: { names: ['Ada', 'Émile'] },
                messageId: 'json',
                contentType: 'application/json',
                correlationId: 'c-1',
                subject: 'names',
                // A timestamp property: the SDK hands received dates out as milliseconds (convertDatesToNumbers).
                applicationProperties: { source: 'timer', attempt: 2, ok: true, at: at.getTime() },
                timeToLive: 3_600_000,
                sequenceNumber: 1,
                // Zero-based on the wire: the delivery cut off by the kill counts, as an expired lock's does.
                deliveryCount: 1,
                state: 'active',
                enqueuedTimeUtc: byId.get('json')!.enqueuedTimeUtc,
                expiresAtUtc: byId.get('json')!.expiresAtUtc,
            },
            expect.objectContaining({ body: Buffer.from([0, 1, 2, 255]), messageId: 'bytes', sequenceNumber: 2 }),
            expect.objectContaining({ body: 'in flight', messageId: 'held', sequenceNumber: 6, deliveryCount: 1 }),
        ]);
        const [deferred] = await queueReceiver.receiveDeferredMessages(byId.get('to-defer')!.sequenceNumber!);
        expect(pick(deferred!)).toMatchObject({
            messageId: 'to-defer',
            sequenceNumber: 4,
            state: 'deferred',
            deliveryCount: 1,
        });
        const deadLetterReceiver = broker.client.createReceiver(QUEUE, { subQueueType: 'deadLetter', ...NO_RENEWAL });
        const deadLetters = await receiveAll(deadLetterReceiver, 2);
        expect(
            deadLetters.map((message) => [
                message.messageId,
                message.sequenceNumber?.toNumber(),
                message.deadLetterReason,
                message.deadLetterErrorDescription,
                message.applicationProperties,
            ]),
        ).toEqual([
            [
                'to-dead',
                5,
                'Unparseable',
                'not JSON',
                { step: 'parse', DeadLetterReason: 'Unparseable', DeadLetterErrorDescription: 'not JSON' },
            ],
            [
                'short-ttl',
                3,
                'TTLExpiredException',
                'The message expired and was dead lettered.',
                {
                    DeadLetterReason: 'TTLExpiredException',
                    DeadLetterErrorDescription: 'The message expired and was dead lettered.',
                },
            ],
        ]);
        const [peeked] = await broker.client.createReceiver(QUEUE).peekMessages(1, { fromSequenceNumber: scheduled! });
        expect([peeked?.messageId, peeked?.state, peeked?.scheduledEnqueueTimeUtc]).toEqual([
            'scheduled',
            'scheduled',
            scheduledFor,
        ]);
        // Numbering carries on after the highest number given out before the kill.
        const restartedSender = broker.client.createSender(QUEUE);
        const [next] = await restartedSender.scheduleMessages({ body: 'next', messageId: 'next' }, scheduledFor);
        expect(next?.toNumber()).toBe(8);

        // Settlements after the restart are kept too: completed, cancelled and dead-letter-completed messages stay
        // gone after the next kill, and the message left locked comes back once more.
        await queueReceiver.completeMessage(again[1]!);
        await queueReceiver.completeMessage(again[2]!);
        await queueReceiver.completeMessage(deferred!);
        await deadLetterReceiver.completeMessage(deadLetters[0]!);
        await restartedSender.cancelScheduledMessages(next!);
        await broker.kill();
        broker = await startBroker();
        const peek = async (options: { subQueueType?: 'deadLetter' } = {}) =>
            (await broker.client.createReceiver(QUEUE, options).peekMessages(10)).map((message) => [
                message.messageId,
                message.sequenceNumber?.toNumber(),
                message.deliveryCount,
            ]);
        expect(await peek()).toEqual([
            ['json', 1, 2],
            ['scheduled', 7, 0],
        ]);
        // Peeked counts include every delivery: short-ttl was locked once in the queue and once in the sub-queue.
        expect(await peek({ subQueueType: 'deadLetter' })).toEqual([['short-ttl', 3, 2]]);
        await broker.kill();
    });

    it(
        'dead-letters a message whose trigger function kills the process, after maxDeliveryCount restarts',
        { timeout: 90_000 },
        async () => {
            // Its own folder: the delivery count must be on disk before each function run for this to end.
            const directory = mkdtempSync(path.join(tmpdir(), 'sb-poison-'));
            try {
                const starts: unknown[] = [];
                for (let start = 1; start <= 4; start++) {
                    const started = await startReadyChild<{ active: number; deadLetters: unknown[] }>(
                        path.join(__dirname, 'fixtures', 'poisonTriggerProcess.ts'),
                        start === 1 ? [directory, 'send'] : [directory],
                        'the poisoned trigger',
                    );
                    children.push(started.child);
                    starts.push(started.ready);
                    if (started.ready.deadLetters.length > 0) {
                        started.child.kill('SIGKILL');
                        await started.exited;
                        break;
                    }
                    // The function kills its own process.
                    await started.exited;
                    expect(started.child.signalCode).toBe('SIGKILL');
                }
                expect(starts).toEqual([
                    { active: 1, deadLetters: [] },
                    { active: 1, deadLetters: [] },
                    { active: 1, deadLetters: [] },
                    { active: 0, deadLetters: [['poison', 'MaxDeliveryCountExceeded', 3]] },
                ]);
            } finally {
                rmSync(directory, { recursive: true, force: true });
            }
        },
    );
});

/** Peek-locks exactly `count` messages (receiveMessages may return fewer per call). */
async function receiveAll(receiver: ServiceBusReceiver, count: number): Promise<ServiceBusReceivedMessage[]> {
    const received: ServiceBusReceivedMessage[] = [];
    while (received.length < count) {
        const batch = await receiver.receiveMessages(count - received.length, { maxWaitTimeInMs: 5_000 });
        if (batch.length === 0) {
            throw new Error(`expected ${count} messages, received ${received.length}`);
        }
        received.push(...batch);
    }
    return received;
}

function pick(message: ServiceBusReceivedMessage) {
    return {
        body: message.body as unknown,
        messageId: message.messageId,
        contentType: message.contentType,
        correlationId: message.correlationId,
        subject: message.subject,
        applicationProperties: message.applicationProperties,
        timeToLive: message.timeToLive,
        sequenceNumber: message.sequenceNumber?.toNumber(),
        deliveryCount: message.deliveryCount,
        state: message.state,
        enqueuedTimeUtc: message.enqueuedTimeUtc,
        expiresAtUtc: message.expiresAtUtc,
    };
}
