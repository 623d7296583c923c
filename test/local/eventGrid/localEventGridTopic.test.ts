import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { Clock } from '../../../domain/clock';
import {
    type LocalEventGridTopicOptions,
    startLocalEventGridTopic,
    type SubscriptionSettings,
} from '../../../local/eventGrid/localEventGridTopic';
import { EventGridPublishError, publishToLocalEventGrid } from '../../../local/eventGrid/publish';
import { startSubscriber, type SubscriberOptions, until } from './webhookSubscriber';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const PUBLISHED_AT = new Date('2026-03-01T12:00:00.000Z');
/** Compressed schedule and no status minimums, so retries take milliseconds. */
const FAST: Partial<SubscriptionSettings> = {
    retryScheduleMs: [5, 10, 15],
    statusMinimumDelaysMs: { 400: 0, 401: 0, 403: 0, 404: 0, 408: 0, 413: 0, 503: 0, other: 0 },
};

function event(id: string, data: unknown = { letter: 'A', count: 3 }) {
    return { specversion: '1.0', id, source: '/namestream/letters', type: 'Namestream.LetterCounted', data };
}

function manualClock(start: Date): Clock & { set(at: Date): void } {
    let now = start;
    return { now: () => new Date(now), set: (at) => (now = at) };
}

async function setup(
    subscriber: SubscriberOptions,
    subscription: Partial<SubscriptionSettings> = {},
    topic: Partial<LocalEventGridTopicOptions> = {},
) {
    const endpoint = await startSubscriber(subscriber);
    cleanups.push(() => endpoint.close());
    const clock = manualClock(PUBLISHED_AT);
    const started = await startLocalEventGridTopic({
        clock,
        subscriptions: [{ name: 'dashboard', endpointUrl: endpoint.url, ...FAST, ...subscription }],
        ...topic,
    });
    cleanups.push(() => started.close());
    return { endpoint, topic: started, clock };
}

async function post(topicEndpoint: string, contentType: string, body: string) {
    const response = await fetch(topicEndpoint, { method: 'POST', headers: { 'content-type': contentType }, body });
    return { status: response.status, body: (await response.json()) as unknown };
}

