import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { fixedClock } from '../../../domain/clock';
import { type LocalEventGridTopic, startLocalEventGridTopic } from '../../../local/eventGrid';
import type { LocalEventHub } from '../../../local/eventHubs';
import type { HttpHost } from '../../../local/host/triggers/httpTrigger';
import type { ManagedRuntime } from '../../../local/runtime/managementApi';
import type { RecountRequest } from '../../../local/runtime/recount';
import { RuntimeMetrics } from '../../../local/runtime/runtimeMetrics';
import { LocalServiceBusQueue } from '../../../local/serviceBus';
import { startManagementHost } from '../../support/managementHost';

const clock = fixedClock('2025-01-01T00:00:00Z');

describe('managementApi', () => {
    let host: HttpHost;
    let eventGrid: LocalEventGridTopic;
    let runtime: ManagedRuntime | undefined;
    let queue: LocalServiceBusQueue;
    const recountRequests: RecountRequest[] = [];

    beforeAll(async () => {
        eventGrid = await startLocalEventGridTopic({ port: 0, clock });
        host = await startManagementHost(() => runtime);
    });
    afterAll(async () => {
        await host.close();
        await eventGrid.close();
    });
    beforeEach(() => {
        queue = new LocalServiceBusQueue({ name: 'names', clock });
        const queues = new Map([
            ['names', queue],
            ['other', new LocalServiceBusQueue({ name: 'other', clock })],
        ]);
        runtime = {
            urls: { functions: host.url, blob: 'b', cosmos: 'c', signalR: 's', eventGrid: eventGrid.topicEndpoint },
            metrics: new RuntimeMetrics({ queues, eventHubs: new Map<string, LocalEventHub>(), clock }),
            eventGrid,
            queues,
            recount: (request) => {
                recountRequests.push(request);
                return Promise.resolve({
                    from: 'f',
                    to: 't',
                    messagesCounted: 1,
                    documents: 1,
                    corrected: [],
                    rejectedMessages: [],
                });
            },
        };
    });

    function deadLetter(body: string | Buffer, reason = 'Bad', description = 'bad body'): number {
        const { sequenceNumber } = queue.send({ body, messageId: `m-${queue.deadLetterMessageCount}` });
        const [received] = queue.receive(1);
        queue.deadLetter(received!.lockToken, { reason, description });
        return sequenceNumber;
    }

    async function call(method: string, path: string, body?: string) {
        const response = await fetch(`${host.url}${path}`, { method, redirect: 'manual', ...(body ? { body } : {}) });
        const text = await response.text();
        return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined, response };
    }

    it('redirects the bare origin to the dashboard', async () => {
        const { status, response } = await call('GET', '/');
        expect({ status, location: response.headers.get('location') }).toEqual({
            status: 302,
            location: '/api/dashboard/',
        });
    });

    it('leaves other paths to the functions', async () => {
        expect((await call('GET', '/api/anything')).status).toBe(404);
        expect((await call('GET', '/_localx')).status).toBe(404);
    });

    it('answers 503 while the runtime is starting', async () => {
        runtime = undefined;
        expect(await call('GET', '/_local/status')).toMatchObject({
            status: 503,
            body: { error: 'The runtime is still starting' },
        });
    });

    it('reports status: the urls and a metrics snapshot, with what functions warned about', async () => {
        queue.send({ body: 'x' });
        runtime!.metrics.recordFunctionLog('dequeueNames', 'warning', 'Left out an unusable name of message m');
        const { status, body, response } = await call('GET', '/_local/status');
        expect(response.headers.get('cache-control')).toBe('no-store');
        expect({ status, body }).toEqual({
            status: 200,
            body: {
                urls: runtime!.urls,
                namesPerSecond: 0,
                totalNames: 0,
                queueDepth: 1,
                deadLetters: 0,
                windowsEmitted: 0,
                invocations: {},
                unreadEventsTrimmed: 0,
                problems: {
                    byFunction: { dequeueNames: 1 },
                    warnings: 1,
                    errors: 0,
                    recent: [
                        {
                            at: clock.now().toISOString(),
                            functionName: 'dequeueNames',
                            level: 'warning',
                            message: 'Left out an unusable name of message m',
                        },
                    ],
                },
            },
        });
    });

    it('runs a recount of the windows asked for, and refuses a range that is not one', async () => {
        recountRequests.length = 0;
        expect(await call('POST', '/_local/recount?sinceMs=7200000&untilMs=60000')).toMatchObject({
            status: 200,
            body: { from: 'f', to: 't', messagesCounted: 1, documents: 1, corrected: [] },
        });
        expect(recountRequests).toEqual([{ sinceMs: 7_200_000, untilMs: 60_000 }]);
        expect(await call('POST', '/_local/recount?sinceMs=5&untilMs=10')).toMatchObject({
            status: 400,
            body: {
                error: 'sinceMs and untilMs must be whole numbers of milliseconds, sinceMs the larger (got "?sinceMs=5&untilMs=10")',
            },
        });
        expect(recountRequests).toHaveLength(1);
    });

    it("lists the Event Grid topic's recent events, deliveries and dead letters", async () => {
        expect(await call('GET', '/_local/eventgrid/events')).toMatchObject({
            status: 200,
            body: { events: [], deliveries: [], deadLetters: [] },
        });
    });

    it('lists dead letters with their reasons, binary bodies in base64', async () => {
        deadLetter('{"id":1}', 'ValidationFailed', 'names must be an array');
        deadLetter(Buffer.from([0, 1, 2]));
        const { status, body } = await call('GET', '/_local/queues/names/deadletters');
        expect({ status, body }).toEqual({
            status: 200,
            body: {
                queue: 'names',
                deadLetters: [
                    {
                        body: '{"id":1}',
                        messageId: 'm-0',
                        sequenceNumber: 1,
                        deliveryCount: 1,
                        enqueuedTimeUtc: '2025-01-01T00:00:00.000Z',
                        expiresAtUtc: '2025-01-15T00:00:00.000Z',
                        deadLetteredTimeUtc: '2025-01-01T00:00:00.000Z',
                        deadLetterReason: 'ValidationFailed',
                        deadLetterErrorDescription: 'names must be an array',
                        applicationProperties: {},
                        timeToLiveMs: 1_209_600_000,
                    },
                    {
                        body: 'AAEC',
                        messageId: 'm-1',
                        sequenceNumber: 2,
                        deliveryCount: 1,
                        enqueuedTimeUtc: '2025-01-01T00:00:00.000Z',
                        expiresAtUtc: '2025-01-15T00:00:00.000Z',
                        deadLetteredTimeUtc: '2025-01-01T00:00:00.000Z',
                        deadLetterReason: 'Bad',
                        deadLetterErrorDescription: 'bad body',
                        applicationProperties: {},
                        timeToLiveMs: 1_209_600_000,
                    },
                ],
            },
        });
    });

    it('resubmits one dead letter by sequence number, or all', async () => {
        const first = deadLetter('a');
        deadLetter('b');
        deadLetter('c');
        const one = await call('POST', `/_local/queues/names/deadletters/resubmit?sequenceNumber=${first}`);
        expect(one.status).toBe(200);
        expect(one.body).toEqual({ resubmitted: [{ messageId: 'm-0', sequenceNumber: 4 }] });
        const all = await call('POST', '/_local/queues/names/deadletters/resubmit');
        expect(all.body).toEqual({
            resubmitted: [
                { messageId: 'm-1', sequenceNumber: 5 },
                { messageId: 'm-2', sequenceNumber: 6 },
            ],
        });
        expect({ active: queue.activeMessageCount, dead: queue.deadLetterMessageCount }).toEqual({
            active: 3,
            dead: 0,
        });
    });

    it('purges one dead letter by sequence number, or all', async () => {
        const first = deadLetter('a');
        deadLetter('b');
        deadLetter('c');
        expect((await call('DELETE', `/_local/queues/names/deadletters?sequenceNumber=${first}`)).body).toEqual({
            purged: 1,
        });
        expect((await call('DELETE', '/_local/queues/names/deadletters')).body).toEqual({ purged: 2 });
        expect(queue.deadLetterMessageCount).toBe(0);
    });

    it('sends a raw message to a queue', async () => {
        const { status, body } = await call('POST', '/_local/queues/other/messages', '{"id":"x"}');
        expect(status).toBe(201);
        expect(body).toEqual({ messageId: expect.stringMatching(/^[0-9a-f-]{36}$/), sequenceNumber: 1 });
        const [received] = runtime!.queues.get('other')!.receive(1);
        expect({ body: received!.body, contentType: received!.contentType }).toEqual({
            body: '{"id":"x"}',
            contentType: 'text/plain;charset=UTF-8',
        });
    });

    it('answers 404 naming the queues for an unknown queue', async () => {
        expect(await call('GET', '/_local/queues/nope/deadletters')).toMatchObject({
            status: 404,
            body: { error: 'No queue "nope" (queues: names, other)' },
        });
    });

    it('answers 404 for an unknown dead letter and an unknown endpoint', async () => {
        expect(await call('DELETE', '/_local/queues/names/deadletters?sequenceNumber=99')).toMatchObject({
            status: 404,
            body: { error: 'No message with sequence number 99 in the dead-letter queue of "names"' },
        });
        expect(await call('GET', '/_local/queues/names/other')).toMatchObject({
            status: 404,
            body: { error: 'No management endpoint GET /_local/queues/names/other' },
        });
    });

    it('answers 413 for a message over the queue size limit', async () => {
        expect(await call('POST', '/_local/queues/names/messages', 'x'.repeat(262_145))).toEqual({
            status: 413,
            body: {
                error: 'The message body was 262145 bytes and the maximum body size is 262144 bytes (queue "names")',
            },
            response: expect.anything(),
        });
        expect(queue.activeMessageCount).toBe(0);
    });

    it('answers 400 for a sequence number that is not a whole number', async () => {
        expect(await call('POST', '/_local/queues/names/deadletters/resubmit?sequenceNumber=1.5')).toMatchObject({
            status: 400,
            body: { error: 'sequenceNumber must be a whole number (got "1.5")' },
        });
    });

    it('answers 405 for a method an endpoint does not take', async () => {
        expect(await call('PUT', '/_local/queues/names/messages')).toMatchObject({
            status: 405,
            body: { error: 'PUT is not allowed on /_local/queues/names/messages' },
        });
    });
});
