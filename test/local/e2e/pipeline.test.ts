import { randomUUID } from 'node:crypto';
import path from 'node:path';

import { ServiceBusClient } from '@azure/service-bus';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { windowEndFor } from '../../../domain/letterCounts/letterCountDocument';
import { splitNames } from '../../../domain/messages/newNamesMessage';
import { AmqpError } from '../../../local/amqp';
import { runDlq } from '../../../local/cli/dlq';
import { runRecount } from '../../../local/cli/recount';
import { createLocalCosmosClient } from '../../../local/cosmos';
import { type LocalRuntime, startLocalRuntime } from '../../../local/runtime/localRuntime';
import { LocalServices } from '../../../local/runtime/localServices';
import { managementApi } from '../../../local/runtime/managementApi';
import { formatStatusLine } from '../../../local/runtime/statusLine';

/**
 * The whole pipeline on this machine, with 2-second windows: the timer generates names every second, the fan-out
 * writes blobs and events, the .asaql job counts them into Cosmos DB, and the change feed broadcasts them.
 * Every check compares Cosmos DB with the raw-names blobs, so a lost or double-counted name fails it.
 */
const WINDOW_SECONDS = 2;
// The job's late-arrival tolerance here (30 s when deployed). The first sends open the AMQP connections and links
// (a second or more on a loaded machine); a 1 s tolerance would move the first window's names into later windows.
const LATE_ARRIVAL_SECONDS = 5;
const appRoot = path.resolve(__dirname, '../../..');

