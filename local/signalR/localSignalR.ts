import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { type Clock, systemClock } from '../../domain/clock';
import { ClientEndpoint } from './clientEndpoint';
import { sendJson } from './httpUtil';
import { HubRegistry } from './hubRegistry';
import { RestApiHandler } from './restApiHandler';
import { emptyCounters, type SignalRCounters } from './signalRStats';

/** The key the Azure SignalR Local Emulator prints; local-only, so a well-known value keeps settings stable. */
export const EMULATOR_ACCESS_KEY = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH';

export interface LocalSignalROptions {
    port?: number;
    host?: string;
    accessKey?: string;
    clock?: Clock;
    /** Service keep-alive pings; the service and ASP.NET Core default to 15 s. */
    pingIntervalMs?: number;
    /** Close a client that sent nothing (not even a ping) for this long; the service default is 30 s. */
    clientTimeoutMs?: number;
    handshakeTimeoutMs?: number;
}

export interface LocalSignalRStats extends SignalRCounters {
    hubs: ReturnType<HubRegistry['snapshot']>;
}

export interface LocalSignalR {
    /** e.g. `http://127.0.0.1:8888` */
    endpoint: string;
    /** Emulator-style: `Endpoint=http://127.0.0.1;Port=8888;AccessKey=...;Version=1.0;` */
    connectionString: string;
    stats(): LocalSignalRStats;
    /** Sends every client a close message with allowReconnect (as a service restart does), then stops. */
    close(): Promise<void>;
}

/** How long shutdown waits for clients to finish the WebSocket close handshake before cutting them. */
const CLOSE_GRACE_MS = 1_000;

/** Starts the SignalR Service stand-in (serverless mode): client negotiate + WebSocket, and the REST data plane. */
export async function startLocalSignalR(options: LocalSignalROptions = {}): Promise<LocalSignalR> {
    const host = options.host ?? '127.0.0.1';
    const accessKey = options.accessKey ?? EMULATOR_ACCESS_KEY;
    const clock = options.clock ?? systemClock;
    const registry = new HubRegistry();
    const counters = emptyCounters();
    let boundPort = options.port ?? 8888;
    const port = (): number => boundPort;

    const clients = new ClientEndpoint({
        registry,
        counters,
        accessKey,
        clock,
        port,
        pingIntervalMs: options.pingIntervalMs ?? 15_000,
        clientTimeoutMs: options.clientTimeoutMs ?? 30_000,
        handshakeTimeoutMs: options.handshakeTimeoutMs ?? 15_000,
    });
    const rest = new RestApiHandler({ registry, counters, accessKey, clock, port });

    const route = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
        const url = new URL(request.url ?? '/', `http://${request.headers.host ?? `${host}:${boundPort}`}`);
        const path = url.pathname.replace(/\/+$/, '');
        if (path === '/client/negotiate') return clients.negotiate(request, response, url);
        if (path.startsWith('/api/')) return rest.handle(request, response, url);
        sendJson(response, 404, { code: 'NotFound', message: `No API at ${request.method} ${url.pathname}` });
    };

    const server = createServer((request, response) => {
        route(request, response).catch((error: unknown) => {
            if (!response.headersSent) sendJson(response, 500, { code: 'InternalServerError', message: String(error) });
            else response.destroy();
        });
    });
    server.on('upgrade', (request: IncomingMessage, socket, head: Buffer) => {
        const url = new URL(request.url ?? '/', `http://${request.headers.host ?? `${host}:${boundPort}`}`);
        if (url.pathname.replace(/\/+$/, '') !== '/client') {
            socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
            return;
        }
        clients.upgrade(request, socket, head, url).catch(() => socket.destroy());
    });

    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(boundPort, host, () => {
            server.off('error', reject);
            resolve();
        });
    });
    boundPort = (server.address() as AddressInfo).port;

    return {
        endpoint: `http://${host}:${boundPort}`,
        connectionString: `Endpoint=http://${host};Port=${boundPort};AccessKey=${accessKey};Version=1.0;`,
        stats: () => ({ ...counters, hubs: registry.snapshot() }),
        close: async () => {
            clients.closeAll('The service is shutting down.', true);
            const closed = new Promise<void>((resolve) => server.close(() => resolve()));
            server.closeIdleConnections();
            const grace = setTimeout(() => {
                clients.terminateAll();
                server.closeAllConnections();
            }, CLOSE_GRACE_MS);
            await closed;
            clearTimeout(grace);
            clients.terminateAll();
        },
    };
}
