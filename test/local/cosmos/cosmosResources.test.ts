import type { CosmosClient } from '@azure/cosmos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ensureCosmosResources } from '../../../local/cosmos/cosmosResources';
import { createLocalCosmosClient } from '../../../local/cosmos/localCosmosClient';
import type { LocalCosmos } from '../../../local/cosmos/localCosmosServer';
import { startLocalCosmos } from '../../../local/cosmos/localCosmosServer';

const resources = {
    databaseName: 'namestream',
    containers: [
        { id: 'letter-counts', partitionKeyPath: '/windowEnd', defaultTtlSeconds: 3600 },
        { id: 'leases', partitionKeyPath: '/id' },
    ],
};

describe('ensureCosmosResources', () => {
    let cosmos: LocalCosmos;
    let client: CosmosClient;

    beforeAll(async () => {
        cosmos = await startLocalCosmos({ port: 0 });
        client = createLocalCosmosClient(cosmos.connectionString, { ca: cosmos.ca });
    });

    afterAll(async () => {
        client.dispose();
        await cosmos.close();
    });

    it('creates the database and containers once and leaves existing data alone when run again', async () => {
        await ensureCosmosResources(client, resources);
        const counts = client.database('namestream').container('letter-counts');
        await counts.items.create({ id: '1-A', windowEnd: '2024-01-01T00:00:30.000Z' });
        await ensureCosmosResources(client, resources);

        const { resources: containers } = await client.database('namestream').containers.readAll().fetchAll();
        expect(
            containers
                .map((c) => ({ id: c.id, paths: c.partitionKey?.paths, defaultTtl: c.defaultTtl }))
                .sort((a, b) => a.id.localeCompare(b.id)),
        ).toEqual([
            { id: 'leases', paths: ['/id'], defaultTtl: undefined },
            { id: 'letter-counts', paths: ['/windowEnd'], defaultTtl: 3600 },
        ]);
        const { resources: items } = await counts.items.query<{ id: string }>('SELECT c.id FROM c').fetchAll();
        expect(items).toEqual([{ id: '1-A' }]);
    });

    it('refuses an existing container whose partition key differs', async () => {
        await expect(
            ensureCosmosResources(client, {
                databaseName: 'namestream',
                containers: [{ id: 'leases', partitionKeyPath: '/partitionKey' }],
            }),
        ).rejects.toThrow(
            'Invalid option "containers.leases.partitionKeyPath": the existing container is partitioned by "/id" (got "/partitionKey")',
        );
    });

    it('refuses an existing container whose TTL differs', async () => {
        await expect(
            ensureCosmosResources(client, {
                databaseName: 'namestream',
                containers: [{ id: 'letter-counts', partitionKeyPath: '/windowEnd', defaultTtlSeconds: 60 }],
            }),
        ).rejects.toThrow(
            'Invalid option "containers.letter-counts.defaultTtlSeconds": the existing container has defaultTtl 3600 (got 60)',
        );
    });
});
