import { createRequire } from 'node:module';

import { selectTopOrderByDocuments } from './topOrderBy';

type Reducer = (accumulator: unknown[], element: unknown, index: number, array: unknown[]) => unknown;

interface QueryPrototype {
    ast?: unknown;
    exec: (this: QueryPrototype, collection: unknown[], options?: unknown) => unknown;
    [installed]?: true;
}

interface QueryHelpers {
    stripUndefined: (value: unknown) => unknown;
}

const installed = Symbol.for('namestream.cosmos.linearQueries');

/**
 * The collection a query runs over, whose `reduce(callback, [])` costs O(n) instead of O(n²).
 *
 * Why: @zeit/cosmosdb-query (the SQL engine inside cosmosdb-server 1.0.1) compiles `FROM c` (and each `JOIN`) to
 * `collection.reduce(($, c) => cond ? [...$, { c }] : $, [])`, copying the whole accumulator for every document, so
 * every query, even one with a WHERE that matches nothing, costs O(n²) in the container's document count (8,000
 * documents 0.2 s, 16,000 documents 14 s on a 2-core machine, see docs/local-runtime.md). Every such callback appends
 * to `$` what depends only on the element (`[...$, X]`, `[...$, ...Xs]` or `$` itself; transformer.js
 * `from_specification` generates nothing else), so calling it with a fresh empty accumulator yields exactly the
 * element's part, and appending the parts gives the same array in the same order in O(n). The result is again an
 * AppendOnlyCollection so that chained JOIN reduces stay linear; `map`, `filter` and `slice` give plain arrays
 * (`Symbol.species`), so nothing past the FROM clause (aggregates, GROUP BY, the helpers) ever sees this `reduce`.
 */
export class AppendOnlyCollection<T> extends Array<T> {
    static override get [Symbol.species](): ArrayConstructor {
        return Array;
    }

    static wrap<T>(items: readonly T[]): AppendOnlyCollection<T> {
        const collection = new AppendOnlyCollection<T>();
        for (const item of items) collection.push(item);
        return collection;
    }

    // The overloads of Array#reduce cannot be restated generically; the implementation covers all of them.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    override reduce(...args: [any, any?]): any {
        const [callback, initial] = args as [Reducer, unknown];
        if (args.length !== 2 || !Array.isArray(initial) || initial.length !== 0) {
            return super.reduce(...(args as Parameters<Array<T>['reduce']>));
        }
        const result = new AppendOnlyCollection<unknown>();
        for (let index = 0; index < this.length; index++) {
            if (!(index in this)) continue;
            const part = callback([], this[index], index, this);
            if (!Array.isArray(part)) {
                throw new TypeError(`a FROM clause reducer returned ${typeof part}, not an array`);
            }
            for (const item of part) result.push(item);
        }
        return result;
    }
}

/** @zeit/cosmosdb-query's `stripUndefined` (helpers.js) in O(n): the same result, without `[...o, v]` per element. */
export function stripUndefined(value: unknown): unknown {
    if (Array.isArray(value)) {
        const result: unknown[] = [];
        // A loop, not map: undefined elements are dropped (unlike JSON, which would write null).
        for (const element of value as unknown[]) {
            if (element !== undefined) result.push(stripUndefined(element));
        }
        return result;
    }
    if (value !== null && typeof value === 'object') {
        const result: Record<string, unknown> = {};
        for (const [key, property] of Object.entries(value)) {
            if (property !== undefined) result[key] = stripUndefined(property);
        }
        return result;
    }
    return value;
}

/**
 * Makes the queries of the in-process cosmosdb-server linear in the container's document count: each query runs over
 * an AppendOnlyCollection (see there), `SELECT TOP k * FROM c ORDER BY c.x` runs over only the k documents it returns
 * (selectTopOrderByDocuments: O(n log k) instead of sorting all n), and the result rows are cleaned of `undefined` by
 * a linear `stripUndefined` (the library's copies its accumulator per row: O(r²) in the rows returned, 16,000 rows
 * 12 s). Patched on the same copy of @zeit/cosmosdb-query that cosmosdb-server loads (resolved from its folder):
 * `Query#exec`, which both its queries and its feed reads call, and the helpers object the compiled queries and
 * `paginate` look `stripUndefined` up on at each call. Process-wide and idempotent.
 */
export function installLinearQueries(): void {
    const requireFromServer = createRequire(require.resolve('@vercel/cosmosdb-server'));
    const queryModule = requireFromServer('@zeit/cosmosdb-query') as { default: (sql: string) => object };
    const helpers = requireFromServer('@zeit/cosmosdb-query/lib/helpers') as QueryHelpers;
    const prototype = Object.getPrototypeOf(queryModule.default('SELECT * FROM c')) as QueryPrototype;
    if (prototype[installed]) return;
    const originalExec = prototype.exec;
    prototype.exec = function execLinear(this: QueryPrototype, collection: unknown[], options?: unknown): unknown {
        const topDocuments = selectTopOrderByDocuments(
            this.ast,
            collection,
            options as Parameters<typeof selectTopOrderByDocuments>[2],
        );
        if (topDocuments) return originalExec.call(this, AppendOnlyCollection.wrap(topDocuments), options);
        const linear = collection instanceof AppendOnlyCollection ? collection : AppendOnlyCollection.wrap(collection);
        return originalExec.call(this, linear, options);
    };
    helpers.stripUndefined = stripUndefined;
    prototype[installed] = true;
}
