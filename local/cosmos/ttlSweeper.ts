import type { Container, CosmosClient, PartitionKey, SqlQuerySpec } from '@azure/cosmos';

import type { Clock } from '../../domain/clock';
import { InvalidCosmosOptionError } from './errors';

export interface TtlSweeperOptions {
    client: CosmosClient;
    databaseName: string;
    containerName: string;
    /** How often to sweep. Between sweeps expired items stay readable (Azure hides them from reads at once). */
    intervalMs: number;
    /** "Now" for expiry; the server stamps `_ts` from its own wall clock, so production passes the system clock. */
    clock: Clock;
    onError?: (error: unknown) => void;
}

export interface TtlSweeper {
    /** Deletes every item expired at clock.now(); returns the ids deleted. */
    sweepOnce(): Promise<string[]>;
    stop(): Promise<void>;
}

interface ItemTtlView {
    id: string;
    _ts: number;
    _etag: string;
    ttl?: unknown;
    partitionKeyValue?: unknown;
}

/**
 * The seconds after `_ts` at which an item expires, or undefined if it never does, by Azure's rules: container
 * `defaultTtl` absent/null turns TTL off (item `ttl` ignored); -1 turns it on without a default; an item's own `ttl`
 * (a positive number, or -1 for never) overrides the container's when TTL is on.
 */
export function effectiveTtlSeconds(
    containerDefaultTtl: number | null | undefined,
    itemTtl: unknown,
): number | undefined {
    if (containerDefaultTtl === undefined || containerDefaultTtl === null) return undefined;
    const ttl = typeof itemTtl === 'number' && (itemTtl === -1 || itemTtl > 0) ? itemTtl : containerDefaultTtl;
    return ttl === -1 ? undefined : ttl;
}

/**
 * Enforces container TTL, which cosmosdb-server stores on the container (`defaultTtl`) but never applies: each sweep
 * deletes, over REST, the items whose `_ts + ttl <= now`. Deletes use the item's `_etag` as a precondition, so an item
 * rewritten since the sweep read it (and so no longer expired) survives. As in Azure, these deletes do not appear in
 * the latest-version change feed.
 */
export function startTtlSweeper(options: TtlSweeperOptions): TtlSweeper {
    if (!Number.isFinite(options.intervalMs) || options.intervalMs <= 0) {
        throw new InvalidCosmosOptionError('intervalMs', options.intervalMs, 'must be a positive number');
    }
    const container = options.client.database(options.databaseName).container(options.containerName);
    const onError = options.onError ?? ((error: unknown) => console.error('[cosmos ttl]', error));
    const sweepOnce = (): Promise<string[]> => sweep(container, options.clock);
    let sweeping: Promise<void> | undefined;
    // A tick that finds the previous sweep still running is skipped, so slow sweeps never queue up behind each other.
    const timer = setInterval(() => {
        sweeping ??= sweepOnce()
            .then(() => undefined, onError)
            .finally(() => {
                sweeping = undefined;
            });
    }, options.intervalMs);
    return {
        sweepOnce,
        stop: async () => {
            clearInterval(timer);
            await sweeping;
        },
    };
}

async function sweep(container: Container, clock: Clock): Promise<string[]> {
    const { resource: definition } = await container.read();
    const defaultTtl = definition?.defaultTtl;
    if (defaultTtl === undefined || defaultTtl === null) return [];
    const partitionKeyPath = definition?.partitionKey?.paths?.[0] ?? '/id';
    const nowSeconds = clock.now().getTime() / 1000;
    const { resources } = await container.items
        .query<ItemTtlView>(expiredItemsQuery(defaultTtl, partitionKeyPath, nowSeconds))
        .fetchAll();
    const deleted: string[] = [];
    for (const item of resources) {
        const ttl = effectiveTtlSeconds(defaultTtl, item.ttl);
        if (ttl === undefined || item._ts + ttl > nowSeconds) continue;
        try {
            await container
                .item(item.id, item.partitionKeyValue as PartitionKey)
                .delete({ accessCondition: { type: 'IfMatch', condition: item._etag } });
            deleted.push(item.id);
        } catch (error) {
            // 404: already gone; 412: rewritten since the read, so its clock restarted.
            const code = (error as { code?: unknown }).code;
            if (code !== 404 && code !== 412) throw error;
        }
    }
    return deleted;
}

/**
 * The query for the items expired at `nowSeconds`, by the rules of effectiveTtlSeconds (which the sweep applies again
 * to each row): an item's own valid `ttl` (a positive number) counts from its `_ts`, -1 never expires, and anything else
 * takes the container's default, unless that is -1. Filtering in the query, rather than reading every item each sweep,
 * keeps a sweep's response to the items it deletes. The in-process server recognises this exact text (installExpiryIndex,
 * expiryIndex.ts) and evaluates the filter only over the documents due by per-container expiry heaps, so a sweep costs
 * what has expired rather than what the container holds (a week of letter counts: see docs/local-runtime.md).
 */
export function expiredItemsQuery(
    containerDefaultTtl: number,
    partitionKeyPath: string,
    nowSeconds: number,
): SqlQuerySpec {
    const ownTtl = 'IS_NUMBER(c.ttl) AND (c.ttl = -1 OR c.ttl > 0)';
    const expiredByOwnTtl = 'IS_NUMBER(c.ttl) AND c.ttl > 0 AND c._ts + c.ttl <= @now';
    const expiredByDefault = `NOT (${ownTtl}) AND c._ts <= @defaultCutoff`;
    const select = `SELECT c.id, c._ts, c._etag, c.ttl, c${toPropertyAccess(partitionKeyPath)} AS partitionKeyValue FROM c`;
    if (containerDefaultTtl === -1) {
        return { query: `${select} WHERE ${expiredByOwnTtl}`, parameters: [{ name: '@now', value: nowSeconds }] };
    }
    return {
        query: `${select} WHERE (${expiredByOwnTtl}) OR (${expiredByDefault})`,
        parameters: [
            { name: '@now', value: nowSeconds },
            { name: '@defaultCutoff', value: nowSeconds - containerDefaultTtl },
        ],
    };
}

/** `/windowEnd` -> `["windowEnd"]`, `/a/b` -> `["a"]["b"]`: a query path for a partition key definition. */
function toPropertyAccess(path: string): string {
    return path
        .split('/')
        .filter((segment) => segment !== '')
        .map((segment) => `[${JSON.stringify(segment)}]`)
        .join('');
}
