/**
 * The local Cosmos DB's write rate with and without a state store, side by side in one run: upserts through the
 * official @azure/cosmos client, 26 at a time (one Stream Analytics window's letters, as the runtime's output writes
 * them), half new documents and half replacements. Durable means each write is committed to SQLite (WAL, synchronous
 * NORMAL) before its response. Run with `npx tsx bench/cosmosState.bench.ts [writes]`; the folder is on os.tmpdir().
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { COSMOS_STATE_COMPONENT, createLocalCosmosClient, startLocalCosmos } from '../local/cosmos';
import { StateStore } from '../local/state';

const writes = Number(process.argv[2] ?? 5000);
const PARALLEL = 26;

async function measure(durable: boolean): Promise<number> {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'cosmos-bench-'));
    const state = durable ? StateStore.open({ directory, components: [COSMOS_STATE_COMPONENT] }) : undefined;
    const cosmos = await startLocalCosmos({ port: 0, ...(state ? { state } : {}) });
    const client = createLocalCosmosClient(cosmos.connectionString, { ca: cosmos.ca });
    try {
        const { database } = await client.databases.create({ id: 'bench' });
        const { container } = await database.containers.create({ id: 'counts', partitionKey: { paths: ['/window'] } });
        const start = performance.now();
        for (let first = 0; first < writes; first += PARALLEL) {
            const batch = [];
            for (let i = first; i < Math.min(first + PARALLEL, writes); i++) {
                // Every id is written twice: a create, then a replacement.
                const n = Math.floor(i / 2);
                batch.push(container.items.upsert({ id: `w${n}`, window: `w${n % 100}`, letter: 'A', count: i }));
            }
            await Promise.all(batch);
        }
        return (writes / (performance.now() - start)) * 1000;
    } finally {
        client.dispose();
        await cosmos.close();
        state?.close();
        rmSync(directory, { recursive: true, force: true });
    }
}

async function main(): Promise<void> {
    // Warm-up (JIT, TLS), then each configuration twice, interleaved, so drifting load hits both alike.
    await measure(false);
    const rates = { inMemory: [] as number[], durable: [] as number[] };
    for (let round = 0; round < 2; round++) {
        rates.inMemory.push(await measure(false));
        rates.durable.push(await measure(true));
    }
    const best = (values: number[]) => Math.max(...values);
    const format = (rate: number) => `${Math.round(rate).toLocaleString('en-US')} upserts/s`;
    console.table([
        {
            case: `${writes} upserts, ${PARALLEL} in flight (best of 2)`,
            'in memory': format(best(rates.inMemory)),
            durable: format(best(rates.durable)),
            ratio: `durable/in-memory ${(best(rates.durable) / best(rates.inMemory)).toFixed(2)}`,
        },
    ]);
    console.log(
        `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, node ${process.version}, ` +
            `${os.platform()} ${os.release()}, load average ${os.loadavg()[0]!.toFixed(1)}, folder on ${os.tmpdir()}`,
    );
}

void main();
