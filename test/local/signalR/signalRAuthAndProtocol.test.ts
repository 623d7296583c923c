import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

import { fixedClock } from '../../../domain/clock';
import { signAccessToken } from '../../../local/signalR/accessToken';
import { createConnectionInfo } from '../../../local/signalR/bindings';
import { EMULATOR_ACCESS_KEY, type LocalSignalR, startLocalSignalR } from '../../../local/signalR/localSignalR';

const RS = '\u001e';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function service(options: Parameters<typeof startLocalSignalR>[0] = {}): Promise<LocalSignalR> {
    const started = await startLocalSignalR({ port: 0, ...options });
    cleanups.push(() => started.close());
    return started;
}

async function restToken(path: string, options: { key?: string; now?: Date; audienceBase?: string } = {}) {
    return signAccessToken({
        audience: `${options.audienceBase ?? 'http://127.0.0.1'}${path}`,
        accessKey: options.key ?? EMULATOR_ACCESS_KEY,
        now: options.now ?? new Date(),
        lifetimeSeconds: 60,
    });
}

async function broadcast(endpoint: string, path: string, token: string | undefined) {
    const response = await fetch(`${endpoint}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ target: 'newMessage', arguments: ['x'] }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

/** Negotiates and opens the raw WebSocket the way @microsoft/signalr does, exposing every frame. */
async function rawClient(signalR: LocalSignalR, hub = 'letters') {
    const info = await createConnectionInfo(signalR.connectionString, { hubName: hub });
    const negotiateUrl = info.url.replace('/client/?', '/client/negotiate?') + '&negotiateVersion=1';
    const negotiation = (await (
        await fetch(negotiateUrl, { method: 'POST', headers: { authorization: `Bearer ${info.accessToken}` } })
    ).json()) as { connectionToken: string };
    const wsUrl = `${info.url.replace('http:', 'ws:')}&id=${negotiation.connectionToken}&access_token=${info.accessToken}`;
    const ws = new WebSocket(wsUrl);
    const frames: string[] = [];
    const waiters: (() => void)[] = [];
    ws.on('message', (data: Buffer) => {
        frames.push(
            ...data
                .toString('utf8')
                .split(RS)
                .filter((f) => f !== ''),
        );
        waiters.splice(0).forEach((wake) => wake());
    });
    const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
    await new Promise((resolve) => ws.once('open', resolve));
    cleanups.push(async () => {
        ws.close();
        await closed;
    });
    const nextFrames = async (count: number) => {
        while (frames.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
        return frames.slice(0, count);
    };
    return { ws, frames, nextFrames, closed };
}

describe('SignalR stand-in authentication', () => {
    it('mints connection info like the input binding: client URL with port, audience without, user claim', async () => {
        const clock = fixedClock('2026-03-01T12:00:00Z');
        const info = await createConnectionInfo(
            'Endpoint=http://localhost;Port=8888;AccessKey=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH;Version=1.0;',
            { hubName: 'letters', userId: 'alice', lifetimeSeconds: 600, clock },
        );
        expect(info.url).toBe('http://localhost:8888/client/?hub=letters');
        // jose is ESM-only and the project compiles to CommonJS: load it the way local/signalR/accessToken.ts does.
        const { decodeJwt } = await import('jose');
        expect(decodeJwt(info.accessToken)).toEqual({
            aud: 'http://localhost/client/?hub=letters',
            'asrs.s.uid': 'alice',
            iat: 1_772_366_400,
            nbf: 1_772_366_400,
            exp: 1_772_367_000,
        });
    });

    it('accepts REST calls signed for the URL with or without the port, on v1 and 2022-06-01 paths', async () => {
        const signalR = await service();
        const port = new URL(signalR.endpoint).port;
        expect(
            await broadcast(signalR.endpoint, '/api/v1/hubs/letters', await restToken('/api/v1/hubs/letters')),
        ).toEqual({
            status: 202,
            body: null,
        });
        const path = '/api/hubs/letters/:send';
        const withPort = await restToken(path, { audienceBase: `http://127.0.0.1:${port}` });
        expect(await broadcast(signalR.endpoint, `${path}?api-version=2022-06-01`, withPort)).toEqual({
            status: 202,
            body: null,
        });
        expect(await broadcast(signalR.endpoint, path, withPort)).toEqual({
            status: 400,
            body: { code: 'BadRequest', message: 'The api-version query parameter is required.' },
        });
    });

    it('refuses missing, forged, expired and wrong-audience tokens with 401', async () => {
        const signalR = await service();
        const path = '/api/v1/hubs/letters';
        const refused = (message: string) => ({ status: 401, body: { code: 'Unauthorized', message } });
        expect(await broadcast(signalR.endpoint, path, undefined)).toEqual(
            refused('Access token rejected: no bearer token in the Authorization header or access_token'),
        );
        expect(await broadcast(signalR.endpoint, path, await restToken(path, { key: 'not-the-key' }))).toEqual(
            refused('Access token rejected: the signature does not match the AccessKey'),
        );
        expect(
            await broadcast(signalR.endpoint, path, await restToken(path, { now: new Date(Date.now() - 3_600_000) })),
        ).toEqual(refused('Access token rejected: the token has expired'));
        const other = await broadcast(signalR.endpoint, path, await restToken('/api/v1/hubs/other'));
        expect(other.status).toBe(401);
        expect(JSON.stringify(other.body)).toContain(
            'the audience \\"http://127.0.0.1/api/v1/hubs/other\\" is not one of',
        );
        expect(signalR.stats().unauthorizedRequests).toBe(4);
    });

    it('refuses negotiate and the WebSocket without a valid client token', async () => {
        const signalR = await service();
        const forged = await createConnectionInfo(signalR.connectionString.replace(EMULATOR_ACCESS_KEY, 'wrong'), {
            hubName: 'letters',
        });
        const negotiate = await fetch(`${signalR.endpoint}/client/negotiate?hub=letters&negotiateVersion=1`, {
            method: 'POST',
            headers: { authorization: `Bearer ${forged.accessToken}` },
        });
        expect({ status: negotiate.status, body: await negotiate.json() }).toEqual({
            status: 401,
            body: { error: 'Access token rejected: the signature does not match the AccessKey' },
        });
        const ws = new WebSocket(`${signalR.endpoint.replace('http:', 'ws:')}/client/?hub=letters&id=x`);
        const status = await new Promise<number | undefined>((resolve) =>
            ws.on('unexpected-response', (_request, response) => resolve(response.statusCode)),
        );
        expect(status).toBe(401);
    });
});

