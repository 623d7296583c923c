import { randomUUID } from 'node:crypto';

import { type Clock, systemClock } from '../../domain/clock';
import {
    DeadLetterNotFoundError,
    InvalidQueueOptionError,
    MessageLockLostError,
    MessageSizeExceededError,
} from './errors';
import { FifoQueue } from './fifoQueue';
import type {
    ApplicationProperties,
    DeadLetteredServiceBusMessage,
    ReceivedServiceBusMessage,
    ServiceBusMessageToSend,
} from './messages';
import { MinHeap } from './minHeap';
import { QueueProcessor, type QueueProcessorHandle, type QueueProcessorOptions } from './queueProcessor';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
/** setTimeout stores its delay in a signed 32-bit integer; longer delays fire immediately. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** The service's dead-letter reasons and descriptions (Service Bus dead-letter queues overview, "Moving messages"). */
export const MAX_DELIVERY_COUNT_EXCEEDED = 'MaxDeliveryCountExceeded';
export const TTL_EXPIRED_EXCEPTION = 'TTLExpiredException';
const TTL_EXPIRED_DESCRIPTION = 'The message expired and was dead lettered.';

export interface LocalServiceBusQueueOptions {
    name: string;
    /** PeekLock duration; the service default is 1 minute and the maximum 5 minutes. */
    lockDurationMs?: number;
    /** Deliveries before the broker dead-letters a message; service default 10, minimum 1. */
    maxDeliveryCount?: number;
    /** Default and ceiling for a message's time to live; the service default is 14 days on Standard. */
    defaultMessageTimeToLiveMs?: number;
    /** The namestream queue enables this; note the service's own default for a new queue is false. */
    deadLetteringOnMessageExpiration?: boolean;
    /** Standard tier accepts 256 KB; the body is measured, not the AMQP headers. */
    maxMessageSizeBytes?: number;
    clock?: Clock;
}

export interface SentMessage {
    readonly messageId: string;
    readonly sequenceNumber: number;
}

type MessageState = 'active' | 'locked' | 'gone';

interface StoredMessage {
    readonly sequenceNumber: number;
    readonly messageId: string;
    readonly body: string | Buffer;
    readonly contentType: string | undefined;
    readonly applicationProperties: ApplicationProperties;
    readonly timeToLiveMs: number;
    readonly enqueuedAtMs: number;
    readonly expiresAtMs: number;
    state: MessageState;
    deliveryCount: number;
    lockToken: string | undefined;
    lockedUntilMs: number;
}

interface LockDeadline {
    readonly message: StoredMessage;
    readonly lockToken: string;
    readonly dueMs: number;
}

/**
 * An in-memory Service Bus queue with the peek-lock semantics the Functions Service Bus trigger relies on: locks that
 * expire and return the message, delivery counting, dead-lettering after maxDeliveryCount or on expiry, and a
 * dead-letter sub-queue an operator can resubmit from.
 *
 * Redelivered messages keep their place: the next receive hands out the lowest sequence number available, as the
 * service does for a non-partitioned queue. All bookkeeping is O(1) or O(log n) per operation; deadlines are swept
 * lazily at the start of each operation and by one timer armed for the earliest deadline, so an idle queue costs
 * nothing.
 */
export class LocalServiceBusQueue {
    readonly name: string;
    readonly lockDurationMs: number;
    readonly maxDeliveryCount: number;
    readonly defaultMessageTimeToLiveMs: number;
    readonly deadLetteringOnMessageExpiration: boolean;
    readonly maxMessageSizeBytes: number;
    private readonly clock: Clock;

    private nextSequenceNumber = 1;
    /** Messages still owned by the main queue, active or locked. */
    private storedCount = 0;
    private readonly freshMessages = new FifoQueue<StoredMessage>();
    private readonly returnedMessages = new MinHeap<StoredMessage>((a, b) => a.sequenceNumber < b.sequenceNumber);
    private readonly locks = new Map<string, StoredMessage>();
    private readonly lockDeadlines = new MinHeap<LockDeadline>((a, b) => a.dueMs < b.dueMs);
    private readonly expiries = new MinHeap<StoredMessage>((a, b) => a.expiresAtMs < b.expiresAtMs);
    private readonly deadLetterQueue = new Map<number, DeadLetteredServiceBusMessage>();
    private readonly availabilityListeners = new Set<() => void>();
    private wakeTimer: NodeJS.Timeout | undefined;
    private wakeAtMs = Number.POSITIVE_INFINITY;

