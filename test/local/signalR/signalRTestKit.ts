import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { type HubConnection, HubConnectionBuilder, LogLevel } from '@microsoft/signalr';

import type { Clock } from '../../../domain/clock';
import { createConnectionInfo } from '../../../local/signalR/bindings';

/** Stands in for the app's `negotiate` HTTP function: returns what the signalRConnectionInfo binding yields. */
export async function startNegotiateFunction(
    connectionString: () => string,
    hubName: string,
    clock?: Clock,
): Promise<{ baseUrl: string; close(): Promise<void> }> {
    const server: Server = createServer((request, response) => {
        const url = new URL(request.url ?? '/', 'http://localhost');
        if (url.pathname !== '/api/negotiate') {
            response.writeHead(404).end();
            return;
        }
        const userId = url.searchParams.get('userId') ?? undefined;
        createConnectionInfo(connectionString(), {
            hubName,
            ...(userId ? { userId } : {}),
            ...(clock ? { clock } : {}),
        })
            .then((info) => {
                response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(info));
            })
            .catch((error: unknown) => response.writeHead(500).end(String(error)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
        baseUrl: `http://127.0.0.1:${port}/api`,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}

export function buildClient(negotiateBaseUrl: string, userId?: string, reconnectDelays?: number[]): HubConnection {
    const url = userId ? `${negotiateBaseUrl}?userId=${encodeURIComponent(userId)}` : negotiateBaseUrl;
    const builder = new HubConnectionBuilder().withUrl(url).configureLogging(LogLevel.None);
    return (reconnectDelays ? builder.withAutomaticReconnect(reconnectDelays) : builder).build();
}

/** Records every `target` invocation the client receives, and resolves when one matching `until` arrives. */
export function recorder(connection: HubConnection, target: string) {
    const received: unknown[][] = [];
    const waiters: { until: (args: unknown[]) => boolean; resolve: () => void }[] = [];
    connection.on(target, (...args: unknown[]) => {
        received.push(args);
        for (const waiter of [...waiters]) {
            if (waiter.until(args)) {
                waiters.splice(waiters.indexOf(waiter), 1);
                waiter.resolve();
            }
        }
    });
    return {
        received,
        waitFor: (until: (args: unknown[]) => boolean) =>
            received.some(until) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ until, resolve })),
    };
}
