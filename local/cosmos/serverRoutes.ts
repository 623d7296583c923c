import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

import type Account from '@vercel/cosmosdb-server/lib/account';

/**
 * A cosmosdb-server route handler: it sets the status and headers on `res` and returns (or resolves with) the JSON
 * body the server sends; `params` are the path's named parts (`dbId`, `collId`, `docId`).
 */
export type RouteHandler = (
    account: Account,
    req: IncomingMessage,
    res: ServerResponse,
    params: Record<string, string>,
) => unknown;

/** cosmosdb-server's router (lib/routes): a request's path params and handler, or undefined (the server answers 400). */
export type Router = (req: IncomingMessage) => [Record<string, string>, RouteHandler] | undefined;

type MarkedRouter = Router & { [key: symbol]: true | undefined };

/**
 * Puts a router of ours in front of the router of the in-process cosmosdb-server (1.0.1): `wrap` is handed the one in
 * place (the library's, or one installed before) and returns the router to use, which passes on what it does not
 * serve. This is the one seam that reaches the server's in-memory account: the server keeps the account private and
 * hands it only to route handlers, and its request handler looks the router up on the `routes` module at every
 * request (lib/index.js), so replacing that module's `default` reaches every server in the process.
 *
 * Process-wide, and idempotent per `key` (a `Symbol.for` name, so that two loaded copies of this module agree) while
 * the router installed under it is the one in place: a call then changes nothing. A router installed over it hides
 * its mark, so a later call puts another in front, which serves the same requests first.
 */
export function installServerRoute(key: symbol, wrap: (next: Router) => Router): void {
    const routes = createRequire(__filename)('@vercel/cosmosdb-server/lib/routes') as { default: MarkedRouter };
    if (routes.default[key]) return;
    routes.default = Object.assign(wrap(routes.default), { [key]: true as const });
}