describe('local pipeline, end to end', () => {
    let runtime: LocalRuntime;
    const logs: string[] = [];
    const delivered: Array<{ id: string; count: number }> = [];

    beforeAll(async () => {
        runtime = await startLocalRuntime({
            appRoot,
            ephemeralPorts: true,
            // The path Azure's host takes: the Service Bus trigger and output binding and the Event Hub output binding
            // use the official SDKs over the local AMQP endpoint, while the tests below also reach the same queue and
            // hub in-process.
            serviceBusPath: 'amqp',
            eventHubPath: 'amqp',
            windowSeconds: WINDOW_SECONDS,
            jobSettings: {
                eventsLateArrivalMaxDelayInSeconds: LATE_ARRIVAL_SECONDS,
                eventsOutOfOrderMaxDelayInSeconds: 1,
            },
            settings: { GENERATE_NAMES_SCHEDULE: '* * * * * *', NAMES_SEED: '' },
            log: (line) => logs.push(line),
            extraHttpHandlers: [managementApi(() => runtime)],
            onChangeFeedBatch: (documents) =>
                delivered.push(
                    ...(documents as Array<{ id: string; count: number }>).map(({ id, count }) => ({ id, count })),
                ),
        });
    }, 60_000);

    afterAll(async () => {
        await runtime?.stop();
    });

    it('stores counts in Cosmos DB equal to the first letters of exactly the names in the raw-names blobs', async () => {
        await waitFor(() => runtime.metrics.snapshot().windowsEmitted >= 3, 30_000, 'three windows');
        await expectCountsMatchBlobs(runtime);
    }, 60_000);

    it('takes a message from an outside official SDK client over AMQP, with the settings npm start uses', async () => {
        const client = new ServiceBusClient(runtime.settings.ServiceBusConnection!);
        const id = randomUUID();
        try {
            await client
                .createSender('newnames-queue')
                .sendMessages({ body: { id, generatedAt: new Date().toISOString(), names: ['Zora', 'Quinn'] } });
        } finally {
            await client.close();
        }
        const blob = BlobServiceClient.fromConnectionString(runtime.settings.AzureWebJobsStorage!)
            .getContainerClient('raw-names')
            .getBlobClient(`${id}.json`);
        await waitFor(() => blob.exists(), 20_000, `raw-names/${id}.json`);
        expect(JSON.parse((await blob.downloadToBuffer()).toString())).toMatchObject({ id, names: ['Zora', 'Quinn'] });
    }, 30_000);

    it('dead-letters a malformed message with its reason while the rest keeps flowing', async () => {
        const queue = runtime.queues.get('newnames-queue')!;
        const windowsBefore = runtime.metrics.snapshot().windowsEmitted;
        const { sequenceNumber } = queue.send({ body: '{"id": "not-a-uuid", "names": "Ada"}' });

        await waitFor(() => queue.deadLetterMessageCount === 1, 30_000, 'the message in the dead-letter queue');
        expect(
            queue
                .deadLetters()
                .map(({ sequenceNumber, deliveryCount, deadLetterReason, deadLetterErrorDescription, body }) => ({
                    sequenceNumber,
                    deliveryCount,
                    deadLetterReason,
                    deadLetterErrorDescription,
                    body,
                })),
        ).toEqual([
            {
                sequenceNumber,
                deliveryCount: 10,
                deadLetterReason: 'MaxDeliveryCountExceeded',
                deadLetterErrorDescription: 'Message could not be consumed after 10 delivery attempts.',
                body: '{"id": "not-a-uuid", "names": "Ada"}',
            },
        ]);
        // Each attempt logged why the message was rejected.
        expect(
            logs.filter((line) => line.includes('field "id" must be a UUID (got "not-a-uuid")')).length,
        ).toBeGreaterThanOrEqual(10);
        await waitFor(() => runtime.metrics.snapshot().windowsEmitted >= windowsBefore + 2, 30_000, 'two more windows');
        await expectCountsMatchBlobs(runtime);

        // npm run dlq lists it with its reason, and resubmits it to the queue after a fix.
        const printed: string[] = [];
        expect(await runDlq(['--url', runtime.urls.functions], (line) => printed.push(line))).toBe(0);
        expect(printed[0]).toBe('1 dead-lettered message(s) in newnames-queue');
        expect(printed[1]).toContain(
            `#${sequenceNumber} ${queue.deadLetters()[0]!.messageId}  MaxDeliveryCountExceeded: Message could not be consumed after 10 delivery attempts.  (deliveries 10,`,
        );
        expect(printed[1]).toContain('body: {"id": "not-a-uuid", "names": "Ada"}');
        printed.length = 0;
        expect(
            await runDlq(['resubmit', String(sequenceNumber), '--url', runtime.urls.functions], (line) =>
                printed.push(line),
            ),
        ).toBe(0);
        expect(printed).toEqual(['Resubmitted 1 message(s) to newnames-queue']);
        // Still malformed, so the resubmitted copy (a new sequence number) is dead-lettered again: nothing is lost.
        await waitFor(
            () => queue.deadLetters().some((message) => message.sequenceNumber > sequenceNumber),
            30_000,
            'the resubmitted copy back in the dead-letter queue',
        );
        expect(queue.deadLetters().map((message) => message.body)).toEqual(['{"id": "not-a-uuid", "names": "Ada"}']);
    }, 90_000);

    it('redelivers a message whose handler failed, and counts every name exactly once', async () => {
        const hub = runtime.eventHubs.get('names')!;
        const queue = runtime.queues.get('newnames-queue')!;
        // 1. The Event Hub refuses one send with a condition the producer does not retry (a disabled entity): the
        //    invocation fails at once, so the message is abandoned and redelivered. A retryable refusal would be
        //    retried by the binding's producer for about 6 s, and the events would arrive past the job's
        //    late-arrival tolerance.
        const send = hub.send.bind(hub);
        let sendFailures = 0;
        hub.send = (events, options) => {
            if (sendFailures++ === 0) {
                throw new AmqpError('com.microsoft:entity-disabled', 'injected: Event Hubs unavailable', 400);
            }
            return send(events, options);
        };
        // 2. A delivery whose events were already sent is abandoned instead of completed (a lost lock): the same
        //    events go out twice, and COUNT(DISTINCT eventId) must count them once.
        //    (The trigger settles through the queue's grouped completeAsync.)
        const complete = queue.completeAsync.bind(queue);
        let completions = 0;
        queue.completeAsync = (lockToken) =>
            completions++ === 0 ? queue.abandonAsync(lockToken) : complete(lockToken);

        const windowsBefore = runtime.metrics.snapshot().windowsEmitted;
        await waitFor(() => sendFailures > 1 && completions > 1, 10_000, 'both faults injected');
        hub.send = send;
        queue.completeAsync = complete;
        await waitFor(
            () => logs.some((line) => line.includes('injected: Event Hubs unavailable')),
            5_000,
            'the failed invocation logged',
        );
        await waitFor(
            () => runtime.metrics.snapshot().windowsEmitted >= windowsBefore + 3,
            30_000,
            'three more windows',
        );
        await expectCountsMatchBlobs(runtime);
    }, 60_000);

    it('resumes the change feed from its lease after a host restart: windows closed meanwhile still arrive', async () => {
        await runtime.host.stop();
        const stoppedAt = Date.now();
        const deliveredBeforeStop = delivered.length;
        // The Stream Analytics job keeps running while the functions host is down, so windows close and are stored.
        await waitFor(
            async () => (await storedDocuments(runtime)).some((doc) => Date.parse(doc.windowEnd) > stoppedAt),
            30_000,
            'a window stored while the host is down',
        );
        const storedWhileDown = (await storedDocuments(runtime)).filter((doc) => Date.parse(doc.windowEnd) > stoppedAt);
        expect(storedWhileDown.length).toBeGreaterThan(0);
        await runtime.restartHost();
        await waitFor(
            () => storedWhileDown.every((doc) => delivered.some((d) => d.id === doc.id && d.count === doc.count)),
            20_000,
            'the documents stored while the host was down reach the trigger',
        );
        // Every stored document version reached the trigger at least once.
        const stored = await storedDocuments(runtime);
        const deliveredKeys = new Set(delivered.map((d) => `${d.id}=${d.count}`));
        for (const doc of stored.filter((d) => Date.parse(d.windowEnd) < Date.now() - 5000)) {
            expect(deliveredKeys).toContain(`${doc.id}=${doc.count}`);
        }
        // The restarted trigger resumed from its lease, not from the beginning (nor from "now", or the documents
        // stored while it was down would be missing): nothing it delivered belongs to a window that closed well
        // before the stop. At-least-once allows the batch in flight at the stop to come again, no more.
        const windowSeconds = WINDOW_SECONDS * 1000;
        const deliveredAfterRestart = delivered.slice(deliveredBeforeStop);
        expect(deliveredAfterRestart.length).toBeGreaterThan(0);
        const windowEndOf = (id: string) => Number(id.split('-')[0]) * 1000;
        expect(
            deliveredAfterRestart
                .filter((d) => windowEndOf(d.id) < stoppedAt - 3 * windowSeconds - 5000)
                .map((d) => d.id),
        ).toEqual([]);
    }, 60_000);

    // A 2-minute outage is four times the deployed job's 30 s late-arrival tolerance; this one is two and a half times
    // the test job's, which is enough: every name the outage held back arrives late and is dropped, and the recount
    // puts it back.
    const OUTAGE_MS = 2.5 * LATE_ARRIVAL_SECONDS * 1000;

    it('counts equal the raw blobs again after a (scaled) 2-minute output outage: dropped, shown, recounted', async () => {
        const before = runtime.metrics.snapshot().streamAnalytics!;
        const eventGridBefore = runtime.eventGrid.recentEvents().length;
        // The fan-out's outputs hang (storage paused): invocations wait, their locks are renewed, then they finish.
        let endOutage!: () => void;
        const outageOver = new Promise<void>((resolve) => (endOutage = resolve));
        // Fault injection on the prototype, restored below; the originals are called with apply(this).
        // eslint-disable-next-line @typescript-eslint/unbound-method
        const { writeBlob, sendToEventHub } = LocalServices.prototype;
        LocalServices.prototype.writeBlob = async function (...args) {
            await outageOver;
            return writeBlob.apply(this, args);
        };
        LocalServices.prototype.sendToEventHub = async function (...args) {
            await outageOver;
            return sendToEventHub.apply(this, args);
        };
        try {
            await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
        } finally {
            LocalServices.prototype.writeBlob = writeBlob;
            LocalServices.prototype.sendToEventHub = sendToEventHub;
            endOutage();
        }
        // Every name the outage held back is late: counted as dropped, in /_local/status, the status line and the log.
        await waitFor(
            () => runtime.metrics.snapshot().streamAnalytics!.droppedEvents > before.droppedEvents,
            10_000,
            'late events dropped',
        );
        const status = (await (await fetch(`${runtime.urls.functions}/_local/status`)).json()) as {
            streamAnalytics: { lateInputEvents: number; droppedEvents: number };
        };
        expect(status.streamAnalytics.lateInputEvents).toBeGreaterThan(before.lateInputEvents);
        expect(status.streamAnalytics.droppedEvents).toBeGreaterThan(before.droppedEvents);
        expect(formatStatusLine(runtime.metrics.snapshot())).toMatch(/ \| dropped events [1-9]\d* \(late [1-9]/);
        expect(
            logs.some((line) =>
                /^\[stream analytics\] warning: \d+ late, .* dropped: their names are missing/.test(line),
            ),
        ).toBe(true);

        const corrected = await recountAndExpectCountsMatchBlobs();
        // Each correction went through the change feed to broadcastLetterCounts, which told Event Grid subscribers
        // (and the dashboard, through the same trigger) the window's corrected count.
        await waitFor(
            () =>
                corrected.every(({ windowEnd, letter, count }) =>
                    runtime.eventGrid
                        .recentEvents()
                        .slice(eventGridBefore)
                        .some(
                            ({ event }) =>
                                event.subject === `/windows/${windowEnd}` &&
                                (event.data as { counts: Array<{ letter: string; count: number }> }).counts.some(
                                    (c) => c.letter === letter && c.count === count,
                                ),
                        ),
                ),
            10_000,
            'a window event with each corrected count',
        );
    }, 90_000);

    it('counts equal the raw blobs again after a dead-letter resubmit: the late copy is recounted', async () => {
        const queue = runtime.queues.get('newnames-queue')!;
        const deadBefore = queue.deadLetterMessageCount;
        const droppedBefore = runtime.metrics.snapshot().streamAnalytics!.droppedEvents;
        // eslint-disable-next-line @typescript-eslint/unbound-method
        const { sendToEventHub } = LocalServices.prototype;
        LocalServices.prototype.sendToEventHub = () => Promise.reject(new Error('injected: Event Hubs down'));
        try {
            await waitFor(() => queue.deadLetterMessageCount > deadBefore, 20_000, 'a valid message dead-lettered');
        } finally {
            LocalServices.prototype.sendToEventHub = sendToEventHub;
        }
        // The operator resubmits after the fix: well after the names were generated (scaled as the outage above).
        await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
        const printed: string[] = [];
        expect(await runDlq(['resubmit', '--url', runtime.urls.functions], (line) => printed.push(line))).toBe(0);
        // The resubmitted copies arrive seconds after they were generated: late, dropped, then recounted.
        await waitFor(
            () => runtime.metrics.snapshot().streamAnalytics!.droppedEvents > droppedBefore,
            20_000,
            'the resubmitted names dropped as late',
        );
        await recountAndExpectCountsMatchBlobs();
    }, 90_000);

    /**
     * Waits until the late windows are settled, runs `npm run recount` over them, compares with the blobs, and
     * returns what it corrected.
     */
    async function recountAndExpectCountsMatchBlobs(): Promise<
        Array<{ windowEnd: string; letter: string; count: number }>
    > {
        const queue = runtime.queues.get('newnames-queue')!;
        await waitFor(() => queue.lockedMessageCount === 0 && queue.activeMessageCount === 0, 20_000, 'an idle queue');
        const windowsBefore = runtime.metrics.snapshot().windowsEmitted;
        await waitFor(
            () => runtime.metrics.snapshot().windowsEmitted >= windowsBefore + 3,
            30_000,
            'three more windows',
        );
        const printed: string[] = [];
        // Windows that ended 2 windows ago or earlier: the job writes a window about 1 s (its out-of-order
        // tolerance) after its end, so these are written and the recount never races the job's own write.
        const until = `${2 * WINDOW_SECONDS}s`;
        expect(
            await runRecount(['--since', '10m', '--until', until, '--url', runtime.urls.functions], (line) =>
                printed.push(line),
            ),
        ).toBe(0);
        expect(printed[0]).toMatch(/^Recounted windows ending after .* [1-9]\d* corrected$/);
        const corrected = printed.slice(1).map((line) => {
            const [, seconds, letter, count] = /^ {2}(\d+)-(\w+) = (\d+)$/.exec(line)!;
            return { windowEnd: new Date(Number(seconds) * 1000).toISOString(), letter: letter!, count: Number(count) };
        });
        await expectCountsMatchBlobs(runtime);
        // A second recount finds nothing left to correct.
        printed.length = 0;
        expect(
            await runRecount(['--since', '10m', '--until', until, '--url', runtime.urls.functions], (line) =>
                printed.push(line),
            ),
        ).toBe(0);
        expect(printed[0]).toMatch(/, 0 corrected$/);
        return corrected;
    }
});

interface StoredDocument {
    id: string;
    windowEnd: string;
    letter: string;
    count: number;
}

async function storedDocuments(runtime: LocalRuntime): Promise<StoredDocument[]> {
    const client = createLocalCosmosClient(runtime.cosmos.connectionString, { ca: runtime.cosmos.ca });
    const { resources } = await client
        .database('namestream')
        .container('letter-counts')
        .items.query<StoredDocument>('SELECT c.id, c.windowEnd, c.letter, c["count"] FROM c')
        .fetchAll();
    return resources;
}

/** Compares every stored window, except the newest (it may still be written), with the blobs' names. */
async function expectCountsMatchBlobs(runtime: LocalRuntime): Promise<void> {
    const documents = await storedDocuments(runtime);
    const windowEnds = [...new Set(documents.map((d) => Date.parse(d.windowEnd)))].sort((a, b) => a - b);
    const settled = new Set(windowEnds.slice(0, -1));
    expect(settled.size).toBeGreaterThanOrEqual(2);

    const container = BlobServiceClient.fromConnectionString(runtime.settings.AzureWebJobsStorage!).getContainerClient(
        'raw-names',
    );
    const expected = new Map<string, number>();
    for await (const blob of container.listBlobsFlat()) {
        const message = JSON.parse((await container.getBlobClient(blob.name).downloadToBuffer()).toString()) as {
            id: string;
            generatedAt: string;
            names: unknown[];
        };
        expect(blob.name).toBe(`${message.id}.json`);
        const windowEnd = windowEndFor(new Date(message.generatedAt), WINDOW_SECONDS).getTime();
        if (!settled.has(windowEnd)) {
            continue;
        }
        for (const { bucket } of splitNames(message).accepted) {
            const key = `${windowEnd}:${bucket}`;
            expected.set(key, (expected.get(key) ?? 0) + 1);
        }
    }
    const actual = new Map(
        documents
            .filter((d) => settled.has(Date.parse(d.windowEnd)))
            .map((d) => [`${Date.parse(d.windowEnd)}:${d.letter}`, d.count] as const),
    );
    expect(Object.fromEntries([...actual].sort())).toEqual(Object.fromEntries([...expected].sort()));
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
        if (Date.now() > deadline) {
            throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
}
