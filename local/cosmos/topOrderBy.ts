/**
 * `SELECT TOP k * FROM c ORDER BY c.<path> [ASC|DESC]` answered by a top-k selection, O(n log k), instead of the full
 * O(n log n) sort @zeit/cosmosdb-query runs over every document before slicing k (helpers.js `sort`, then `.slice`).
 *
 * Why: the dashboard's RECENT_LETTER_COUNTS_QUERY has this shape, and over a week of letter counts (544,374 documents)
 * the full sort blocked the event loop for 1.6-2.8 s per call (docs/local-runtime.md), where real Cosmos DB serves it
 * from the range index by reading k items. No library offers "the engine's own order, but only the first k"; the
 * selection is hand-written here to reproduce that order exactly.
 *
 * Exactness: the engine sorts rows stably (Array#sort) by (value at the path, flipped for DESC; then `_rid`), both
 * compared by its `comparator` (helpers.js), drops rows whose value is undefined, then slices k. For values on which
 * that comparator is a consistent total preorder (undefined, null, booleans, numbers other than NaN, strings, and
 * non-array objects, which all compare equal to each other) the result is therefore the k least documents under
 * (value, `_rid`, position in the collection), in that order. Those k documents, handed to the engine in their
 * collection order, come out of its sort, slice, projection and paging exactly as from the whole collection.
 * Anything else (arrays or NaN, on which the comparator contradicts itself so the result depends on the sort
 * algorithm; non-object documents; any other query shape) returns undefined and goes the general way.
 */

/** The parts of the parser's AST (@zeit/cosmosdb-query parser.js) this module reads. */
interface AstNode {
    type: string;
    [key: string]: unknown;
}

interface ExecOptions {
    parameters?: { name: string; value: unknown }[];
}

interface TopOrderBy {
    /** A number, or the name of the parameter (without '@') that holds it. */
    top: number | { parameter: string };
    /** Property names from the document down, e.g. ['windowEnd']. */
    path: string[];
    descending: boolean;
}

const SAFE_TYPES = new Set(['null', 'boolean', 'number', 'string', 'object']);

/** helpers.js `typeOf`, to which the comparator's type order refers. */
function typeOf(value: unknown): string {
    const type = typeof value;
    if (type !== 'object') return type;
    if (value === null) return 'null';
    return Array.isArray(value) ? 'array' : type;
}

const TYPE_ORDER = ['undefined', 'null', 'boolean', 'number', 'string', 'array', 'object'];

/** helpers.js `comparator` restated for the safe types (see the module comment): -1, 0 or 1. */
function compareValues(a: unknown, b: unknown): number {
    if (a === b) return 0;
    const aType = typeOf(a);
    const bType = typeOf(b);
    if (aType === bType) {
        if (aType === 'object') return 0;
        return (a as string) < (b as string) ? -1 : 1;
    }
    return TYPE_ORDER.indexOf(aType) < TYPE_ORDER.indexOf(bType) ? -1 : 1;
}

/** A value the comparator orders consistently: undefined, null, a boolean, a number but NaN, a string, an object. */
function isSafe(value: unknown): boolean {
    if (value === undefined) return true;
    if (typeof value === 'number') return !Number.isNaN(value);
    return SAFE_TYPES.has(typeOf(value));
}

/** helpers.js `getValue`: undefined as soon as a step is not a non-null object. */
function valueAt(document: unknown, path: readonly string[]): unknown {
    let value = document;
    for (const key of path) {
        if (typeof value !== 'object' || value === null) return undefined;
        value = (value as Record<string, unknown>)[key];
        if (value === undefined) return undefined;
    }
    return value;
}

/** The query's TOP and single ORDER BY if it has exactly the shape this module answers, else undefined. */
export function matchTopOrderBy(ast: unknown): TopOrderBy | undefined {
    const body = (ast as AstNode | undefined)?.body as AstNode | undefined;
    if (body?.type !== 'select_query' || body.where || !body.top || !body.orderBy) return undefined;
    const select = body.select as AstNode;
    if (select['*'] !== true) return undefined;
    const from = body.from as AstNode | null;
    const source = from?.source as AstNode | undefined;
    if (!from || (from.joins as unknown[]).length > 0 || source?.type !== 'from_source') return undefined;
    const collection = source.expression as AstNode;
    const root = collection.expression as AstNode;
    if (collection.type !== 'collection_expression' || root.type !== 'identifier') return undefined;
    const alias = ((source.alias as AstNode | null)?.name ?? root.name) as string;

    const expressions = (body.orderBy as AstNode).expressions as AstNode[];
    const [sortExpression] = expressions;
    if (expressions.length !== 1 || !sortExpression) return undefined;
    const path: string[] = [];
    let expression = sortExpression.expression as AstNode;
    while (expression.type === 'scalar_member_expression') {
        const property = expression.property as AstNode;
        if (property.type === 'identifier' && expression.computed === false) path.unshift(property.name as string);
        else if (property.type === 'string_constant' && expression.computed === true) {
            path.unshift(property.value as string);
        } else return undefined;
        expression = expression.object as AstNode;
    }
    if (expression.type !== 'identifier' || expression.name !== alias || path.length === 0) return undefined;

    const topValue = (body.top as AstNode).value as AstNode;
    let top: TopOrderBy['top'];
    if (topValue.type === 'number_constant') top = topValue.value as number;
    else if (topValue.type === 'parameter_name') top = { parameter: (topValue.name as string).slice(1) };
    else return undefined;
    return { top, path, descending: sortExpression.order === 'DESC' };
}

