import type { IncomingMessage, ServerResponse } from 'node:http';

import type Account from '@vercel/cosmosdb-server/lib/account';

import { highestSequenceOf } from '../changeSequence';
import { installServerRoute } from '../serverRoutes';
import { readChangeFeedPage } from './changeFeedPage';

const installed = Symbol.for('namestream.cosmos.changeFeedRoute');
const READ_DOCUMENTS_PATH = /^\/+dbs\/([^/]+)\/colls\/([^/]+)\/docs\/*$/;

function header(req: IncomingMessage, name: string): string | undefined {
    const value = req.headers[name];
    return Array.isArray(value) ? value[0] : value;
}

/**
 * Serves the latest-version change feed on the documents feed of the in-process cosmosdb-server: `GET
 * /dbs/{db}/colls/{coll}/docs` with `A-IM: Incremental feed`, read by `container.getChangeFeedIterator` and by the
 * .NET change feed processor the Functions trigger embeds (wire-protocols.md §5). cosmosdb-server answers such a
 * request with its plain read feed and then 304 forever, so new writes never appear.
 *
 * Why a route and not a wrapper around the HTTP server: a router in front of the library's own one
 * (installServerRoute) is the one seam that reaches the documents without a second copy of them. The library's
 * response step rewrites any 200 to a request carrying `A-IM` and `If-None-Match` into a 304 with etag "1"; the
 * handler removes `A-IM` from the request once read, so that step leaves its answer alone.
 * Process-wide and idempotent, like installChangeSequence.
 */
export function installChangeFeedRoute(): void {
    installServerRoute(installed, (libraryRouter) => (req) => {
        const aIm = header(req, 'a-im');
        if (req.method === 'GET' && aIm !== undefined) {
            const match = READ_DOCUMENTS_PATH.exec(new URL(req.url ?? '/', 'http://localhost').pathname);
            if (match?.[1] !== undefined && match[2] !== undefined) {
                return [{ dbId: decodeURIComponent(match[1]), collId: decodeURIComponent(match[2]) }, serveChangeFeed];
            }
        }
        return libraryRouter(req);
    });
}

function serveChangeFeed(
    account: Account,
    req: IncomingMessage,
    res: ServerResponse,
    { dbId, collId }: Record<string, string>,
): Record<string, unknown> {
    const aIm = header(req, 'a-im') ?? '';
    delete req.headers['a-im'];
    if (aIm.trim().toLowerCase() !== 'incremental feed') {
        res.statusCode = 400;
        return {
            code: 'BadRequest',
            message: `Only the latest-version change feed (A-IM: Incremental feed) is served locally; all versions and deletes mode is not (got A-IM ${JSON.stringify(aIm)})`,
        };
    }
    const collection = account.database(dbId ?? '').collection(collId ?? '');
    const definition = collection.read() as { _rid?: string; partitionKey?: { paths?: string[] } } | null | undefined;
    if (!definition) {
        res.statusCode = 404;
        return { code: 'NotFound', message: 'Entity with the specified id does not exist in the system.' };
    }
    const rangeId = header(req, 'x-ms-documentdb-partitionkeyrangeid');
    if (rangeId !== undefined && rangeId !== '0') {
        res.statusCode = 400;
        return {
            code: 'BadRequest',
            message: `The local container has one partition key range, "0" (got x-ms-documentdb-partitionkeyrangeid ${JSON.stringify(rangeId)})`,
        };
    }
    const startEpk = header(req, 'x-ms-start-epk');
    const endEpk = header(req, 'x-ms-end-epk');
    if ((startEpk !== undefined && startEpk !== '') || (endEpk !== undefined && endEpk !== 'FF')) {
        res.statusCode = 400;
        return {
            code: 'BadRequest',
            message: `Change feeds of a part of a partition key range are not served locally; read the whole container or one partition key (got x-ms-start-epk ${JSON.stringify(startEpk)}, x-ms-end-epk ${JSON.stringify(endEpk)})`,
        };
    }
    const documents = collection.documents;
    // The stored documents themselves, not a `SELECT * FROM c` (documents.read()), whose query engine copies each one.
    const source = {
        highestLsn: highestSequenceOf(documents),
        documents: () =>
            Array.from(documents._data.values(), (item) => item.read() as Record<string, unknown> | null).filter(
                (document): document is Record<string, unknown> => document !== null && document !== undefined,
            ),
    };
    const page = readChangeFeedPage(source, {
        ifNoneMatch: header(req, 'if-none-match'),
        ifModifiedSince: header(req, 'if-modified-since'),
        maxItemCount: header(req, 'x-ms-max-item-count'),
        partitionKey: header(req, 'x-ms-documentdb-partitionkey'),
        partitionKeyPaths: definition.partitionKey?.paths ?? ['/id'],
    });
    res.statusCode = page.status;
    if (page.status === 400) return { code: 'BadRequest', message: page.message };
    res.setHeader('etag', page.etag);
    if (page.status === 304) {
        res.setHeader('x-ms-item-count', '0');
        return {};
    }
    res.setHeader('x-ms-item-count', String(page.documents.length));
    return { _rid: definition._rid, Documents: page.documents, _count: page.documents.length };
}
