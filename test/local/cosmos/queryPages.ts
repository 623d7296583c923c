import { createRandomSource } from '../../../domain/random';

/** One page of a cosmosdb-server query: its rows and the continuation to the next, null after the last. */
export interface QueryPage<Row> {
    result: Row[];
    continuation: { token: string } | null;
}

/**
 * Every page at `maxItemCount` rows a page, following continuation tokens, by `run` (at most 200 pages, so a
 * continuation that never ends fails the comparison instead of hanging the test).
 */
export function allPages<Row, Options extends object>(
    run: (options: Options & { maxItemCount: number; continuation?: { token: string } }) => QueryPage<Row>,
    maxItemCount: number,
): Row[][] {
    const pages: Row[][] = [];
    let continuation: { token: string } | null = null;
    do {
        const page: QueryPage<Row> = run({
            maxItemCount,
            ...(continuation ? { continuation } : {}),
        } as Options & { maxItemCount: number });
        pages.push(page.result);
        continuation = page.continuation;
    } while (continuation && pages.length < 200);
    return pages;
}

/** Numbers in [0, 1) from the project's seeded source, so a failing container can be rebuilt from its seed. */
export function random(seed: number): () => number {
    const source = createRandomSource(seed);
    return () => source.nextFloat();
}
