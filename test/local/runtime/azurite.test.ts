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
});
