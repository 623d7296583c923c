import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { type Clock, systemClock } from '../../domain/clock';
import { InvalidCloudEventsError, parseCloudEventBatch, type PublishedCloudEvent } from './cloudEventBatch';
import { writeDeadLetterFile } from './deadLetterWriter';
import { DEFAULT_RETRY_SCHEDULE_MS, DEFAULT_STATUS_MINIMUM_DELAYS_MS, type StatusMinimumDelaysMs } from './retryPolicy';
import {
    type DeadLetterPayload,
    type DeliveryRecord,
    SubscriptionDelivery,
    type WebhookSubscription,
} from './subscriptionDelivery';
import { describe, validateWebhook } from './webhookValidation';

/** Event Grid refuses publish requests over 1,536,000 bytes (the output binding does not split batches). */
const MAX_PUBLISH_BYTES = 1_536_000;

export interface SubscriptionSettings {
    name: string;
    endpointUrl: string;
    maxDeliveryAttempts?: number;
    /** Fractions allowed, so tests can use milliseconds' worth. */
    eventTimeToLiveMinutes?: number;
    retryScheduleMs?: readonly number[];
    statusMinimumDelaysMs?: Partial<StatusMinimumDelaysMs>;
    responseTimeoutMs?: number;
}

export interface LocalEventGridTopicOptions {
    port?: number;
    host?: string;
    topicName?: string;
    subscriptions?: readonly SubscriptionSettings[];
    /** When set, publishers must send it in `aeg-sas-key` (what the output binding's topicKeySetting holds). */
    accessKey?: string;
    deadLetterDir?: string;
    recentLimit?: number;
    clock?: Clock;
}

export interface RecentEvent {
    receivedAt: string;
    event: PublishedCloudEvent;
}

export interface DeadLetterRecord {
    subscription: string;
    payload: DeadLetterPayload;
    /** Set when a deadLetterDir was configured and the file was written. */
    file?: string;
}

export interface SubscriptionState {
    name: string;
    endpointUrl: string;
    provisioningState: 'Succeeded' | 'Failed';
    failureReason?: string;
}

export interface LocalEventGridTopic {
    /** e.g. `http://127.0.0.1:41234/api/events` - what the output binding's topicEndpointUri setting holds. */
    topicEndpoint: string;
    recentEvents(): RecentEvent[];
    deliveries(): DeliveryRecord[];
    deadLetters(): DeadLetterRecord[];
    subscriptions(): SubscriptionState[];
    /** Creates (or re-creates) a subscription, running the validation handshake as Event Grid does on creation. */
    addSubscription(settings: SubscriptionSettings): Promise<SubscriptionState>;
    /** Resolves once every dead-letter file started so far is written; tests and shutdown use it. */
    flush(): Promise<void>;
    close(): Promise<void>;
}

/**
 * Starts a CloudEvents-schema Event Grid topic stand-in: validates and keeps published events, delivers them to
 * webhook subscriptions with the handshake, retry schedule and dead-lettering of the real service.
 */