    constructor(options: LocalServiceBusQueueOptions) {
        this.name = options.name;
        this.lockDurationMs = options.lockDurationMs ?? MINUTE_MS;
        this.maxDeliveryCount = options.maxDeliveryCount ?? 10;
        this.defaultMessageTimeToLiveMs = options.defaultMessageTimeToLiveMs ?? 14 * DAY_MS;
        this.deadLetteringOnMessageExpiration = options.deadLetteringOnMessageExpiration ?? true;
        this.maxMessageSizeBytes = options.maxMessageSizeBytes ?? 262_144;
        this.clock = options.clock ?? systemClock;
        requirePositiveInteger('lockDurationMs', this.lockDurationMs, 5 * MINUTE_MS);
        requirePositiveInteger('maxDeliveryCount', this.maxDeliveryCount);
        requirePositiveInteger('defaultMessageTimeToLiveMs', this.defaultMessageTimeToLiveMs);
        requirePositiveInteger('maxMessageSizeBytes', this.maxMessageSizeBytes);
    }

    /** Messages waiting to be received (expired ones are counted until the broker sweeps them, as in the service). */
    get activeMessageCount(): number {
        this.sweep(this.nowMs());
        return this.storedCount - this.locks.size;
    }

    get lockedMessageCount(): number {
        this.sweep(this.nowMs());
        return this.locks.size;
    }

    get deadLetterMessageCount(): number {
        this.sweep(this.nowMs());
        return this.deadLetterQueue.size;
    }

    send(message: ServiceBusMessageToSend): SentMessage {
        const bodyBytes = typeof message.body === 'string' ? Buffer.byteLength(message.body) : message.body.length;
        if (bodyBytes > this.maxMessageSizeBytes) {
            throw new MessageSizeExceededError(this.name, bodyBytes, this.maxMessageSizeBytes);
        }
        const requestedTtl = message.timeToLiveMs ?? this.defaultMessageTimeToLiveMs;
        requirePositiveInteger('timeToLiveMs', requestedTtl);
        // The queue default is also a ceiling: longer TTLs are silently lowered to it before enqueueing.
        const timeToLiveMs = Math.min(requestedTtl, this.defaultMessageTimeToLiveMs);
        const nowMs = this.nowMs();
        const stored: StoredMessage = {
            sequenceNumber: this.nextSequenceNumber++,
            messageId: message.messageId ?? randomUUID(),
            body: message.body,
            contentType: message.contentType,
            applicationProperties: { ...message.applicationProperties },
            timeToLiveMs,
            enqueuedAtMs: nowMs,
            expiresAtMs: nowMs + timeToLiveMs,
            state: 'active',
            deliveryCount: 0,
            lockToken: undefined,
            lockedUntilMs: 0,
        };
        this.storedCount++;
        this.freshMessages.push(stored);
        this.expiries.push(stored);
        this.armWakeTimer(stored.expiresAtMs);
        this.notifyAvailable();
        return { messageId: stored.messageId, sequenceNumber: stored.sequenceNumber };
    }

    /** PeekLock receive: up to maxMessages, lowest sequence number first; empty when nothing is available. */
    receive(maxMessages: number): ReceivedServiceBusMessage[] {
        requirePositiveInteger('maxMessages', maxMessages);
        const nowMs = this.nowMs();
        this.sweep(nowMs);
        const received: ReceivedServiceBusMessage[] = [];
        while (received.length < maxMessages) {
            const message = this.takeNextAvailable();
            if (message === undefined) {
                break;
            }
            received.push(this.lock(message, nowMs));
        }
        return received;
    }

    complete(lockToken: string): void {
        const message = this.requireLock(lockToken);
        this.locks.delete(lockToken);
        this.forget(message);
        this.compactDeadlines();
    }

    /** Gives the message back at once; the delivery already counted, so this may dead-letter it. */
    abandon(lockToken: string): void {
        const message = this.requireLock(lockToken);
        this.release(message, this.nowMs());
        this.compactDeadlines();
    }

    deadLetter(lockToken: string, details: { reason: string; description: string }): void {
        const message = this.requireLock(lockToken);
        this.locks.delete(lockToken);
        this.moveToDeadLetter(message, details.reason, details.description, this.nowMs());
        this.compactDeadlines();
    }

    /** Extends the lock by a full lock duration from now and returns the new lockedUntil. */
    renewLock(lockToken: string): Date {
        const message = this.requireLock(lockToken);
        message.lockedUntilMs = this.nowMs() + this.lockDurationMs;
        return new Date(message.lockedUntilMs);
    }

    /** The dead-letter sub-queue in the order messages arrived there. */
    deadLetters(): DeadLetteredServiceBusMessage[] {
        this.sweep(this.nowMs());
        return [...this.deadLetterQueue.values()];
    }

