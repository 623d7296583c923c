import Documents from '@vercel/cosmosdb-server/lib/account/documents';

type StoredDocument = Record<string, unknown>;
interface DocumentStore {
    _data: Map<string, { read(): StoredDocument | null | undefined }>;
    _set: (this: DocumentStore, data: StoredDocument) => StoredDocument;
}

const installed = Symbol.for('namestream.cosmos.changeSequence');
let lastSequence = 0;
/** Per document store: no document it holds has a higher `_lsn` (the highest it held when first seen, then each stamp). */
const storeHighest = new WeakMap<object, number>();

/** The highest `_lsn` among a store's documents, 0 when none carries one. */
export function highestSequence(documents: Iterable<StoredDocument>): number {
    let highest = 0;
    for (const document of documents) {
        const lsn = document._lsn;
        if (typeof lsn === 'number' && lsn > highest) highest = lsn;
    }
    return highest;
}

/**
 * An upper bound on the `_lsn` of the documents a store holds: the highest among them when the store is first asked
 * about (one pass, for documents loaded from disk without stamping), then raised by every write stamped in it.
 * Deletes leave it as it is, so it may be above every remaining document, never below one. The change feed answers a
 * poll from at or after it with a 304 without looking at the documents (changeFeedRoute.ts): the trigger polls every
 * 500 ms, and a container a week of letter counts fills holds about 540,000 documents.
 */
export function highestSequenceOf(store: {
    _data: Map<string, { read(): StoredDocument | null | undefined }>;
}): number {
    let highest = storeHighest.get(store);
    if (highest === undefined) {
        highest = highestSequence(Array.from(store._data.values(), (item) => item.read() ?? {}));
        storeHighest.set(store, highest);
    }
    return highest;
}

/**
 * Numbers the next write after `highest` at least: the durable store (cosmosState.ts) calls it at load with the highest
 * `_lsn` it ever gave out, deleted documents included, which no remaining document may show.
 */
export function raiseSequence(highest: number): void {
    lastSequence = Math.max(lastSequence, highest);
}

/**
 * Makes the in-process cosmosdb-server stamp every created, replaced, upserted or patched document with `_lsn`, a
 * counter that increases with each write, as Azure's log sequence number does within a partition.
 *
 * Why: the server has no change feed, and its `_ts` has one-second resolution, so a cursor on `_ts` alone would miss
 * or repeat writes made within the same second. `_lsn` is the position the change feed (changeFeedRoute.ts) serves and
 * its etags name, so a continuation token depends only on data stored with the documents. Every document write in the
 * server goes through `Items#_set` (create, and replace which upsert and patch use), so wrapping that one method of the
 * `Documents` subclass covers them all; databases and containers are not stamped. A body that arrives with its own
 * `_lsn` (a document read from the feed and written back) is restamped.
 *
 * One process-wide counter rather than one per container, because the server rebuilds a container's document store
 * when the container is replaced, and a per-store counter would restart below the cursors already saved in leases.
 * The first write to a store this process has not written yet lifts the counter above the highest `_lsn` the store
 * already holds, so documents loaded from disk by a later durable store keep their positions and new writes follow
 * them (the loader must insert them without calling `_set`, or they would be restamped). Idempotent.
 */
export function installChangeSequence(): void {
    const prototype = Documents.prototype as unknown as DocumentStore & { [installed]?: true };
    if (prototype[installed]) return;
    const originalSet = prototype._set;
    prototype._set = function stampSequence(this: DocumentStore, data: StoredDocument): StoredDocument {
        lastSequence = Math.max(lastSequence, highestSequenceOf(this)) + 1;
        data._lsn = lastSequence;
        storeHighest.set(this, lastSequence);
        return originalSet.call(this, data);
    };
    prototype[installed] = true;
}
