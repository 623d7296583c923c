import { HubConnectionState } from '@microsoft/signalr';
import { afterEach, describe, expect, it } from 'vitest';

import { signAccessToken } from '../../../local/signalR/accessToken';
import { sendSignalRMessages } from '../../../local/signalR/bindings';
import { type LocalSignalR, startLocalSignalR } from '../../../local/signalR/localSignalR';
import { buildClient, recorder, startNegotiateFunction } from './signalRTestKit';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: Parameters<typeof startLocalSignalR>[0] = {}) {
    const service = await startLocalSignalR({ port: 0, ...options });
    cleanups.push(() => service.close());
    const negotiate = await startNegotiateFunction(() => service.connectionString, 'letters');
    cleanups.push(() => negotiate.close());
    return { service, negotiate };
}

async function connect(negotiateBaseUrl: string, userId?: string, reconnectDelays?: number[]) {
    const connection = buildClient(negotiateBaseUrl, userId, reconnectDelays);
    const messages = recorder(connection, 'newMessage');
    await connection.start();
    cleanups.push(() => connection.stop());
    return { connection, messages };
}

const isDone = (args: unknown[]) => args[0] === 'done';

describe('startLocalSignalR with the @microsoft/signalr client', () => {
    it('delivers broadcast, user and group messages from the signalR output binding to the right clients', async () => {
        const { service, negotiate } = await setup();
        const alice = await connect(negotiate.baseUrl, 'alice');
        const bob = await connect(negotiate.baseUrl, 'bob');
        const anonymous = await connect(negotiate.baseUrl);

        await sendSignalRMessages(service.connectionString, 'letters', [
            { target: 'newMessage', arguments: ['to everyone'] },
            { target: 'newMessage', arguments: ['to alice'], userId: 'alice' },
            { action: 'add', userId: 'bob', groupName: 'watchers' },
            { target: 'newMessage', arguments: ['to watchers', { n: 1 }], groupName: 'watchers' },
            { action: 'remove', userId: 'bob', groupName: 'watchers' },
            { target: 'newMessage', arguments: ['to watchers again'], groupName: 'watchers' },
            { target: 'newMessage', arguments: ['done'] },
        ]);
        await Promise.all([alice, bob, anonymous].map((client) => client.messages.waitFor(isDone)));

        expect(alice.messages.received).toEqual([['to everyone'], ['to alice'], ['done']]);
        expect(bob.messages.received).toEqual([['to everyone'], ['to watchers', { n: 1 }], ['done']]);
        expect(anonymous.messages.received).toEqual([['to everyone'], ['done']]);
        expect(service.stats()).toMatchObject({ negotiations: 3, messagesDelivered: 3 + 1 + 1 + 3, restRequests: 7 });
    });

    it('keeps user-group membership for users who connect later, as the service does', async () => {
        const { service, negotiate } = await setup();
        await sendSignalRMessages(service.connectionString, 'letters', {
            action: 'add',
            userId: 'carol',
            groupName: 'late',
        });
        const carol = await connect(negotiate.baseUrl, 'carol');
        await sendSignalRMessages(service.connectionString, 'LETTERS', [
            { target: 'newMessage', arguments: ['group hello'], groupName: 'late' },
            { target: 'newMessage', arguments: ['done'] },
        ]);
        await carol.messages.waitFor(isDone);
        expect(carol.messages.received).toEqual([['group hello'], ['done']]);
        expect(service.stats().hubs).toEqual({
            letters: {
                connections: [{ id: carol.connection.connectionId, userId: 'carol' }],
                groups: { late: ['carol'] },
            },
        });
    });

    it('ignores client invocations (serverless, no upstream) and keeps the connection open', async () => {
        const { service, negotiate } = await setup();
        const client = await connect(negotiate.baseUrl);
        await client.connection.send('sendToOthers', 'hello');
        await sendSignalRMessages(service.connectionString, 'letters', { target: 'newMessage', arguments: ['done'] });
        await client.messages.waitFor(isDone);
        expect(client.connection.state).toBe(HubConnectionState.Connected);
        expect(service.stats().ignoredClientInvocations).toBe(1);
    });

    it('reconnects automatically after the service restarts (close message with allowReconnect)', async () => {
        let service: LocalSignalR = await startLocalSignalR({ port: 0 });
        const port = Number(new URL(service.endpoint).port);
        const negotiate = await startNegotiateFunction(() => service.connectionString, 'letters');
        cleanups.push(() => negotiate.close());
        const client = await connect(negotiate.baseUrl, 'dave', [0, 50, 100, 200, 400, 800, 1600]);
        const reconnecting = new Promise<Error | undefined>((resolve) => client.connection.onreconnecting(resolve));
        const reconnected = new Promise<string | undefined>((resolve) => client.connection.onreconnected(resolve));

        await service.close();
        expect((await reconnecting)?.message).toBe('Server returned an error on close: The service is shutting down.');
        service = await startLocalSignalR({ port });
        cleanups.push(() => service.close());
        await reconnected;
        await sendSignalRMessages(service.connectionString, 'letters', {
            target: 'newMessage',
            arguments: ['done'],
            userId: 'dave',
        });
        await client.messages.waitFor(isDone);
        expect(client.messages.received).toEqual([['done']]);
    });

    it('lets a client whose keep-alives stopped (a throttled tab) reconnect by itself after the client timeout', async () => {
        const { service, negotiate } = await setup({ clientTimeoutMs: 300 });
        const client = await connect(negotiate.baseUrl, 'erin', [0, 50, 100]);
        // The client's first ping is due 15 s after start (its default), far past this service's 300 ms client timeout:
        // to the service it looks like a throttled background tab.
        const reconnecting = new Promise<Error | undefined>((resolve) => client.connection.onreconnecting(resolve));
        const reconnected = new Promise<string | undefined>((resolve) => client.connection.onreconnected(resolve));
        const firstId = client.connection.connectionId;
        // The tab wakes up: from now on it pings often enough.
        client.connection.keepAliveIntervalInMilliseconds = 50;
        expect((await reconnecting)?.message).toBe(
            'Server returned an error on close: Connection closed with an error.',
        );
        const newId = await reconnected;
        expect(newId).not.toBe(firstId);
        expect(client.connection.state).toBe(HubConnectionState.Connected);
        await sendSignalRMessages(service.connectionString, 'letters', {
            target: 'newMessage',
            arguments: ['done'],
            userId: 'erin',
        });
        await client.messages.waitFor(isDone);
        expect(client.messages.received).toEqual([['done']]);
    });

    it('closes a connection removed through the REST API, telling the client why', async () => {
        const { service, negotiate } = await setup();
        const client = await connect(negotiate.baseUrl);
        const closed = new Promise<Error | undefined>((resolve) => client.connection.onclose(resolve));
        const path = `/api/hubs/letters/connections/${client.connection.connectionId}`;
        const token = await signAccessToken({
            audience: `http://127.0.0.1${path}`,
            accessKey: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH',
            now: new Date(),
            lifetimeSeconds: 60,
        });
        const response = await fetch(`${service.endpoint}${path}?api-version=2022-06-01&reason=kicked`, {
            method: 'DELETE',
            headers: { authorization: `Bearer ${token}` },
        });
        expect(response.status).toBe(200);
        expect((await closed)?.message).toBe('Server returned an error on close: kicked');
    });
});
