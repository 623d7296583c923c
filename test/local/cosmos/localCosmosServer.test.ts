import https from 'node:https';

import { CosmosClient } from '@azure/cosmos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureCosmosResources } from '../../../local/cosmos/cosmosResources';
import { EMULATOR_ACCOUNT_KEY } from '../../../local/cosmos/emulatorAccount';
import { generateLocalCertificates } from '../../../local/cosmos/localCertificates';
import { createLocalCosmosClient } from '../../../local/cosmos/localCosmosClient';
import type { LocalCosmos } from '../../../local/cosmos/localCosmosServer';
import { startLocalCosmos } from '../../../local/cosmos/localCosmosServer';

const DATABASE = 'namestream';
const CONTAINER = 'letter-counts';

interface LetterCountDoc {
    id: string;
    windowEnd: string;
    letter: string;
    count: number;
}

function doc(windowSeconds: number, letter: string, count: number): LetterCountDoc {
    return { id: `${windowSeconds}-${letter}`, windowEnd: new Date(windowSeconds * 1000).toISOString(), letter, count };
}

function withoutSystemProperties<T extends object>(item: T): Partial<T> {
    return Object.fromEntries(Object.entries(item).filter(([key]) => !key.startsWith('_'))) as Partial<T>;
}

describe('startLocalCosmos', () => {
    let cosmos: LocalCosmos;
    let client: CosmosClient;

    beforeAll(async () => {
        cosmos = await startLocalCosmos({ port: 0 });
        client = createLocalCosmosClient(cosmos.connectionString, { ca: cosmos.ca });
        await ensureCosmosResources(client, {
            databaseName: DATABASE,
            containers: [{ id: CONTAINER, partitionKeyPath: '/windowEnd' }],
        });
    });

    afterAll(async () => {
        client.dispose();
        await cosmos.close();
    });

    it('serves TLS on an ephemeral loopback port with the emulator key and a matching connection string', () => {
        expect(cosmos.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
        expect(cosmos.endpoint).not.toBe('https://127.0.0.1:0/');
        expect(cosmos.key).toBe(EMULATOR_ACCOUNT_KEY);
        expect(cosmos.connectionString).toBe(`AccountEndpoint=${cosmos.endpoint};AccountKey=${EMULATOR_ACCOUNT_KEY};`);
        expect(cosmos.ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    });

    it('advertises its own endpoint for endpoint discovery', async () => {
        const { resource } = await client.getDatabaseAccount();
        expect(resource?.writableLocations).toEqual([
            { name: 'South Central US', databaseAccountEndpoint: cosmos.endpoint },
        ]);
        expect(resource?.readableLocations).toEqual([
            { name: 'South Central US', databaseAccountEndpoint: cosmos.endpoint },
        ]);
        expect(await client.getWriteEndpoint()).toBe(cosmos.endpoint);
    });

    it('is refused by a client with the default trust store', async () => {
        const untrusting = new CosmosClient({ endpoint: cosmos.endpoint, key: cosmos.key, agent: new https.Agent() });
        try {
            await expect(untrusting.databases.readAll().fetchAll()).rejects.toMatchObject({
                code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
            });
        } finally {
            untrusting.dispose();
        }
    });

    it('is refused by a client that trusts a different local CA', async () => {
        const other = await generateLocalCertificates(new Date());
        const mistrusting = createLocalCosmosClient(cosmos.connectionString, { ca: other.caPem });
        try {
            await expect(mistrusting.databases.readAll().fetchAll()).rejects.toMatchObject({
                code: 'CERT_SIGNATURE_FAILURE',
            });
        } finally {
            mistrusting.dispose();
        }
    });

    it('does not change the process-wide TLS settings', () => {
        expect(process.env.NODE_TLS_REJECT_UNAUTHORIZED).toBeUndefined();
        expect(https.globalAgent.options.ca).toBeUndefined();
    });

    it('creates, reads, upserts, replaces and deletes documents', async () => {
        const container = client.database(DATABASE).container(CONTAINER);
        const created = doc(1_000_000_020, 'Q', 1);
        await container.items.create(created);
        await container.items.upsert({ ...created, count: 2 });
        const { resource: afterUpsert } = await container.item(created.id, created.windowEnd).read<LetterCountDoc>();
        expect(withoutSystemProperties(afterUpsert!)).toEqual({ ...created, count: 2 });
        await container.item(created.id, created.windowEnd).replace({ ...created, count: 3 });
        const { resource: afterReplace } = await container.item(created.id, created.windowEnd).read<LetterCountDoc>();
        expect(withoutSystemProperties(afterReplace!)).toEqual({ ...created, count: 3 });
        await container.item(created.id, created.windowEnd).delete();
        const { statusCode } = await container.item(created.id, created.windowEnd).read();
        expect(statusCode).toBe(404);
    });

    it('rejects a second create of the same id with 409', async () => {
        const container = client.database(DATABASE).container(CONTAINER);
        const item = doc(1_000_000_050, 'R', 1);
        await container.items.create(item);
        await expect(container.items.create(item)).rejects.toMatchObject({ code: 409 });
        await container.item(item.id, item.windowEnd).delete();
    });

    it('answers the dashboard query SELECT TOP 1560 * FROM c ORDER BY c.windowEnd DESC across partitions', async () => {
        const container = client.database(DATABASE).container(CONTAINER);
        const written = [doc(1_700_000_010, 'A', 4), doc(1_700_000_040, 'B', 2), doc(1_700_000_070, 'A', 9)];
        for (const item of [written[1]!, written[2]!, written[0]!]) await container.items.upsert(item);
        const { resources } = await container.items
            .query<LetterCountDoc>('SELECT TOP 1560 * FROM c ORDER BY c.windowEnd DESC')
            .fetchAll();
        expect(resources.map(withoutSystemProperties)).toEqual([written[2], written[1], written[0]]);
        const { resources: top2 } = await container.items
            .query<LetterCountDoc>('SELECT TOP 2 * FROM c ORDER BY c.windowEnd DESC')
            .fetchAll();
        expect(top2.map((item) => item.id)).toEqual([written[2]!.id, written[1]!.id]);
        for (const item of written) await container.item(item.id, item.windowEnd).delete();
    });

    it('answers parameterized queries', async () => {
        const container = client.database(DATABASE).container(CONTAINER);
        const written = [doc(1_700_000_010, 'A', 4), doc(1_700_000_040, 'B', 2), doc(1_700_000_070, 'A', 9)];
        for (const item of written) await container.items.upsert(item);
        const { resources } = await container.items
            .query<LetterCountDoc>({
                query: 'SELECT * FROM c WHERE c.letter = @letter AND c.windowEnd >= @since ORDER BY c.windowEnd ASC',
                parameters: [
                    { name: '@letter', value: 'A' },
                    { name: '@since', value: new Date(1_700_000_000_000).toISOString() },
                ],
            })
            .fetchAll();
        expect(resources.map(withoutSystemProperties)).toEqual([written[0], written[2]]);
        for (const item of written) await container.item(item.id, item.windowEnd).delete();
    });

    it('stamps every document write with a strictly increasing _lsn', async () => {
        const container = client.database(DATABASE).container(CONTAINER);
        const item = doc(1_800_000_000, 'Z', 1);
        const { resource: created } = await container.items.create(item);
        const { resource: upserted } = await container.items.upsert({ ...item, count: 2 });
        const { resource: replaced } = await container.item(item.id, item.windowEnd).replace({ ...item, count: 3 });
        const { resource: patched } = await container
            .item(item.id, item.windowEnd)
            .patch([{ op: 'replace', path: '/count', value: 4 }]);
        const sequence = [created, upserted, replaced, patched].map((resource) => (resource as { _lsn: number })._lsn);
        expect(sequence.every((lsn, i) => i === 0 || lsn > sequence[i - 1]!)).toBe(true);
        expect(patched).toMatchObject({ count: 4, _lsn: sequence[3] });
        await container.item(item.id, item.windowEnd).delete();
    });
});
