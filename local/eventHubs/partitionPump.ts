import type { ReceivedEventData } from './events';

export interface PartitionPumpSource {
    read(partitionId: string, fromSequenceNumber: number, maxCount: number): ReceivedEventData[];
    onEventsAppended(partitionId: string, listener: () => void): () => void;
}

export interface PartitionPumpOptions {
    readonly consumerGroup: string;
    readonly partitionId: string;
    readonly startSequenceNumber: number;
    readonly maxBatchSize: number;
    readonly retryDelayMs: number;
    readonly handler: (partitionId: string, events: ReceivedEventData[]) => Promise<void>;
    readonly onError: (error: unknown, context: PartitionErrorContext) => void;
    /** Called after each batch the handler accepted, with the last event's sequence number. */
    readonly onBatchProcessed: (lastSequenceNumber: number) => void;
}

export interface PartitionErrorContext {
    readonly consumerGroup: string;
    readonly partitionId: string;
    readonly firstSequenceNumber: number;
    readonly lastSequenceNumber: number;
    /** 1 for the first failure of this batch, 2 for its first retry's failure, … */
    readonly attempt: number;
}

/**
 * Delivers one partition to one consumer: in order, one batch at a time (the next batch waits for the handler), a
 * failed batch retried unchanged after retryDelayMs. Sleeps until the partition reports an append; never polls.
 */
export class PartitionPump {
    private nextSequenceNumber: number;
    private readUpTo: number;
    private closed = false;
    private wakeUp: (() => void) | undefined;
    private waitingForEvents = false;
    /** Consecutive reads of the current position that failed, plus the one in progress. */
    private readAttempts = 0;
    private readonly unsubscribe: () => void;
    readonly finished: Promise<void>;

    constructor(
        private readonly source: PartitionPumpSource,
        private readonly options: PartitionPumpOptions,
    ) {
        this.nextSequenceNumber = options.startSequenceNumber;
        this.readUpTo = options.startSequenceNumber;
        this.unsubscribe = source.onEventsAppended(options.partitionId, () => {
            // A retry back-off is not cut short by new events; only an idle wait is.
            if (this.waitingForEvents) {
                this.wake();
            }
        });
        this.finished = this.run();
    }

    get consumerGroup(): string {
        return this.options.consumerGroup;
    }

    get partitionId(): string {
        return this.options.partitionId;
    }

    /**
     * The sequence number of the first event this pump has not yet taken from the partition (a batch being handed
     * over, or retried, is already taken: it is held here, so trimming the partition cannot take it away).
     */
    get readPosition(): number {
        return this.readUpTo;
    }

    close(): Promise<void> {
        this.closed = true;
        this.unsubscribe();
        this.wake();
        return this.finished;
    }

    private wake(): void {
        const wakeUp = this.wakeUp;
        this.wakeUp = undefined;
        wakeUp?.();
    }

    private async run(): Promise<void> {
        // Start on a later turn so the subscriber gets its handle back before the first handler call.
        await Promise.resolve();
        while (!this.closed) {
            const batch = await this.readBatch();
            if (batch === undefined) {
                continue;
            }
            const last = batch[batch.length - 1];
            if (last === undefined) {
                this.waitingForEvents = true;
                await this.sleep();
                this.waitingForEvents = false;
                continue;
            }
            this.readUpTo = last.sequenceNumber + 1;
            if (await this.deliver(batch)) {
                this.nextSequenceNumber = last.sequenceNumber + 1;
                this.options.onBatchProcessed(last.sequenceNumber);
            }
        }
    }

    /**
     * The next batch, or undefined after a failed read (a durable hub reading a corrupt row of its store): reported
     * like a failed batch and retried after retryDelayMs, so the pump neither skips the events nor stops the process.
     */
    private async readBatch(): Promise<ReceivedEventData[] | undefined> {
        const from = this.nextSequenceNumber;
        try {
            this.readAttempts++;
            const batch = this.source.read(this.options.partitionId, from, this.options.maxBatchSize);
            this.readAttempts = 0;
            return batch;
        } catch (error: unknown) {
            this.options.onError(error, {
                consumerGroup: this.options.consumerGroup,
                partitionId: this.options.partitionId,
                firstSequenceNumber: from,
                lastSequenceNumber: from,
                attempt: this.readAttempts,
            });
            await this.sleep(this.options.retryDelayMs);
            return undefined;
        }
    }

    /** Hands the batch over until the handler accepts it or the pump closes; true when it was accepted. */
    private async deliver(batch: ReceivedEventData[]): Promise<boolean> {
        for (let attempt = 1; !this.closed; attempt++) {
            try {
                await this.options.handler(this.options.partitionId, batch);
                return true;
            } catch (error: unknown) {
                this.options.onError(error, {
                    consumerGroup: this.options.consumerGroup,
                    partitionId: this.options.partitionId,
                    firstSequenceNumber: (batch[0] as ReceivedEventData).sequenceNumber,
                    lastSequenceNumber: (batch[batch.length - 1] as ReceivedEventData).sequenceNumber,
                    attempt,
                });
                await this.sleep(this.options.retryDelayMs);
            }
        }
        return false;
    }

    /** Resolves on the next append or close, or after delayMs when given. */
    private sleep(delayMs?: number): Promise<void> {
        if (this.closed) {
            return Promise.resolve();
        }
        return new Promise((resolve) => {
            const timer = delayMs === undefined ? undefined : setTimeout(() => this.wake(), delayMs);
            this.wakeUp = () => {
                clearTimeout(timer);
                resolve();
            };
        });
    }
}
