import type { ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { ChangeFeedStartFrom, type CosmosClient } from '@azure/cosmos';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { fixedClock, systemClock } from '../../../domain/clock';
import { startChangeFeedProcessor } from '../../../local/cosmos/changeFeed/changeFeedProcessor';
import { COSMOS_STATE_COMPONENT } from '../../../local/cosmos/cosmosState';
import { KEPT_VALIDITY_MS, RENEW_BEFORE_MS } from '../../../local/cosmos/localCertificates';
import { createLocalCosmosClient } from '../../../local/cosmos/localCosmosClient';
import { type LocalCosmos, startLocalCosmos } from '../../../local/cosmos/localCosmosServer';
import { StateCorruptError, StateStore } from '../../../local/state';
import { startReadyChild } from '../../support/readyChild';

interface Running {
    store: StateStore;
    cosmos: LocalCosmos;
    client: CosmosClient;
}

const folders: string[] = [];
const running: Running[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
    for (const child of children.splice(0)) {
        child.kill('SIGKILL');
    }
    for (const { store, cosmos, client } of running.splice(0)) {
        client.dispose();
        await cosmos.close();
        store.close();
    }
    for (const folder of folders.splice(0)) {
        rmSync(folder, { recursive: true, force: true });
    }
});

function newFolder(): string {
    const folder = mkdtempSync(path.join(tmpdir(), 'cosmos-state-'));
    folders.push(folder);
    return folder;
}

async function start(folder: string, now?: Date): Promise<Running> {
    const store = StateStore.open({ directory: folder, components: [COSMOS_STATE_COMPONENT] });
    const cosmos = await startLocalCosmos({ port: 0, state: store, ...(now ? { clock: fixedClock(now) } : {}) });
    const client = createLocalCosmosClient(cosmos.connectionString, { ca: cosmos.ca });
    const started = { store, cosmos, client };
    running.push(started);
    return started;
}

async function stop(started: Running): Promise<void> {
    running.splice(running.indexOf(started), 1);
    started.client.dispose();
    await started.cosmos.close();
    started.store.close();
}

/** Everything a client can read back: database, container and document bodies with their system properties. */
async function snapshot(client: CosmosClient) {
    const { resources: databases } = await client.databases.readAll().fetchAll();
    return Promise.all(
        databases.map(async (database) => {
            const { resources: containers } = await client.database(database.id).containers.readAll().fetchAll();
            return {
                database,
                containers: await Promise.all(
                    containers.map(async (container) => ({
                        container,
                        documents: (
                            await client.database(database.id).container(container.id).items.readAll().fetchAll()
                        ).resources,
                    })),
                ),
            };
        }),
    );
}

const lsnOf = (document: unknown) => (document as { _lsn: number })._lsn;

