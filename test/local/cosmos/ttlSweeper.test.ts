import { createRequire } from 'node:module';

import type { CosmosClient } from '@azure/cosmos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Clock } from '../../../domain/clock';
import { startChangeFeedProcessor } from '../../../local/cosmos/changeFeed/changeFeedProcessor';
import type { ChangedDocument } from '../../../local/cosmos/changeFeed/changeFeedReader';
import { ensureCosmosResources } from '../../../local/cosmos/cosmosResources';
import { createLocalCosmosClient } from '../../../local/cosmos/localCosmosClient';
import type { LocalCosmos } from '../../../local/cosmos/localCosmosServer';
import { startLocalCosmos } from '../../../local/cosmos/localCosmosServer';
import { effectiveTtlSeconds, expiredItemsQuery, startTtlSweeper } from '../../../local/cosmos/ttlSweeper';

const DATABASE = 'namestream';

class ManualClock implements Clock {
    constructor(private instant: Date) {}
    now(): Date {
        return new Date(this.instant);
    }
    set(instant: Date): void {
        this.instant = instant;
    }
}

describe('effectiveTtlSeconds', () => {
    it('follows Azure: no container TTL means nothing expires, even with an item ttl', () => {
        expect(effectiveTtlSeconds(undefined, 10)).toBeUndefined();
        expect(effectiveTtlSeconds(null, 10)).toBeUndefined();
    });

    it('uses the container default, and -1 means never', () => {
        expect(effectiveTtlSeconds(60, undefined)).toBe(60);
        expect(effectiveTtlSeconds(-1, undefined)).toBeUndefined();
    });

    it('lets a positive item ttl or -1 override the container default, and ignores other values', () => {
        expect(effectiveTtlSeconds(60, 5)).toBe(5);
        expect(effectiveTtlSeconds(-1, 5)).toBe(5);
        expect(effectiveTtlSeconds(60, -1)).toBeUndefined();
        expect(effectiveTtlSeconds(60, 0)).toBe(60);
        expect(effectiveTtlSeconds(60, '5')).toBe(60);
    });
});

describe('expiredItemsQuery', () => {
    // The SQL engine cosmosdb-server runs queries with, loaded from the server's folder as the server loads it.
    const compile = createRequire(require.resolve('@vercel/cosmosdb-server'))('@zeit/cosmosdb-query').default as (
        sql: string,
    ) => { exec(rows: unknown[], options: { parameters?: unknown }): { result: { id: string }[] } };
    const ttls: unknown[] = [undefined, null, -1, 0, -5, 1, 30, 59, 60, 61, 3600, 'x', true];
    const items = ttls.flatMap((ttl, i) =>
        [940, 1000].map((ts) => ({
            id: `${i}@${ts}`,
            _ts: ts,
            _rid: `${i}-${ts}`,
            pk: 'p',
            ...(ttl === undefined ? {} : { ttl }),
        })),
    );

    it.each([60, -1])(
        'selects exactly the items effectiveTtlSeconds expires (container defaultTtl %s)',
        (defaultTtl) => {
            for (const now of [1000, 1000.5, 1030, 1060, 1061, 5000]) {
                const { query, parameters } = expiredItemsQuery(defaultTtl, '/pk', now);
                const selected = compile(query)
                    .exec(items, { parameters })
                    .result.map((row) => row.id);
                const expired = items
                    .filter((item) => {
                        const ttl = effectiveTtlSeconds(defaultTtl, item.ttl);
                        return ttl !== undefined && item._ts + ttl <= now;
                    })
                    .map((item) => item.id);
                expect({ now, selected: selected.sort() }).toEqual({ now, selected: expired.sort() });
            }
        },
    );
});

