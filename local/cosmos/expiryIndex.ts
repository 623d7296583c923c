import Documents from '@vercel/cosmosdb-server/lib/account/documents';

import { expiredItemsQuery } from './ttlSweeper';

type StoredDocument = Record<string, unknown>;

interface StoredItem {
    read(): StoredDocument | null | undefined;
}

interface QueryBody {
    query: string;
    parameters?: { name: string; value: unknown }[];
}

interface QueryOptions {
    maxItemCount?: number;
    continuation?: unknown;
}

/** The parts of cosmosdb-server's `Documents` store (items.js) this module uses. */
interface DocumentStore {
    _data: Map<string, StoredItem>;
    _partitionKeyPath: string[];
    _parent: { read(): { indexingPolicy?: { compositeIndexes?: unknown } } | null | undefined };
    _getQuery(sql: string): { exec(collection: unknown[], options: object): unknown };
    _userDefinedFunctions(): unknown;
    query: (this: DocumentStore, body: QueryBody, options: QueryOptions) => unknown;
}

interface ExpiryEntry {
    /** Seconds since the epoch: `_ts + ttl` for an item's own ttl, `_ts` for one on the container's default. */
    key: number;
    rid: string;
    document: StoredDocument;
}

/** A binary min-heap on `key`. Hand-written: a dozen lines, and no dependency of the project offers one. */
class ExpiryHeap {
    private readonly entries: ExpiryEntry[] = [];

    get size(): number {
        return this.entries.length;
    }

    peek(): ExpiryEntry | undefined {
        return this.entries[0];
    }

    push(entry: ExpiryEntry): void {
        const entries = this.entries;
        let index = entries.length;
        entries.push(entry);
        while (index > 0) {
            const parentIndex = (index - 1) >> 1;
            const parent = entries[parentIndex] as ExpiryEntry;
            if (parent.key <= entry.key) break;
            entries[index] = parent;
            index = parentIndex;
        }
        entries[index] = entry;
    }

    pop(): ExpiryEntry | undefined {
        const entries = this.entries;
        const top = entries[0];
        const last = entries.pop();
        if (top === undefined || last === undefined || entries.length === 0) return top;
        let index = 0;
        for (;;) {
            const left = 2 * index + 1;
            if (left >= entries.length) break;
            const right = left + 1;
            const child =
                right < entries.length && (entries[right] as ExpiryEntry).key < (entries[left] as ExpiryEntry).key
                    ? right
                    : left;
            if ((entries[child] as ExpiryEntry).key >= last.key) break;
            entries[index] = entries[child] as ExpiryEntry;
            index = child;
        }
        entries[index] = last;
        return top;
    }

    clear(): void {
        this.entries.length = 0;
    }
}

/**
 * A document store's expiry instants: every document version its map (`_rid` -> item) is given, filed under the
 * instant it can first match the TTL sweep's query (ttlSweeper.ts expiredItemsQuery): by `_ts + ttl` when the item has
 * its own positive `ttl`, by `_ts` (to be compared with now - defaultTtl) when it has no valid own `ttl`, and nowhere
 * when its `ttl` is -1 or its `_ts` is not a number (the query cannot select it). Keying the default-TTL heap on `_ts`
 * rather than `_ts + defaultTtl` keeps it valid when the container's default changes.
 *
 * Every write of the server, whatever wraps it (changeSequence.ts, cosmosState.ts, the loader's direct inserts, a
 * rollback's restores), ends in `this._data.set` or `this._data.delete` (items.js), so watching the map's `set` rather
 * than the store's methods misses none. Deletes and overwrites are not looked up in the heaps: an entry is current
 * only while the map still holds its very document object under its `_rid` (lazy invalidation), and stale entries are
 * dropped when a sweep reaches them.
 */
class ExpiryIndex {
    readonly ownTtl = new ExpiryHeap();
    readonly defaultTtl = new ExpiryHeap();

    constructor(private readonly map: Map<string, StoredItem>) {}

    file(rid: string, document: StoredDocument | null | undefined): void {
        if (!document) return;
        const { _ts: ts, ttl } = document;
        if (typeof ts !== 'number') return;
        if (typeof ttl === 'number' && ttl > 0) this.ownTtl.push({ key: ts + ttl, rid, document });
        else if (ttl !== -1) this.defaultTtl.push({ key: ts, rid, document });
    }

    clear(): void {
        this.ownTtl.clear();
        this.defaultTtl.clear();
    }