    /**
     * Sends a copy of a dead-lettered message back to the main queue (new sequence number, fresh delivery count, same
     * id, body and properties, as Service Bus Explorer's resubmit does) and removes it from the dead-letter queue.
     */
    resubmitDeadLetter(sequenceNumber: number): SentMessage {
        const entry = this.requireDeadLetter(sequenceNumber);
        this.deadLetterQueue.delete(sequenceNumber);
        return this.send({
            body: entry.body,
            messageId: entry.messageId,
            contentType: entry.contentType,
            applicationProperties: entry.applicationProperties,
            timeToLiveMs: entry.timeToLiveMs,
        });
    }

    resubmitAllDeadLetters(): SentMessage[] {
        return [...this.deadLetterQueue.keys()].map((sequenceNumber) => this.resubmitDeadLetter(sequenceNumber));
    }

    purgeDeadLetter(sequenceNumber: number): void {
        this.requireDeadLetter(sequenceNumber);
        this.deadLetterQueue.delete(sequenceNumber);
    }

    purgeAllDeadLetters(): number {
        const count = this.deadLetterQueue.size;
        this.deadLetterQueue.clear();
        return count;
    }

    /** Calls the listener whenever a message becomes receivable; returns the unsubscribe function. */
    onMessagesAvailable(listener: () => void): () => void {
        this.availabilityListeners.add(listener);
        return () => this.availabilityListeners.delete(listener);
    }

    /** Starts a listener that behaves like the Functions host's Service Bus trigger with autoCompleteMessages. */
    startProcessor(options: QueueProcessorOptions): QueueProcessorHandle {
        return QueueProcessor.start(this, this.clock, options);
    }

    /** Stops the expiry timer so an abandoned queue does not keep a timer alive; state stays readable. */
    close(): void {
        clearTimeout(this.wakeTimer);
        this.wakeTimer = undefined;
        this.wakeAtMs = Number.POSITIVE_INFINITY;
    }

    private nowMs(): number {
        return this.clock.now().getTime();
    }

    private takeNextAvailable(): StoredMessage | undefined {
        for (;;) {
            const fresh = this.freshMessages.peek();
            const returned = this.returnedMessages.peek();
            let next: StoredMessage | undefined;
            if (fresh !== undefined && (returned === undefined || fresh.sequenceNumber < returned.sequenceNumber)) {
                next = this.freshMessages.shift();
            } else {
                next = this.returnedMessages.pop();
            }
            if (next === undefined) {
                return undefined;
            }
            // Entries of messages that expired while waiting are deleted lazily here.
            if (next.state === 'active') {
                return next;
            }
        }
    }

    private lock(message: StoredMessage, nowMs: number): ReceivedServiceBusMessage {
        const lockToken = randomUUID();
        message.state = 'locked';
        message.lockToken = lockToken;
        message.lockedUntilMs = nowMs + this.lockDurationMs;
        message.deliveryCount++;
        this.locks.set(lockToken, message);
        this.lockDeadlines.push({ message, lockToken, dueMs: message.lockedUntilMs });
        this.armWakeTimer(message.lockedUntilMs);
        return {
            body: message.body,
            messageId: message.messageId,
            sequenceNumber: message.sequenceNumber,
            deliveryCount: message.deliveryCount,
            enqueuedTimeUtc: new Date(message.enqueuedAtMs),
            expiresAtUtc: new Date(message.expiresAtMs),
            lockedUntilUtc: new Date(message.lockedUntilMs),
            lockToken,
            contentType: message.contentType,
            applicationProperties: message.applicationProperties,
            timeToLiveMs: message.timeToLiveMs,
        };
    }

    private requireLock(lockToken: string): StoredMessage {
        this.sweep(this.nowMs());
        const message = this.locks.get(lockToken);
        if (message === undefined) {
            throw new MessageLockLostError(this.name, lockToken);
        }
        return message;
    }

    private requireDeadLetter(sequenceNumber: number): DeadLetteredServiceBusMessage {
        const entry = this.deadLetterQueue.get(sequenceNumber);
        if (entry === undefined) {
            throw new DeadLetterNotFoundError(this.name, sequenceNumber);
        }
        return entry;
    }

    /**
     * Ends a lock without completing: abandon or lock expiry. The delivery has counted, so a message that has had
     * maxDeliveryCount deliveries goes to the dead-letter queue instead of being handed out again; a message whose
     * TTL passed while it was locked expires now (expiry never interrupts a lock, it waits for it to end).
     */
    private release(message: StoredMessage, nowMs: number): void {
        if (message.lockToken !== undefined) {
            this.locks.delete(message.lockToken);
        }
        message.lockToken = undefined;
        if (message.deliveryCount >= this.maxDeliveryCount) {
            this.moveToDeadLetter(
                message,
                MAX_DELIVERY_COUNT_EXCEEDED,
                `Message could not be consumed after ${this.maxDeliveryCount} delivery attempts.`,
                nowMs,
            );
        } else if (message.expiresAtMs <= nowMs) {
            this.expire(message, nowMs);
        } else {
            message.state = 'active';
            this.returnedMessages.push(message);
            this.notifyAvailable();
        }
    }

