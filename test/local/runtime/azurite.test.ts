import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';

import { AZURITE_ACCOUNT, startAzurite } from '../../../local/runtime/azurite';

describe('startAzurite', () => {
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

    it('keeps blob semantics with the indexed-lookup preload: overwrite, read, list and same names in two containers', async () => {
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
        } finally {
            await azurite.close();
        }
    });

    it("matches Azurite's dispatch templates exactly as uri-templates does, compiling each template once", () => {
        // Runs where the preload runs: a Node process started with it, as Azurite is. The unpatched module is
        // reached by its file path, which the preload leaves alone.
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
        const preload = path.resolve(__dirname, '../../../local/runtime/azuriteLookupPreload.js');
        const output = execFileSync(process.execPath, ['--require', preload, '-e', script], {
            cwd: path.dirname(require.resolve('azurite/package.json')),
            encoding: 'utf8',
        });
        const report = JSON.parse(output) as {
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
});
