import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

import { type RawData, type WebSocket, WebSocketServer } from 'ws';

import type { Clock } from '../../domain/clock';
import { AccessTokenRejectedError, verifyAccessToken } from './accessToken';
import { clientAudiences, serviceBases } from './audiences';
import { bearerToken, corsHeaders, sendEmpty, sendJson } from './httpUtil';
import {
    checkHandshake,
    closeFrame,
    HANDSHAKE_OK_FRAME,
    handshakeErrorFrame,
    MessageType,
    messageTypeOf,
    PING_FRAME,
    RecordReader,
} from './hubProtocol';
import type { ClientConnection, HubRegistry } from './hubRegistry';
import type { SignalRCounters } from './signalRStats';

export interface ClientEndpointOptions {
    registry: HubRegistry;
    counters: SignalRCounters;
    accessKey: string;
    clock: Clock;
    port: () => number;
    pingIntervalMs: number;
    clientTimeoutMs: number;
    handshakeTimeoutMs: number;
}

interface Negotiation {
    connectionId: string;
    hub: string;
    userId: string | undefined;
    negotiatedAtMs: number;
}

/** A negotiated token not used for this long is forgotten, so abandoned negotiations don't pile up. */
const NEGOTIATION_LIFETIME_MS = 5 * 60_000;