    private expire(message: StoredMessage, nowMs: number): void {
        if (this.deadLetteringOnMessageExpiration) {
            this.moveToDeadLetter(message, TTL_EXPIRED_EXCEPTION, TTL_EXPIRED_DESCRIPTION, nowMs);
        } else {
            this.forget(message);
        }
    }

    private moveToDeadLetter(message: StoredMessage, reason: string, description: string, nowMs: number): void {
        this.forget(message);
        this.deadLetterQueue.set(message.sequenceNumber, {
            body: message.body,
            messageId: message.messageId,
            sequenceNumber: message.sequenceNumber,
            deliveryCount: message.deliveryCount,
            enqueuedTimeUtc: new Date(message.enqueuedAtMs),
            expiresAtUtc: new Date(message.expiresAtMs),
            deadLetteredTimeUtc: new Date(nowMs),
            deadLetterReason: reason,
            deadLetterErrorDescription: description,
            contentType: message.contentType,
            applicationProperties: message.applicationProperties,
            timeToLiveMs: message.timeToLiveMs,
        });
    }

    private forget(message: StoredMessage): void {
        message.state = 'gone';
        message.lockToken = undefined;
        this.storedCount--;
        // Settled messages leave stale expiry entries behind; drop them before they outnumber the live ones.
        if (this.expiries.size > 2 * this.storedCount + 1024) {
            this.expiries.retain((entry) => entry.state !== 'gone');
        }
    }

    /** Settled and abandoned locks leave stale deadline entries; drop them before they outnumber the live ones. */
    private compactDeadlines(): void {
        if (this.lockDeadlines.size > 2 * this.locks.size + 1024) {
            this.lockDeadlines.retain((entry) => entry.message.lockToken === entry.lockToken);
        }
    }

    /** Applies every lock expiry and TTL expiry due at nowMs. */
    private sweep(nowMs: number): void {
        for (let due = this.lockDeadlines.peek(); due !== undefined && due.dueMs <= nowMs;) {
            this.lockDeadlines.pop();
            const message = due.message;
            if (message.lockToken === due.lockToken) {
                if (message.lockedUntilMs > nowMs) {
                    // Renewed since this deadline was recorded: track the new one instead.
                    this.lockDeadlines.push({ message, lockToken: due.lockToken, dueMs: message.lockedUntilMs });
                } else {
                    this.release(message, nowMs);
                }
            }
            due = this.lockDeadlines.peek();
        }
        for (let due = this.expiries.peek(); due !== undefined && due.expiresAtMs <= nowMs;) {
            this.expiries.pop();
            if (due.state === 'active') {
                this.expire(due, nowMs);
            }
            due = this.expiries.peek();
        }
    }

    private armWakeTimer(atMs: number): void {
        if (atMs >= this.wakeAtMs) {
            return;
        }
        clearTimeout(this.wakeTimer);
        this.wakeAtMs = atMs;
        const delay = Math.min(Math.max(atMs - this.nowMs(), 0), MAX_TIMER_DELAY_MS);
        this.wakeTimer = setTimeout(() => this.onWake(), delay);
        // Housekeeping must not keep the runtime alive on its own.
        this.wakeTimer.unref();
    }

    private onWake(): void {
        this.wakeTimer = undefined;
        this.wakeAtMs = Number.POSITIVE_INFINITY;
        this.sweep(this.nowMs());
        const nextLock = this.lockDeadlines.peek()?.dueMs ?? Number.POSITIVE_INFINITY;
        const nextExpiry = this.expiries.peek()?.expiresAtMs ?? Number.POSITIVE_INFINITY;
        const next = Math.min(nextLock, nextExpiry);
        if (next !== Number.POSITIVE_INFINITY) {
            this.armWakeTimer(next);
        }
    }

    private notifyAvailable(): void {
        for (const listener of this.availabilityListeners) {
            listener();
        }
    }
}

function requirePositiveInteger(option: string, value: number, max = Number.MAX_SAFE_INTEGER): void {
    if (!Number.isSafeInteger(value) || value < 1 || value > max) {
        throw new InvalidQueueOptionError(option, value, `must be an integer from 1 to ${max}`);
    }
}
