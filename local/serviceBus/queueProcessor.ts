import type { Clock } from '../../domain/clock';
import { InvalidQueueOptionError } from './errors';
import type { LocalServiceBusQueue } from './localServiceBusQueue';
import type { ReceivedServiceBusMessage } from './messages';

/** The .NET processor renews this long before a lock runs out (or halfway through a shorter remaining lock). */
const RENEW_AHEAD_MS = 10_000;

export type ProcessorPhase = 'receive' | 'handler' | 'complete' | 'abandon' | 'renewLock';

export interface ProcessorErrorContext {
    readonly phase: ProcessorPhase;
    readonly queueName: string;
    readonly messageId: string;
    readonly sequenceNumber: number;
    readonly deliveryCount: number;
}

export interface QueueProcessorOptions {
    /** The Functions host default is 16 × processor count (host.json extensions.serviceBus.maxConcurrentCalls). */
    maxConcurrentCalls: number;
    /** How long the lock is kept renewed while a handler runs; 0 disables renewal. Host default 5 minutes. */
    maxAutoLockRenewalDurationMs?: number;
    handler: (message: ReceivedServiceBusMessage) => Promise<void>;
    /** Handler failures and settlement failures (e.g. a lock lost to a slow handler). Defaults to console.error. */
    onError?: (error: unknown, context: ProcessorErrorContext) => void;
}

export interface QueueProcessorHandle {
    /** Stops receiving and resolves once every in-flight handler has finished and its message is settled. */
    stop(): Promise<void>;
    readonly inFlightCount: number;
}

interface LockRenewal {
    timer: NodeJS.Timeout | undefined;
}

/**
 * The Functions host's Service Bus trigger listener with autoCompleteMessages=true and prefetch 0: receives only when
 * a call slot is free, renews the lock while the function runs, completes on success and abandons on failure (so the
 * queue redelivers at once and dead-letters after maxDeliveryCount). It sleeps until the queue reports a receivable
 * message or a slot frees up; it never polls.
 *
 * With a store-backed queue it receives and settles through the queue's group commit (receiveAsync, completeAsync,
 * abandonAsync): a message's function runs only once its delivery count is committed, so a message that brings the
 * runtime down still reaches maxDeliveryCount after enough restarts, and its call slot is freed once its settlement
 * is committed, as the host's slot is held until its complete returns. A receive whose commit fails reports each
 * of its messages (phase 'receive') without running the function; they come back when their locks expire. A message
 * whose lock expired before its receive was committed is dropped unprocessed (it is available to the next receive).
 */
export class QueueProcessor implements QueueProcessorHandle {
    private readonly inFlight = new Set<Promise<void>>();
    private readonly unsubscribe: () => void;
    private readonly maxAutoLockRenewalDurationMs: number;
    private readonly onError: (error: unknown, context: ProcessorErrorContext) => void;
    private pumpScheduled = false;
    private stopping: Promise<void> | undefined;

    private constructor(
        private readonly queue: LocalServiceBusQueue,
        private readonly clock: Clock,
        private readonly options: QueueProcessorOptions,
    ) {
        this.maxAutoLockRenewalDurationMs = options.maxAutoLockRenewalDurationMs ?? 5 * 60_000;
        this.onError = options.onError ?? logProcessorError;
        this.unsubscribe = queue.onMessagesAvailable(() => this.schedulePump());
    }

    static start(queue: LocalServiceBusQueue, clock: Clock, options: QueueProcessorOptions): QueueProcessor {
        if (!Number.isSafeInteger(options.maxConcurrentCalls) || options.maxConcurrentCalls < 1) {
            throw new InvalidQueueOptionError(
                'maxConcurrentCalls',
                options.maxConcurrentCalls,
                'must be an integer ≥ 1',
            );
        }
        const renewal = options.maxAutoLockRenewalDurationMs;
        if (renewal !== undefined && !(Number.isFinite(renewal) && renewal >= 0)) {
            throw new InvalidQueueOptionError('maxAutoLockRenewalDurationMs', renewal, 'must be a duration ≥ 0 ms');
        }
        const processor = new QueueProcessor(queue, clock, options);
        processor.schedulePump();
        return processor;
    }