describe('startLocalEventGridTopic', () => {
    it('rejects a batch with an invalid CloudEvent with 400 naming the event and the problem', async () => {
        const { topic } = await setup({});
        const { specversion: _, ...withoutSpecVersion } = event('2');
        const batch = JSON.stringify([event('1'), withoutSpecVersion]);
        expect(await post(topic.topicEndpoint, 'application/cloudevents-batch+json; charset=utf-8', batch)).toEqual({
            status: 400,
            body: {
                error: {
                    code: 'BadRequest',
                    message:
                        "Invalid CloudEvents publish request: event 1: event is missing required property 'specversion'",
                },
            },
        });
        expect(await post(topic.topicEndpoint, 'application/json', batch)).toEqual({
            status: 400,
            body: {
                error: {
                    code: 'BadRequest',
                    message:
                        'Invalid CloudEvents publish request: content type "application/json" is not application/cloudevents+json or application/cloudevents-batch+json',
                },
            },
        });
        expect(topic.recentEvents()).toEqual([]);
    });

    it('accepts a single structured event and a batch, and lists them at GET /api/events', async () => {
        const { topic, endpoint } = await setup({});
        expect(
            (
                await fetch(topic.topicEndpoint, {
                    method: 'POST',
                    headers: { 'content-type': 'application/cloudevents+json' },
                    body: JSON.stringify(event('1')),
                })
            ).status,
        ).toBe(200);
        await publishToLocalEventGrid(topic.topicEndpoint, [
            event('2'),
            { ...event('3'), subject: 'B', traceparent: 'x' },
        ]);
        await until(() => endpoint.deliveries.length === 3);

        const listing = await (await fetch(topic.topicEndpoint)).json();
        expect(listing).toMatchObject({
            events: [
                { receivedAt: PUBLISHED_AT.toISOString(), event: event('1') },
                { receivedAt: PUBLISHED_AT.toISOString(), event: event('2') },
                { receivedAt: PUBLISHED_AT.toISOString(), event: { ...event('3'), subject: 'B', traceparent: 'x' } },
            ],
            subscriptions: [{ name: 'dashboard', endpointUrl: endpoint.url, provisioningState: 'Succeeded' }],
        });
        expect(listing.deliveries).toHaveLength(3);
        expect(topic.recentEvents()).toEqual(listing.events);
    });

    it('validates the webhook with the CloudEvents handshake and delivers one event per request', async () => {
        const { topic, endpoint } = await setup({});
        await publishToLocalEventGrid(topic.topicEndpoint, event('1'));
        await until(() => topic.deliveries().length === 1);

        expect(endpoint.handshakes).toHaveLength(1);
        expect(endpoint.handshakes[0]?.['webhook-request-origin']).toBe('eventgrid.azure.net');
        expect(endpoint.deliveries).toEqual([
            {
                headers: expect.objectContaining({
                    'content-type': 'application/cloudevents+json; charset=utf-8',
                    'aeg-event-type': 'Notification',
                    'aeg-subscription-name': 'DASHBOARD',
                    'aeg-delivery-count': '0',
                    'webhook-request-origin': 'eventgrid.azure.net',
                }),
                body: event('1'),
            },
        ]);
        expect(topic.deliveries()).toEqual([
            {
                subscription: 'dashboard',
                eventId: '1',
                attempt: 1,
                at: PUBLISHED_AT.toISOString(),
                status: 200,
                outcome: 'Delivered',
            },
        ]);
    });

    it('does not deliver to a subscriber that fails the handshake, and records why', async () => {
        const missing = await setup({ validation: 'omit-header' });
        const other = await startSubscriber({ validation: 'other-origin' });
        cleanups.push(() => other.close());
        const state = await missing.topic.addSubscription({ name: 'other', endpointUrl: other.url });

        expect(missing.topic.subscriptions()).toEqual([
            {
                name: 'dashboard',
                endpointUrl: missing.endpoint.url,
                provisioningState: 'Failed',
                failureReason: `${missing.endpoint.url} did not answer the validation with a WebHook-Allowed-Origin header`,
            },
            state,
        ]);
        expect(state).toEqual({
            name: 'other',
            endpointUrl: other.url,
            provisioningState: 'Failed',
            failureReason: `${other.url} allowed origin "example.com", not "eventgrid.azure.net"`,
        });
        await publishToLocalEventGrid(missing.topic.topicEndpoint, event('1'));
        expect(missing.topic.recentEvents()).toHaveLength(1);
        expect(missing.endpoint.deliveries).toEqual([]);
        expect(other.deliveries).toEqual([]);
    });

    it('retries failed deliveries on the schedule until the subscriber succeeds', async () => {
        const { topic, endpoint } = await setup({ statuses: [503, 500, 200] });
        await publishToLocalEventGrid(topic.topicEndpoint, event('1'));
        await until(() => topic.deliveries().length === 3);

        const at = PUBLISHED_AT.toISOString();
        expect(topic.deliveries()).toEqual([
            { subscription: 'dashboard', eventId: '1', attempt: 1, at, status: 503, outcome: 'Busy', retryInMs: 5 },
            {
                subscription: 'dashboard',
                eventId: '1',
                attempt: 2,
                at,
                status: 500,
                outcome: 'GenericError',
                retryInMs: 10,
            },
            { subscription: 'dashboard', eventId: '1', attempt: 3, at, status: 200, outcome: 'Delivered' },
        ]);
        expect(endpoint.deliveries.map((d) => d.headers['aeg-delivery-count'])).toEqual(['0', '1', '2']);
        expect(topic.deadLetters()).toEqual([]);
    });

    it('dead-letters after maxDeliveryAttempts with the documented fields, in memory and as a file', async () => {
        const deadLetterDir = await mkdtemp(join(tmpdir(), 'eg-deadletter-'));
        cleanups.push(() => rm(deadLetterDir, { recursive: true, force: true }));
        const { topic, endpoint } = await setup(
            { statuses: [404] },
            { maxDeliveryAttempts: 3 },
            { deadLetterDir, topicName: 'letters-topic' },
        );
        await publishToLocalEventGrid(topic.topicEndpoint, event('1'));
        await until(() => topic.deadLetters().length === 1);
        await topic.flush();

        const payload = {
            ...event('1'),
            deadletterreason: 'MaxDeliveryAttemptsExceeded',
            deliveryattempts: 3,
            lastdeliveryoutcome: 'NotFound',
            publishtime: PUBLISHED_AT.toISOString(),
        };
        const [record] = topic.deadLetters();
        expect(record).toEqual({ subscription: 'dashboard', payload, file: expect.any(String) });
        expect(
            record?.file?.startsWith(join(deadLetterDir, 'LETTERS-TOPIC', 'DASHBOARD', '2026', '03', '01', '12')),
        ).toBe(true);
        expect(JSON.parse(await readFile(record!.file!, 'utf8'))).toEqual([payload]);
        expect(endpoint.deliveries).toHaveLength(3);
    });

    it('dead-letters at once when the subscriber answers 400', async () => {
        const { topic, endpoint } = await setup({ statuses: [400] });
        await publishToLocalEventGrid(topic.topicEndpoint, event('1'));
        await until(() => topic.deadLetters().length === 1);
        expect(topic.deadLetters()).toEqual([
            {
                subscription: 'dashboard',
                payload: {
                    ...event('1'),
                    deadletterreason: 'UndeliverableDueToClientError',
                    deliveryattempts: 1,
                    lastdeliveryoutcome: 'BadRequest',
                    publishtime: PUBLISHED_AT.toISOString(),
                },
            },
        ]);
        expect(endpoint.deliveries).toHaveLength(1);
    });

    it('dead-letters when the event outlives its time-to-live', async () => {
        const { topic, clock } = await setup(
            { statuses: [500] },
            { eventTimeToLiveMinutes: 1, retryScheduleMs: [300] },
        );
        await publishToLocalEventGrid(topic.topicEndpoint, event('1'));
        await until(() => topic.deliveries().length === 1);
        clock.set(new Date(PUBLISHED_AT.getTime() + 61_000));
        await until(() => topic.deadLetters().length === 1);
        expect(topic.deadLetters()[0]?.payload).toMatchObject({
            deadletterreason: 'TimeToLiveExceeded',
            deliveryattempts: 1,
            lastdeliveryoutcome: 'GenericError',
        });
    });

    it('requires the topic key in aeg-sas-key when one is configured', async () => {
        const { topic } = await setup({}, {}, { accessKey: 'topic-key' });
        await expect(publishToLocalEventGrid(topic.topicEndpoint, event('1'))).rejects.toThrow(
            new EventGridPublishError(
                topic.topicEndpoint,
                401,
                '{"error":{"code":"Unauthorized","message":"The request did not carry a valid aeg-sas-key header."}}',
            ),
        );
        await publishToLocalEventGrid(topic.topicEndpoint, event('1'), { accessKey: 'topic-key' });
        expect(topic.recentEvents()).toHaveLength(1);
    });
});