interface Candidate {
    document: Record<string, unknown>;
    value: unknown;
    rid: unknown;
    position: number;
}

/**
 * For a query of the shape in the module comment, the at most k documents of `collection` that its result consists
 * of, in collection order; undefined when the query has another shape, k is not a whole number below the document
 * count, or a value makes the engine's order depend on its sort algorithm (then run the query over everything).
 * O(n) comparisons in the usual case (see the sample below), O(n log k) at worst.
 */
export function selectTopOrderByDocuments(
    ast: unknown,
    collection: readonly unknown[],
    options: ExecOptions | undefined,
): unknown[] | undefined {
    const shape = matchTopOrderBy(ast);
    if (!shape) return undefined;
    let k: unknown = shape.top;
    if (typeof shape.top !== 'number') {
        // As executor.js binds them: by name without '@', the last of equal names winning.
        k = undefined;
        for (const { name, value } of options?.parameters ?? []) if (name.slice(1) === shape.top.parameter) k = value;
    }
    if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 0 || k >= collection.length) return undefined;

    const sign = shape.descending ? -1 : 1;
    // Positive when (value, rid, position) ranks after b in the engine's result; no two candidates tie (positions).
    const compareTo = (value: unknown, rid: unknown, position: number, b: Candidate): number =>
        sign * compareValues(value, b.value) || compareValues(rid, b.rid) || position - b.position;
    const compare = (a: Candidate, b: Candidate): number => compareTo(a.value, a.rid, a.position, b);
    const candidateAt = (position: number): Candidate | undefined => {
        const document = collection[position] as Record<string, unknown> | undefined;
        if (typeof document !== 'object' || document === null) return undefined;
        const value = valueAt(document, shape.path);
        return value === undefined ? undefined : { document, value, rid: document._rid, position };
    };

    // A threshold from an evenly spaced sample, ranked a little past where the k-th document is expected, so that
    // about k documents (rarely fewer) rank at or before it: the one pass below then keeps only those, at one
    // comparison each, where a heap over all of them costs O(n log k) comparisons when the documents come in the order
    // that makes each replace the heap's root (a container loaded in write order, asked for its latest windows).
    // Every document at or before the threshold is kept, so when at least k are, the k least are among them.
    const count = collection.length;
    const sampleSize = Math.min(count, Math.max(256, Math.ceil(16 * Math.sqrt(count))));
    const sample: Candidate[] = [];
    for (let i = 0; i < sampleSize; i++) {
        const candidate = candidateAt(Math.floor((i * count) / sampleSize));
        if (candidate) sample.push(candidate);
    }
    sample.sort(compare); // before the checks below: an unsafe value can only move the threshold
    const expectedRank = (k * sampleSize) / count;
    const threshold =
        sampleSize === count ? sample[k - 1] : sample[Math.ceil(expectedRank + 3 * Math.sqrt(expectedRank) + 8)];

    // One pass to check every document (see the module comment) and keep those at or before the threshold.
    let kept: Candidate[] = [];
    for (let position = 0; position < count; position++) {
        const document = collection[position]; // a hole reads as undefined, which the FROM clause skips too
        if (document === undefined) continue;
        if (typeof document !== 'object' || document === null || Array.isArray(document)) return undefined;
        const record = document as Record<string, unknown>;
        const value = valueAt(record, shape.path);
        const rid = record._rid;
        if (!isSafe(value) || !isSafe(rid)) return undefined;
        if (value === undefined) continue;
        if (threshold === undefined || compareTo(value, rid, position, threshold) <= 0) {
            kept.push({ document: record, value, rid, position });
        }
    }
    if (k === 0) return [];
    if (kept.length < k) {
        kept = [];
        for (let position = 0; position < count; position++) {
            const candidate = candidateAt(position);
            if (candidate) kept.push(candidate);
        }
    }
    const selected = selectLeast(kept, k, compare);
    return selected.sort((a, b) => a.position - b.position).map(({ document }) => document);
}

/** The k least candidates by `compare`, in no particular order: a max-heap of the best so far. O(n log k). */
function selectLeast(candidates: readonly Candidate[], k: number, compare: Compare): Candidate[] {
    const heap: Candidate[] = [];
    for (const candidate of candidates) {
        if (heap.length < k) {
            heap.push(candidate);
            siftUp(heap, heap.length - 1, compare);
        } else if (compare(candidate, heap[0] as Candidate) < 0) {
            heap[0] = candidate;
            siftDown(heap, 0, compare);
        }
    }
    return heap;
}

type Compare = (a: Candidate, b: Candidate) => number;

function siftUp(heap: Candidate[], index: number, compare: Compare): void {
    const item = heap[index] as Candidate;
    while (index > 0) {
        const parentIndex = (index - 1) >> 1;
        const parent = heap[parentIndex] as Candidate;
        if (compare(item, parent) <= 0) break;
        heap[index] = parent;
        index = parentIndex;
    }
    heap[index] = item;
}

function siftDown(heap: Candidate[], index: number, compare: Compare): void {
    const item = heap[index] as Candidate;
    for (;;) {
        const left = 2 * index + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child =
            right < heap.length && compare(heap[right] as Candidate, heap[left] as Candidate) > 0 ? right : left;
        if (compare(heap[child] as Candidate, item) <= 0) break;
        heap[index] = heap[child] as Candidate;
        index = child;
    }
    heap[index] = item;
}
