import { highestSequence } from '../changeSequence';

type StoredDocument = Record<string, unknown>;

/** The change-feed request headers this server reads (lower-case, as Node exposes them). */
export interface ChangeFeedRequest {
    /** `If-None-Match`: absent = from the beginning (or `If-Modified-Since`), `*` = from now, `"<lsn>"` = after it. */
    ifNoneMatch?: string;
    /** `If-Modified-Since`, RFC 1123; only read when `If-None-Match` is absent, as the SDK sends it. */
    ifModifiedSince?: string;
    /** `x-ms-max-item-count`; absent or -1 = the service default. */
    maxItemCount?: string;
    /** `x-ms-documentdb-partitionkey`, a JSON array: a feed of one logical partition. */
    partitionKey?: string;
    /** The container's partition key paths, e.g. `["/windowEnd"]`. */
    partitionKeyPaths: string[];
}

/** A container's documents, as the change feed reads them. */
export interface ChangeFeedSource {
    /** No document has a higher `_lsn` (changeSequence.ts highestSequenceOf); a poll from it on is a 304. */
    highestLsn: number;
    /** The documents as stored, at their latest version; called only when the page may hold some. */
    documents(): StoredDocument[];
}

export type ChangeFeedPage =
    | { status: 200; etag: string; documents: StoredDocument[] }
    | { status: 304; etag: string }
    | { status: 400; message: string };

/** Azure's default page size for a feed read without `x-ms-max-item-count` (the REST "List Documents" default). */
export const DEFAULT_MAX_ITEM_COUNT = 100;

/**
 * One page of the latest-version change feed of a container's documents, as `GET .../docs` with `A-IM: Incremental
 * feed` answers it (https://learn.microsoft.com/rest/api/cosmos-db/list-documents): the documents whose `_lsn` is past
 * the requested position, in `_lsn` order, each once at its latest version (a store holds only that), deletes never.
 * The `etag` is the quoted `_lsn` of the last document returned, or on a 304 the later of the position asked for and
 * `source.highestLsn` (the SDK overwrites its continuation with every response's etag, so a 304 must carry one).
 * Positions come only from `_lsn`, which is stored in the documents, so an etag stays valid for as long as the
 * documents do.
 *
 * `If-Modified-Since` starts just before the first change whose `_ts` (seconds) is at or after the instant, or at the
 * current end when there is none yet, so a start time in the future behaves as "from now"; Azure documents the start
 * time as approximate (change-feed-modes.md). Bad header values give a 400 whose message quotes them.
 */
export function readChangeFeedPage(source: ChangeFeedSource, request: ChangeFeedRequest): ChangeFeedPage {
    const key = request.partitionKey === undefined ? undefined : parsePartitionKey(request.partitionKey);
    if (request.partitionKey !== undefined && key === undefined) {
        return badRequest('x-ms-documentdb-partitionkey', request.partitionKey, 'must be a JSON array of values');
    }
    const maxItemCount = parseMaxItemCount(request.maxItemCount);
    if (maxItemCount === undefined) {
        return badRequest('x-ms-max-item-count', request.maxItemCount, 'must be a positive integer or -1');
    }
    // The trigger's steady state, a poll from the end of the feed: answered without looking at the documents.
    const etagPosition = parseEtag(request.ifNoneMatch);
    if (etagPosition !== undefined && etagPosition >= source.highestLsn) {
        return { status: 304, etag: quoteLsn(etagPosition) };
    }
    let documents = source.documents().filter((document) => typeof document._lsn === 'number');
    if (key !== undefined) {
        documents = documents.filter((document) => matchesPartition(document, request.partitionKeyPaths, key));
    }
    const after = startPosition(documents, request);
    if (typeof after === 'string') return { status: 400, message: after };
    const page = documents
        .filter((document) => (document._lsn as number) > after)
        .sort((a, b) => (a._lsn as number) - (b._lsn as number))
        .slice(0, maxItemCount);
    const last = page[page.length - 1];
    // An empty page means no document this feed serves has an _lsn in (after, highestLsn], so the continuation moves
    // to highestLsn: the SDK takes every 304's etag as its new continuation (wire-protocols.md §5.2), and Azure's 304
    // advances it (the Azure SDK for Rust's change-feed design, github.com/Azure/azure-sdk-for-rust/issues/3565).
    // Echoing `after` would leave a client below a highest no document holds (a document created and deleted between
    // two polls, a write rolled back) on this slow path at every poll until the next write.
    if (last === undefined) return { status: 304, etag: quoteLsn(Math.max(after, source.highestLsn)) };
    return { status: 200, etag: quoteLsn(last._lsn as number), documents: page };
}

function quoteLsn(lsn: number): string {
    return `"${lsn}"`;
}

function badRequest(header: string, value: unknown, reason: string): ChangeFeedPage {
    return {
        status: 400,
        message: `Invalid change feed request: header ${header} ${reason} (got ${JSON.stringify(value)})`,
    };
}

/** The `_lsn` after which the page starts, or a 400 message. */
function startPosition(documents: StoredDocument[], request: ChangeFeedRequest): number | string {
    const { ifNoneMatch, ifModifiedSince } = request;
    if (ifNoneMatch !== undefined && ifNoneMatch !== '') {
        if (ifNoneMatch.trim() === '*') return highestSequence(documents);
        return (
            parseEtag(ifNoneMatch) ??
            `Invalid change feed request: header If-None-Match must be *, or an etag this feed returned (got ${JSON.stringify(ifNoneMatch)})`
        );
    }
    if (ifModifiedSince !== undefined && ifModifiedSince !== '') {
        const since = Date.parse(ifModifiedSince);
        if (Number.isNaN(since)) {
            return `Invalid change feed request: header If-Modified-Since must be an HTTP date (got ${JSON.stringify(ifModifiedSince)})`;
        }
        const sinceSeconds = Math.floor(since / 1000);
        const latest = highestSequence(documents);
        let first: number | undefined;
        for (const document of documents) {
            const lsn = document._lsn as number;
            if (
                typeof document._ts === 'number' &&
                document._ts >= sinceSeconds &&
                (first === undefined || lsn < first)
            ) {
                first = lsn;
            }
        }
        return first === undefined ? latest : first - 1;
    }
    return 0;
}

/** The `_lsn` an `If-None-Match` etag names (`"24"`, `W/"24"` or `24`), or undefined when it names none. */
function parseEtag(ifNoneMatch: string | undefined): number | undefined {
    const match = ifNoneMatch === undefined ? null : /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(ifNoneMatch);
    return match?.[1] === undefined ? undefined : Number(match[1]);
}

function parseMaxItemCount(value: string | undefined): number | undefined {
    if (value === undefined || value === '' || value.trim() === '-1') return DEFAULT_MAX_ITEM_COUNT;
    if (!/^\s*\d+\s*$/.test(value)) return undefined;
    const count = Number(value);
    return count >= 1 ? count : undefined;
}

function parsePartitionKey(header: string): unknown[] | undefined {
    try {
        const parsed: unknown = JSON.parse(header);
        return Array.isArray(parsed) ? parsed : undefined;
    } catch {
        return undefined;
    }
}

function matchesPartition(document: StoredDocument, paths: string[], key: unknown[]): boolean {
    return paths.every((path, index) => {
        let value: unknown = document;
        for (const segment of path.split('/').filter((part) => part !== '')) {
            value = typeof value === 'object' && value !== null ? (value as StoredDocument)[segment] : undefined;
        }
        return JSON.stringify(value) === JSON.stringify(key[index]);
    });
}
