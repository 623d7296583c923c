import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedDelivery {
    headers: IncomingHttpHeaders;
    body: unknown;
}

export interface SubscriberOptions {
    /** How the endpoint answers the OPTIONS handshake. */
    validation?: 'allow' | 'omit-header' | 'other-origin';
    /** Status per delivery, in order; the last one repeats. */
    statuses?: number[];
}

/** A webhook endpoint that plays back scripted statuses and records what Event Grid sent it. */
export async function startSubscriber(options: SubscriberOptions = {}) {
    const statuses = options.statuses ?? [200];
    const deliveries: ReceivedDelivery[] = [];
    const handshakes: IncomingHttpHeaders[] = [];
    const server = createServer((request, response) => {
        if (request.method === 'OPTIONS') {
            handshakes.push(request.headers);
            const origin = String(request.headers['webhook-request-origin'] ?? '');
            if (options.validation === 'omit-header') return void response.writeHead(200).end();
            const allowed = options.validation === 'other-origin' ? 'example.com' : origin;
            return void response.writeHead(200, { 'WebHook-Allowed-Origin': allowed, Allow: 'POST' }).end();
        }
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
            deliveries.push({ headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
            const status = statuses[Math.min(deliveries.length, statuses.length) - 1] ?? 200;
            response.writeHead(status).end();
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
        url: `http://127.0.0.1:${port}/api/updates`,
        deliveries,
        handshakes,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}

/** Polls until the condition holds; tests wait on behaviour, never on elapsed time. */
export async function until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
