import { createRequire } from 'node:module';

import { beforeAll, describe, expect, it } from 'vitest';

import { RECENT_LETTER_COUNTS_QUERY } from '../../../domain/letterCounts/recentWindows';
import { AppendOnlyCollection, installLinearQueries } from '../../../local/cosmos/linearQueries';
import { matchTopOrderBy, selectTopOrderByDocuments } from '../../../local/cosmos/topOrderBy';
import { allPages, random } from './queryPages';

interface Page {
    result: unknown[];
    continuation: { token: string } | null;
}
interface ExecOptions {
    parameters?: { name: string; value: unknown }[];
    maxItemCount?: number;
    continuation?: { token: string };
}
interface Query {
    ast: unknown;
    code: string;
    exec(collection: unknown[], options?: ExecOptions): Page;
}

// The copy of the SQL engine the server itself loads, as installLinearQueries patches it.
const requireFromServer = createRequire(require.resolve('@vercel/cosmosdb-server'));
const compile = requireFromServer('@zeit/cosmosdb-query').default as (sql: string) => Query;
const execute = requireFromServer('@zeit/cosmosdb-query/lib/executor').default as (
    collection: unknown[],
    options: ExecOptions & { code: string },
) => Page;
const helpers = requireFromServer('@zeit/cosmosdb-query/lib/helpers') as { sort: (...args: unknown[]) => unknown[] };

/** The general engine: the query's compiled code over every document, without the exec patch's selection. */
function general(sql: string, documents: unknown[], options: ExecOptions = {}): Page {
    return execute(AppendOnlyCollection.wrap(documents), { ...options, code: compile(sql).code });
}

/**
 * Documents whose sort values tie often and mix every type the comparator orders consistently (missing, null,
 * booleans, numbers, strings, objects), with duplicate `_rid`s and (unless ridShare is 1) missing ones, as a stress of
 * the engine's tie rules.
 */
function container(seed: number, count: number, ridShare = 0.9): Record<string, unknown>[] {
    const next = random(seed);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
    const values = [
        undefined,
        undefined,
        null,
        true,
        false,
        0,
        1,
        1,
        2.5,
        -3,
        '2026-11-30T00:00:30Z',
        'a',
        'a',
        '',
        { x: 1 },
    ];
    return Array.from({ length: count }, (_, n) => {
        const document: Record<string, unknown> = { id: `d${n}`, n };
        const windowEnd = pick(values);
        if (windowEnd !== undefined) document.windowEnd = windowEnd;
        if (next() < 0.8) document.a = { b: pick(values) };
        if (next() < ridShare) document._rid = `r${Math.floor(next() * count)}`; // duplicates and gaps on purpose
        return document;
    });
}

const QUERIES: [string, ExecOptions?][] = [
    [RECENT_LETTER_COUNTS_QUERY],
    ['SELECT TOP 7 * FROM c ORDER BY c.windowEnd DESC'],
    ['SELECT TOP 7 * FROM c ORDER BY c.windowEnd'],
    ['SELECT TOP 7 * FROM c ORDER BY c.windowEnd ASC'],
    ['SELECT TOP 1 * FROM c ORDER BY c.a.b DESC'],
    ['SELECT TOP 12 * FROM c ORDER BY c["a"]["b"]'],
    ['SELECT TOP 9 * FROM root r ORDER BY r.windowEnd DESC'],
    ['SELECT TOP @n * FROM c ORDER BY c.windowEnd DESC', { parameters: [{ name: '@n', value: 11 }] }],
    ['SELECT TOP 0 * FROM c ORDER BY c.windowEnd DESC'],
    // Shapes the selection leaves to the general engine:
    ['SELECT TOP 5 c.id FROM c ORDER BY c.windowEnd DESC'],
    ['SELECT TOP 5 * FROM c WHERE c.n > 3 ORDER BY c.windowEnd DESC'],
    ['SELECT TOP 500 * FROM c ORDER BY c.windowEnd DESC'],
    ['SELECT TOP @n * FROM c ORDER BY c.windowEnd DESC', { parameters: [{ name: '@n', value: 2.5 }] }],
];