    get inFlightCount(): number {
        return this.inFlight.size;
    }

    stop(): Promise<void> {
        if (this.stopping === undefined) {
            this.unsubscribe();
            this.stopping = Promise.all(this.inFlight).then(() => undefined);
        }
        return this.stopping;
    }

    /** Coalesces wake-ups (a burst of sends, several handlers finishing) into one receive per microtask turn. */
    private schedulePump(): void {
        if (!this.pumpScheduled) {
            this.pumpScheduled = true;
            queueMicrotask(() => this.pump());
        }
    }

    private pump(): void {
        this.pumpScheduled = false;
        const freeSlots = this.options.maxConcurrentCalls - this.inFlight.size;
        if (this.stopping !== undefined || freeSlots <= 0) {
            return;
        }
        // The messages take their slots at once; their functions wait for the delivery counts' commit. A message
        // whose lock expired before that commit may be another receiver's already: its function does not run.
        const { messages, committed } = this.queue.receiveAsync(freeSlots);
        const held = committed.then((stillLocked) => new Set(stillLocked));
        for (const message of messages) {
            const run = held
                .then(
                    (stillLocked) => (stillLocked.has(message) ? this.process(message) : undefined),
                    (error: unknown) => this.report(error, message, 'receive'),
                )
                .finally(() => {
                    this.inFlight.delete(run);
                    this.schedulePump();
                });
            this.inFlight.add(run);
        }
    }

    private async process(message: ReceivedServiceBusMessage): Promise<void> {
        const renewal: LockRenewal = { timer: undefined };
        this.scheduleRenewal(message, renewal, message.lockedUntilUtc.getTime(), this.clock.now().getTime());
        let failure: { error: unknown } | undefined;
        try {
            await this.options.handler(message);
        } catch (error: unknown) {
            failure = { error };
        } finally {
            clearTimeout(renewal.timer);
        }
        if (failure === undefined) {
            await this.settle(message, 'complete', () => this.queue.completeAsync(message.lockToken));
        } else {
            this.report(failure.error, message, 'handler');
            await this.settle(message, 'abandon', () => this.queue.abandonAsync(message.lockToken));
        }
    }

    private scheduleRenewal(
        message: ReceivedServiceBusMessage,
        renewal: LockRenewal,
        lockedUntilMs: number,
        receivedAtMs: number,
    ): void {
        const nowMs = this.clock.now().getTime();
        const remainingMs = lockedUntilMs - nowMs;
        const delayMs = Math.max(0, remainingMs - Math.min(remainingMs / 2, RENEW_AHEAD_MS));
        if (nowMs + delayMs >= receivedAtMs + this.maxAutoLockRenewalDurationMs) {
            // Past the renewal budget the lock is left to run out, as the host does: the message is redelivered.
            return;
        }
        renewal.timer = setTimeout(() => {
            try {
                const renewedUntil = this.queue.renewLock(message.lockToken);
                this.scheduleRenewal(message, renewal, renewedUntil.getTime(), receivedAtMs);
            } catch (error: unknown) {
                this.report(error, message, 'renewLock');
            }
        }, delayMs);
    }

    private async settle(
        message: ReceivedServiceBusMessage,
        phase: ProcessorPhase,
        settlement: () => Promise<void>,
    ): Promise<void> {
        try {
            await settlement();
        } catch (error: unknown) {
            this.report(error, message, phase);
        }
    }

    private report(error: unknown, message: ReceivedServiceBusMessage, phase: ProcessorPhase): void {
        this.onError(error, {
            phase,
            queueName: this.queue.name,
            messageId: message.messageId,
            sequenceNumber: message.sequenceNumber,
            deliveryCount: message.deliveryCount,
        });
    }
}

function logProcessorError(error: unknown, context: ProcessorErrorContext): void {
    const reason = error instanceof Error ? error.message : String(error);
    console.error(
        `[serviceBus:${context.queueName}] ${context.phase} failed for message ${context.messageId} ` +
            `(sequence ${context.sequenceNumber}, delivery ${context.deliveryCount}): ${reason}`,
    );
}