export async function startLocalEventGridTopic(options: LocalEventGridTopicOptions = {}): Promise<LocalEventGridTopic> {
    const host = options.host ?? '127.0.0.1';
    const clock = options.clock ?? systemClock;
    const topicName = options.topicName ?? 'local-topic';
    const recentLimit = options.recentLimit ?? 500;
    const recent: RecentEvent[] = [];
    const deliveryLog: DeliveryRecord[] = [];
    const deadLetterLog: DeadLetterRecord[] = [];
    const states = new Map<string, SubscriptionState>();
    const deliverers = new Map<string, SubscriptionDelivery>();
    const pendingWrites = new Set<Promise<void>>();

    const keepBounded = <T>(list: T[], item: T): void => {
        list.push(item);
        if (list.length > recentLimit) list.splice(0, list.length - recentLimit);
    };

    const listener = {
        attempted: (record: DeliveryRecord) => keepBounded(deliveryLog, record),
        deadLettered: (subscription: string, payload: DeadLetterPayload) => {
            const record: DeadLetterRecord = { subscription, payload };
            keepBounded(deadLetterLog, record);
            if (options.deadLetterDir === undefined) return;
            const write = writeDeadLetterFile(options.deadLetterDir, topicName, subscription, clock.now(), payload)
                .then((file) => {
                    record.file = file;
                })
                .catch((error: unknown) => {
                    console.error(`[eventGrid] could not write dead letter for ${subscription}: ${describe(error)}`);
                })
                .finally(() => pendingWrites.delete(write));
            pendingWrites.add(write);
        },
    };

    const addSubscription = async (settings: SubscriptionSettings): Promise<SubscriptionState> => {
        deliverers.get(settings.name)?.stop();
        deliverers.delete(settings.name);
        const subscription = withDefaults(settings);
        const validation = await validateWebhook(subscription.endpointUrl, subscription.responseTimeoutMs);
        const state: SubscriptionState = validation.ok
            ? { name: subscription.name, endpointUrl: subscription.endpointUrl, provisioningState: 'Succeeded' }
            : {
                  name: subscription.name,
                  endpointUrl: subscription.endpointUrl,
                  provisioningState: 'Failed',
                  failureReason: validation.reason,
              };
        states.set(subscription.name, state);
        if (validation.ok) deliverers.set(subscription.name, new SubscriptionDelivery(subscription, clock, listener));
        return state;
    };

    const publish = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
        if (options.accessKey !== undefined && request.headers['aeg-sas-key'] !== options.accessKey) {
            return sendError(response, 401, 'Unauthorized', 'The request did not carry a valid aeg-sas-key header.');
        }
        const body = await readLimited(request, MAX_PUBLISH_BYTES);
        if (body === undefined) {
            return sendError(response, 413, 'RequestEntityTooLarge', `The request exceeds ${MAX_PUBLISH_BYTES} bytes.`);
        }
        let events: PublishedCloudEvent[];
        try {
            events = await parseCloudEventBatch(request.headers['content-type'], body);
        } catch (error: unknown) {
            if (error instanceof InvalidCloudEventsError) return sendError(response, 400, 'BadRequest', error.message);
            throw error;
        }
        const publishTime = clock.now();
        for (const event of events) {
            keepBounded(recent, { receivedAt: publishTime.toISOString(), event });
            for (const deliverer of deliverers.values()) deliverer.enqueue(event, publishTime);
        }
        response.writeHead(200).end();
    };

    const inspect = (response: ServerResponse): void => {
        response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        response.end(
            JSON.stringify({
                events: recent,
                deliveries: deliveryLog,
                deadLetters: deadLetterLog,
                subscriptions: [...states.values()],
            }),
        );
    };

    const server = createServer((request, response) => {
        const path = new URL(request.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
        const handle = async (): Promise<void> => {
            if (path !== '/api/events') return sendError(response, 404, 'NotFound', `No topic at ${path}`);
            if (request.method === 'POST') return publish(request, response);
            // Not part of Event Grid: a local window onto what was published and what happened to it.
            if (request.method === 'GET') return inspect(response);
            return sendError(response, 405, 'MethodNotAllowed', `${request.method} is not supported on ${path}`);
        };
        handle().catch((error: unknown) => {
            if (!response.headersSent) sendError(response, 500, 'InternalServerError', describe(error));
            else response.destroy();
        });
    });
    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, host, () => {
            server.off('error', reject);
            resolve();
        });
    });
    const { port } = server.address() as AddressInfo;

    for (const settings of options.subscriptions ?? []) await addSubscription(settings);

    const flush = async (): Promise<void> => {
        while (pendingWrites.size > 0) await Promise.all([...pendingWrites]);
    };

    return {
        topicEndpoint: `http://${host}:${port}/api/events`,
        recentEvents: () => [...recent],
        deliveries: () => [...deliveryLog],
        deadLetters: () => [...deadLetterLog],
        subscriptions: () => [...states.values()],
        addSubscription,
        flush,
        close: async () => {
            for (const deliverer of deliverers.values()) deliverer.stop();
            const closed = new Promise<void>((resolve) => server.close(() => resolve()));
            server.closeAllConnections();
            await closed;
            await flush();
        },
    };
}

function withDefaults(settings: SubscriptionSettings): WebhookSubscription {
    return {
        name: settings.name,
        endpointUrl: settings.endpointUrl,
        maxDeliveryAttempts: settings.maxDeliveryAttempts ?? 30,
        eventTimeToLiveMinutes: settings.eventTimeToLiveMinutes ?? 1440,
        retryScheduleMs: settings.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS,
        statusMinimumDelaysMs: { ...DEFAULT_STATUS_MINIMUM_DELAYS_MS, ...settings.statusMinimumDelaysMs },
        responseTimeoutMs: settings.responseTimeoutMs ?? 30_000,
    };
}

/** Event Grid's error body shape: `{ error: { code, message } }`. */
function sendError(response: ServerResponse, status: number, code: string, message: string): void {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify({ error: { code, message } }));
}

/** The body, or undefined when it is larger than the limit. */
async function readLimited(request: IncomingMessage, limitBytes: number): Promise<string | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limitBytes) return undefined;
        chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
}
