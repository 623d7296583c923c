import type { CosmosClient } from '@azure/cosmos';

import type { Clock } from '../../../domain/clock';
import { InvalidCosmosOptionError, LeaseLostError } from '../errors';
import type { ChangedDocument, ChangeFeedPoll } from './changeFeedReader';
import { ChangeFeedReader } from './changeFeedReader';
import { leaseIdFor, LeaseStore } from './leaseStore';

/**
 * The Functions retry policy for a failed invocation (`retry` on app.cosmosDB, fixed delay). Azure writes no
 * checkpoint until the policy has finished, so the same batch is retried; once retries are exhausted the checkpoint
 * moves on. `maxRetryCount: -1` retries forever.
 */
export interface ChangeFeedRetryPolicy {
    maxRetryCount: number;
    delayMs: number;
}

export interface ChangeFeedProcessorOptions {
    client: CosmosClient;
    databaseName: string;
    containerName: string;
    /** Defaults to databaseName, as in the trigger. */
    leaseDatabaseName?: string;
    leaseContainerName?: string;
    leaseContainerPrefix?: string;
    /** The lease `Owner`; the Functions host uses the instance id. */
    instanceName: string;
    /** Delay between polls once all current changes are drained. Azure default 5000 ms. */
    feedPollDelayMs?: number;
    /** Largest batch per handler call. Azure leaves the page size to the service; 100 here. */
    maxItemsPerInvocation?: number;
    /** Only for a new lease: read from the start of the container instead of from now. */
    startFromBeginning?: boolean;
    /** Only for a new lease: read changes made at or after this instant (second precision). */
    startFromTime?: Date;
    retry?: ChangeFeedRetryPolicy;
    handler: (documents: ChangedDocument[]) => Promise<void>;
    /** Handler failures, lost leases and read errors; the processor keeps going unless the lease was lost. */
    onError?: (error: unknown) => void;
    clock: Clock;
}

export interface ChangeFeedProcessorHandle {
    /** Waits for the batch in flight (handler and checkpoint), then releases the lease. */
    stop(): Promise<void>;
    /**
     * How far delivery trails the container: now minus the `_ts` of the oldest change not yet checkpointed, 0 when
     * the last poll found nothing new, undefined before the first poll. Second precision, like `_ts`.
     */
    lagMs(): number | undefined;
}

const DEFAULT_MAX_ITEMS = 100;

/**
 * Starts a change-feed processor in latest-version mode, reading the REST change feed through the official
 * `@azure/cosmos` iterator (as the trigger's .NET processor reads Azure's), with the semantics of the Azure Functions
 * Cosmos DB trigger: one lease in the lease container holds the continuation, batches are delivered in
 * modification order, the checkpoint is written only after the handler settles (at-least-once: a crash in between
 * redelivers), and a handler that throws without a retry policy is logged and checkpointed past, as the trigger does
 * (azure-webjobs-sdk-extensions#412, #837). Resolves once the lease is held.
 */
export async function startChangeFeedProcessor(
    options: ChangeFeedProcessorOptions,
): Promise<ChangeFeedProcessorHandle> {
    const settings = validate(options);
    const processor = new ChangeFeedProcessor(settings, await createLeaseStore(settings));
    await processor.start();
    return { stop: () => processor.stop(), lagMs: () => processor.lagMs() };
}

type Settings = Required<Omit<ChangeFeedProcessorOptions, 'startFromTime' | 'retry' | 'onError'>> &
    Pick<ChangeFeedProcessorOptions, 'startFromTime' | 'retry'> & { onError: (error: unknown) => void };

function validate(options: ChangeFeedProcessorOptions): Settings {
    const feedPollDelayMs = options.feedPollDelayMs ?? 5000;
    if (!Number.isFinite(feedPollDelayMs) || feedPollDelayMs < 0) {
        throw new InvalidCosmosOptionError('feedPollDelayMs', feedPollDelayMs, 'must be a non-negative number');
    }
    const maxItemsPerInvocation = options.maxItemsPerInvocation ?? DEFAULT_MAX_ITEMS;
    if (!Number.isInteger(maxItemsPerInvocation) || maxItemsPerInvocation < 1) {
        throw new InvalidCosmosOptionError(
            'maxItemsPerInvocation',
            maxItemsPerInvocation,
            'must be a positive integer',
        );
    }
    if (options.startFromBeginning === true && options.startFromTime !== undefined) {
        throw new InvalidCosmosOptionError(
            'startFromTime',
            options.startFromTime,
            'cannot be combined with startFromBeginning',
        );
    }
    if (options.startFromTime !== undefined && Number.isNaN(options.startFromTime.getTime())) {
        throw new InvalidCosmosOptionError('startFromTime', options.startFromTime, 'must be a valid date');
    }
    const retry = options.retry;
    if (retry !== undefined && (!Number.isInteger(retry.maxRetryCount) || retry.maxRetryCount < -1)) {
        throw new InvalidCosmosOptionError('retry.maxRetryCount', retry.maxRetryCount, 'must be an integer >= -1');
    }
    if (retry !== undefined && (!Number.isFinite(retry.delayMs) || retry.delayMs < 0)) {
        throw new InvalidCosmosOptionError('retry.delayMs', retry.delayMs, 'must be a non-negative number');
    }
    return {
        ...options,
        leaseDatabaseName: options.leaseDatabaseName ?? options.databaseName,
        leaseContainerName: options.leaseContainerName ?? 'leases',
        leaseContainerPrefix: options.leaseContainerPrefix ?? '',
        feedPollDelayMs,
        maxItemsPerInvocation,
        startFromBeginning: options.startFromBeginning ?? false,
        onError: options.onError ?? ((error: unknown) => console.error('[cosmos change feed]', error)),
    };
}

