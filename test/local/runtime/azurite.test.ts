import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';

import { AZURITE_ACCOUNT, AZURITE_KEY, azuriteArguments, startAzurite } from '../../../local/runtime/azurite';
import { findFreePort } from '../../../local/runtime/freePort';
import { waitForLeftoverProcess } from '../../../local/runtime/leftoverProcess';
import { StateCorruptError } from '../../../local/state';

describe('startAzurite', () => {
    it.each([
        ['the process that started it', false],
        // `kill -9 -<pgid>`, an IDE's stop button: Azurite is not in that group, so its lifeline still saves the blobs.
        ["that process's whole process group", true],
    ])('with a location, keeps blobs written just before %s is SIGKILLed', async (_what, wholeGroup) => {
        const location = mkdtempSync(path.join(tmpdir(), 'azurite-location-'));
        try {
            const parent = spawn(
                process.execPath,
                ['--import', 'tsx', path.join(__dirname, 'fixtures', 'azuriteParent.ts'), location],
                { stdio: ['ignore', 'pipe', 'inherit'], detached: wholeGroup },
            );
            const line = await new Promise<string>((resolve, reject) => {
                let output = '';
                parent.stdout.on('data', (chunk: Buffer) => {
                    output += chunk.toString();
                    if (output.includes('\n')) resolve(output.trim());
                });
                parent.once('exit', () => reject(new Error(`parent exited early: ${output}`)));
            });
            const started = JSON.parse(line) as { pid: number; connectionString: string };
            const container = BlobServiceClient.fromConnectionString(started.connectionString).getContainerClient(
                'raw-names',
            );
            await container.create();
            await container.getBlockBlobClient('kept.json').upload('{"kept":true}', 13);
            // Well inside Azurite's 5 s metadata autosave: only its own shutdown can have saved the blob.
            if (wholeGroup) {
                process.kill(-parent.pid!, 'SIGKILL');
            } else {
                parent.kill('SIGKILL');
            }
            // Its lifeline closed, Azurite shuts itself down instead of living on as an orphan.
            await expect(waitForLeftoverProcess(started.pid, location, { timeoutMs: 15_000 })).resolves.toBe('exited');

            const restarted = await startAzurite({ port: 0, location });
            try {
                const blob = BlobServiceClient.fromConnectionString(restarted.connectionString)
                    .getContainerClient('raw-names')
                    .getBlockBlobClient('kept.json');
                expect((await blob.downloadToBuffer()).toString()).toBe('{"kept":true}');
            } finally {
                await restarted.close();
            }
        } finally {
            rmSync(location, { recursive: true, force: true });
        }
    });

    it('refuses metadata cut short (a power loss) with a StateCorruptError naming the file, at every start', async () => {
        const location = mkdtempSync(path.join(tmpdir(), 'azurite-torn-'));
        try {
            const first = await startAzurite({ port: 0, location });
            const container = BlobServiceClient.fromConnectionString(first.connectionString).getContainerClient('torn');
            await container.create();
            await container.getBlockBlobClient('a.json').upload('{}', 2);
            await first.close();
            const metadata = path.join(location, '__azurite_db_blob__.json');
            truncateSync(metadata, Math.floor(statSync(metadata).size / 2));
            for (let attempt = 0; attempt < 2; attempt += 1) {
                const refused = await startAzurite({ port: 0, location }).then(
                    async (azurite) => {
                        await azurite.close();
                        return undefined;
                    },
                    (error: unknown) => error,
                );
                expect(refused).toBeInstanceOf(StateCorruptError);
                expect((refused as StateCorruptError).file).toBe(metadata);
                expect((refused as Error).message).toMatch(
                    /is damaged and was not used: Azurite cannot read its metadata \(.*JSON.*\)\. Move it aside/,
                );
            }
        } finally {
            rmSync(location, { recursive: true, force: true });
        }
    }, 60_000);

    it("with extentGc, gives deleted blobs' extent files back within seconds instead of Azurite's 10 minutes", async () => {
        const location = mkdtempSync(path.join(tmpdir(), 'azurite-extent-gc-'));
        const extents = () =>
            readdirSync(path.join(location, '__blobstorage__')).map((name) =>
                statSync(path.join(location, '__blobstorage__', name)),
            );
        const azurite = await startAzurite({
            port: 0,
            location,
            extentGc: { gcIntervalMs: 200, gcProtectMs: 500, maxExtentBytes: 4096 },
        });
        try {
            const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
                'raw-names',
            );
            await container.create();
            const body = 'x'.repeat(1000);
            for (let index = 0; index < 40; index++) {
                await container.getBlockBlobClient(`${String(index).padStart(2, '0')}.json`).upload(body, 1000);
            }
            // 1000-byte blobs appended sequentially: an extent takes five (it closes at 4096 bytes or more).
            expect(extents().length).toBeGreaterThanOrEqual(8);
            for (let index = 0; index < 39; index++) {
                await container.deleteBlob(`${String(index).padStart(2, '0')}.json`);
            }
            for (let tries = 0; tries < 100 && extents().length > 1; tries++) {
                await sleep(100);
            }
            // Left: the extent holding 39.json, which is also the one still being appended to.
            expect(extents().map((extent) => extent.size)).toEqual([5000]);
            expect((await container.getBlockBlobClient('39.json').downloadToBuffer()).toString()).toBe(body);
        } finally {
            await azurite.close();
            rmSync(location, { recursive: true, force: true });
        }
    }, 30_000);

    it('refuses an extentGc value that is not a positive integer, quoting it', async () => {
        await expect(
            startAzurite({ port: 0, extentGc: { gcIntervalMs: 0, gcProtectMs: 500, maxExtentBytes: 4096 } }),
        ).rejects.toThrow(new RangeError('Azurite extentGc.gcIntervalMs must be a positive integer (got 0)'));
    });

    it('runs the real Blob service on a free loopback port, in memory, until closed', async () => {
        const azurite = await startAzurite({ port: 0 });
        try {
            expect(azurite.blobEndpoint).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${AZURITE_ACCOUNT}$`));
            expect(azurite.connectionString).toContain(`BlobEndpoint=${azurite.blobEndpoint};`);
            const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
                'raw-names',
            );
            await container.create();
            await container.getBlockBlobClient('a.json').upload('{}', 2);
            expect((await container.getBlockBlobClient('a.json').downloadToBuffer()).toString()).toBe('{}');
        } finally {
            await azurite.close();
        }
        await expect(fetch(azurite.blobEndpoint)).rejects.toThrow('fetch failed');
        await azurite.close();
    });

    it('keeps blob semantics with the preload: overwrite, read, list, snapshots, deletes and same names in two containers', async () => {
        const azurite = await startAzurite({ port: 0 });
        try {
            const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
            const first = service.getContainerClient('raw-names');
            const second = service.getContainerClient('other');
            await first.create();
            await second.create();
            for (const name of ['a.json', 'b.json', 'c.json']) {
                await first.getBlockBlobClient(name).upload(`first ${name}`, `first ${name}`.length);
                await second.getBlockBlobClient(name).upload(`second ${name}`, `second ${name}`.length);
            }
            await first.getBlockBlobClient('b.json').upload('rewritten', 9);
            expect((await first.getBlockBlobClient('b.json').downloadToBuffer()).toString()).toBe('rewritten');
            expect((await second.getBlockBlobClient('b.json').downloadToBuffer()).toString()).toBe('second b.json');
            const names: string[] = [];
            for await (const blob of first.listBlobsFlat()) {
                names.push(blob.name);
            }
            expect(names).toEqual(['a.json', 'b.json', 'c.json']);
            await expect(first.getBlockBlobClient('missing.json').downloadToBuffer()).rejects.toMatchObject({
                statusCode: 404,
            });
            // Snapshots, deletes, prefix listing and deleting a container with blobs of the same names.
            const { snapshot } = await first.getBlockBlobClient('a.json').createSnapshot();
            await first.getBlockBlobClient('a.json').upload('after snapshot', 14);
            await first.getBlockBlobClient('c.json').delete();
            await first.getBlockBlobClient('ab.json').upload('ab', 2);
            await second.delete();
            const containers: string[] = [];
            for await (const container of service.listContainers()) {
                containers.push(container.name);
            }
            const list = async (prefix?: string) => {
                const listed: string[] = [];
                for await (const blob of first.listBlobsFlat({
                    ...(prefix ? { prefix } : {}),
                    includeSnapshots: true,
                })) {
                    listed.push(blob.snapshot ? `${blob.name}@snapshot` : blob.name);
                }
                return listed;
            };
            expect({
                listed: await list(),
                listedWithPrefix: await list('a'),
                snapshotContent: (
                    await first.getBlockBlobClient('a.json').withSnapshot(snapshot!).downloadToBuffer()
                ).toString(),
                current: (await first.getBlockBlobClient('a.json').downloadToBuffer()).toString(),
                containers,
            }).toEqual({
                // Azurite's order (the base blob before its snapshot), the same with and without the preload.
                listed: ['a.json', 'a.json@snapshot', 'ab.json', 'b.json'],
                listedWithPrefix: ['a.json', 'a.json@snapshot', 'ab.json'],
                snapshotContent: 'first a.json',
                current: 'after snapshot',
                containers: ['raw-names'],
            });
            await expect(second.getBlockBlobClient('a.json').downloadToBuffer()).rejects.toMatchObject({
                statusCode: 404,
            });

            // A blob's snapshots list oldest first, then the blob, as in Azure, also after the blob is updated.
            const snapshots = service.getContainerClient('snapshots');
            await snapshots.create();
            const blob = snapshots.getBlockBlobClient('s.json');
            await blob.upload('base', 4);
            const taken: string[] = [];
            for (let i = 0; i < 3; i++) {
                taken.push((await blob.createSnapshot()).snapshot!);
            }
            await blob.setMetadata({ updated: 'yes' });
            const order: string[] = [];
            for await (const item of snapshots.listBlobsFlat({ includeSnapshots: true })) {
                order.push(item.snapshot ? `snapshot ${taken.indexOf(item.snapshot)}` : 'blob');
            }
            expect(order).toEqual(['snapshot 0', 'snapshot 1', 'snapshot 2', 'blob']);
        } finally {
            await azurite.close();
        }
    });

    it("matches Azurite's dispatch templates exactly as uri-templates does, compiling each template once", () => {
        // The unpatched module is reached by its file path, which the preload leaves alone.
        const script = `
            const UriTemplate = require('uri-templates');
            const Original = require(require.resolve('uri-templates'));
            const specifications = require('azurite/dist/src/blob/generated/artifacts/specifications').default;
            const templates = [...new Set(Object.values(specifications).map((spec) =>
                spec.path ? (spec.path.startsWith('/') ? spec.path : '/' + spec.path) : '/'))];
            const paths = ['/', '/container', '/container/blob', '/raw-names/a%20b.json', '/$logs', ''];
            const results = [];
            for (let round = 0; round < 2; round++) {
                for (const template of templates) {
                    for (const uri of paths) {
                        for (const options of [{ strict: true }, undefined]) {
                            results.push([
                                JSON.stringify(UriTemplate(template).fromUri(uri, options)),
                                JSON.stringify(new Original(template).fromUri(uri, options)),
                            ]);
                        }
                    }
                }
            }
            console.log(JSON.stringify({
                templates: templates.length,
                compiledOnce: UriTemplate('/{containerName}') === UriTemplate('/{containerName}'),
                matches: results.filter(([patched]) => patched !== undefined && patched !== 'undefined').length,
                differences: results.filter(([patched, original]) => patched !== original),
            }));`;
        const report = JSON.parse(runWithPreload(script)) as {
            templates: number;
            compiledOnce: boolean;
            matches: number;
            differences: unknown[];
        };
        expect(report.templates).toBeGreaterThanOrEqual(3);
        expect(report.matches).toBeGreaterThan(0);
        expect({ compiledOnce: report.compiledOnce, differences: report.differences }).toEqual({
            compiledOnce: true,
            differences: [],
        });
    });

    it('dispatches every kind of request to the operation Azurite itself picks, first time and from memory', () => {
        const patched = JSON.parse(runWithPreload(DISPATCH_SCRIPT)) as { memoized: boolean; decisions: unknown[] };
        const original = JSON.parse(runWithPreload(DISPATCH_SCRIPT, false)) as typeof patched;
        expect(patched.memoized).toBe(true);
        expect(original.memoized).toBe(false);
        expect(new Set(original.decisions).size).toBeGreaterThan(40);
        expect(patched.decisions).toEqual(original.decisions);
    });

    it('drops the container and snapshot indices of the blobs collection, however the collection is reached', () => {
        const script = `
            const Loki = require('lokijs');
            const db = new Loki('memory');
            const indices = ['accountName', 'containerName', 'name', 'snapshot'];
            db.addCollection('$BLOBS_COLLECTION$', { indices });
            const blocks = db.addCollection('$BLOCKS_COLLECTION$', { indices: ['accountName', 'name'] });
            // As Azurite's --location storage loads it: the collection exists before Azurite asks for it.
            const loaded = new Loki('disk');
            loaded.loadCollection(new Loki.Collection('$BLOBS_COLLECTION$', { indices }));
            console.log(JSON.stringify({
                created: Object.keys(db.getCollection('$BLOBS_COLLECTION$').binaryIndices),
                loaded: Object.keys(loaded.getCollection('$BLOBS_COLLECTION$').binaryIndices),
                blocks: Object.keys(blocks.binaryIndices),
            }));`;
        expect(JSON.parse(runWithPreload(script))).toEqual({
            created: ['accountName', 'name'],
            loaded: ['accountName', 'name'],
            blocks: ['accountName', 'name'],
        });
    });

    it('flushes the extent files of completed uploads once per metadata save, before the metadata is written', () => {
        // The order Azurite's flush per upload kept: saved metadata names only content already on the disk. Uploads go
        // through Azurite's own FSExtentStore.appendExtent on a folder, the save through LokiJS's file adapter as
        // Azurite's autosave does; flushes, writes and renames are logged in the order they happen.
        const script = `
            const fs = require('fs');
            const os = require('os');
            const path = require('path');
            const log = [];
            const fdatasync = fs.fdatasync;
            fs.fdatasync = (fd, callback) => { log.push('flush on upload'); return fdatasync(fd, callback); };
            const open = fs.promises.open;
            fs.promises.open = async (file, flags) => {
                const handle = await open(file, flags);
                const datasync = handle.datasync.bind(handle);
                handle.datasync = () => { log.push('flush ' + path.basename(file)); return datasync(); };
                return handle;
            };
            const writeFile = fs.writeFile;
            fs.writeFile = (file, ...rest) => { log.push('write ' + path.basename(file)); return writeFile(file, ...rest); };
            const rename = fs.rename;
            fs.rename = (from, to, callback) => { log.push('rename to ' + path.basename(to)); return rename(from, to, callback); };
            const Loki = require('lokijs');
            const FSExtentStore = require('azurite/dist/src/common/persistence/FSExtentStore').default;
            const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'namestream-extent-'));
            const logger = { info() {}, debug() {}, verbose() {}, warn() {}, error() {} };
            const metadata = { updateExtent: async () => {} };
            const extents = new FSExtentStore(metadata, [{ locationId: 'loc', locationPath: directory, maxConcurrency: 1 }], logger);
            const db = new Loki(path.join(directory, 'metadata.json'));
            db.addCollection('blobs').insert({ name: 'raw-names/1.json' });
            const save = (label) => {
                log.push(label);
                return new Promise((resolve, reject) => db.saveDatabase((error) => (error ? reject(error) : resolve())));
            };
            (async () => {
                const first = await extents.appendExtent(Buffer.from('Zoë'));
                await extents.appendExtent(Buffer.from('李'));
                await save('save 1');
                await save('save 2 (no upload since)');
                await extents.appendExtent(Buffer.from('Ana'));
                const content = fs.readFileSync(path.join(directory, first.id), 'utf8');
                fs.rmSync(path.join(directory, first.id));
                await save('save 3 (its extent collected meanwhile)');
                // Not one of the store's active extents: flushed on upload, as Azurite does.
                const other = path.join(directory, 'other');
                const fd = fs.openSync(other, 'a');
                const { Readable } = require('stream');
                await extents.streamPipe(Readable.from([Buffer.from('Émile')]), fs.createWriteStream(other, { fd, autoClose: false }), fd, 'context');
                fs.closeSync(fd);
                fs.rmSync(directory, { recursive: true });
                console.log(JSON.stringify({ log: log.map((line) => line.replace(first.id, 'the extent')), content }));
            })();`;
        const saved = ['write metadata.json~', 'rename to metadata.json'];
        expect(JSON.parse(runWithPreload(script))).toEqual({
            log: [
                'save 1',
                'flush the extent',
                ...saved,
                'save 2 (no upload since)',
                ...saved,
                'save 3 (its extent collected meanwhile)',
                ...saved,
                'flush on upload',
            ],
            content: 'Zoë李Ana',
        });
        expect(JSON.parse(runWithPreload(script, false))).toEqual({
            log: [
                'flush on upload',
                'flush on upload',
                'save 1',
                ...saved,
                'save 2 (no upload since)',
                ...saved,
                'flush on upload',
                'save 3 (its extent collected meanwhile)',
                ...saved,
                'flush on upload',
            ],
            content: 'Zoë李Ana',
        });
    });

    it('stores the MD5 of the bytes uploaded without reading them back, and answers bad MD5s as Azurite does', async () => {
        // The same requests against Azurite started as the runtime starts it and against Azurite without the preload.
        // While the extent file is moved away, an upload that reads its body back from the file fails: that shows
        // which uploads still read back.
        const withPreload = await runOnAzurite(true, md5Scenario);
        const without = await runOnAzurite(false, md5Scenario);
        const md5 = (body: string | Buffer) => createHash('md5').update(body).digest('base64');
        const bodies = Object.fromEntries(MD5_BODIES.map(([name, body]) => [name, { contentMD5: md5(body) }]));
        const readBack = { statusCode: 500 };
        const blocks = { stageBlock: { contentMD5: undefined }, appendBlock: { contentMD5: undefined } };
        expect(withPreload).toEqual({
            whileExtentAway: { ...bodies, 'big.bin': readBack, ...blocks },
            afterExtentBack: { ...bodies, 'big.bin': { contentMD5: md5(BIG_BODY) }, ...blocks },
            badMD5: without.badMD5,
            downloads: without.downloads,
        });
        expect(without).toMatchObject({
            // Azurite reads every non-empty body back; an empty one it answers without reading.
            whileExtentAway: {
                ...Object.fromEntries(MD5_BODIES.map(([name]) => [name, readBack])),
                'empty.json': bodies['empty.json'],
                'big.bin': readBack,
                stageBlock: readBack,
                appendBlock: readBack,
            },
            afterExtentBack: withPreload.afterExtentBack,
        });
        expect(withPreload.badMD5).toEqual({
            upload: { statusCode: 400, code: 'InvalidOperation' },
            stageBlock: { statusCode: 400, code: 'InvalidOperation' },
            appendBlock: { statusCode: 400, code: 'Md5Mismatch' },
        });
        expect(withPreload.downloads).toEqual([
            ...MD5_BODIES.map(([, body]) => body.toString('base64')),
            BIG_BODY.toString('base64'),
        ]);
    }, 60_000);

    it('serves only the first read of a chunk just appended from its bytes, in that turn, up to 4 MiB', () => {
        // Azurite's own FSExtentStore on a folder; every read of an extent file goes through fs.createReadStream.
        const script = `
            const crypto = require('crypto');
            const fs = require('fs');
            const os = require('os');
            const path = require('path');
            const { Readable } = require('stream');
            let fileReads = 0;
            const createReadStream = fs.createReadStream;
            fs.createReadStream = (...args) => { fileReads++; return createReadStream(...args); };
            const FSExtentStore = require('azurite/dist/src/common/persistence/FSExtentStore').default;
            const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'namestream-readback-'));
            const logger = { info() {}, debug() {}, verbose() {}, warn() {}, error() {} };
            const metadata = { updateExtent: async () => {}, getExtentLocationId: async () => 'loc' };
            const extents = new FSExtentStore(metadata, [{ locationId: 'loc', locationPath: directory, maxConcurrency: 1 }], logger);
            const read = async (chunk) => {
                const before = fileReads;
                const stream = await extents.readExtent(chunk);
                const buffers = [];
                for await (const data of stream) buffers.push(data);
                const bytes = Buffer.concat(buffers);
                return { md5: crypto.createHash('md5').update(bytes).digest('base64'), bytes: bytes.length, fromFile: fileReads > before };
            };
            const body = (...parts) => Readable.from(parts.map((part) => Buffer.from(part)), { objectMode: false });
            const big = Buffer.alloc(4 * 1024 * 1024 + 1, 7);
            (async () => {
                const results = {};
                const streamed = await extents.appendExtent(body('Zoë ', '李 ', '🚀'));
                results.streamFirstRead = await read(streamed);
                results.streamSecondRead = await read(streamed);
                results.buffer = await read(await extents.appendExtent(Buffer.from('Ana')));
                results.overBound = await read(await extents.appendExtent(Readable.from([big.subarray(0, 65536), big.subarray(65536)], { objectMode: false })));
                results.atBound = await read(await extents.appendExtent(body(big.subarray(1))));
                const later = await extents.appendExtent(body('later'));
                await new Promise((resolve) => setImmediate(resolve));
                results.nextTurn = await read(later);
                const copied = await extents.appendExtent(body('copied'));
                results.otherObject = await read({ ...copied });
                results.altered = await read(Object.assign(await extents.appendExtent(body('altered')), { count: 3 }));
                fs.rmSync(directory, { recursive: true });
                console.log(JSON.stringify(results));
            })();`;
        const md5 = (body: string | Buffer, bytes = Buffer.byteLength(body)) => ({
            md5: createHash('md5').update(body).digest('base64'),
            bytes,
        });
        const big = Buffer.alloc(4 * 1024 * 1024 + 1, 7);
        const contents = {
            streamFirstRead: md5('Zoë 李 🚀'),
            streamSecondRead: md5('Zoë 李 🚀'),
            buffer: md5('Ana'),
            overBound: md5(big),
            atBound: md5(big.subarray(1)),
            nextTurn: md5('later'),
            otherObject: md5('copied'),
            altered: md5('alt'),
        };
        const fromFile = (kept: string[]) =>
            Object.fromEntries(
                Object.entries(contents).map(([name, content]) => [
                    name,
                    { ...content, fromFile: !kept.includes(name) },
                ]),
            );
        expect(JSON.parse(runWithPreload(script))).toEqual(fromFile(['streamFirstRead', 'buffer', 'atBound']));
        expect(JSON.parse(runWithPreload(script, false))).toEqual(fromFile([]));
    });

    it("pools uuid 3's random bytes: valid distinct v4 ids, and a Buffer handed out is never written again", () => {
        const script = `
            const rng = require('uuid/lib/rng');
            const v4 = require('uuid/v4');
            const kept = rng();
            const copy = Buffer.from(kept);
            const ids = [];
            for (let i = 0; i < 10000; i++) ids.push(v4());
            const buffers = [];
            for (let i = 0; i < 300; i++) buffers.push(rng());
            console.log(JSON.stringify({
                rng: rng.name,
                v1: require('uuid').v1(),
                distinct: new Set(ids).size,
                notV4: ids.filter((id) => !/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)),
                keptUnchanged: kept.equals(copy),
                sixteenByteBuffers: buffers.every((buffer) => Buffer.isBuffer(buffer) && buffer.length === 16),
                distinctBuffers: new Set(buffers.map((buffer) => buffer.toString('hex'))).size,
            }));`;
        const expected = {
            distinct: 10000,
            notV4: [],
            keptUnchanged: true,
            sixteenByteBuffers: true,
            distinctBuffers: 300,
        };
        const withPreload = JSON.parse(runWithPreload(script)) as Record<string, unknown>;
        expect(withPreload).toEqual({ ...expected, rng: 'pooledRng', v1: expect.stringMatching(UUID_V1) });
        // Without the preload the same checks hold for uuid 3's own rng: the test sees the module it replaces.
        expect(JSON.parse(runWithPreload(script, false))).toEqual({
            ...expected,
            rng: 'nodeRNG',
            v1: expect.stringMatching(UUID_V1),
        });
    });

    it('spaces autosaves by 19 times the last save, never under 5 s, and still saves at close', () => {
        // LokiJS's own Loki and file adapter, configured as Azurite configures them, on a fake clock: the timers LokiJS
        // and the preload arm for 5 s or more are recorded instead of run, and each save's write takes the time the
        // test gives it (the clock moves while the file is written).
        const script = `
            const fs = require('fs');
            const os = require('os');
            const path = require('path');
            let now = 0;
            performance.now = () => now;
            const realSetTimeout = setTimeout;
            const pending = new Map();
            globalThis.setTimeout = (fn, delay, ...args) => {
                if (!(delay >= 5000)) return realSetTimeout(fn, delay, ...args);
                const handle = { delay };
                pending.set(handle, fn);
                return handle;
            };
            const realClearTimeout = clearTimeout;
            globalThis.clearTimeout = (handle) => (pending.delete(handle) ? undefined : realClearTimeout(handle));
            // LokiJS alone arms one interval.
            globalThis.setInterval = (fn, delay) => {
                const handle = { delay, repeats: true };
                pending.set(handle, fn);
                return handle;
            };
            globalThis.clearInterval = (handle) => pending.delete(handle);
            let writeTakes = 0;
            const log = [];
            const writeFile = fs.writeFile;
            fs.writeFile = (file, data, callback) => {
                now += writeTakes;
                log.push('save of ' + JSON.parse(data).collections[0].data.length + ' taking ' + writeTakes);
                return writeFile(file, data, callback);
            };
            const Loki = require('lokijs');
            const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'namestream-autosave-'));
            const file = path.join(directory, 'metadata.json');
            const db = new Loki(file, { persistenceMethod: 'fs', autosave: true, autosaveInterval: 5000 });
            const blobs = db.addCollection('blobs');
            const settle = () => new Promise((resolve) => setImmediate(resolve));
            // Fires the one armed autosave timer at its time, and waits for its save to end and a timer to be armed.
            const fire = async () => {
                const [[handle, fn]] = [...pending];
                if (!handle.repeats) pending.delete(handle);
                now += handle.delay;
                log.push('timer after ' + handle.delay);
                fn();
                while (pending.size === 0 || db.throttledSavePending) await new Promise((resolve) => realSetTimeout(resolve, 5));
                await new Promise((resolve) => realSetTimeout(resolve, 5));
            };
            (async () => {
                await settle();
                for (const [writes, takes] of [[1, 100], [0, 0], [1, 1000], [2, 3000], [1, 100], [0, 0]]) {
                    for (let i = 0; i < writes; i++) blobs.insert({ name: 'raw-names/' + blobs.count() + '.json' });
                    writeTakes = takes;
                    await fire();
                }
                blobs.insert({ name: 'raw-names/last.json' });
                writeTakes = 7000;
                await new Promise((resolve) => db.close(resolve));
                const text = fs.readFileSync(file, 'utf8');
                const saved = JSON.parse(text).collections[0].data.map((blob) => blob.name);
                // The file holds LokiJS's own fields only.
                if (text.includes('__namestream')) throw new Error('the preload wrote its own state into the file');
                fs.rmSync(directory, { recursive: true });
                console.log(JSON.stringify({ log, saved, timersLeft: pending.size }));
            })();`;
        expect(JSON.parse(runWithPreload(script))).toEqual({
            log: [
                'timer after 5000',
                'save of 1 taking 100',
                'timer after 5000', // 19 x 100 ms is under LokiJS's 5 s; nothing changed since: no save
                'timer after 5000',
                'save of 2 taking 1000',
                'timer after 19000', // 19 x 1 s
                'save of 4 taking 3000',
                'timer after 57000', // 19 x 3 s
                'save of 5 taking 100',
                'timer after 5000', // back to 5 s; nothing changed: no save
                'save of 6 taking 7000', // close: LokiJS's final save of a changed database
            ],
            saved: [
                'raw-names/0.json',
                'raw-names/1.json',
                'raw-names/2.json',
                'raw-names/3.json',
                'raw-names/4.json',
                'raw-names/last.json',
            ],
            timersLeft: 0,
        });
        // LokiJS alone: the same saves every 5 s, whatever they take.
        expect(
            JSON.parse(runWithPreload(script, false)).log.filter((line: string) => line.startsWith('timer')),
        ).toEqual(Array(6).fill('timer after 5000'));
    });

    it("removes one document as LokiJS's single removal does: same data, valid indices, no index rebuilt", () => {
        // Azurite's deleteBlob: count, then findAndRemove of one blob, among blobs with shared and unique names.
        const script = `
            const Loki = require('lokijs');
            const db = new Loki('memory');
            const blobs = db.addCollection('$BLOBS_COLLECTION$', { indices: ['accountName', 'containerName', 'name', 'snapshot'] });
            for (let i = 0; i < 50; i++) {
                blobs.insert({ accountName: 'a', containerName: 'c' + (i % 3), name: 'b' + (i % 20), snapshot: i < 20 ? '' : 's' + i });
            }
            let sorts = 0;
            const sort = Array.prototype.sort;
            Array.prototype.sort = function (...args) { sorts++; return sort.apply(this, args); };
            const counts = [];
            for (const i of [0, 7, 19, 45, 33]) {
                const query = { accountName: 'a', containerName: 'c' + (i % 3), name: 'b' + (i % 20), snapshot: i < 20 ? '' : 's' + i };
                counts.push(blobs.count({ accountName: 'a', containerName: query.containerName, name: query.name }));
                blobs.findAndRemove(query);
            }
            Array.prototype.sort = sort;
            const names = (docs) => docs.map((d) => d.containerName + '/' + d.name + '@' + d.snapshot).sort();
            console.log(JSON.stringify({
                counts,
                data: names(blobs.data),
                byName: names(blobs.find({ name: 'b13', accountName: 'a' })),
                invalidIndices: blobs.checkAllIndexes(),
                sorts,
            }));`;
        const withPreload = JSON.parse(runWithPreload(script)) as Record<string, unknown>;
        const without = JSON.parse(runWithPreload(script, false)) as Record<string, unknown>;
        expect({ ...withPreload, sorts: undefined }).toEqual({ ...without, sorts: undefined });
        expect(withPreload.invalidIndices).toEqual([]);
        expect(withPreload.data).toHaveLength(45);
        // Without the preload every removal sorts each index again; with it, none does.
        expect([withPreload.sorts, (without.sorts as number) > 0]).toEqual([0, true]);
    });
});

/**
 * Dispatches a request built from every operation specification (and variants missing a parameter, with another
 * method, or with X-HTTP-Method), twice each, and prints the operation picked or the error.
 */
const DISPATCH_SCRIPT = `
    const dispatch = require('azurite/dist/src/blob/generated/middleware/dispatch.middleware');
    const specifications = require('azurite/dist/src/blob/generated/artifacts/specifications').default;
    const patterns = { undefined: '/', '{containerName}': '/container', '{containerName}/{blob}': '/container/blob' };
    const logger = { verbose() {}, info() {}, error() {} };
    const requests = [];
    for (const spec of Object.values(specifications)) {
        const query = {};
        const headers = {};
        for (const [target, parameters] of [[query, spec.queryParameters], [headers, spec.headerParameters]]) {
            for (const { mapper } of parameters || []) {
                if (!mapper.required) continue;
                const name = target === headers ? mapper.serializedName.toLowerCase() : mapper.serializedName;
                target[name] = mapper.isConstant ? mapper.defaultValue
                    : mapper.type.name === 'Enum' ? mapper.type.allowedValues[0] : 'value';
            }
        }
        const base = { method: spec.httpMethod, pattern: patterns[String(spec.path)], query, headers };
        // Odd shapes first, so a memory that confused them with the plain request would show: express turns
        // comp[]=list into an array, and values may contain the separator a naive key would use.
        const entries = Object.entries(query);
        requests.push({ ...base, query: Object.fromEntries(entries.map(([k, v]) => [k, [v]])) });
        if (entries.length >= 2) {
            const [[k1, v1], [k2, v2]] = entries;
            requests.push({ ...base, query: { ...query, [k1]: v1 + '\\n' + v2, [k2]: '' } });
            requests.push({ ...base, query: { ...query, [k1]: '', [k2]: v1 + '\\n' + v2 } });
        }
        requests.push(base, { ...base, method: base.method === 'PUT' ? 'GET' : 'PUT' });
        requests.push({ ...base, method: 'POST', headers: { ...headers, 'x-http-method': base.method } });
        for (const key of Object.keys(query)) {
            const { [key]: _, ...rest } = query;
            requests.push({ ...base, query: rest });
        }
        for (const key of Object.keys(headers)) {
            const { [key]: _, ...rest } = headers;
            requests.push({ ...base, headers: rest });
        }
    }
    const decisions = [];
    for (let round = 0; round < 2; round++) {
        for (const request of requests) {
            const req = {
                getMethod: () => request.method,
                getHeader: (name) => request.headers[name.toLowerCase()],
                getQuery: (name) => request.query[name],
                getPath: () => request.pattern,
            };
            const context = { dispatchPattern: request.pattern, contextId: 'test' };
            let outcome;
            dispatch.default(context, req, (error) => { outcome = error ? error.name : context.operation; }, logger);
            decisions.push(outcome);
        }
    }
    console.log(JSON.stringify({ memoized: dispatch.default.name === 'memoizedDispatch', decisions }));`;

const UUID_V1 = /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Bodies uploaded as block blobs: small JSON, empty, multi-byte UTF-8. */
const MD5_BODIES: [string, Buffer][] = [
    ['small.json', Buffer.from('{"name":"Ana"}')],
    ['empty.json', Buffer.alloc(0)],
    ['utf8.json', Buffer.from('{"name":"Zoë 李 🚀"}')],
];
/** One byte over what the preload keeps of an append (4 MiB): Azurite reads it back. */
const BIG_BODY = Buffer.alloc(4 * 1024 * 1024 + 1, 'x');

type Outcome = { contentMD5: string | undefined } | { statusCode: number; code?: string };

async function outcome(action: () => Promise<unknown>, read?: () => Promise<Uint8Array | undefined>): Promise<Outcome> {
    try {
        await action();
        const md5 = read ? await read() : undefined;
        return { contentMD5: md5 === undefined ? undefined : Buffer.from(md5).toString('base64') };
    } catch (error) {
        const { statusCode, code } = error as { statusCode?: number; code?: string };
        // A failed read-back is Azurite's internal error; only its status is compared.
        return statusCode === 500 ? { statusCode } : { statusCode: statusCode ?? -1, code };
    }
}

/**
 * Uploads while the extent file is moved away (an upload reading its body back from the file fails), then with it
 * back; then uploads with wrong MD5s, and downloads every body.
 */
async function md5Scenario(connectionString: string, location: string) {
    // No retries: a failed read-back answers 500, which the SDK would retry for minutes.
    const container = BlobServiceClient.fromConnectionString(connectionString, {
        retryOptions: { maxTries: 1 },
    }).getContainerClient('raw-names');
    await container.create();
    await container.getBlockBlobClient('first.json').upload('{}', 2);
    const storage = path.join(location, '__blobstorage__');
    const [extent, ...others] = readdirSync(storage);
    expect(others).toEqual([]);
    const uploads = async (prefix: string) => {
        const outcomes: Record<string, Outcome> = {};
        for (const [name, body] of [...MD5_BODIES, ['big.bin', BIG_BODY] as [string, Buffer]]) {
            const blob = container.getBlockBlobClient(`${prefix}/${name}`);
            outcomes[name] = await outcome(
                () => blob.upload(body, body.length),
                async () => (await blob.getProperties()).contentMD5,
            );
        }
        // Put Block and Append Block with a Content-MD5 read their body back too.
        const block = Buffer.from('{"block":1}');
        const transactionalContentMD5 = createHash('md5').update(block).digest();
        outcomes.stageBlock = await outcome(() =>
            container
                .getBlockBlobClient(`${prefix}/staged.json`)
                .stageBlock(Buffer.from('block').toString('base64'), block, block.length, { transactionalContentMD5 }),
        );
        const appendBlob = container.getAppendBlobClient(`${prefix}/append.log`);
        await appendBlob.create();
        outcomes.appendBlock = await outcome(() =>
            appendBlob.appendBlock(block, block.length, { transactionalContentMD5 }),
        );
        return outcomes;
    };
    renameSync(path.join(storage, extent!), path.join(storage, 'away'));
    const whileExtentAway = await uploads('away');
    renameSync(path.join(storage, 'away'), path.join(storage, extent!));
    const afterExtentBack = await uploads('back');

    const wrong = createHash('md5').update('not the body').digest();
    const appendBlob = container.getAppendBlobClient('append.log');
    await appendBlob.create();
    const badMD5 = {
        upload: await outcome(() =>
            container.getBlockBlobClient('bad.json').upload('{}', 2, { blobHTTPHeaders: { blobContentMD5: wrong } }),
        ),
        stageBlock: await outcome(() =>
            container
                .getBlockBlobClient('staged.json')
                .stageBlock(Buffer.from('block').toString('base64'), '{}', 2, { transactionalContentMD5: wrong }),
        ),
        appendBlock: await outcome(() => appendBlob.appendBlock('{}', 2, { transactionalContentMD5: wrong })),
    };
    const downloads: string[] = [];
    for (const [name] of [...MD5_BODIES, ['big.bin']]) {
        downloads.push((await container.getBlockBlobClient(`back/${name}`).downloadToBuffer()).toString('base64'));
    }
    return { whileExtentAway, afterExtentBack, badMD5, downloads };
}

/**
 * Runs a scenario on a real Azurite on a temporary folder: started as the runtime starts it (startAzurite, with the
 * preloads), or the same Azurite with the runtime's arguments and no preload.
 */
async function runOnAzurite<T>(
    withPreload: boolean,
    scenario: (connectionString: string, location: string) => Promise<T>,
): Promise<T> {
    const location = mkdtempSync(path.join(tmpdir(), 'azurite-md5-'));
    try {
        const azurite = withPreload ? await startAzurite({ port: 0, location }) : await startBareAzurite(location);
        try {
            return await scenario(azurite.connectionString, location);
        } finally {
            await azurite.close();
        }
    } finally {
        rmSync(location, { recursive: true, force: true });
    }
}

/** Azurite as startAzurite runs it (same executable and flags) but without any preload: the reference. */
async function startBareAzurite(location: string): Promise<{ connectionString: string; close(): Promise<void> }> {
    const port = await findFreePort();
    const child = spawn(process.execPath, azuriteArguments('127.0.0.1', port, location), {
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Not left running if the test times out or its worker exits first (no lifeline, unlike startAzurite's child).
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const close = () =>
        new Promise<void>((resolve) => {
            process.removeListener('exit', killOnExit);
            if (child.exitCode !== null) {
                resolve();
                return;
            }
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
        });
    try {
        await new Promise<void>((resolve, reject) => {
            let output = '';
            const onData = (chunk: Buffer) => {
                output += chunk.toString();
                if (output.includes('successfully listens')) resolve();
            };
            child.stdout.on('data', onData);
            child.stderr.on('data', onData);
            child.once('exit', (code) => reject(new Error(`Azurite exited with code ${String(code)}:\n${output}`)));
        });
    } catch (error) {
        await close();
        throw error;
    }
    const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
    return {
        connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`,
        close,
    };
}

/** Runs a script where the preload runs: a Node process started with it, resolving modules as Azurite does. */
function runWithPreload(script: string, withPreload = true): string {
    const preload = path.resolve(__dirname, '../../../local/runtime/azuriteLookupPreload.js');
    return execFileSync(process.execPath, [...(withPreload ? ['--require', preload] : []), '-e', script], {
        cwd: path.dirname(require.resolve('azurite/package.json')),
        encoding: 'utf8',
    });
}
