/**
 * The local Cosmos DB's query cost as documents accumulate, before and after installLinearQueries, in one run.
 * Part 1 runs cosmosdb-server's SQL engine directly (no HTTP) on the TTL sweep's query shape over letter-count-like
 * documents, first unpatched (O(n²): stopped at 20,000 documents), then patched. Part 2 fills the real in-process server
 * through the official @azure/cosmos client (one partition key value per 27 documents, as the pipeline writes) and
 * times, per size, the old sweep (every item), the new sweep (expired items only; none are) and the dashboard backfill
 * (recentWindows.ts). Run with `npx tsx bench/cosmosQuery.bench.ts [sizes...]` (default 5000 20000 100000).
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

import { RECENT_LETTER_COUNTS_QUERY } from '../domain/letterCounts/recentWindows';
import { createLocalCosmosClient, startLocalCosmos } from '../local/cosmos';
import { installLinearQueries } from '../local/cosmos/linearQueries';
import { expiredItemsQuery } from '../local/cosmos/ttlSweeper';

const sizes = process.argv.slice(2).map(Number);
if (sizes.length === 0) sizes.push(5_000, 20_000, 100_000);
const UNPATCHED_LIMIT = 20_000;
const TTL = 604_800;

const compile = (
    createRequire(require.resolve('@vercel/cosmosdb-server'))('@zeit/cosmosdb-query') as {
        default: (sql: string) => { exec(rows: unknown[], options: { parameters?: unknown }): { result: unknown[] } };
    }
).default;

function letterCount(n: number, ts: number): Record<string, unknown> {
    const window = Math.floor(n / 27);
    return {
        id: `${window}-${n % 27}`,
        windowEnd: `2026-11-30T${String(window).padStart(7, '0')}`,
        windowStart: `2026-11-30T${String(window).padStart(7, '0')}`,
        letter: String.fromCharCode(65 + (n % 26)),
        count: n % 9,
        _ts: ts,
        _rid: `r${String(n).padStart(9, '0')}`,
        _etag: `"${n}"`,
    };
}

function engineMs(size: number): number {
    const rows = Array.from({ length: size }, (_, n) => letterCount(n, 1_700_000_000));
    const { query, parameters } = expiredItemsQuery(TTL, '/windowEnd', 1_700_000_000);
    const start = performance.now();
    compile(query).exec(rows, { parameters });
    return performance.now() - start;
}

async function timed<T>(run: () => Promise<T>): Promise<[number, T]> {
    const start = performance.now();
    const result = await run();
    return [performance.now() - start, result];
}

async function main(): Promise<void> {
    const load = () => os.loadavg()[0]!.toFixed(1);
    engineMs(100); // compiles the query (parser, code generation) outside the timings
    const engine = sizes.map((size) => ({
        documents: size,
        'unpatched ms': size <= UNPATCHED_LIMIT ? Math.round(engineMs(size)) : 'not run (quadratic)',
        load: load(),
    }));
    installLinearQueries();
    engine.forEach((row) =>
        Object.assign(row, {
            // Best of 3: the unpatched runs leave gigabytes of garbage that the first timing would collect.
            'linear ms (best of 3)': Math.round(Math.min(...[0, 1, 2].map(() => engineMs(row.documents)))),
            load: load(),
        }),
    );
    console.log('SQL engine alone, the sweep query (0 rows match):');
    console.table(engine);

    const cosmos = await startLocalCosmos({ port: 0 });
    const client = createLocalCosmosClient(cosmos.connectionString, { ca: cosmos.ca });
    const server = [];
    try {
        const { database } = await client.databases.create({ id: 'bench' });
        const { container } = await database.containers.create({
            id: 'letter-counts',
            partitionKey: { paths: ['/windowEnd'] },
            defaultTtl: TTL,
        });
        // Warm-up on the empty container: the server compiles each query text once (an LRU of 100).
        await container.items.query(expiredItemsQuery(TTL, '/windowEnd', 0)).fetchAll();
        await container.items.query(RECENT_LETTER_COUNTS_QUERY).fetchAll();
        let written = 0;
        for (const size of [...sizes].sort((a, b) => a - b)) {
            while (written < size) {
                const batch = [];
                for (let i = 0; i < 54 && written < size; i++, written++) {
                    const { _ts, _rid, _etag, ...body } = letterCount(written, 0);
                    batch.push(container.items.create(body));
                }
                await Promise.all(batch);
            }
            const nowSeconds = Date.now() / 1000;
            const [oldSweep, all] = await timed(() =>
                container.items
                    .query('SELECT c.id, c._ts, c._etag, c.ttl, c["windowEnd"] AS partitionKeyValue FROM c')
                    .fetchAll(),
            );
            const [newSweep, expired] = await timed(() =>
                container.items.query(expiredItemsQuery(TTL, '/windowEnd', nowSeconds)).fetchAll(),
            );
            const [backfill, recent] = await timed(() => container.items.query(RECENT_LETTER_COUNTS_QUERY).fetchAll());
            server.push({
                documents: size,
                'old sweep (all items) ms': `${Math.round(oldSweep)} (${all.resources.length} rows)`,
                'new sweep (expired only) ms': `${Math.round(newSweep)} (${expired.resources.length} rows)`,
                'dashboard backfill ms': `${Math.round(backfill)} (${recent.resources.length} rows)`,
                load: load(),
            });
        }
    } finally {
        client.dispose();
        await cosmos.close();
    }
    console.log('Real server through @azure/cosmos, linear queries installed:');
    console.table(server);
    console.log(
        `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, node ${process.version}, ` +
            `${os.platform()} ${os.release()}, load average ${os
                .loadavg()
                .map((v) => v.toFixed(1))
                .join(' ')}`,
    );
}

void main();