describe('the local Cosmos DB on a state store', () => {
    it('reopens with the same databases, containers (partition key, indexing, TTL) and documents, system properties included', async () => {
        const folder = newFolder();
        const first = await start(folder);
        const { database } = await first.client.databases.create({ id: 'shop' });
        await database.containers.create({
            id: 'orders',
            partitionKey: { paths: ['/customer'] },
            defaultTtl: 3600,
            indexingPolicy: {
                compositeIndexes: [
                    [
                        { path: '/customer', order: 'ascending' },
                        { path: '/total', order: 'descending' },
                    ],
                ],
            },
        });
        await database.containers.create({ id: 'gone', partitionKey: { paths: ['/id'] } });
        const { database: dropped } = await first.client.databases.create({ id: 'dropped' });
        const { container: droppedContainer } = await dropped.containers.create({ id: 'x' });
        await droppedContainer.items.create({ id: 'x1' });
        const orders = database.container('orders');
        await orders.items.create({ id: 'o1', customer: 'ada', total: 3 });
        await orders.items.create({ id: 'o2', customer: 'bob', total: 5, ttl: 60 });
        await orders.items.upsert({ id: 'o1', customer: 'ada', total: 4 });
        await orders.items.create({ id: 'o3', customer: 'cy', total: 1 });
        await orders.item('o3', 'cy').delete();
        await orders.item('o2', 'bob').patch([{ op: 'incr', path: '/total', value: 2 }]);
        await database.container('gone').delete();
        await first.client.database('dropped').delete();
        const before = await snapshot(first.client);
        await stop(first);

        const second = await start(folder);
        expect(second.cosmos.loaded).toEqual({
            databases: 1,
            containers: 1,
            documents: 2,
            highestLsn: Math.max(...before[0]!.containers[0]!.documents.map(lsnOf)),
        });
        expect(await snapshot(second.client)).toEqual(before);
        // The server's uniqueness index is back too: a create of an existing id conflicts, a delete finds it.
        const reopened = second.client.database('shop').container('orders');
        await expect(reopened.items.create({ id: 'o1', customer: 'ada' })).rejects.toMatchObject({ code: 409 });
        await reopened.item('o1', 'ada').delete();
        await stop(second);

        const third = await start(folder);
        expect((await snapshot(third.client))[0]!.containers[0]!.documents.map((item) => item.id)).toEqual(['o2']);
    });

    it('numbers writes after a restart above every _lsn given out before, the deleted ones included, with new _rids', async () => {
        const folder = newFolder();
        const first = await start(folder);
        const { database } = await first.client.databases.create({ id: 'db' });
        const { container } = await database.containers.create({ id: 'c', partitionKey: { paths: ['/id'] } });
        const written = [];
        for (const id of ['a', 'b', 'c']) {
            written.push((await container.items.create({ id })).resource!);
        }
        await container.item('c', 'c').delete();
        await stop(first);

        const second = await start(folder);
        const reopened = second.client.database('db').container('c');
        const { resource: next } = await reopened.items.create({ id: 'd' });
        expect(lsnOf(next)).toBeGreaterThan(Math.max(...written.map(lsnOf)));
        expect(written.map((item) => item._rid)).not.toContain(next!._rid);
        expect(second.cosmos.loaded?.highestLsn).toBe(lsnOf(written[2]));
    });

    it('resumes a change feed read before the restart exactly after its continuation', async () => {
        const folder = newFolder();
        const first = await start(folder);
        const { database } = await first.client.databases.create({ id: 'db' });
        const { container } = await database.containers.create({ id: 'c', partitionKey: { paths: ['/id'] } });
        await container.items.create({ id: 'a', v: 1 });
        await container.items.create({ id: 'b', v: 1 });
        const iterator = container.items.getChangeFeedIterator<{ id: string }>({
            changeFeedStartFrom: ChangeFeedStartFrom.Beginning(),
        });
        const page = await iterator.readNext();
        expect(page.result.map((item) => item.id)).toEqual(['a', 'b']);
        await container.items.upsert({ id: 'a', v: 2 });
        await stop(first);

        const second = await start(folder);
        const reopened = second.client.database('db').container('c');
        await reopened.items.create({ id: 'c', v: 1 });
        const resumed = reopened.items.getChangeFeedIterator<{ id: string; v: number }>({
            changeFeedStartFrom: ChangeFeedStartFrom.Continuation(page.continuationToken),
        });
        const after = await resumed.readNext();
        expect(after.result.map((item) => `${item.id}@${item.v}`)).toEqual(['a@2', 'c@1']);
        expect((await resumed.readNext()).statusCode).toBe(304);
    });

    it('resumes the change-feed trigger from its lease document after a restart, nothing missed or delivered twice', async () => {
        const folder = newFolder();
        const first = await start(folder);
        const { database } = await first.client.databases.create({ id: 'db' });
        const { container } = await database.containers.create({ id: 'c', partitionKey: { paths: ['/id'] } });
        await database.containers.create({ id: 'leases', partitionKey: { paths: ['/id'] } });
        const delivered: string[] = [];
        const trigger = (client: CosmosClient) =>
            startChangeFeedProcessor({
                client,
                databaseName: 'db',
                containerName: 'c',
                leaseContainerName: 'leases',
                instanceName: 'host-1',
                feedPollDelayMs: 20,
                // Only for a new lease: if the lease were lost in the restart, everything would come again.
                startFromBeginning: true,
                handler: (documents) => {
                    delivered.push(...documents.map((document) => `${document.id}@${String(document.v)}`));
                    return Promise.resolve();
                },
                clock: systemClock,
            });
        await container.items.create({ id: 'a', v: 1 });
        await container.items.create({ id: 'b', v: 1 });
        const before = await trigger(first.client);
        await vi.waitFor(() => expect(delivered).toHaveLength(2), { timeout: 10_000 });
        await before.stop();
        await container.items.upsert({ id: 'a', v: 2 });
        await stop(first);

        const second = await start(folder);
        await second.client.database('db').container('c').items.create({ id: 'c', v: 1 });
        const after = await trigger(second.client);
        await vi.waitFor(() => expect(delivered.length).toBeGreaterThanOrEqual(4), { timeout: 10_000 });
        await after.stop();
        expect(delivered).toEqual(['a@1', 'b@1', 'a@2', 'c@1']);
    });

    it('empties a replaced container as the server does, across a restart', async () => {
        const folder = newFolder();
        const first = await start(folder);
        const { database } = await first.client.databases.create({ id: 'db' });
        const { container } = await database.containers.create({ id: 'c', partitionKey: { paths: ['/id'] } });
        await container.items.create({ id: 'a' });
        await container.replace({ id: 'c', partitionKey: { paths: ['/id'] }, defaultTtl: 10 });
        const before = await snapshot(first.client);
        expect(before[0]!.containers[0]!.documents).toEqual([]);
        await stop(first);

        const second = await start(folder);
        expect(await snapshot(second.client)).toEqual(before);
    });

    it('answers 500 to a write the disk refuses and leaves the server as it was, so a restart shows the same', async () => {
        const folder = newFolder();
        const first = await start(folder);
        const { database } = await first.client.databases.create({ id: 'db' });
        const { container } = await database.containers.create({ id: 'c', partitionKey: { paths: ['/id'] } });
        const { resource: kept } = await container.items.create({ id: 'a', v: 1 });
        // A refusal as a full or read-only disk would give, for the bodies marked "refuse".
        first.store.database.exec(`CREATE TRIGGER refuse BEFORE INSERT ON cosmos_documents
            WHEN json_extract(NEW.body, '$.refuse') BEGIN SELECT RAISE(ABORT, 'disk refused'); END`);
        // cosmosdb-server logs what its handler threw before answering 500.
        const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
        await expect(container.items.create({ id: 'b', refuse: true })).rejects.toMatchObject({ code: 500 });
        await expect(container.items.upsert({ id: 'a', v: 2, refuse: true })).rejects.toMatchObject({ code: 500 });
        await expect(
            container.item('a', 'a').patch([{ op: 'set', path: '/refuse', value: true }]),
        ).rejects.toMatchObject({
            code: 500,
        });
        const messages = new Set(logged.mock.calls.map(([error]) => String(error)));
        logged.mockRestore();
        expect(messages).toEqual(new Set(['SqliteError: disk refused']));
        const before = await snapshot(first.client);
        expect(before[0]!.containers[0]!.documents).toEqual([kept]);
        first.store.database.exec('DROP TRIGGER refuse');
        await stop(first);

        const second = await start(folder);
        expect(await snapshot(second.client)).toEqual(before);
    });

    it('writes a transactional batch in one transaction: a write the disk refuses undoes the batch in memory and on disk', async () => {
        const folder = newFolder();
        const first = await start(folder);
        const { database } = await first.client.databases.create({ id: 'db' });
        const { container } = await database.containers.create({ id: 'c', partitionKey: { paths: ['/pk'] } });
        const { resource: kept } = await container.items.create({ id: 'kept', pk: 'p', v: 1 });
        const done = await container.items.batch(
            [
                { operationType: 'Create', resourceBody: { id: 'a', pk: 'p' } },
                { operationType: 'Upsert', partitionKey: 'p', resourceBody: { id: 'kept', pk: 'p', v: 2 } },
            ],
            'p',
        );
        expect(done.result?.map((result) => result.statusCode)).toEqual([201, 200]);
        const afterBatch = await snapshot(first.client);

        first.store.database.exec(`CREATE TRIGGER refuse BEFORE INSERT ON cosmos_documents
            WHEN json_extract(NEW.body, '$.refuse') BEGIN SELECT RAISE(ABORT, 'disk refused'); END`);
        const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
        await expect(
            container.items.batch(
                [
                    { operationType: 'Create', resourceBody: { id: 'b', pk: 'p' } },
                    { operationType: 'Delete', partitionKey: 'p', id: 'a' },
                    {
                        operationType: 'Replace',
                        partitionKey: 'p',
                        id: 'kept',
                        resourceBody: { id: 'kept', pk: 'p', v: 3 },
                    },
                    { operationType: 'Create', resourceBody: { id: 'c', pk: 'p', refuse: true } },
                ],
                'p',
            ),
        ).rejects.toThrow('Batch request error: disk refused');
        logged.mockRestore();
        expect(await snapshot(first.client)).toEqual(afterBatch);
        expect(afterBatch[0]!.containers[0]!.documents.map((document) => document.id).sort()).toEqual(['a', 'kept']);
        expect(afterBatch[0]!.containers[0]!.documents.find((document) => document.id === 'kept')).toMatchObject({
            v: 2,
            _rid: kept!._rid,
        });
        first.store.database.exec('DROP TRIGGER refuse');
        await stop(first);

        const second = await start(folder);
        expect(await snapshot(second.client)).toEqual(afterBatch);
    });

    it('refuses a state whose document belongs to no stored container, naming the file', async () => {
        const folder = newFolder();
        const store = StateStore.open({ directory: folder, components: [COSMOS_STATE_COMPONENT] });
        store.database
            .prepare('INSERT INTO cosmos_documents (container_rid, rid, lsn, body) VALUES (?, ?, ?, ?)')
            .run('nowhere', 'doc', 1, '{"id":"doc"}');
        try {
            await expect(startLocalCosmos({ port: 0, state: store })).rejects.toThrow(
                new StateCorruptError(
                    store.databaseFile,
                    'document "doc" belongs to container "nowhere", which is not stored',
                ),
            );
        } finally {
            store.close();
        }
    });

    it('keeps no CA private key in the state, and removes one an older version kept', async () => {
        const folder = newFolder();
        const kept = (store: StateStore) =>
            JSON.parse(
                store.database
                    .prepare<[], { value: string }>("SELECT value FROM records WHERE scope = 'cosmos' AND key = 'tls'")
                    .get()!.value,
            ) as Record<string, string>;
        const first = await start(folder);
        const record = kept(first.store);
        expect(Object.keys(record).sort()).toEqual(['caPem', 'serverCertPem', 'serverKeyPem']);
        // An older version's record, with the CA's key beside it.
        first.store.database.prepare("UPDATE records SET value = ? WHERE scope = 'cosmos' AND key = 'tls'").run(
            JSON.stringify({
                ...record,
                caKeyPem: '-----BEGIN PRIVATE KEY-----\nold\n-----END PRIVATE KEY-----\n',
            }),
        );
        await stop(first);

        const second = await start(folder);
        expect([second.cosmos.caGenerated, kept(second.store)]).toEqual([false, record]);
    });

    it('keeps the CA while it is valid and replaces it when it is about to expire', async () => {
        const folder = newFolder();
        // Real time: the second start's certificate is checked by a real TLS client against the real clock.
        const now = new Date(Math.floor(Date.now() / 1000) * 1000);
        const first = await start(folder, now);
        expect(first.cosmos.caGenerated).toBe(true);
        expect(first.cosmos.caExpiresAt).toEqual(new Date(now.getTime() + KEPT_VALIDITY_MS));
        const ca = first.cosmos.ca;
        await stop(first);

        const later = new Date(now.getTime() + KEPT_VALIDITY_MS - RENEW_BEFORE_MS - 60_000);
        const second = await start(folder, later);
        expect([second.cosmos.caGenerated, second.cosmos.ca]).toEqual([false, ca]);
        // The official client trusting the first start's CA talks to the second start.
        await expect(second.client.databases.readAll().fetchAll()).resolves.toMatchObject({ resources: [] });
        await stop(second);

        const expiring = new Date(later.getTime() + 120_000);
        const third = await start(folder, expiring);
        expect(third.cosmos.caGenerated).toBe(true);
        expect(third.cosmos.ca).not.toBe(ca);
        expect(new Date(new X509Certificate(third.cosmos.ca).validTo)).toEqual(
            new Date(Math.floor((expiring.getTime() + KEPT_VALIDITY_MS) / 1000) * 1000),
        );
    });
});

