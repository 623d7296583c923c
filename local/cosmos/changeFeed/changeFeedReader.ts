import type { ChangeFeedPullModelIterator, Container } from '@azure/cosmos';
import { ChangeFeedStartFrom } from '@azure/cosmos';

/** A document as the change feed returns it: user properties plus system properties, including `_lsn`. */
export type ChangedDocument = Record<string, unknown> & { id: string; _lsn: number; _ts: number; _etag: string };

/**
 * Where a read starts: a lease continuation (the service's etag, e.g. `"24"`, as the .NET processor stores it in
 * `ContinuationToken`), or one of the start options of a new lease.
 */
export type ChangeFeedPosition =
    { kind: 'continuation'; etag: string } | { kind: 'beginning' } | { kind: 'now' } | { kind: 'time'; since: Date };

/** One poll: the changed documents (possibly none, a 304) and the etag after them. */
export interface ChangeFeedPoll {
    documents: ChangedDocument[];
    etag: string;
}

/**
 * Reads the latest-version change feed of one container through the official `@azure/cosmos` pull-model iterator
 * (`getChangeFeedIterator`), that is over the REST change feed the local server serves (changeFeedRoute.ts), as the
 * Functions trigger's processor reads Azure's. The whole container is one feed range here (the local server has one
 * partition key range), so a position is that range's etag; it is turned into the client's continuation token, which
 * names the container by its `_rid`.
 */
export class ChangeFeedReader {
    private iterator: ChangeFeedPullModelIterator<ChangedDocument> | undefined;

    constructor(
        private readonly container: Container,
        private readonly maxItemCount: number,
    ) {}

    /** Starts (or restarts, dropping what the previous iterator had read ahead) at `position`. */
    async open(position: ChangeFeedPosition): Promise<void> {
        this.iterator = this.container.items.getChangeFeedIterator<ChangedDocument>({
            changeFeedStartFrom: await this.startFrom(position),
            maxItemCount: this.maxItemCount,
        });
    }

    async poll(): Promise<ChangeFeedPoll> {
        if (this.iterator === undefined) throw new Error('ChangeFeedReader.poll called before open');
        const response = await this.iterator.readNext();
        return {
            documents: response.statusCode === 304 ? [] : response.result,
            etag: etagOf(response.continuationToken),
        };
    }

    private async startFrom(position: ChangeFeedPosition): Promise<ChangeFeedStartFrom> {
        switch (position.kind) {
            case 'beginning':
                return ChangeFeedStartFrom.Beginning();
            case 'now':
                return ChangeFeedStartFrom.Now();
            case 'time':
                return ChangeFeedStartFrom.Time(position.since);
            case 'continuation': {
                const { resource } = await this.container.read();
                const token = {
                    rid: resource?._rid,
                    Continuation: [{ minInclusive: '', maxExclusive: 'FF', continuationToken: position.etag }],
                };
                return ChangeFeedStartFrom.Continuation(JSON.stringify(token));
            }
        }
    }
}

/**
 * The etag of the single feed range in the client's composite continuation token
 * (`{"rid", "Continuation": [{"minInclusive", "maxExclusive", "continuationToken"}]}`, @azure/cosmos
 * CompositeContinuationToken).
 */
function etagOf(continuationToken: string): string {
    const parsed = JSON.parse(continuationToken) as { Continuation?: { continuationToken?: unknown }[] };
    const etag = parsed.Continuation?.[0]?.continuationToken;
    if (typeof etag !== 'string') {
        throw new Error(`The change feed continuation token holds no etag (got ${JSON.stringify(continuationToken)})`);
    }
    return etag;
}