    /**
     * The current documents whose key is at most `bound`, each once; they stay filed (a sweep's delete may fail, and
     * such a document must be found again). Stale entries met on the way are dropped. O(m log n) for m entries at or
     * below `bound`.
     */
    due(heap: ExpiryHeap, bound: number, into: Set<StoredDocument>): void {
        const kept: ExpiryEntry[] = [];
        for (let entry = heap.peek(); entry !== undefined && entry.key <= bound; entry = heap.peek()) {
            heap.pop();
            if (this.map.get(entry.rid)?.read() !== entry.document || into.has(entry.document)) continue;
            into.add(entry.document);
            kept.push(entry);
        }
        for (const entry of kept) heap.push(entry);
    }
}

const installed = Symbol.for('namestream.cosmos.expiryIndex');
const indexes = new WeakMap<Map<string, StoredItem>, ExpiryIndex>();

/**
 * The store's expiry index, built on first use by one pass over what its map holds (loaded documents included), after
 * which the map's own `set` and `clear` (instance properties over Map's) keep it current.
 */
function expiryIndexOf(store: DocumentStore): ExpiryIndex {
    const map = store._data;
    let index = indexes.get(map);
    if (index) return index;
    const built = new ExpiryIndex(map);
    for (const [rid, item] of map) built.file(rid, item.read());
    map.set = function setAndFile(this: Map<string, StoredItem>, rid: string, item: StoredItem) {
        Map.prototype.set.call(this, rid, item);
        built.file(rid, item?.read());
        return this;
    };
    map.clear = function clearAll(this: Map<string, StoredItem>) {
        Map.prototype.clear.call(this);
        built.clear();
    };
    indexes.set(map, built);
    index = built;
    return index;
}

function numberParameter(body: QueryBody, name: string): number | undefined {
    let value: unknown;
    // As @zeit/cosmosdb-query's executor binds them: the last of equal names wins.
    for (const parameter of body.parameters ?? []) if (parameter.name === name) value = parameter.value;
    return typeof value === 'number' ? value : undefined;
}

/**
 * The sweep query's answer from the expiry heaps, or undefined for any other query (then the server's own path runs).
 * Exact: the query's WHERE still runs, in the same engine, over a superset of the documents it selects (the heaps'
 * due entries), and with no ORDER BY the engine orders rows by `_rid`, unique in a store, so which other documents are
 * left out changes neither the rows, their order, nor the pages and continuation tokens.
 */
function answerExpiredItemsQuery(store: DocumentStore, body: QueryBody, options: QueryOptions): unknown {
    const parent = store._parent.read();
    if (!parent) return undefined;
    const partitionKeyPath = store._partitionKeyPath[0] ?? '/id';
    const withDefault = expiredItemsQuery(0, partitionKeyPath, 0).query;
    const withoutDefault = expiredItemsQuery(-1, partitionKeyPath, 0).query;
    if (body.query !== withDefault && body.query !== withoutDefault) return undefined;
    const now = numberParameter(body, '@now');
    const defaultCutoff = body.query === withDefault ? numberParameter(body, '@defaultCutoff') : undefined;
    if (now === undefined || (body.query === withDefault && defaultCutoff === undefined)) return undefined;

    const index = expiryIndexOf(store);
    const due = new Set<StoredDocument>();
    index.due(index.ownTtl, now, due);
    if (defaultCutoff !== undefined) index.due(index.defaultTtl, defaultCutoff, due);
    // The rest restates Items#query (items.js) over the due documents instead of all of them.
    try {
        return store._getQuery(body.query).exec([...due], {
            parameters: body.parameters,
            udf: store._userDefinedFunctions(),
            maxItemCount: options.maxItemCount,
            continuation: options.continuation,
            compositeIndexes: parent.indexingPolicy?.compositeIndexes ?? [],
        });
    } catch (error) {
        (error as { badRequest?: boolean }).badRequest = true;
        throw error;
    }
}

/**
 * Makes the TTL sweep's query (ttlSweeper.ts) cost what it deletes rather than what the container holds: the
 * in-process cosmosdb-server answers it from per-container min-heaps of expiry instants (ExpiryIndex) instead of
 * evaluating its WHERE over every document.
 *
 * Why: the sweeper runs once a minute, and over a week of letter counts (544,374 documents, the Bicep's 7-day TTL) the
 * full scan took 2.2-12 s and blocked the event loop for 2-6.6 s each time (docs/local-runtime.md), where Azure expires
 * items in the background. Patched on `Documents.prototype.query`, which the query handler calls; every other query
 * takes the server's own path. Process-wide and idempotent.
 */
export function installExpiryIndex(): void {
    const prototype = Documents.prototype as unknown as DocumentStore & { [installed]?: true };
    if (prototype[installed]) return;
    const originalQuery = prototype.query;
    prototype.query = function queryWithExpiryIndex(this: DocumentStore, body: QueryBody, options: QueryOptions) {
        const answer = answerExpiredItemsQuery(this, body, options ?? {});
        return answer === undefined ? originalQuery.call(this, body, options) : answer;
    };
    prototype[installed] = true;
}
