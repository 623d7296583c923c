import { createHmac } from 'node:crypto';

import { EventHubProducerClient } from '@azure/event-hubs';
import { ServiceBusClient } from '@azure/service-bus';
import { connect, type EventContext, type Message } from 'rhea';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type AmqpManagementRequest, type AmqpServer, startAmqpServer, transferredMessages } from '../../../local/amqp';

const KEY_NAME = 'RootManageSharedAccessKey';
const KEY = 'SAS_KEY_VALUE';
// Fail fast: the SDK's defaults retry for minutes (wire-protocols.md §2.5).
const FAST = { retryOptions: { maxRetries: 0, timeoutInMs: 5_000 } };

function emulatorConnectionString(port: number, credential = `SharedAccessKey=${KEY}`): string {
    return `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=${KEY_NAME};${credential};UseDevelopmentEmulator=true;`;
}

function sasToken(audience: string, expirySeconds: number, key = KEY): string {
    const resource = encodeURIComponent(audience);
    const signature = createHmac('sha256', key).update(`${resource}\n${expirySeconds}`).digest('base64');
    return `SharedAccessSignature sr=${resource}&sig=${encodeURIComponent(signature)}&se=${expirySeconds}&skn=${KEY_NAME}`;
}

describe('startAmqpServer, driven by the official @azure/service-bus client', () => {
    let server: AmqpServer;
    let client: ServiceBusClient | undefined;
    const received: Message[] = [];
    const requests: Array<Pick<AmqpManagementRequest, 'entity' | 'subPath' | 'operation'>> = [];

    beforeEach(async () => {
        received.length = 0;
        requests.length = 0;
        server = await startAmqpServer({ port: 0, sharedAccessKeys: { [KEY_NAME]: KEY } });
        server.registerEntity('Inbox', {
            onReceiverLinkOpened(link) {
                link.on('message', (context: EventContext) => received.push(...transferredMessages(context)));
            },
            onManagementRequest({ entity, subPath, operation }) {
                requests.push({ entity, subPath, operation });
                return { statusCode: 204 };
            },
        });
    });

    afterEach(async () => {
        await client?.close();
        client = undefined;
        await server.close();
    });

    it('authorizes with the development key over $cbs and routes sends, single and batched, to the entity', async () => {
        client = new ServiceBusClient(emulatorConnectionString(server.port), FAST);
        const sender = client.createSender('inbox');
        await sender.sendMessages({ body: { n: 1 }, messageId: 'one' });
        await sender.sendMessages([
            { body: 'two', messageId: 'two' },
            { body: Buffer.from([3]), messageId: 'three' },
        ]);
        const batch = await sender.createMessageBatch();
        expect(batch.maxSizeInBytes).toBe(262_144);
        expect(batch.tryAddMessage({ body: 'four', messageId: 'four' })).toBe(true);
        await sender.sendMessages(batch);

        expect(received.map((message) => [message.message_id, bodyBytes(message)])).toEqual([
            ['one', Buffer.from('{"n":1}')],
            ['two', Buffer.from('"two"')],
            ['three', Buffer.from([3])],
            ['four', Buffer.from('"four"')],
        ]);
    });

    it('routes <entity>/$management and <entity>/<sub>/$management requests to the owner, with the sub-path', async () => {
        client = new ServiceBusClient(emulatorConnectionString(server.port), FAST);
        await expect(client.createReceiver('inbox').peekMessages(1)).resolves.toEqual([]);
        await expect(client.createReceiver('inbox', { subQueueType: 'deadLetter' }).peekMessages(1)).resolves.toEqual(
            [],
        );
        expect(requests).toEqual([
            { entity: 'Inbox', subPath: '', operation: 'com.microsoft:peek-message' },
            { entity: 'Inbox', subPath: '$DeadLetterQueue', operation: 'com.microsoft:peek-message' },
        ]);
    });

    it('refuses an address nobody registered with amqp:not-found, which the SDK reports as MessagingEntityNotFound', async () => {
        client = new ServiceBusClient(emulatorConnectionString(server.port), FAST);
        await expect(client.createSender('nowhere').sendMessages({ body: 'x' })).rejects.toMatchObject({
            code: 'MessagingEntityNotFound',
            message: expect.stringContaining('"nowhere" could not be found'),
        });
    });

    it('refuses a link direction the entity does not serve with amqp:not-implemented instead of hanging', async () => {
        client = new ServiceBusClient(emulatorConnectionString(server.port), FAST);
        await expect(
            client.createReceiver('inbox').receiveMessages(1, { maxWaitTimeInMs: 1_000 }),
        ).rejects.toMatchObject({
            code: 'GeneralError',
            message: expect.stringContaining('Receiving from "inbox" is not supported'),
        });
    });

    it('rejects a token signed with another key (bad signature) with UnauthorizedAccess', async () => {
        client = new ServiceBusClient(emulatorConnectionString(server.port, 'SharedAccessKey=not-the-key'), FAST);
        await expect(client.createSender('inbox').sendMessages({ body: 'x' })).rejects.toMatchObject({
            code: 'UnauthorizedAccess',
            message: expect.stringContaining('InvalidSignature'),
        });
        expect(received).toEqual([]);
    });

    it('rejects an expired, correctly signed token with UnauthorizedAccess', async () => {
        const expired = sasToken(`sb://127.0.0.1:${server.port}/inbox`, Math.floor(Date.now() / 1000) - 60);
        client = new ServiceBusClient(
            `Endpoint=sb://127.0.0.1:${server.port};SharedAccessSignature=${expired};UseDevelopmentEmulator=true;`,
            FAST,
        );
        await expect(client.createSender('inbox').sendMessages({ body: 'x' })).rejects.toMatchObject({
            code: 'UnauthorizedAccess',
            message: expect.stringContaining('ExpiredToken'),
        });
    });

    it('accepts a valid token that covers the entity, and refuses one for another entity', async () => {
        const expiry = Math.floor(Date.now() / 1000) + 600;
        const forInbox = sasToken(`sb://127.0.0.1:${server.port}/inbox`, expiry);
        client = new ServiceBusClient(
            `Endpoint=sb://127.0.0.1:${server.port};SharedAccessSignature=${forInbox};UseDevelopmentEmulator=true;`,
            FAST,
        );
        await client.createSender('inbox').sendMessages({ body: 'ok', messageId: 'ok' });
        expect(received.map((message) => message.message_id)).toEqual(['ok']);

        server.registerEntity('other', { onReceiverLinkOpened: () => undefined });
        await expect(client.createSender('other').sendMessages({ body: 'x' })).rejects.toMatchObject({
            code: 'UnauthorizedAccess',
        });
    });
});