describe('SignalR stand-in hub protocol', () => {
    it('answers negotiate v1 with a connection token and WebSockets only', async () => {
        const signalR = await service();
        const info = await createConnectionInfo(signalR.connectionString, { hubName: 'letters' });
        const response = await fetch(`${signalR.endpoint}/client/negotiate?hub=letters&negotiateVersion=1`, {
            method: 'POST',
            headers: { authorization: `Bearer ${info.accessToken}`, origin: 'http://localhost:7071' },
        });
        expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:7071');
        expect(response.headers.get('access-control-allow-credentials')).toBe('true');
        expect(await response.json()).toEqual({
            negotiateVersion: 1,
            connectionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
            connectionToken: expect.any(String),
            availableTransports: [{ transport: 'WebSockets', transferFormats: ['Text', 'Binary'] }],
        });
    });

    it('completes the JSON handshake, then pings on the keep-alive interval', async () => {
        const signalR = await service({ pingIntervalMs: 20 });
        const client = await rawClient(signalR);
        client.ws.send(`{"protocol":"json","version":1}${RS}`);
        expect(await client.nextFrames(3)).toEqual(['{}', '{"type":6}', '{"type":6}']);
    });

    it('refuses the messagepack protocol in the handshake', async () => {
        const signalR = await service();
        const client = await rawClient(signalR);
        client.ws.send(`{"protocol":"messagepack","version":1}${RS}`);
        await client.closed;
        expect(client.frames).toEqual(['{"error":"The protocol \'messagepack\' is not supported."}']);
    });

    // The allowReconnect of each close follows ASP.NET Core SignalR's HubConnectionHandler, which the service is built on:
    // a client timeout allows reconnecting, a bad message does not, a failed handshake gets a handshake error instead.
    it('closes a client that stays silent past the client timeout, allowing it to reconnect', async () => {
        const signalR = await service({ clientTimeoutMs: 50 });
        const client = await rawClient(signalR);
        client.ws.send(`{"protocol":"json","version":1}${RS}`);
        await client.closed;
        expect(client.frames).toEqual([
            '{}',
            '{"type":7,"error":"Connection closed with an error.","allowReconnect":true}',
        ]);
        expect(signalR.stats().hubs).toEqual({ letters: { connections: [], groups: {} } });
    });

    it('answers a handshake that does not come in time with a handshake error, not a close message', async () => {
        const signalR = await service({ handshakeTimeoutMs: 50 });
        const client = await rawClient(signalR);
        await client.closed;
        expect(client.frames).toEqual(['{"error":"Handshake was canceled."}']);
    });

    it('closes a client that sends something that is not a hub message, without allowing reconnect', async () => {
        const signalR = await service();
        const client = await rawClient(signalR);
        client.ws.send(`{"protocol":"json","version":1}${RS}not json${RS}`);
        await client.closed;
        expect(client.frames).toEqual(['{}', '{"type":7,"error":"Connection closed with an error."}']);
    });
});
