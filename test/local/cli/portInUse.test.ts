import { createServer, type Server } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { describePortInUse } from '../../../local/cli/portInUse';
import { startAzurite } from '../../../local/runtime/azurite';

describe('describePortInUse', () => {
    let taken: Server;
    let port: number;
    beforeAll(async () => {
        taken = createServer();
        await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
        port = (taken.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

    const expected = () =>
        `Port 127.0.0.1:${port} is already in use (another npm start, func start or an emulator?). Stop what holds ` +
        'it, or move that endpoint to a free port in local.settings.json (the connection setting that names it; ' +
        'PORT for the functions).';

    it("explains Node's own listen error in one line", async () => {
        const error = await new Promise<unknown>((resolve) => {
            const second = createServer();
            second.once('error', resolve);
            second.listen(port, '127.0.0.1');
        });
        expect(describePortInUse(error)).toBe(expected());
    });

    it('explains the same error reported by the Azurite child process', async () => {
        const error = await startAzurite({ port }).then(
            async (azurite) => {
                await azurite.close();
                return undefined;
            },
            (caught: unknown) => caught,
        );
        expect(describePortInUse(error)).toBe(expected());
    });

    it('leaves other errors alone', () => {
        expect(describePortInUse(new Error('connect ECONNREFUSED 127.0.0.1:5672'))).toBeUndefined();
        expect(describePortInUse('EADDRINUSE')).toBeUndefined();
    });
});
