import type { Container } from '@azure/cosmos';

/** A document as the change feed returns it: user properties plus system properties, including `_lsn`. */
export type ChangedDocument = Record<string, unknown> & { id: string; _lsn: number; _ts: number; _etag: string };

/**
 * Reads the latest-version change feed of one container from the `_lsn` that installChangeSequence stamps. Each
 * item exists once in the container at its latest version, so reading "items whose `_lsn` is past the cursor, in
 * `_lsn` order" is exactly latest-version mode: creates and updates, each item at most once per read at its newest
 * version, deletes never (the item is simply gone).
 */
export class ChangeFeedReader {
    constructor(private readonly container: Container) {}

    async readAfter(afterLsn: number, maxItems: number): Promise<ChangedDocument[]> {
        const { resources } = await this.container.items
            .query<ChangedDocument>({
                query: `SELECT TOP ${maxItems} * FROM c WHERE c._lsn > @after ORDER BY c._lsn ASC`,
                parameters: [{ name: '@after', value: afterLsn }],
            })
            .fetchAll();
        return resources;
    }

    /** The newest `_lsn` in the container, or 0 when it is empty: "start from now". */
    async latestLsn(): Promise<number> {
        const { resources } = await this.container.items
            .query<{ _lsn: number }>('SELECT TOP 1 c._lsn FROM c WHERE IS_DEFINED(c._lsn) ORDER BY c._lsn DESC')
            .fetchAll();
        return resources[0]?._lsn ?? 0;
    }

    /**
     * The cursor just before the first change at or after `since` (compared at `_ts`'s one-second precision; Azure
     * documents about five seconds). The latest `_lsn` is read first, so a write racing this call is never skipped.
     */
    async lsnBefore(since: Date): Promise<number> {
        const latest = await this.latestLsn();
        const { resources } = await this.container.items
            .query<{ _lsn: number }>({
                query: 'SELECT TOP 1 c._lsn FROM c WHERE c._ts >= @since AND IS_DEFINED(c._lsn) ORDER BY c._lsn ASC',
                parameters: [{ name: '@since', value: Math.floor(since.getTime() / 1000) }],
            })
            .fetchAll();
        const first = resources[0]?._lsn;
        return first === undefined ? latest : Math.min(first - 1, latest);
    }
}
