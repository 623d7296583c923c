import { createServer, type Server } from 'node:net';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { startAzurite } from '../../../local/runtime/azurite';
import type * as FreePort from '../../../local/runtime/freePort';

// startAzurite's own port choice, replaced (vi.mock is hoisted above the imports) so a test can hand it a port that
// another process has taken in the meantime, the race a free-port probe leaves open. Its own file: the mock applies
// to the whole module graph.
const ports: number[] = [];
vi.mock('../../../local/runtime/freePort', () => ({
    findFreePort: vi.fn(async () => {
        const port = ports.shift();
        // Past the ports a test offers, a real free port: one probed in advance could be taken meanwhile.
        return port ?? (await vi.importActual<typeof FreePort>('../../../local/runtime/freePort')).findFreePort();
    }),
}));

const servers: Server[] = [];
afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
    ports.length = 0;
    vi.restoreAllMocks();
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
        ports.push(taken);
        const warned = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
        const azurite = await startAzurite();
        try {
            expect(new URL(azurite.blobEndpoint).port).not.toBe(String(taken));
            expect(ports).toEqual([]);
            expect(warned.mock.calls).toEqual([
                [`[azurite] port ${taken} was taken before Azurite could bind it; trying another`],
            ]);
            const response = await fetch(`${azurite.blobEndpoint}?comp=list`);
            // Answered by Azurite (an unsigned request is refused with its own error), not by the process on `taken`.
            expect(response.headers.get('x-ms-request-id')).toBeTruthy();
        } finally {
            await azurite.close();
        }
    }, 60_000);

    it('gives up after three taken ports, and never replaces a port the caller asked for', async () => {
        vi.spyOn(console, 'warn').mockImplementation(() => undefined);
        const fourth = 1; // never tried: three attempts are all
        ports.push(await takenPort(), await takenPort(), await takenPort(), fourth);
        await expect(startAzurite()).rejects.toThrow(/EADDRINUSE/);
        expect(ports).toEqual([fourth]);

        const asked = await takenPort();
        await expect(startAzurite({ port: asked })).rejects.toThrow(/EADDRINUSE/);
        expect(ports).toEqual([fourth]);
    }, 60_000);
});
