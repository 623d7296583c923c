/**
 * The state store's commit rate by fsync policy, side by side in one run: one record per transaction (a broker
 * settling messages one by one) and 100 records per transaction (a batch), with synchronous NORMAL (the default)
 * and FULL. Run with `npm run bench:state [-- commits]`; the folder is a temporary one on os.tmpdir()'s disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { z } from 'zod';

import { StateStore, type SynchronousLevel } from '../local/state';

const commits = Number(process.argv[2] ?? 2000);
const record = z.object({ sequenceNumber: z.number(), body: z.string() });
const body = JSON.stringify({ names: ['Ada Lovelace', 'Émile Zola', 'Grace Hopper', 'Alan Turing'] });

function measure(synchronous: SynchronousLevel, recordsPerCommit: number): number {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'state-bench-'));
    try {
        const store = StateStore.open({ directory, synchronous });
        const table = store.records('bench', record);
        let sequenceNumber = 0;
        const start = performance.now();
        for (let commit = 0; commit < commits; commit++) {
            store.transaction(() => {
                for (let i = 0; i < recordsPerCommit; i++) {
                    sequenceNumber += 1;
                    table.put(String(sequenceNumber), { sequenceNumber, body });
                }
            });
        }
        const elapsedMs = performance.now() - start;
        store.close();
        return (commits / elapsedMs) * 1000;
    } finally {
        rmSync(directory, { recursive: true, force: true });
    }
}

const rows: Array<{ case: string; NORMAL: string; FULL: string; ratio: string }> = [];
for (const recordsPerCommit of [1, 100]) {
    const normal = measure('NORMAL', recordsPerCommit);
    const full = measure('FULL', recordsPerCommit);
    const perSecond = (rate: number) =>
        `${Math.round(rate).toLocaleString('en-US')} commits/s (${Math.round(rate * recordsPerCommit).toLocaleString('en-US')} records/s)`;
    rows.push({
        case: `${recordsPerCommit} record(s) per commit, ${commits} commits`,
        NORMAL: perSecond(normal),
        FULL: perSecond(full),
        ratio: `NORMAL/FULL ${(normal / full).toFixed(1)}`,
    });
}
console.table(rows);
console.log(
    `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, node ${process.version}, ` +
        `${os.platform()} ${os.release()}, load average ${os.loadavg()[0]!.toFixed(1)}, folder on ${os.tmpdir()}`,
);
