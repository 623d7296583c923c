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
});
