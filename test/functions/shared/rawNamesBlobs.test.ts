import type { ContainerClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';

import { readRawMessagesSince } from '../../../functions/shared/rawNamesBlobs';

/** A container of `count` blobs, the i-th modified at minute i, whose downloads each wait for a macrotask. */
function fakeContainer(count: number) {
    let inFlight = 0;
    const stats = { maxInFlight: 0, downloaded: [] as string[] };
    const blobs = Array.from({ length: count }, (_, i) => ({
        name: `raw-names/${i}.json`,
        properties: { lastModified: new Date(Date.UTC(2026, 10, 22, 6, i)) },
    }));
    const container = {
        exists: () => Promise.resolve(true),
        // The SDK's listing is an async iterable of pages' items; an array's async iterator stands in for it.
        listBlobsFlat: () => ({
            [Symbol.asyncIterator]: async function* () {
                for (const blob of blobs) {
                    yield await Promise.resolve(blob);
                }
            },
        }),
        getBlobClient: (name: string) => ({
            downloadToBuffer: async () => {
                inFlight += 1;
                stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
                await new Promise((resolve) => setTimeout(resolve, 1));
                inFlight -= 1;
                stats.downloaded.push(name);
                const i = Number(/(\d+)\.json$/.exec(name)![1]);
                return Buffer.from(i === 3 ? 'not json' : JSON.stringify({ i }));
            },
        }),
    };
    return { container: container as unknown as ContainerClient, stats };
}

describe('readRawMessagesSince', () => {
    it('downloads the blobs modified since the time in parallel, at most `concurrency` at once, in listing order', async () => {
        const { container, stats } = fakeContainer(12);
        const messages = await readRawMessagesSince(container, new Date(Date.UTC(2026, 10, 22, 6, 2)), 4);
        expect(messages).toEqual([
            { i: 2 },
            'not json',
            { i: 4 },
            { i: 5 },
            { i: 6 },
            { i: 7 },
            { i: 8 },
            { i: 9 },
            { i: 10 },
            { i: 11 },
        ]);
        expect(stats.downloaded).toHaveLength(10);
        expect(stats.maxInFlight).toBe(4);
    });
});