describe('selectTopOrderByDocuments through installLinearQueries', () => {
    beforeAll(() => {
        installLinearQueries();
    });

    it('returns what the general engine returns, on randomized containers with ties, missing fields and mixed types', () => {
        for (let seed = 1; seed <= 25; seed++) {
            const documents = container(seed, 150);
            for (const [sql, options] of QUERIES) {
                const context = `seed ${seed}: ${sql}`;
                expect(compile(sql).exec(documents, options), context).toEqual(general(sql, documents, options));
            }
        }
    });

    it('returns the same from large containers, where a sample picks the threshold, and when the sample misleads it', () => {
        const sampled = container(3, 3_000);
        // The positions the selection samples (ceil(16 sqrt n), evenly spaced) far ahead of the rest: the threshold
        // from the sample then keeps fewer than k documents, and the selection must start over from all of them.
        const samplePositions = new Set(Array.from({ length: 877 }, (_, i) => Math.floor((i * 3_000) / 877)));
        const misleading = container(4, 3_000).map((document, n) => ({
            ...document,
            windowEnd: samplePositions.has(n) ? 9 : 1,
        }));
        for (const documents of [sampled, misleading]) {
            for (const sql of [
                'SELECT TOP 40 * FROM c ORDER BY c.windowEnd DESC',
                'SELECT TOP 40 * FROM c ORDER BY c.windowEnd',
                'SELECT TOP 1 * FROM c ORDER BY c.a.b DESC',
                'SELECT TOP 1000 * FROM c ORDER BY c.windowEnd DESC',
            ]) {
                expect(compile(sql).exec(documents), sql).toEqual(general(sql, documents));
            }
        }
    });

    it('pages the same way: every page and continuation token, at page sizes that split ties', () => {
        const documents = container(7, 300, 1); // paging needs a `_rid` on every row, in both paths
        for (const sql of [
            'SELECT TOP 40 * FROM c ORDER BY c.windowEnd DESC',
            'SELECT TOP 40 * FROM c ORDER BY c.a.b',
        ]) {
            for (const maxItemCount of [1, 3, 16]) {
                const patched = allPages((options) => compile(sql).exec(documents, options), maxItemCount);
                expect(patched, `${sql} at ${maxItemCount}`).toEqual(
                    allPages((options) => general(sql, documents, options), maxItemCount),
                );
                expect(patched.flat()).toHaveLength(40);
            }
        }
    });

    it("hands the engine's sort only the k rows of the dashboard's query, not the whole container", () => {
        // 60 windows x 27 buckets = 1,620 rows asked for, out of 4 times as many documents.
        const documents = Array.from({ length: 4 * 1_620 }, (_, n) => ({
            id: `w${Math.floor(n / 27)}-${n % 27}`,
            windowEnd: `2026-11-30T${String(Math.floor(n / 27)).padStart(7, '0')}`,
            _rid: `rid${String(n).padStart(8, '0')}`,
        }));
        const expected = general(RECENT_LETTER_COUNTS_QUERY, documents).result;
        const sorted: number[] = [];
        const original = helpers.sort;
        helpers.sort = (collection: unknown, ...rest: unknown[]) => {
            sorted.push((collection as unknown[]).length);
            return original(collection, ...rest);
        };
        try {
            const { result } = compile(RECENT_LETTER_COUNTS_QUERY).exec(documents);
            expect(result).toEqual(expected);
        } finally {
            helpers.sort = original;
        }
        expect(sorted).toEqual([1_620]);
    });

    it('leaves arrays and NaN, on which the engine orders by its sort algorithm, to the general engine', () => {
        const sql = 'SELECT TOP 2 * FROM c ORDER BY c.windowEnd';
        const ast = compile(sql).ast;
        const plain = [{ windowEnd: 2 }, { windowEnd: 1 }, { windowEnd: 3 }];
        expect(selectTopOrderByDocuments(ast, plain, undefined)).toEqual([{ windowEnd: 2 }, { windowEnd: 1 }]);
        expect(selectTopOrderByDocuments(ast, [...plain, { windowEnd: [1] }], undefined)).toBeUndefined();
        expect(selectTopOrderByDocuments(ast, [...plain, { windowEnd: Number.NaN }], undefined)).toBeUndefined();
        expect(selectTopOrderByDocuments(ast, [...plain, { windowEnd: 0, _rid: [1] }], undefined)).toBeUndefined();
        expect(selectTopOrderByDocuments(ast, [...plain, null], undefined)).toBeUndefined();
    });

    it('recognises only TOP with one ORDER BY path over the FROM alias, selecting *, without WHERE or JOIN', () => {
        const shape = (sql: string) => matchTopOrderBy(compile(sql).ast);
        expect(shape(RECENT_LETTER_COUNTS_QUERY)).toEqual({ top: 1_620, path: ['windowEnd'], descending: true });
        expect(shape('SELECT TOP @k * FROM root r ORDER BY r["a"].b')).toEqual({
            top: { parameter: 'k' },
            path: ['a', 'b'],
            descending: false,
        });
        for (const sql of [
            'SELECT * FROM c ORDER BY c.windowEnd',
            'SELECT TOP 3 * FROM c',
            'SELECT TOP 3 c.id FROM c ORDER BY c.windowEnd',
            'SELECT TOP 3 * FROM c WHERE c.id = "x" ORDER BY c.windowEnd',
            'SELECT TOP 3 * FROM c JOIN t IN c.tags ORDER BY c.windowEnd',
            'SELECT TOP 3 * FROM c ORDER BY c.windowEnd, c.id',
            'SELECT TOP 3 * FROM c IN c.tags ORDER BY c.name',
            'SELECT TOP 3 * FROM c ORDER BY c.tags[0]',
        ]) {
            expect(shape(sql), sql).toBeUndefined();
        }
    });
});
