import type { Container } from '@azure/cosmos';

import type { Clock } from '../../../domain/clock';
import { LeaseLostError } from '../errors';

/**
 * The lease document, shaped like the Azure Cosmos DB SDK v3 change-feed processor's EPK lease
 * (`DocumentServiceLeaseCoreEpk`, `version` 1) that the Functions Cosmos DB extension 4.x writes. The local server
 * has a single partition key range, so there is one lease per monitored container, for range ["", "FF").
 * `ContinuationToken` holds the change feed's etag after the last checkpointed change (a quoted LSN such as `"24"`,
 * stored verbatim as the .NET processor does), or null for a lease that starts at the beginning of the feed.
 */
export interface LeaseDocument {
    id: string;
    version: 1;
    LeaseToken: string;
    FeedRange: { Range: { min: string; max: string } };
    Owner: string | null;
    ContinuationToken: string | null;
    timestamp: string;
    properties: Record<string, string>;
    _etag?: string;
    _ts?: number;
}

const LEASE_TOKEN = '0';

/**
 * `{leaseContainerPrefix}{account host}_{database}_{container}..{lease token}`: the SDK's lease prefix format
 * (`"{0}{1}_{2}_{3}"` over prefix, endpoint host, database and container) plus its `..` partition-lease separator.
 * Names stand in for resource ids, which cosmosdb-server also derives from creation order rather than identity.
 */
export function leaseIdFor(prefix: string, accountHost: string, databaseName: string, containerName: string): string {
    return `${prefix}${accountHost}_${databaseName}_${containerName}..${LEASE_TOKEN}`;
}

function isStatus(error: unknown, code: number): boolean {
    return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/** Reads and writes one lease document with optimistic concurrency on `_etag`, as the SDK's lease manager does. */
export class LeaseStore {
    private lease: LeaseDocument | undefined;

    constructor(
        private readonly container: Container,
        readonly leaseId: string,
        private readonly owner: string,
        private readonly clock: Clock,
    ) {}

    /**
     * Takes ownership of the lease, creating it at `initialContinuation()` if it does not exist yet; so start options
     * apply only to a new lease, and a restarted processor resumes from its last checkpoint. Returns the cursor.
     */
    async acquire(initialContinuation: () => Promise<string | null>): Promise<string | null> {
        let existing = await this.read();
        if (existing === undefined) {
            const start = await initialContinuation();
            try {
                existing = await this.create(start);
            } catch (error) {
                if (!isStatus(error, 409)) throw error;
                existing = await this.read();
                if (existing === undefined) throw error;
            }
        }
        this.lease = await this.replace({ ...existing, Owner: this.owner }, existing);
        return this.lease.ContinuationToken;
    }

    async checkpoint(continuation: string): Promise<void> {
        const current = this.current();
        this.lease = await this.replace({ ...current, ContinuationToken: continuation }, current);
    }

    /** Clears the owner on a clean stop, as the SDK does, so another instance may take the lease at once. */
    async release(): Promise<void> {
        const current = this.current();
        this.lease = await this.replace({ ...current, Owner: null }, current);
    }

    private current(): LeaseDocument {
        if (this.lease === undefined) throw new LeaseLostError(this.leaseId, this.owner);
        return this.lease;
    }

    private async read(): Promise<LeaseDocument | undefined> {
        const { resource } = await this.container.item(this.leaseId, this.leaseId).read<LeaseDocument>();
        return resource;
    }

    private async create(start: string | null): Promise<LeaseDocument> {
        const lease: LeaseDocument = {
            id: this.leaseId,
            version: 1,
            LeaseToken: LEASE_TOKEN,
            FeedRange: { Range: { min: '', max: 'FF' } },
            Owner: null,
            ContinuationToken: start,
            timestamp: this.clock.now().toISOString(),
            properties: {},
        };
        const { resource } = await this.container.items.create<LeaseDocument>(lease);
        return resource!;
    }

    private async replace(next: LeaseDocument, previous: LeaseDocument): Promise<LeaseDocument> {
        const { _etag: etag, _ts: _unused, ...body } = next;
        try {
            const { resource } = await this.container
                .item(this.leaseId, this.leaseId)
                .replace<LeaseDocument>(
                    { ...body, timestamp: this.clock.now().toISOString() },
                    { accessCondition: { type: 'IfMatch', condition: previous._etag ?? etag ?? '' } },
                );
            return resource!;
        } catch (error) {
            if (isStatus(error, 412) || isStatus(error, 404)) {
                this.lease = undefined;
                throw new LeaseLostError(this.leaseId, this.owner);
            }
            throw error;
        }
    }
}