interface ChildServer {
    child: ChildProcess;
    exited: Promise<NodeJS.Signals | null>;
    connectionString: string;
    ca: string;
}

/** The local Cosmos DB in a real child process on `folder` (fixtures/cosmosProcess.ts), once it serves. */
async function startChild(folder: string): Promise<ChildServer> {
    const { child, exited, ready } = await startReadyChild<{ connectionString: string; ca: string }>(
        path.join(__dirname, 'fixtures', 'cosmosProcess.ts'),
        [folder],
        'the Cosmos DB child',
        (spawned) => children.push(spawned),
    );
    return { child, exited, ...ready };
}

interface Item {
    id: string;
    pk: string;
    v: number;
}

describe('the local Cosmos DB killed with SIGKILL and restarted on its state folder, seen by @azure/cosmos', () => {
    it(
        'keeps every acknowledged write, its system properties and change-feed position, and the CA',
        { timeout: 60_000 },
        async () => {
            const folder = newFolder();
            const first = await startChild(folder);
            const client = createLocalCosmosClient(first.connectionString, { ca: first.ca });
            const { database } = await client.databases.create({ id: 'db' });
            const { container } = await database.containers.create({
                id: 'items',
                partitionKey: { paths: ['/pk'] },
                defaultTtl: -1,
            });
            await container.items.create<Item>({ id: 'a', pk: 'p1', v: 1 });
            await container.items.create<Item>({ id: 'b', pk: 'p2', v: 1 });
            await container.items.create<Item>({ id: 'c', pk: 'p1', v: 1 });
            await container.items.upsert<Item>({ id: 'a', pk: 'p1', v: 2 });
            await container.item('b', 'p2').delete();
            const iterator = container.items.getChangeFeedIterator<Item>({
                changeFeedStartFrom: ChangeFeedStartFrom.Beginning(),
            });
            const read = await iterator.readNext();
            expect(read.result.map((item) => `${item.id}@${item.v}`)).toEqual(['c@1', 'a@2']);
            const continuation = read.continuationToken;
            // Changes after the continuation, the last one acknowledged just before the kill.
            await container.items.upsert<Item>({ id: 'c', pk: 'p1', v: 2 });
            await container.items.create<Item>({ id: 'd', pk: 'p2', v: 1 });
            await container.items.bulk([{ operationType: 'Create', resourceBody: { id: 'e', pk: 'p2', v: 1 } }]);
            const definition = (await container.read()).resource;
            const documents = (await container.items.readAll<Item>().fetchAll()).resources;
            client.dispose();
            first.child.kill('SIGKILL');
            expect(await first.exited).toBe('SIGKILL');

            const second = await startChild(folder);
            // The first start's CA still verifies the restarted server: kept, not regenerated.
            expect(second.ca).toBe(first.ca);
            const after = createLocalCosmosClient(second.connectionString, { ca: first.ca });
            try {
                const reopened = after.database('db').container('items');
                expect((await reopened.read()).resource).toEqual(definition);
                expect((await reopened.items.readAll<Item>().fetchAll()).resources).toEqual(documents);
                const resumed = reopened.items.getChangeFeedIterator<Item>({
                    changeFeedStartFrom: ChangeFeedStartFrom.Continuation(continuation),
                });
                const changes = await resumed.readNext();
                expect(changes.result.map((item) => `${item.id}@${item.v}`)).toEqual(['c@2', 'd@1', 'e@1']);
                expect(changes.result).toEqual(documents.filter((item) => item.id !== 'a'));
                expect((await resumed.readNext()).statusCode).toBe(304);
                // A write after the restart follows every change given out before it, and the resumed feed sees it once.
                const { resource: next } = await reopened.items.create<Item>({ id: 'f', pk: 'p1', v: 1 });
                expect(lsnOf(next)).toBeGreaterThan(Math.max(...documents.map(lsnOf)));
                expect((await resumed.readNext()).result.map((item) => item.id)).toEqual(['f']);
            } finally {
                after.dispose();
            }
        },
    );
});