describe('startTtlSweeper', () => {
    let cosmos: LocalCosmos;
    let client: CosmosClient;

    beforeAll(async () => {
        cosmos = await startLocalCosmos({ port: 0 });
        client = createLocalCosmosClient(cosmos.connectionString, { ca: cosmos.ca });
        await ensureCosmosResources(client, {
            databaseName: DATABASE,
            containers: [
                { id: 'letter-counts', partitionKeyPath: '/windowEnd', defaultTtlSeconds: 60 },
                { id: 'opt-in', partitionKeyPath: '/windowEnd', defaultTtlSeconds: -1 },
                { id: 'no-ttl', partitionKeyPath: '/windowEnd' },
                { id: 'leases', partitionKeyPath: '/id' },
            ],
        });
    });

    afterAll(async () => {
        client.dispose();
        await cosmos.close();
    });

    /**
     * Writes the items and returns their common `_ts`. The server stamps `_ts` in whole seconds, so a seed that
     * straddles a second boundary is written again: the tests' expiry instants assume one `_ts` for all items.
     */
    async function seed(containerName: string, items: { id: string; ttl?: number }[]): Promise<number> {
        const container = client.database(DATABASE).container(containerName);
        for (let attempt = 0; attempt < 5; attempt++) {
            const stamps = new Set<number>();
            for (const item of items) {
                const { resource } = await container.items.upsert({ ...item, windowEnd: `w-${item.id}` });
                stamps.add(resource!._ts);
            }
            if (stamps.size === 1) {
                return [...stamps][0]!;
            }
        }
        throw new Error('could not write the seed items within one second');
    }

    async function remainingIds(containerName: string): Promise<string[]> {
        const { resources } = await client
            .database(DATABASE)
            .container(containerName)
            .items.query<{ id: string }>('SELECT c.id FROM c ORDER BY c.id')
            .fetchAll();
        return resources.map((item) => item.id);
    }

    it('deletes items whose _ts + ttl has passed and keeps the others', async () => {
        const ts = await seed('letter-counts', [
            { id: 'default' },
            { id: 'short', ttl: 5 },
            { id: 'forever', ttl: -1 },
            { id: 'long', ttl: 600 },
        ]);
        const clock = new ManualClock(new Date(ts * 1000));
        const sweeper = startTtlSweeper({
            client,
            databaseName: DATABASE,
            containerName: 'letter-counts',
            intervalMs: 60_000,
            clock,
        });
        try {
            expect(await sweeper.sweepOnce()).toEqual([]);
            clock.set(new Date((ts + 5) * 1000));
            expect(await sweeper.sweepOnce()).toEqual(['short']);
            clock.set(new Date((ts + 59) * 1000));
            expect(await sweeper.sweepOnce()).toEqual([]);
            clock.set(new Date((ts + 60) * 1000));
            expect(await sweeper.sweepOnce()).toEqual(['default']);
            clock.set(new Date((ts + 100_000) * 1000));
            expect(await sweeper.sweepOnce()).toEqual(['long']);
            expect(await remainingIds('letter-counts')).toEqual(['forever']);
        } finally {
            await sweeper.stop();
        }
    });

    it('with defaultTtl -1 expires only items that carry their own ttl', async () => {
        const ts = await seed('opt-in', [{ id: 'plain' }, { id: 'expiring', ttl: 1 }]);
        const sweeper = startTtlSweeper({
            client,
            databaseName: DATABASE,
            containerName: 'opt-in',
            intervalMs: 60_000,
            clock: new ManualClock(new Date((ts + 3600) * 1000)),
        });
        try {
            expect(await sweeper.sweepOnce()).toEqual(['expiring']);
            expect(await remainingIds('opt-in')).toEqual(['plain']);
        } finally {
            await sweeper.stop();
        }
    });

    it('leaves a container without TTL alone, even items with a ttl', async () => {
        const ts = await seed('no-ttl', [{ id: 'plain' }, { id: 'with-ttl', ttl: 1 }]);
        const sweeper = startTtlSweeper({
            client,
            databaseName: DATABASE,
            containerName: 'no-ttl',
            intervalMs: 60_000,
            clock: new ManualClock(new Date((ts + 3600) * 1000)),
        });
        try {
            expect(await sweeper.sweepOnce()).toEqual([]);
            expect(await remainingIds('no-ttl')).toEqual(['plain', 'with-ttl']);
        } finally {
            await sweeper.stop();
        }
    });

    it('sweeps on its interval, and its deletions never reach the change feed', async () => {
        const container = client.database(DATABASE).container('letter-counts');
        const batches: ChangedDocument[][] = [];
        const processor = await startChangeFeedProcessor({
            client,
            databaseName: DATABASE,
            containerName: 'letter-counts',
            instanceName: 'ttl-test',
            feedPollDelayMs: 10,
            clock: new ManualClock(new Date()),
            handler: (documents) => {
                batches.push(documents);
                return Promise.resolve();
            },
        });
        const { resource } = await container.items.upsert({ id: 'doomed', windowEnd: 'w-doomed', ttl: 1 });
        const sweeper = startTtlSweeper({
            client,
            databaseName: DATABASE,
            containerName: 'letter-counts',
            intervalMs: 10,
            clock: new ManualClock(new Date((resource!._ts + 1) * 1000)),
        });
        try {
            for (let i = 0; i < 500 && (await remainingIds('letter-counts')).includes('doomed'); i += 1) {
                await new Promise((resolve) => setTimeout(resolve, 10));
            }
            expect(await remainingIds('letter-counts')).not.toContain('doomed');
            await container.items.upsert({ id: 'marker', windowEnd: 'w-marker' });
            for (let i = 0; i < 500 && batches.flat().every((d) => d.id !== 'marker'); i += 1) {
                await new Promise((resolve) => setTimeout(resolve, 10));
            }
        } finally {
            await sweeper.stop();
            await processor.stop();
        }
        expect(batches.map((batch) => batch.map((d) => d.id))).toEqual([['doomed'], ['marker']]);
    });

    it('rejects a non-positive interval', () => {
        expect(() =>
            startTtlSweeper({
                client,
                databaseName: DATABASE,
                containerName: 'no-ttl',
                intervalMs: 0,
                clock: new ManualClock(new Date()),
            }),
        ).toThrow('Invalid option "intervalMs": must be a positive number (got 0)');
    });
});
