import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';

import readDatabase from '@vercel/cosmosdb-server/lib/handler/read-database';
import { describe, expect, it } from 'vitest';

import { installServerRoute, type RouteHandler, type Router } from '../../../local/cosmos/serverRoutes';

/** The module cosmosdb-server's request handler looks its router up on, at every request. */
const routes = createRequire(__filename)('@vercel/cosmosdb-server/lib/routes') as { default: Router };

function request(method: string, url: string): IncomingMessage {
    return { method, url, headers: {} } as IncomingMessage;
}

describe('installServerRoute', () => {
    it("puts a router in front of cosmosdb-server's own, once per key, passing on what it does not serve", () => {
        const ping: RouteHandler = () => ({ pong: true });
        let wraps = 0;
        const install = () =>
            installServerRoute(Symbol.for('namestream.test.serverRoutes'), (next) => {
                wraps++;
                return (req) => (req.url === '/ping' ? [{}, ping] : next(req));
            });
        install();
        install();
        expect(wraps).toBe(1);
        expect(routes.default(request('GET', '/ping'))).toEqual([{}, ping]);
        // The library's own route table answers the rest, path parameters and all.
        expect(routes.default(request('GET', '/dbs/names'))).toEqual([{ dbId: 'names' }, readDatabase]);
        expect(routes.default(request('PATCH', '/dbs/names'))).toBeUndefined();
    });
});
