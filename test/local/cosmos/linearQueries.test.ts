import { createRequire } from 'node:module';

import { beforeAll, describe, expect, it } from 'vitest';

import { installLinearQueries, stripUndefined } from '../../../local/cosmos/linearQueries';

interface Page {
    result: unknown[];
    continuation: { token: string } | null;
}
interface Query {
    exec(collection: unknown[], options?: Record<string, unknown>): Page;
}

// The copy of the SQL engine the server itself loads, as installLinearQueries patches it.
const compile = createRequire(require.resolve('@vercel/cosmosdb-server'))('@zeit/cosmosdb-query').default as (
    sql: string,
) => Query;

/** Letter-count-like documents, one partition key value per 27 documents, as the pipeline writes them. */
function documents(count: number): Record<string, unknown>[] {
    return Array.from({ length: count }, (_, n) => ({
        id: `w${Math.floor(n / 27)}-${n % 27}`,
        windowEnd: `2026-11-30T${String(Math.floor(n / 27)).padStart(7, '0')}`,
        count: n % 5,
        ...(n % 3 === 0 ? { ttl: 60 } : {}),
        tags: n % 4 === 0 ? [{ name: 'a' }, { name: 'b', skip: undefined }] : [],
        _ts: 1_000 + n,
        _rid: `rid${String(n).padStart(8, '0')}`,
    }));
}

/**
 * How many elements all array iterations (spreads, for-of) step through while `run` runs: the work of copying
 * arrays, counted instead of timed. Replacing Array.prototype's iterator makes V8 take the generic path for spreads.
 */
function countIteratedElements(run: () => void): number {
    const original = Array.prototype[Symbol.iterator];
    let steps = 0;
    Array.prototype[Symbol.iterator] = function countingIterator(this: unknown[]) {
        const inner = original.call(this);
        return {
            next() {
                steps += 1;
                return inner.next();
            },
            [Symbol.iterator]() {
                return this;
            },
        } as ArrayIterator<unknown>;
    };
    try {
        run();
    } finally {
        Array.prototype[Symbol.iterator] = original;
    }
    return steps;
}

const SWEEP = 'SELECT c.id, c._ts, c.ttl FROM c WHERE c._ts < @cutoff';
const sweepSteps = (count: number) =>
    countIteratedElements(() => {
        const rows = documents(count);
        compile(SWEEP).exec(rows, { parameters: [{ name: '@cutoff', value: 1_000 + count }] });
    });

/** Query shapes the FROM clause compiles differently for: plain, WHERE, ORDER BY, TOP, JOINs, aggregates. */
const QUERIES = [
    'SELECT * FROM c',
    'SELECT c.id, c.ttl FROM c WHERE c._ts < 1010',
    'SELECT TOP 7 * FROM c ORDER BY c.windowEnd DESC',
    'SELECT c.id, t.name FROM c JOIN t IN c.tags',
    'SELECT c.id, t.name, u.name AS other FROM c JOIN t IN c.tags JOIN u IN c.tags',
    'SELECT c.id FROM c JOIN (SELECT VALUE t FROM t IN c.tags WHERE t.name = "b")',
    'SELECT VALUE COUNT(1) FROM c',
    'SELECT VALUE SUM(c.count) FROM c WHERE c.ttl = 60',
    'SELECT * FROM c.tags',
    'SELECT f.id FROM Families f',
];

/** Every page of a query at 4 rows a page, following the continuation tokens. */
function allPages(sql: string, rows: unknown[]): unknown[][] {
    const pages: unknown[][] = [];
    let continuation: { token: string } | null = null;
    do {
        const page: Page = compile(sql).exec(rows, { maxItemCount: 4, ...(continuation ? { continuation } : {}) });
        pages.push(page.result);
        continuation = page.continuation;
    } while (continuation && pages.length < 100);
    return pages;
}

describe('installLinearQueries', () => {
    // Measured on the unpatched library first: installation is process-wide and cannot be undone.
    let unpatched: { results: unknown[]; pages: unknown[][]; steps: [number, number] };
    beforeAll(() => {
        const rows = documents(60);
        unpatched = {
            results: QUERIES.map((sql) => compile(sql).exec(rows).result),
            pages: allPages('SELECT c.id FROM c ORDER BY c.windowEnd DESC', rows),
            steps: [sweepSteps(400), sweepSteps(800)],
        };
        installLinearQueries();
    });

    it('leaves the library quadratic before it is installed (the cause: doubling the documents quadruples the work)', () => {
        const [small, large] = unpatched.steps;
        expect(large / small).toBeGreaterThan(3.5);
    });

    it('makes a query over N documents across N/27 partition key values linear: doubling N doubles the work', () => {
        const small = sweepSteps(400);
        const large = sweepSteps(800);
        expect(large / small).toBeLessThan(2.2);
        expect(large).toBeLessThan(unpatched.steps[1] / 10);
    });

    it('returns what the unpatched library returns, for every FROM shape and page by page', () => {
        installLinearQueries(); // idempotent: a second install does not wrap twice
        const rows = documents(60);

        expect(QUERIES.map((sql) => compile(sql).exec(rows).result)).toEqual(unpatched.results);
        expect(allPages('SELECT c.id FROM c ORDER BY c.windowEnd DESC', rows)).toEqual(unpatched.pages);
    });
});

describe('stripUndefined', () => {
    it('drops undefined array elements and object properties at every depth, keeping null', () => {
        expect(
            stripUndefined([1, undefined, { a: undefined, b: null, c: [undefined, { d: undefined, e: 2 }] }]),
        ).toEqual([1, { b: null, c: [{ e: 2 }] }]);
        expect(stripUndefined('x')).toBe('x');
    });
});
