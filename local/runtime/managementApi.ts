import type { IncomingMessage, ServerResponse } from 'node:http';

import type { ExtraHandler } from '../host/triggers/httpTrigger';
import { DeadLetterNotFoundError, MessageSizeExceededError } from '../serviceBus';
import type { LocalRuntime } from './localRuntime';

export const MANAGEMENT_PREFIX = '/_local';

/** The parts of the runtime the endpoints read. */
export type ManagedRuntime = Pick<LocalRuntime, 'urls' | 'metrics' | 'eventGrid' | 'queues' | 'recount'>;

/**
 * Local-only management endpoints beside the functions (never part of the Azure app): status, the dead-letter
 * sub-queue (list, resubmit, purge), raw sends for experiments, the Event Grid topic's recent events, and the
 * recount of chosen windows. `npm run dlq` and `npm run recount` are clients of these.
 */
export function managementApi(getRuntime: () => ManagedRuntime | undefined): ExtraHandler {
    return (request, response, readBody) => {
        const url = new URL(request.url ?? '/', 'http://local');
        if (url.pathname === '/' && request.method === 'GET') {
            // The dashboard is an HTTP function under the route prefix; the bare origin leads there.
            response.writeHead(302, { Location: '/api/dashboard/' }).end();
            return true;
        }
        if (!url.pathname.startsWith(`${MANAGEMENT_PREFIX}/`)) {
            return false;
        }
        const runtime = getRuntime();
        if (!runtime) {
            return reply(response, 503, { error: 'The runtime is still starting' });
        }
        return route(runtime, request, response, url, readBody);
    };
}

async function route(
    runtime: ManagedRuntime,
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
    readBody: () => Promise<Buffer>,
): Promise<boolean> {
    const path = url.pathname.slice(MANAGEMENT_PREFIX.length);
    const method = request.method ?? 'GET';
    if (path === '/status' && method === 'GET') {
        return reply(response, 200, { urls: runtime.urls, ...runtime.metrics.snapshot() });
    }
    if (path === '/recount' && method === 'POST') {
        const sinceMs = Number(url.searchParams.get('sinceMs'));
        const untilMs = Number(url.searchParams.get('untilMs') ?? 0);
        if (!(Number.isSafeInteger(sinceMs) && Number.isSafeInteger(untilMs) && sinceMs > untilMs && untilMs >= 0)) {
            return reply(response, 400, {
                error: `sinceMs and untilMs must be whole numbers of milliseconds, sinceMs the larger (got ${JSON.stringify(url.search)})`,
            });
        }
        return reply(response, 200, await runtime.recount({ sinceMs, untilMs }));
    }
    if (path === '/eventgrid/events' && method === 'GET') {
        return reply(response, 200, {
            events: runtime.eventGrid.recentEvents(),
            deliveries: runtime.eventGrid.deliveries(),
            deadLetters: runtime.eventGrid.deadLetters(),
        });
    }
    const queueMatch = /^\/queues\/([^/]+)\/(deadletters|deadletters\/resubmit|messages)$/.exec(path);
    if (!queueMatch) {
        return reply(response, 404, { error: `No management endpoint ${method} ${url.pathname}` });
    }
    const queueName = decodeURIComponent(queueMatch[1]!);
    const queue = runtime.queues.get(queueName);
    if (!queue) {
        return reply(response, 404, {
            error: `No queue "${queueName}" (queues: ${[...runtime.queues.keys()].join(', ')})`,
        });
    }
    const sequenceText = url.searchParams.get('sequenceNumber');
    const sequenceNumber = sequenceText === null ? undefined : Number(sequenceText);
    if (sequenceNumber !== undefined && !Number.isSafeInteger(sequenceNumber)) {
        return reply(response, 400, {
            error: `sequenceNumber must be a whole number (got ${JSON.stringify(sequenceText)})`,
        });
    }
    try {
        switch (`${method} ${queueMatch[2]}`) {
            case 'GET deadletters':
                return reply(response, 200, {
                    queue: queueName,
                    deadLetters: queue.deadLetters().map((message) => ({
                        ...message,
                        body: Buffer.isBuffer(message.body) ? message.body.toString('base64') : message.body,
                    })),
                });
            case 'POST deadletters/resubmit': {
                const resubmitted =
                    sequenceNumber === undefined
                        ? queue.resubmitAllDeadLetters()
                        : [queue.resubmitDeadLetter(sequenceNumber)];
                return reply(response, 200, { resubmitted });
            }
            case 'DELETE deadletters':
                if (sequenceNumber === undefined) {
                    return reply(response, 200, { purged: queue.purgeAllDeadLetters() });
                }
                queue.purgeDeadLetter(sequenceNumber);
                return reply(response, 200, { purged: 1 });
            case 'POST messages':
                return reply(
                    response,
                    201,
                    queue.send({
                        body: (await readBody()).toString('utf8'),
                        contentType: request.headers['content-type'] ?? 'application/json',
                    }),
                );
            default:
                return reply(response, 405, { error: `${method} is not allowed on ${url.pathname}` });
        }
    } catch (error) {
        if (error instanceof DeadLetterNotFoundError) {
            return reply(response, 404, { error: error.message });
        }
        if (error instanceof MessageSizeExceededError) {
            return reply(response, 413, { error: error.message });
        }
        throw error;
    }
}

function reply(response: ServerResponse, status: number, body: unknown): true {
    response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    response.end(JSON.stringify(body, null, 2));
    return true;
}
