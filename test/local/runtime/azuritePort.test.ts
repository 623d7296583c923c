import { createServer, type Server } from 'node:net';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { startAzurite } from '../../../local/runtime/azurite';
import type * as FreePort from '../../../local/runtime/freePort';

// startAzurite's own port choice, replaced (vi.mock is hoisted above the imports) so a test can hand it a port that
// another process has taken in the meantime, the race a free-port probe leaves open. Its own file: the mock applies
// to the whole module graph.
const ports: number[] = [];
vi.mock('../../../local/runtime/freePort', () => ({
    findFreePort: vi.fn(() => {
        const port = ports.shift();
        return port === undefined ? Promise.reject(new Error('the test offered no more ports')) : Promise.resolve(port);
    }),
}));

/** A port free now, from the real probe. */
async function findFreePort(): Promise<number> {
    return (await vi.importActual<typeof FreePort>('../../../local/runtime/freePort')).findFreePort();
}

const servers: Server[] = [];
afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
    ports.length = 0;
});

/** A port some other process holds, as one that took the port between the probe and Azurite's bind would. */
async function takenPort(): Promise<number> {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || address === null) {
        throw new Error('no address');
    }
    return address.port;
}

describe('startAzurite port', () => {
    it('tries another free port when Azurite finds the one it chose taken (EADDRINUSE)', async () => {
        const taken = await takenPort();
        const free = await findFreePort();
        ports.push(taken, free);
        const azurite = await startAzurite();
        try {
            expect(azurite.blobEndpoint).toBe(`http://127.0.0.1:${free}/devstoreaccount1`);
            expect(ports).toEqual([]);
            const response = await fetch(`${azurite.blobEndpoint}?comp=list`);
            // Answered by Azurite (an unsigned request is refused with its own error), not by the process on `taken`.
            expect(response.headers.get('x-ms-request-id')).toBeTruthy();
        } finally {
            await azurite.close();
        }
    }, 60_000);

    it('gives up after three taken ports, and never replaces a port the caller asked for', async () => {
        ports.push(await takenPort(), await takenPort(), await takenPort(), await findFreePort());
        await expect(startAzurite()).rejects.toThrow(/EADDRINUSE/);
        expect(ports).toHaveLength(1);

        const asked = await takenPort();
        await expect(startAzurite({ port: asked })).rejects.toThrow(/EADDRINUSE/);
        expect(ports).toHaveLength(1);
    }, 60_000);
});
