/**
 * How long one save of Azurite's blob metadata takes as the blobs held grow: LokiJS's serialize of the whole database
 * (on Azurite's only thread) and its file adapter's write (a temporary file, then rename), the two steps of each
 * autosave. The blobs are created through Azurite's own LokiBlobMetadataStore.createBlob, each the document Azurite's
 * Put Blob handler builds for a raw-names upload, in a Node process started with the preload as Azurite is (so with
 * its indices). Each size is saved 3 times and the median printed. Run with
 * `npx tsx bench/azuriteMetadataSave.bench.ts [10000,50000,100000,300000]`; the file is on os.tmpdir()'s disk.
 * It feeds the autosave spacing of fix 9 in local/runtime/azuriteLookupPreload.js (docs/local-runtime.md).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const counts = process.argv[2] ?? '10000,50000,100000,300000';

const script = `
    const crypto = require('crypto');
    const fs = require('fs');
    const os = require('os');
    const path = require('path');
    const Store = require('azurite/dist/src/blob/persistence/LokiBlobMetadataStore').default;
    (async () => {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'namestream-save-'));
        const store = new Store(path.join(directory, '__azurite_db_blob__.json'), false);
        await store.init();
        store.db.autosaveDisable();
        const context = { contextId: 'bench', startTime: new Date() };
        const container = { accountName: 'devstoreaccount1', name: 'raw-names', properties: { etag: '"0x1"', lastModified: new Date(), leaseStatus: 'unlocked', leaseState: 'available' } };
        await store.createContainer(context, container);
        let made = 0;
        const results = [];
        for (const target of process.env.COUNTS.split(',').map(Number)) {
            for (; made < target; made++) {
                const date = new Date();
                // The shape of BlockBlobHandler.upload's document for a 58-byte JSON blob.
                await store.createBlob(context, {
                    deleted: false, metadata: undefined, accountName: 'devstoreaccount1', containerName: 'raw-names',
                    name: crypto.randomUUID() + '.json',
                    properties: {
                        creationTime: date, lastModified: date, etag: '"0x' + crypto.randomBytes(7).toString('hex').toUpperCase() + '"',
                        contentLength: 58, contentType: 'application/json', contentEncoding: undefined, contentLanguage: undefined,
                        contentMD5: crypto.createHash('md5').update(String(made)).digest(), contentDisposition: undefined,
                        cacheControl: undefined, blobType: 'BlockBlob', leaseStatus: 'unlocked', leaseState: 'available',
                        serverEncrypted: true, accessTier: 'Hot', accessTierInferred: true, accessTierChangeTime: date,
                    },
                    snapshot: '', isCommitted: true,
                    persistency: { id: crypto.randomUUID(), offset: (made % 1000) * 58, count: 58, locationId: 'Default' },
                    blobTags: undefined,
                });
            }
            const runs = [];
            for (let i = 0; i < 3; i++) {
                const started = performance.now();
                const text = store.db.serialize();
                const serialized = performance.now();
                await new Promise((resolve, reject) =>
                    store.db.persistenceAdapter.saveDatabase(store.db.filename, text, (error) => (error ? reject(error) : resolve())));
                const written = performance.now();
                runs.push({ blobs: target, serializeMs: serialized - started, writeMs: written - serialized, saveMs: written - started, megabytes: Buffer.byteLength(text) / 1e6 });
            }
            results.push(runs.sort((a, b) => a.saveMs - b.saveMs)[1]);
        }
        fs.rmSync(directory, { recursive: true });
        console.log(JSON.stringify(results));
    })();`;

const preload = path.resolve(__dirname, '../local/runtime/azuriteLookupPreload.js');
const output = execFileSync(process.execPath, ['--require', preload, '-e', script], {
    cwd: path.dirname(require.resolve('azurite/package.json')),
    encoding: 'utf8',
    env: { ...process.env, COUNTS: counts },
    maxBuffer: 1 << 20,
});
const rows = (
    JSON.parse(output) as { blobs: number; serializeMs: number; writeMs: number; saveMs: number; megabytes: number }[]
).map((row) => ({
    blobs: row.blobs,
    'serialize ms': Math.round(row.serializeMs),
    'write ms': Math.round(row.writeMs),
    'save ms': Math.round(row.saveMs),
    MB: Math.round(row.megabytes),
    'autosave spacing s (fix 9)': Math.max(5, (19 * row.saveMs) / 1000).toFixed(1),
}));
console.table(rows);
console.log(
    `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, node ${process.version}, ` +
        `${os.platform()} ${os.release()}, load average ${os.loadavg()[0]!.toFixed(1)}, file on ${os.tmpdir()}`,
);
