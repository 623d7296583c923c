import Documents from '@vercel/cosmosdb-server/lib/account/documents';
import Items from '@vercel/cosmosdb-server/lib/account/items';
import { beforeAll, describe, expect, it } from 'vitest';

import { installExpiryIndex } from '../../../local/cosmos/expiryIndex';
import { installLinearQueries } from '../../../local/cosmos/linearQueries';
import { expiredItemsQuery } from '../../../local/cosmos/ttlSweeper';
import { allPages, random } from './queryPages';

type StoredDocument = Record<string, unknown>;
interface Page {
    result: StoredDocument[];
    continuation: { token: string } | null;
}
interface Spec {
    query: string;
    parameters: { name: string; value: unknown }[];
}
interface Store {
    _set(document: StoredDocument): StoredDocument;
    delete(id: string, partition: unknown): void;
    query(spec: Spec, options: object): Page;
    _getQuery(sql: string): { exec(collection: unknown[], options: object): unknown };
    _data: Map<string, unknown>;
}

/** A container's document store as cosmosdb-server builds it, under a stand-in container partitioned on /pk. */
function newStore(): Store {
    const parent = {
        read: () => ({ id: 'c', _rid: 'c', _self: 'dbs/d/colls/c/', indexingPolicy: {} }),
        userDefinedFunctions: { functions: {} },
    };
    return new (Documents as unknown as new (parent: object, paths: string[]) => Store)(parent, ['/pk']);
}

/** What the server's own Items#query answers: every document through the engine, no expiry index. */
function general(store: Store, spec: Spec, options: object = {}): Page {
    return (Items.prototype as unknown as { query(spec: Spec, options: object): Page }).query.call(
        store,
        spec,
        options,
    );
}

// Valid and invalid per-item ttls, as in ttlSweeper.test.ts: only positive numbers and -1 override the default.
const TTLS: unknown[] = [undefined, undefined, null, -1, 0, -5, 1, 30, 59, 60, 61, 3600, 'x', true, 0.5];

function write(store: Store, next: () => number, n: number): void {
    const ttl = TTLS[Math.floor(next() * TTLS.length)];
    const document: StoredDocument = {
        id: `d${n}`,
        pk: `p${n % 7}`,
        _rid: `rid${String(n).padStart(6, '0')}`,
        _ts: 1_000 + Math.floor(next() * 100),
        _etag: `e${next()}`,
    };
    if (ttl !== undefined) document.ttl = ttl;
    store._set(document);
}

/** Counts the documents the query engine is handed, per query, on this store only. */
function countVisited(store: Store): number[] {
    const visited: number[] = [];
    const getQuery = store._getQuery.bind(store);
    store._getQuery = (sql) => {
        const query = getQuery(sql);
        return {
            exec: (collection, options) => {
                visited.push(collection.length);
                return query.exec(collection, options);
            },
        };
    };
    return visited;
}

describe('installExpiryIndex', () => {
    beforeAll(() => {
        installLinearQueries();
        installExpiryIndex();
    });

    it("answers the TTL sweep's query as the server's own path does, through writes, rewrites and deletes", () => {
        let selected = 0;
        for (let seed = 1; seed <= 6; seed++) {
            const next = random(seed);
            const store = newStore();
            for (let n = 0; n < 150; n++) write(store, next, n);
            for (let round = 0; round < 4; round++) {
                for (const defaultTtl of [60, 3600, -1]) {
                    for (const now of [1_000, 1_030.5, 1_061, 1_160, 5_000]) {
                        const spec = expiredItemsQuery(defaultTtl, '/pk', now) as Spec;
                        const context = `seed ${seed} round ${round} defaultTtl ${defaultTtl} now ${now}`;
                        const answer = store.query(spec, {});
                        expect(answer, context).toEqual(general(store, spec));
                        selected += answer.result.length;
                        expect(
                            allPages((options) => store.query(spec, options), 5),
                            context,
                        ).toEqual(allPages((options) => general(store, spec, options), 5));
                    }
                }
                // Between sweeps: rewrites of existing ids (new _ts and ttl), new documents, and a sweep's deletes
                // of part of what expired (the rest stands for deletes that lost an etag race).
                for (let k = 0; k < 40; k++) {
                    const n = Math.floor(next() * 200);
                    const existing = store._data.has(`rid${String(n).padStart(6, '0')}`);
                    if (existing) store.delete(`d${n}`, `p${n % 7}`);
                    write(store, next, n);
                }
                const expired = general(store, expiredItemsQuery(60, '/pk', 1_080) as Spec).result;
                for (const document of expired.filter(() => next() < 0.7))
                    store.delete(document.id as string, document.partitionKeyValue);
            }
        }
        expect(selected).toBeGreaterThan(1_000); // the comparisons are not all of empty answers
    });

    it('hands the engine only the expired documents, not the whole container, sweep after sweep', () => {
        const store = newStore();
        // One document a second for 2,000 seconds, on the container's default TTL of 60 s.
        for (let n = 0; n < 2_000; n++) {
            store._set({ id: `d${n}`, pk: `p${n % 27}`, _rid: `r${String(n).padStart(6, '0')}`, _ts: 1_000 + n });
        }
        const visited = countVisited(store);
        const sweep = (now: number): string[] => {
            const { result } = store.query(expiredItemsQuery(60, '/pk', now) as Spec, {});
            for (const document of result) store.delete(document.id as string, document.partitionKeyValue);
            return result.map((document) => document.id as string);
        };
        expect(sweep(1_089)).toHaveLength(30); // _ts 1000..1029
        expect(sweep(1_099)).toEqual(Array.from({ length: 10 }, (_, k) => `d${30 + k}`));
        expect(sweep(1_099)).toEqual([]);
        expect(visited).toEqual([30, 10, 0]);
        expect(store._data.size).toBe(1_960);
    });

    it('leaves every other query to the server, over every document', () => {
        const store = newStore();
        for (let n = 0; n < 50; n++) store._set({ id: `d${n}`, pk: 'p', _rid: `r${n}`, _ts: 1_000 });
        const visited = countVisited(store);
        const spec = expiredItemsQuery(60, '/pk', 2_000) as Spec;
        const other = { query: `${spec.query} `, parameters: spec.parameters }; // not the sweeper's text
        expect(store.query(other, {}).result).toHaveLength(50);
        expect(store.query({ query: spec.query, parameters: [] }, {}).result).toEqual([]); // no @now: general path
        expect(visited).toEqual([50, 50]);
    });
});