/** The user id the service reads from a client token: `asrs.s.uid` (what the SDKs write), else `nameid`. */
function userIdFrom(claims: Record<string, unknown>): string | undefined {
    const value = claims['asrs.s.uid'] ?? claims.nameid;
    return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The client-facing side of the service: `POST /client/negotiate?hub=` and the WebSocket at `/client/?hub=&id=`.
 * Serverless mode: clients listen; their invocations are dropped because no upstream is configured (the emulator's
 * HttpServerlessMessageHandler ignores events without a matching upstream, and the docs FAQ says the same).
 */
export class ClientEndpoint {
    private readonly negotiations = new Map<string, Negotiation>();
    private readonly sockets = new Set<WebSocket>();
    private readonly webSockets = new WebSocketServer({ noServer: true });
    private readonly pingTimer: NodeJS.Timeout;

    constructor(private readonly options: ClientEndpointOptions) {
        this.pingTimer = setInterval(() => this.pingAll(), options.pingIntervalMs);
        this.pingTimer.unref();
    }

    async negotiate(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
        const cors = corsHeaders(request);
        if (request.method === 'OPTIONS') return sendEmpty(response, 204, cors);
        if (request.method !== 'POST') return sendEmpty(response, 405, { ...cors, allow: 'POST, OPTIONS' });
        const hub = url.searchParams.get('hub');
        if (!hub) return sendJson(response, 400, { error: 'The "hub" query parameter is required.' }, cors);
        const { claims, rejected } = await this.authenticate(request, url, hub);
        if (rejected) {
            this.options.counters.unauthorizedRequests += 1;
            return sendJson(response, 401, { error: rejected }, cors);
        }
        this.forgetStaleNegotiations();
        const connectionId = randomUUID();
        const connectionToken = randomBytes(16).toString('base64url');
        const requestedVersion = Number(url.searchParams.get('negotiateVersion') ?? '0');
        this.negotiations.set(connectionToken, {
            connectionId,
            hub,
            userId: userIdFrom(claims),
            negotiatedAtMs: this.options.clock.now().getTime(),
        });
        this.options.counters.negotiations += 1;
        // Only WebSockets is offered: SSE and long polling are not emulated, and offering them would be a lie.
        sendJson(
            response,
            200,
            {
                ...(requestedVersion >= 1 ? { negotiateVersion: 1, connectionToken } : { negotiateVersion: 0 }),
                connectionId: requestedVersion >= 1 ? connectionId : connectionToken,
                availableTransports: [{ transport: 'WebSockets', transferFormats: ['Text', 'Binary'] }],
            },
            cors,
        );
    }

    async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
        const hub = url.searchParams.get('hub') ?? '';
        const { rejected } = await this.authenticate(request, url, hub);
        if (rejected) {
            this.options.counters.unauthorizedRequests += 1;
            return refuseUpgrade(socket, 401, 'Unauthorized');
        }
        const token = url.searchParams.get('id') ?? '';
        const negotiation = this.negotiations.get(token);
        if (!negotiation || negotiation.hub.toLowerCase() !== hub.toLowerCase()) {
            return refuseUpgrade(socket, 404, 'Not Found');
        }
        this.negotiations.delete(token);
        this.webSockets.handleUpgrade(request, socket, head, (ws) => this.serve(ws, negotiation));
    }

    /** Close every client with a close message; `allowReconnect` tells @microsoft/signalr to reconnect. */
    closeAll(error: string | undefined, allowReconnect: boolean): void {
        clearInterval(this.pingTimer);
        for (const connection of this.options.registry.all()) connection.close(error, allowReconnect);
        for (const ws of this.sockets) if (ws.readyState !== ws.OPEN) ws.terminate();
    }

    /** Sockets still open after a grace period are cut, so shutdown never hangs on a silent client. */
    terminateAll(): void {
        for (const ws of this.sockets) ws.terminate();
        this.webSockets.close();
    }

    private pingAll(): void {
        for (const connection of this.options.registry.all()) connection.send(PING_FRAME);
    }

    private async authenticate(
        request: IncomingMessage,
        url: URL,
        hub: string,
    ): Promise<{ claims: Record<string, unknown>; rejected?: string }> {
        try {
            const audiences = clientAudiences(serviceBases(request.headers.host, this.options.port()), hub);
            const verified = await verifyAccessToken(
                bearerToken(request, url),
                this.options.accessKey,
                audiences,
                this.options.clock.now(),
            );
            return { claims: verified.claims };
        } catch (error: unknown) {
            if (error instanceof AccessTokenRejectedError) return { claims: {}, rejected: error.message };
            throw error;
        }
    }

    private forgetStaleNegotiations(): void {
        const oldest = this.options.clock.now().getTime() - NEGOTIATION_LIFETIME_MS;
        for (const [token, negotiation] of this.negotiations) {
            if (negotiation.negotiatedAtMs < oldest) this.negotiations.delete(token);
        }
    }

    private serve(ws: WebSocket, negotiation: Negotiation): void {
        const { registry, counters } = this.options;
        this.sockets.add(ws);
        const reader = new RecordReader();
        let handshaken = false;
        let closing = false;

        const connection: ClientConnection = {
            id: negotiation.connectionId,
            hub: negotiation.hub,
            userId: negotiation.userId,
            send: (frameText) => {
                if (ws.readyState === ws.OPEN) ws.send(frameText);
            },
            close: (error, allowReconnect) => {
                if (closing) return;
                closing = true;
                connection.send(closeFrame(error, allowReconnect));
                // Out of the registry at once: a closing connection must not receive further messages.
                registry.remove(connection.id);
                ws.close(1000);
            },
        };

        // ASP.NET Core SignalR (HubConnectionContext.HandshakeAsync) answers a handshake that does not come in time with
        // an error handshake response, then ends the connection without a close message.
        const handshakeTimer = setTimeout(() => {
            connection.send(handshakeErrorFrame('Handshake was canceled.'));
            closing = true;
            ws.close(1000);
        }, this.options.handshakeTimeoutMs);
        let idleTimer: NodeJS.Timeout | undefined;
        const restartIdleTimer = (): void => {
            clearTimeout(idleTimer);
            // As ASP.NET Core SignalR does on a client timeout (HubConnectionContext.CheckClientTimeout sets CloseException
            // and calls AbortAllowReconnect; HubConnectionHandler then sends "Connection closed with an error." with
            // allowReconnect: true): a throttled background tab is allowed to reconnect by itself.
            idleTimer = setTimeout(
                () => connection.close('Connection closed with an error.', true),
                this.options.clientTimeoutMs,
            );
        };

        ws.on('message', (data, isBinary) => {
            restartIdleTimer();
            if (isBinary) {
                connection.close('Binary messages are not supported by the JSON hub protocol.', false);
                return;
            }
            for (const record of reader.push(textOf(data))) {
                if (!handshaken) {
                    clearTimeout(handshakeTimer);
                    const result = checkHandshake(record);
                    if (!result.ok) {
                        connection.send(handshakeErrorFrame(result.error));
                        closing = true;
                        ws.close(1000);
                        return;
                    }
                    handshaken = true;
                    connection.send(HANDSHAKE_OK_FRAME);
                    registry.add(connection);
                    continue;
                }
                const type = messageTypeOf(record);
                if (type === undefined) {
                    // A message the protocol cannot parse throws out of HubConnectionHandler.DispatchMessagesAsync, and
                    // the close message it then sends keeps allowReconnect false: resending the same bytes won't help.
                    connection.close('Connection closed with an error.', false);
                    return;
                }
                if (type === MessageType.Close) {
                    closing = true;
                    ws.close(1000);
                    return;
                }
                if (type === MessageType.Invocation || type === MessageType.StreamInvocation) {
                    counters.ignoredClientInvocations += 1;
                }
                // Pings only keep the connection alive (the idle timer was restarted above); completions, stream
                // items and cancels have nothing to act on without an upstream.
            }
        });
        ws.on('close', () => {
            clearTimeout(handshakeTimer);
            clearTimeout(idleTimer);
            registry.remove(connection.id);
            this.sockets.delete(ws);
        });
        ws.on('error', () => ws.terminate());
        restartIdleTimer();
    }
}

function textOf(data: RawData): string {
    if (Buffer.isBuffer(data)) return data.toString('utf8');
    return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8');
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