async function createLeaseStore(settings: Settings): Promise<LeaseStore> {
    const accountHost = new URL(await settings.client.getWriteEndpoint()).hostname;
    const leaseId = leaseIdFor(
        settings.leaseContainerPrefix,
        accountHost,
        settings.databaseName,
        settings.containerName,
    );
    const leaseContainer = settings.client.database(settings.leaseDatabaseName).container(settings.leaseContainerName);
    return new LeaseStore(leaseContainer, leaseId, settings.instanceName, settings.clock);
}

class ChangeFeedProcessor {
    private readonly reader: ChangeFeedReader;
    /** The lease's continuation: the etag after the last checkpointed change, null = the beginning of the feed. */
    private cursor: string | null = null;
    private stopping = false;
    private wake: (() => void) | undefined;
    private running: Promise<void> | undefined;
    private leaseLost = false;
    private oldestUndeliveredTs: number | undefined;
    private polled = false;

    constructor(
        private readonly settings: Settings,
        private readonly leases: LeaseStore,
    ) {
        this.reader = new ChangeFeedReader(
            settings.client.database(settings.databaseName).container(settings.containerName),
            settings.maxItemsPerInvocation,
        );
    }

    async start(): Promise<void> {
        this.cursor = await this.leases.acquire(() => this.initialContinuation());
        await this.reopen();
        this.running = this.run();
    }

    async stop(): Promise<void> {
        this.stopping = true;
        this.wake?.();
        await this.running;
        if (!this.leaseLost) {
            await this.leases.release().catch((error: unknown) => this.settings.onError(error));
        }
    }

    lagMs(): number | undefined {
        if (!this.polled) return undefined;
        if (this.oldestUndeliveredTs === undefined) return 0;
        return Math.max(0, this.settings.clock.now().getTime() - this.oldestUndeliveredTs * 1000);
    }

    /**
     * The continuation a new lease is created with, resolved once, before start() resolves, so a change written after
     * start() is never missed and a restart before the first checkpoint resumes from the same point. From now: the
     * etag of the first (304) page. From a time: just before the first change at or after it (its `_lsn` less one:
     * the service's etags are LSNs), or the etag of the 304 when there is none yet.
     */
    private async initialContinuation(): Promise<string | null> {
        if (this.settings.startFromBeginning) return null;
        const probe = new ChangeFeedReader(
            this.settings.client.database(this.settings.databaseName).container(this.settings.containerName),
            1,
        );
        const since = this.settings.startFromTime;
        await probe.open(since === undefined ? { kind: 'now' } : { kind: 'time', since });
        const { documents, etag } = await probe.poll();
        const first = documents[0];
        return first === undefined ? etag : `"${first._lsn - 1}"`;
    }

    /** Reads from the lease's continuation again: after a failed read or checkpoint, so nothing read is skipped. */
    private reopen(): Promise<void> {
        return this.reader.open(
            this.cursor === null ? { kind: 'beginning' } : { kind: 'continuation', etag: this.cursor },
        );
    }

    private async run(): Promise<void> {
        while (!this.stopping) {
            let poll: ChangeFeedPoll;
            try {
                poll = await this.reader.poll();
            } catch (error) {
                this.settings.onError(error);
                await this.sleep(this.settings.feedPollDelayMs);
                await this.reopen().catch((reopenError: unknown) => this.settings.onError(reopenError));
                continue;
            }
            this.polled = true;
            const batch = poll.documents;
            const first = batch[0];
            if (first === undefined) {
                this.oldestUndeliveredTs = undefined;
                await this.sleep(this.settings.feedPollDelayMs);
                continue;
            }
            this.oldestUndeliveredTs = first._ts;
            if (!(await this.deliver(batch))) return;
            try {
                await this.leases.checkpoint(poll.etag);
            } catch (error) {
                this.settings.onError(error);
                if (error instanceof LeaseLostError) {
                    this.leaseLost = true;
                    return;
                }
                // The batch was handled but not checkpointed: read it again, so it is redelivered (at-least-once).
                await this.sleep(this.settings.feedPollDelayMs);
                await this.reopen().catch((reopenError: unknown) => this.settings.onError(reopenError));
                continue;
            }
            this.cursor = poll.etag;
            // A non-empty page means more changes may be waiting: poll again at once, as the SDK drains the feed.
        }
    }

    /** Runs the handler under the retry policy. False when stopped mid-retry: no checkpoint, the batch stays pending. */
    private async deliver(batch: ChangedDocument[]): Promise<boolean> {
        const retry = this.settings.retry;
        for (let attempt = 0; ; attempt += 1) {
            try {
                await this.settings.handler(batch);
                return true;
            } catch (error) {
                this.settings.onError(error);
                const retriesLeft =
                    retry !== undefined && (retry.maxRetryCount === -1 || attempt < retry.maxRetryCount);
                if (!retriesLeft) return true;
                await this.sleep(retry.delayMs);
                if (this.stopping) return false;
            }
        }
    }

    private sleep(ms: number): Promise<void> {
        if (this.stopping) return Promise.resolve();
        return new Promise<void>((resolve) => {
            const timer = setTimeout(done, ms);
            this.wake = done;
            function done(): void {
                clearTimeout(timer);
                resolve();
            }
        }).finally(() => {
            this.wake = undefined;
        });
    }
}