describe('startAmqpServer, driven by the official @azure/event-hubs client', () => {
    it('routes the bare $management node to the entity registered as $management', async () => {
        const server = await startAmqpServer({ port: 0, sharedAccessKeys: { [KEY_NAME]: KEY } });
        const requests: unknown[] = [];
        server.registerEntity('$management', {
            onManagementRequest({ operation, applicationProperties }) {
                requests.push([operation, applicationProperties.name, applicationProperties.type]);
                return {
                    statusCode: 200,
                    body: { name: 'hub', created_at: new Date('2026-01-01T00:00:00Z'), partition_ids: ['0', '1'] },
                };
            },
        });
        const producer = new EventHubProducerClient(`${emulatorConnectionString(server.port)}EntityPath=hub;`, FAST);
        try {
            await expect(producer.getEventHubProperties()).resolves.toEqual({
                name: 'hub',
                createdOn: new Date('2026-01-01T00:00:00Z'),
                partitionIds: ['0', '1'],
                isGeoDrEnabled: false,
            });
            expect(requests).toEqual([['READ', 'hub', 'com.microsoft:eventhub']]);
        } finally {
            await producer.close();
            await server.close();
        }
    });
});

describe('startAmqpServer, driven by a plain rhea client', () => {
    it('refuses a link without an address (a transaction coordinator) and a link before put-token', async () => {
        const server = await startAmqpServer({ port: 0, sharedAccessKeys: { [KEY_NAME]: KEY } });
        server.registerEntity('inbox', { onReceiverLinkOpened: () => undefined });
        const connection = connect({ host: '127.0.0.1', port: server.port, reconnect: false });
        const closeError = (target: { address?: string }) =>
            new Promise<unknown>((resolve) => {
                const sender = connection.open_sender({ target });
                sender.on('sender_error', (context: EventContext) => resolve(context.sender?.error));
            });
        try {
            await expect(closeError({})).resolves.toMatchObject({
                condition: 'amqp:not-implemented',
                description: expect.stringContaining('Transactions'),
            });
            await expect(closeError({ address: 'inbox' })).resolves.toMatchObject({
                condition: 'amqp:unauthorized-access',
                description: expect.stringContaining('put one on $cbs first'),
            });
        } finally {
            connection.close();
            await server.close();
        }
    });
});

function bodyBytes(message: Message): Buffer {
    const body = message.body as { content?: unknown } | Buffer;
    return Buffer.isBuffer(body) ? body : Buffer.from(body.content as Buffer);
}
