import Documents from '@vercel/cosmosdb-server/lib/account/documents';

type StoredDocument = Record<string, unknown>;
interface DocumentStore {
    _set: (this: DocumentStore, data: StoredDocument) => StoredDocument;
}

const installed = Symbol.for('namestream.cosmos.changeSequence');
let lastSequence = 0;

/**
 * Makes the in-process cosmosdb-server stamp every created, replaced, upserted or patched document with `_lsn`, a
 * counter that increases with each write, as Azure's log sequence number does within a partition.
 *
 * Why: the server has no change feed, and its `_ts` has one-second resolution, so a cursor on `_ts` alone would miss
 * or repeat writes made within the same second. `_lsn` gives the change-feed processor an exact cursor that it still
 * reads over the REST protocol (`WHERE c._lsn > @after ORDER BY c._lsn`). Every document write in the server goes
 * through `Items#_set` (create, and replace which upsert and patch use), so wrapping that one method of the
 * `Documents` subclass covers them all; databases and containers are not stamped. One process-wide counter rather than
 * one per container, because the server rebuilds a container's document store when the container is replaced, and a
 * per-store counter would restart below the cursors already saved in leases. Idempotent.
 */
export function installChangeSequence(): void {
    const prototype = Documents.prototype as unknown as DocumentStore & { [installed]?: true };
    if (prototype[installed]) return;
    const originalSet = prototype._set;
    prototype._set = function stampSequence(this: DocumentStore, data: StoredDocument): StoredDocument {
        lastSequence += 1;
        data._lsn = lastSequence;
        return originalSet.call(this, data);
    };
    prototype[installed] = true;
}
