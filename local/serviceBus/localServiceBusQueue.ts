import { randomUUID } from 'node:crypto';

import { type Clock, systemClock } from '../../domain/clock';
import {
    DeadLetterNotFoundError,
    InvalidQueueOptionError,
    MessageLockLostError,
    MessageNotFoundError,
    MessageSizeExceededError,
} from './errors';
import { FifoQueue } from './fifoQueue';
import type {
    ApplicationProperties,
    DeadLetteredServiceBusMessage,
    PeekedServiceBusMessage,
    ReceivedServiceBusMessage,
    ServiceBusMessageToSend,
} from './messages';
import type {
    PersistedMessageUpdate,
    PersistedServiceBusMessage,
    ServiceBusEntityWrites,
    ServiceBusMessageStore,
} from './messageStore';
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
/** The dead-letter sub-queue's path suffix (`<queue>/$DeadLetterQueue`, Service Bus dead-letter queues overview). */
export const DEAD_LETTER_QUEUE_SUFFIX = '$DeadLetterQueue';

/** PeekLock hands out a locked copy; ReceiveAndDelete removes the message as it is handed out. */
export type ReceiveMode = 'peekLock' | 'receiveAndDelete';

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
    /**
     * Keeps the messages across restarts (the state folder's database, see messageStore.ts): the queue loads them
     * when it is constructed, and every operation commits its changes before it returns (the synchronous API) or
     * before its promise resolves (the *Async API, one group commit per turn). Absent: in memory only.
     */
    store?: ServiceBusMessageStore | undefined;
    clock?: Clock;
}

export interface SentMessage {
    readonly messageId: string;
    readonly sequenceNumber: number;
}

/**
 * A receive whose delivery counts (or, in ReceiveAndDelete, removals) are committed with the other operations of the
 * turn: `messages` are locked (or taken) already, so their number counts against credit or call slots at once, but
 * none may be handed to anyone before `committed` resolves. `committed` resolves with the messages that may be handed
 * out: in PeekLock those whose lock is still held then (a lock can expire before the commit, releasing its message to
 * another receiver; the others must be dropped unprocessed), in ReceiveAndDelete all of them. It rejects with the
 * commit's error; then PeekLock messages stay locked until their locks expire, as after a failed `receive`, and
 * ReceiveAndDelete messages are put back (available again, same sequence numbers and delivery counts).
 */
export interface GroupedReceive {
    readonly messages: readonly ReceivedServiceBusMessage[];
    readonly committed: Promise<readonly ReceivedServiceBusMessage[]>;
}

/** Settlement details the SDK can send with abandon, defer and dead-letter (`propertiesToModify`). */
export interface SettlementOptions {
    propertiesToModify?: ApplicationProperties;
}

/** A dead-letter request: the caller's DeadLetterReason and DeadLetterErrorDescription. */
export type DeadLetterDetails = { reason: string; description: string } & SettlementOptions;

type MessageState = 'active' | 'locked' | 'deferred' | 'scheduled' | 'gone';

interface StoredMessage {
    readonly sequenceNumber: number;
    readonly messageId: string;
    readonly body: string | Buffer;
    readonly contentType: string | undefined;
    readonly correlationId: string | undefined;
    readonly subject: string | undefined;
    readonly wire: unknown;
    applicationProperties: ApplicationProperties;
    readonly timeToLiveMs: number;
    /** For a scheduled message, the time it becomes visible; enqueued and expiry times are set then. */
    readonly scheduledAtMs: number | undefined;
    enqueuedAtMs: number;
    expiresAtMs: number;
    state: MessageState;
    /** Set by defer: the message is only receivable by sequence number from then on, even while locked. */
    deferred: boolean;
    deliveryCount: number;
    lockToken: string | undefined;
    lockedUntilMs: number;
    deadLetter: { reason: string; description: string; atMs: number } | undefined;
}

/** What a store-backed queue still has to write about a message at its next commit. */
type PendingWrite = 'insert' | 'update' | 'delete';

/** A message as it was before forget, so a change whose commit failed can put it back (see unforget). */
interface Forgotten {
    readonly message: StoredMessage;
    readonly state: MessageState;
    readonly lockToken: string | undefined;
    readonly pending: PendingWrite | undefined;
}

interface LockDeadline {
    readonly message: StoredMessage;
    readonly lockToken: string;
    readonly dueMs: number;
}

/**
 * An in-memory Service Bus queue with the semantics the Functions Service Bus trigger and the Service Bus SDK rely
 * on: peek-lock and receive-and-delete, locks that expire and return the message, delivery counting, abandon, defer
 * and receive-deferred by sequence number, scheduled messages, peek, dead-lettering after maxDeliveryCount, on expiry
 * or on request, and a dead-letter sub-queue (itself a queue: receivable, peekable) an operator can resubmit from.
 * The AMQP endpoint (amqpQueueEndpoint.ts) and the in-process trigger share this one state.
 *
 * Redelivered messages keep their place: the next receive hands out the lowest sequence number available, as the
 * service does for a non-partitioned queue. All bookkeeping is O(1) or O(log n) per operation except peek; deadlines
 * are swept lazily at the start of each operation and by one timer armed for the earliest deadline, so an idle queue
 * costs nothing.
 *
 * With a `store` the state also survives restarts: the queue loads it when constructed, and each operation writes
 * what it changed (in this queue and its dead-letter sub-queue) in one transaction before it returns, so every
 * acknowledgement follows its commit. The asynchronous forms (sendBatchAsync, receiveAsync, completeAsync,
 * abandonAsync, deferAsync, deadLetterAsync), which the in-process trigger, the output binding and the AMQP endpoint
 * use, share one transaction per turn of the event loop and resolve after it (group commit, see QueueJournal).
 * Without a store, nothing is recorded.
 */
export class LocalServiceBusQueue {
    readonly name: string;
    readonly lockDurationMs: number;
    readonly maxDeliveryCount: number;
    readonly defaultMessageTimeToLiveMs: number;
    readonly deadLetteringOnMessageExpiration: boolean;
    readonly maxMessageSizeBytes: number;
    /** `<name>/$DeadLetterQueue`; undefined on the sub-queue itself. */
    readonly deadLetterSubQueue: LocalServiceBusQueue | undefined;
    private readonly clock: Clock;
    /** The sub-queue neither expires messages nor dead-letters them again (Service Bus dead-letter queues overview). */
    private readonly isDeadLetterQueue: boolean;

    private nextSequenceNumber = 1;
    /** Messages still owned by this queue: active, locked, deferred or scheduled. */
    private storedCount = 0;
    private deferredCount = 0;
    private scheduledCount = 0;
    private readonly bySequenceNumber = new Map<number, StoredMessage>();
    private readonly freshMessages = new FifoQueue<StoredMessage>();
    private readonly returnedMessages = new MinHeap<StoredMessage>((a, b) => a.sequenceNumber < b.sequenceNumber);
    private readonly locks = new Map<string, StoredMessage>();
    private readonly lockDeadlines = new MinHeap<LockDeadline>((a, b) => a.dueMs < b.dueMs);
    private readonly expiries = new MinHeap<StoredMessage>((a, b) => a.expiresAtMs < b.expiresAtMs);
    private readonly schedule = new MinHeap<StoredMessage>((a, b) => a.scheduledAtMs! < b.scheduledAtMs!);
    private readonly availabilityListeners = new Set<() => void>();
    private wakeTimer: NodeJS.Timeout | undefined;
    private wakeAtMs = Number.POSITIVE_INFINITY;
    /** Shared with the dead-letter sub-queue, so a move between the two commits as one. Undefined without a store. */
    private readonly journal: QueueJournal | undefined;
    /** This entity's writes since the last commit; undefined without a store, so an in-memory queue records nothing. */
    private readonly pendingWrites: Map<StoredMessage, PendingWrite> | undefined;

    constructor(options: LocalServiceBusQueueOptions, isDeadLetterQueue = false, journal?: QueueJournal) {
        this.name = options.name;
        this.lockDurationMs = options.lockDurationMs ?? MINUTE_MS;
        this.maxDeliveryCount = options.maxDeliveryCount ?? 10;
        this.defaultMessageTimeToLiveMs = options.defaultMessageTimeToLiveMs ?? 14 * DAY_MS;
        this.deadLetteringOnMessageExpiration = options.deadLetteringOnMessageExpiration ?? true;
        this.maxMessageSizeBytes = options.maxMessageSizeBytes ?? 262_144;
        this.clock = options.clock ?? systemClock;
        this.isDeadLetterQueue = isDeadLetterQueue;
        requirePositiveInteger('lockDurationMs', this.lockDurationMs, 5 * MINUTE_MS);
        requirePositiveInteger('maxDeliveryCount', this.maxDeliveryCount);
        requirePositiveInteger('defaultMessageTimeToLiveMs', this.defaultMessageTimeToLiveMs);
        requirePositiveInteger('maxMessageSizeBytes', this.maxMessageSizeBytes);
        this.journal = journal ?? (options.store !== undefined ? new QueueJournal(options.store) : undefined);
        this.pendingWrites = this.journal?.register(
            this.name,
            isDeadLetterQueue ? undefined : () => this.nextSequenceNumber,
        );
        this.deadLetterSubQueue = isDeadLetterQueue
            ? undefined
            : new LocalServiceBusQueue(
                  { ...options, name: `${options.name}/${DEAD_LETTER_QUEUE_SUFFIX}` },
                  true,
                  this.journal,
              );
        if (this.journal !== undefined && !isDeadLetterQueue) {
            // The sub-queue first: messages whose lock ended with the restart may move there.
            const nowMs = this.nowMs();
            this.deadLetterSubQueue!.restore(nowMs);
            this.restore(nowMs);
            // Dead letters keep their numbers from this queue: never give one of those out again either.
            this.nextSequenceNumber = Math.max(this.nextSequenceNumber, this.deadLetterSubQueue!.nextSequenceNumber);
            this.sweep(nowMs);
            this.commit();
        }
    }

    /** Messages waiting to be received (expired ones are counted until the broker sweeps them, as in the service). */
    get activeMessageCount(): number {
        this.sweepAndCommit();
        return this.storedCount - this.locks.size - this.deferredCount - this.scheduledCount;
    }

    get lockedMessageCount(): number {
        this.sweepAndCommit();
        return this.locks.size;
    }

    get deferredMessageCount(): number {
        this.sweepAndCommit();
        return this.deferredCount;
    }

    get scheduledMessageCount(): number {
        this.sweepAndCommit();
        return this.scheduledCount;
    }

    get deadLetterMessageCount(): number {
        return this.deadLetterSubQueue?.storedMessageCount ?? 0;
    }

    private get storedMessageCount(): number {
        this.sweepAndCommit();
        return this.storedCount;
    }

    send(message: ServiceBusMessageToSend): SentMessage {
        return this.sendBatch([message])[0]!;
    }

    /**
     * Sends messages as one unit: every one is checked before any is stored, and with a store they are committed
     * in one transaction before any becomes receivable or this returns (the acknowledgement follows the commit).
     * @throws MessageSizeExceededError, InvalidQueueOptionError quoting the first bad message's value
     */
    sendBatch(messages: readonly ServiceBusMessageToSend[]): SentMessage[] {
        const timesToLive = this.checkSend(messages);
        // Sends waiting for this turn's group commit were made first: they take their sequence numbers first.
        this.journal?.commitGroupIfSending();
        const stored = this.stage(messages, timesToLive);
        if (this.pendingWrites !== undefined) {
            try {
                this.commit();
            } catch (error) {
                this.unstage(stored);
                throw error;
            }
        }
        return this.admit(stored);
    }

    /**
     * As sendBatch, resolving once the messages are committed: with a store they wait for the group commit at the
     * end of this turn of the event loop (one transaction with every other operation of the turn, see QueueJournal)
     * and become receivable only then, so a failed commit refuses the whole group's sends and leaves none of them
     * behind. Checks the messages at once; resolves in the order of the calls. Without a store this is sendBatch.
     * @throws (rejects with) what sendBatch throws, or the group commit's error
     */
    sendBatchAsync(messages: readonly ServiceBusMessageToSend[]): Promise<SentMessage[]> {
        try {
            const journal = this.journal;
            if (journal === undefined) {
                return Promise.resolve(this.sendBatch(messages));
            }
            const timesToLive = this.checkSend(messages);
            let stored: StoredMessage[] = [];
            return journal.joinGroup({
                // Numbered at the commit, in the order the sends were made, as sendBatch would number them then.
                beforeCommit: () => {
                    stored = this.stage(messages, timesToLive);
                },
                onFailure: () => this.unstage(stored),
                onCommitted: () => this.admit(stored),
            });
        } catch (error) {
            return Promise.reject(error instanceof Error ? error : new Error(String(error)));
        }
    }

    /** The send's checks: every message before any is stored. Returns each message's time to live. */
    private checkSend(messages: readonly ServiceBusMessageToSend[]): number[] {
        if (this.isDeadLetterQueue) {
            throw new MessageNotFoundError(this.name, 'a dead-letter queue cannot be sent to');
        }
        // The queue default is also a ceiling: longer TTLs are silently lowered to it before enqueueing.
        return messages.map((message) => {
            const bodyBytes = typeof message.body === 'string' ? Buffer.byteLength(message.body) : message.body.length;
            if (bodyBytes > this.maxMessageSizeBytes) {
                throw new MessageSizeExceededError(this.name, bodyBytes, this.maxMessageSizeBytes);
            }
            const requestedTtl = message.timeToLiveMs ?? this.defaultMessageTimeToLiveMs;
            requirePositiveInteger('timeToLiveMs', requestedTtl);
            return Math.min(requestedTtl, this.defaultMessageTimeToLiveMs);
        });
    }

    /** Numbers the messages and records their inserts, before they exist in memory. */
    private stage(messages: readonly ServiceBusMessageToSend[], timesToLive: readonly number[]): StoredMessage[] {
        const nowMs = this.nowMs();
        this.sweep(nowMs);
        const stored = messages.map((message, index) => this.toStored(message, timesToLive[index]!, nowMs));
        stored.forEach((entry) => this.pendingWrites?.set(entry, 'insert'));
        return stored;
    }

    /**
     * A staged send whose commit failed: nothing of it is in memory, so it leaves no trace but unused sequence
     * numbers (the journal keeps a failed commit's writes for the next one, so take these back: the sender was
     * refused).
     */
    private unstage(stored: readonly StoredMessage[]): void {
        stored.forEach((entry) => this.pendingWrites?.delete(entry));
    }

    /** A committed send: the messages join the queue and become receivable (or scheduled). */
    private admit(stored: readonly StoredMessage[]): SentMessage[] {
        return stored.map((entry) => {
            this.storedCount++;
            this.bySequenceNumber.set(entry.sequenceNumber, entry);
            if (entry.state === 'scheduled') {
                this.scheduledCount++;
                this.schedule.push(entry);
                this.armWakeTimer(entry.scheduledAtMs!);
            } else {
                this.enqueue(entry);
            }
            return { messageId: entry.messageId, sequenceNumber: entry.sequenceNumber };
        });
    }

    private toStored(message: ServiceBusMessageToSend, timeToLiveMs: number, nowMs: number): StoredMessage {
        const scheduledAtMs = message.scheduledEnqueueTimeUtc?.getTime();
        const isScheduled = scheduledAtMs !== undefined && scheduledAtMs > nowMs;
        const enqueuedAtMs = isScheduled ? scheduledAtMs : nowMs;
        return {
            sequenceNumber: this.nextSequenceNumber++,
            messageId: message.messageId ?? randomUUID(),
            body: message.body,
            contentType: message.contentType,
            correlationId: message.correlationId,
            subject: message.subject,
            wire: message.wire,
            applicationProperties: { ...message.applicationProperties },
            timeToLiveMs,
            scheduledAtMs: isScheduled ? scheduledAtMs : undefined,
            enqueuedAtMs,
            expiresAtMs: enqueuedAtMs + timeToLiveMs,
            state: isScheduled ? 'scheduled' : 'active',
            deferred: false,
            deliveryCount: 0,
            lockToken: undefined,
            lockedUntilMs: 0,
            deadLetter: undefined,
        };
    }

    /** Removes scheduled messages before they become visible. */
    cancelScheduled(sequenceNumber: number): void {
        this.sweepAndCommit();
        const message = this.bySequenceNumber.get(sequenceNumber);
        if (message?.state !== 'scheduled') {
            throw new MessageNotFoundError(this.name, `no scheduled message with sequence number ${sequenceNumber}`);
        }
        this.scheduledCount--;
        this.forget(message);
        this.commit();
    }

    /**
     * Up to maxMessages, lowest sequence number first; empty when nothing is available. PeekLock locks each one;
     * ReceiveAndDelete removes it.
     * @throws the commit's error: PeekLock messages then stay locked until their locks expire; ReceiveAndDelete
     *   messages are put back (available again, same sequence numbers and delivery counts)
     */
    receive(maxMessages: number, mode: ReceiveMode = 'peekLock'): ReceivedServiceBusMessage[] {
        const { received, taken } = this.receiveUncommitted(maxMessages, mode);
        // One transaction for the batch: the delivery counts (or removals) are on disk before anyone sees a message.
        this.commitOrUnforget(taken);
        return received;
    }

    /**
     * As receive, with the commit grouped with the other operations of this turn (see GroupedReceive): the
     * in-process trigger and the AMQP endpoint receive this way, invoking the function or sending the transfers once
     * `committed` resolves. Without a store `committed` is already resolved.
     * @throws InvalidQueueOptionError for a maxMessages below 1
     */
    receiveAsync(maxMessages: number, mode: ReceiveMode = 'peekLock'): GroupedReceive {
        const { received: messages, locked, taken } = this.receiveUncommitted(maxMessages, mode);
        const journal = this.journal;
        // Nothing handed out, nothing to wait for (what a sweep changed is not this caller's to acknowledge).
        const committed =
            journal === undefined || messages.length === 0
                ? Promise.resolve(messages)
                : journal.joinGroup({
                      onFailure: () => this.unforget(taken),
                      // A lock that expired before the commit released its message, maybe to another receiver already:
                      // handing it out too would process it twice, under a lock token no settlement can use.
                      onCommitted: () => {
                          const nowMs = this.nowMs();
                          return messages.filter((view, index) => {
                              const message = locked[index];
                              return (
                                  message === undefined ||
                                  (message.lockToken === view.lockToken && message.lockedUntilMs > nowMs)
                              );
                          });
                      },
                  });
        return { messages, committed };
    }

    /** Locks (or takes) up to maxMessages without committing; `locked` pairs each PeekLock view with its message. */
    private receiveUncommitted(
        maxMessages: number,
        mode: ReceiveMode,
    ): { received: ReceivedServiceBusMessage[]; locked: StoredMessage[]; taken: Forgotten[] } {
        requirePositiveInteger('maxMessages', maxMessages);
        const nowMs = this.nowMs();
        this.sweep(nowMs);
        const received: ReceivedServiceBusMessage[] = [];
        const locked: StoredMessage[] = [];
        const taken: Forgotten[] = [];
        while (received.length < maxMessages) {
            const message = this.takeNextAvailable();
            if (message === undefined) {
                break;
            }
            if (mode === 'peekLock') {
                received.push(this.lock(message, nowMs));
                locked.push(message);
            } else {
                received.push(this.take(message, taken));
            }
        }
        return { received, locked, taken };
    }

    /**
     * Hands out deferred messages by sequence number (`receiveDeferredMessages`). Every number must name a deferred
     * message that is not locked, else nothing is handed out and MessageNotFoundError names the first bad one.
     */
    receiveDeferred(sequenceNumbers: readonly number[], mode: ReceiveMode = 'peekLock'): ReceivedServiceBusMessage[] {
        const nowMs = this.nowMs();
        this.sweepAndCommit(nowMs);
        const messages = sequenceNumbers.map((sequenceNumber) => {
            const message = this.bySequenceNumber.get(sequenceNumber);
            if (message?.state !== 'deferred') {
                throw new MessageNotFoundError(
                    this.name,
                    `no deferred message with sequence number ${sequenceNumber} (it may be locked, settled or never deferred)`,
                );
            }
            return message;
        });
        const taken: Forgotten[] = [];
        const received = messages.map((message) => {
            this.deferredCount--;
            return mode === 'peekLock' ? this.lock(message, nowMs) : this.take(message, taken);
        });
        this.commitOrUnforget(taken);
        return received;
    }

    /**
     * Messages from `fromSequenceNumber` on, in sequence order, whatever their state (active, locked, deferred,
     * scheduled), without locking them. O(n) in the queue's size: the service's peek is a browsing tool.
     */
    peek(fromSequenceNumber: number, maxMessages: number): PeekedServiceBusMessage[] {
        this.sweepAndCommit();
        const found: StoredMessage[] = [];
        for (const message of this.bySequenceNumber.values()) {
            if (message.sequenceNumber >= fromSequenceNumber) {
                found.push(message);
            }
        }
        // Dead letters arrive out of sequence order; a main queue's map is already in order.
        found.sort((a, b) => a.sequenceNumber - b.sequenceNumber);
        return found.slice(0, maxMessages).map((message) => this.view(message, '', message.lockedUntilMs, 0));
    }

    complete(lockToken: string): void {
        this.applyComplete(lockToken);
        this.commit();
    }

    /** Gives the message back at once; the delivery already counted, so this may dead-letter it. */
    abandon(lockToken: string, options: SettlementOptions = {}): void {
        this.applyAbandon(lockToken, options);
        this.commit();
    }

    /** Sets the message aside: from now on only receiveDeferred by its sequence number hands it out. */
    defer(lockToken: string, options: SettlementOptions = {}): void {
        this.applyDefer(lockToken, options);
        this.commit();
    }

    deadLetter(lockToken: string, details: DeadLetterDetails): void {
        this.applyDeadLetter(lockToken, details);
        this.commit();
    }

    /**
     * The settlements with their commit grouped with the other operations of this turn, resolving once it is
     * committed: the in-process trigger and the AMQP endpoint settle this way and acknowledge on resolution. The
     * settlement applies at once, as its synchronous form does (a second settlement of the lock is refused at once);
     * if the group commit fails it is reported failed (rejected with the commit's error) but stays applied, and its
     * writes go with the next commit, as for a failed synchronous settlement. Without a store they resolve at once.
     * @throws (rejects with) MessageLockLostError, MessageNotFoundError as the synchronous forms, or the commit's error
     */
    completeAsync(lockToken: string): Promise<void> {
        return this.grouped(() => this.applyComplete(lockToken));
    }

    abandonAsync(lockToken: string, options: SettlementOptions = {}): Promise<void> {
        return this.grouped(() => this.applyAbandon(lockToken, options));
    }

    deferAsync(lockToken: string, options: SettlementOptions = {}): Promise<void> {
        return this.grouped(() => this.applyDefer(lockToken, options));
    }

    deadLetterAsync(lockToken: string, details: DeadLetterDetails): Promise<void> {
        return this.grouped(() => this.applyDeadLetter(lockToken, details));
    }

    private grouped(apply: () => void): Promise<void> {
        try {
            apply();
        } catch (error) {
            return Promise.reject(error instanceof Error ? error : new Error(String(error)));
        }
        return this.journal?.joinGroup() ?? Promise.resolve();
    }

    private applyComplete(lockToken: string): void {
        const message = this.requireLock(lockToken);
        this.locks.delete(lockToken);
        this.forget(message);
        this.compactDeadlines();
    }

    private applyAbandon(lockToken: string, options: SettlementOptions): void {
        const message = this.requireLock(lockToken);
        this.modify(message, options);
        this.release(message, this.nowMs());
        this.compactDeadlines();
    }

    private applyDefer(lockToken: string, options: SettlementOptions): void {
        const message = this.requireLock(lockToken);
        this.modify(message, options);
        this.locks.delete(lockToken);
        message.lockToken = undefined;
        message.deferred = true;
        message.state = 'deferred';
        this.deferredCount++;
        this.recordUpdate(message);
        this.compactDeadlines();
    }

    private applyDeadLetter(lockToken: string, details: DeadLetterDetails): void {
        const message = this.requireLock(lockToken);
        if (this.isDeadLetterQueue) {
            throw new MessageNotFoundError(this.name, 'a dead-lettered message cannot be dead-lettered again');
        }
        this.modify(message, details);
        this.locks.delete(lockToken);
        this.moveToDeadLetter(message, details.reason, details.description, this.nowMs());
        this.compactDeadlines();
    }

    /** Extends the lock by a full lock duration from now and returns the new lockedUntil. */
    renewLock(lockToken: string): Date {
        const message = this.requireLock(lockToken);
        // Locks are not kept on disk (a restart ends them), so a renewal writes nothing.
        message.lockedUntilMs = this.nowMs() + this.lockDurationMs;
        return new Date(message.lockedUntilMs);
    }

    /** The dead-letter sub-queue in the order messages arrived there. */
    deadLetters(): DeadLetteredServiceBusMessage[] {
        const subQueue = this.deadLetterSubQueue;
        if (subQueue === undefined) {
            return [];
        }
        subQueue.sweepAndCommit();
        return [...subQueue.bySequenceNumber.values()].map((message) => ({
            body: message.body,
            messageId: message.messageId,
            sequenceNumber: message.sequenceNumber,
            deliveryCount: message.deliveryCount,
            enqueuedTimeUtc: new Date(message.enqueuedAtMs),
            expiresAtUtc: new Date(message.expiresAtMs),
            deadLetteredTimeUtc: new Date(message.deadLetter!.atMs),
            deadLetterReason: message.deadLetter!.reason,
            deadLetterErrorDescription: message.deadLetter!.description,
            contentType: message.contentType,
            applicationProperties: message.applicationProperties,
            timeToLiveMs: message.timeToLiveMs,
        }));
    }

    /**
     * Sends a copy of a dead-lettered message back to the main queue (new sequence number, fresh delivery count, same
     * id, body and properties, as Service Bus Explorer's resubmit does) and removes it from the dead-letter queue,
     * in one transaction: if its commit fails, the dead letter stays where it was and this throws the commit's error.
     * @throws DeadLetterNotFoundError for an unknown sequence number
     */
    resubmitDeadLetter(sequenceNumber: number): SentMessage {
        // Pending grouped sends first, as sendBatch would: otherwise that commit would write the removal without the copy.
        this.journal?.commitGroupIfSending();
        // The removal commits with the copy's insert, in send; if that commit fails, the dead letter is put back.
        const removed = this.removeDeadLetter(sequenceNumber);
        const entry = removed.message;
        try {
            return this.send({
                body: entry.body,
                messageId: entry.messageId,
                contentType: entry.contentType,
                correlationId: entry.correlationId,
                subject: entry.subject,
                wire: entry.wire,
                applicationProperties: entry.applicationProperties,
                timeToLiveMs: entry.timeToLiveMs,
            });
        } catch (error) {
            this.deadLetterSubQueue!.unforget([removed]);
            throw error;
        }
    }

    resubmitAllDeadLetters(): SentMessage[] {
        return this.deadLetters().map((entry) => this.resubmitDeadLetter(entry.sequenceNumber));
    }

    purgeDeadLetter(sequenceNumber: number): void {
        this.removeDeadLetter(sequenceNumber);
        this.commit();
    }

    purgeAllDeadLetters(): number {
        const entries = this.deadLetters();
        entries.forEach((entry) => this.removeDeadLetter(entry.sequenceNumber));
        this.commit();
        return entries.length;
    }

    /**
     * Runs several operations with one commit at the end instead of one each: one transaction for a batch of
     * settlements (`update-disposition` with several lock tokens). Whatever `work` does is acknowledged only after
     * this returns; a send inside it is receivable before its commit. Without a store it just runs `work`.
     */
    inOneCommit<T>(work: () => T): T {
        const journal = this.journal;
        if (journal === undefined) {
            return work();
        }
        journal.hold();
        try {
            return work();
        } finally {
            journal.release();
        }
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

    /**
     * Commits what waits for this turn's group commit (settling those operations), then stops the expiry timer so an
     * abandoned queue does not keep a timer alive; state stays readable. Call before the store closes.
     */
    close(): void {
        if (!this.isDeadLetterQueue) {
            this.journal?.commitGroup();
        }
        clearTimeout(this.wakeTimer);
        this.wakeTimer = undefined;
        this.wakeAtMs = Number.POSITIVE_INFINITY;
        this.deadLetterSubQueue?.close();
    }

    private nowMs(): number {
        return this.clock.now().getTime();
    }

    private sweepAndCommit(nowMs = this.nowMs()): void {
        this.sweep(nowMs);
        this.commit();
    }

    /** Writes what this queue and its sub-queue changed, in one transaction; nothing to do without a store. */
    private commit(): void {
        this.journal?.commit();
    }

    private recordUpdate(message: StoredMessage): void {
        const pending = this.pendingWrites;
        // A message still to be inserted is written whole, with its latest fields, by the insert.
        if (pending !== undefined && !pending.has(message)) {
            pending.set(message, 'update');
        }
    }

    /**
     * Rebuilds this entity from the store at construction. A lock held when the runtime stopped has ended, as the
     * service's lock expires when its holder goes away: the delivery it counted stays counted, so the message is
     * released as an expired lock releases it (dead-lettered at maxDeliveryCount, expired past its TTL, or back to
     * active or deferred). A scheduled message whose time passed during the downtime is active.
     */
    private restore(nowMs: number): void {
        const persisted = this.journal!.store.load(this.name);
        const interrupted: StoredMessage[] = [];
        for (const row of persisted.messages) {
            const scheduled = !row.deferred && row.scheduledAtMs !== undefined && row.scheduledAtMs > nowMs;
            const message: StoredMessage = {
                sequenceNumber: row.sequenceNumber,
                messageId: row.messageId,
                body: row.body,
                contentType: row.contentType,
                correlationId: row.correlationId,
                subject: row.subject,
                wire: row.wire,
                applicationProperties: row.applicationProperties,
                timeToLiveMs: row.timeToLiveMs,
                scheduledAtMs: row.scheduledAtMs,
                enqueuedAtMs: row.enqueuedAtMs,
                expiresAtMs: row.expiresAtMs,
                state: scheduled ? 'scheduled' : row.locked ? 'locked' : row.deferred ? 'deferred' : 'active',
                deferred: row.deferred,
                deliveryCount: row.deliveryCount,
                lockToken: undefined,
                lockedUntilMs: 0,
                deadLetter: row.deadLetter,
            };
            this.storedCount++;
            this.bySequenceNumber.set(message.sequenceNumber, message);
            this.nextSequenceNumber = Math.max(this.nextSequenceNumber, message.sequenceNumber + 1);
            if (scheduled) {
                this.scheduledCount++;
                this.schedule.push(message);
                this.armWakeTimer(row.scheduledAtMs);
                continue;
            }
            if (!this.isDeadLetterQueue) {
                this.expiries.push(message);
                this.armWakeTimer(message.expiresAtMs);
            }
            if (message.state === 'locked') {
                interrupted.push(message);
            } else if (message.state === 'deferred') {
                this.deferredCount++;
            } else {
                // Rows come in the order they joined this entity, the order the FIFO keeps them in.
                this.freshMessages.push(message);
            }
        }
        this.nextSequenceNumber = Math.max(this.nextSequenceNumber, persisted.nextSequenceNumber);
        interrupted.forEach((message) => this.release(message, nowMs));
    }

    private enqueue(message: StoredMessage): void {
        this.freshMessages.push(message);
        if (!this.isDeadLetterQueue) {
            this.expiries.push(message);
            this.armWakeTimer(message.expiresAtMs);
        }
        this.notifyAvailable();
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
            // Entries of messages that expired, were purged or deferred while waiting are deleted lazily here.
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
        // The delivery counts on disk too, so a consumer that brings the runtime down with a message still
        // reaches maxDeliveryCount after enough restarts, as with any other failure to settle.
        this.recordUpdate(message);
        this.locks.set(lockToken, message);
        this.lockDeadlines.push({ message, lockToken, dueMs: message.lockedUntilMs });
        this.armWakeTimer(message.lockedUntilMs);
        return this.view(message, lockToken, message.lockedUntilMs, 0);
    }

    /** ReceiveAndDelete: the message leaves the queue as it is handed out (recorded in `taken` for unforget). */
    private take(message: StoredMessage, taken: Forgotten[]): ReceivedServiceBusMessage {
        const view = this.view(message, '', 0, 1);
        taken.push(this.snapshot(message));
        this.forget(message);
        return view;
    }

    private snapshot(message: StoredMessage): Forgotten {
        return {
            message,
            state: message.state,
            lockToken: message.lockToken,
            pending: this.pendingWrites?.get(message),
        };
    }

    /** Commits; if that throws, puts the forgotten messages back (their removal was refused) and rethrows. */
    private commitOrUnforget(forgotten: readonly Forgotten[]): void {
        try {
            this.commit();
        } catch (error) {
            this.unforget(forgotten);
            throw error;
        }
    }

    /**
     * Undoes forget for removals whose commit failed (a receive-and-delete, a resubmit): each message is back as it
     * was, with the same sequence number, delivery count, state and lock, and its pending write is what it was before,
     * so the kept writes of the failed commit no longer delete it. Restores this entity's listing order (a dead-letter
     * queue lists by dead-lettering time, as the store does).
     */
    private unforget(forgotten: readonly Forgotten[]): void {
        for (const { message, state, lockToken, pending } of forgotten) {
            if (this.pendingWrites !== undefined) {
                if (pending === undefined) {
                    this.pendingWrites.delete(message);
                } else {
                    this.pendingWrites.set(message, pending);
                }
            }
            this.storedCount++;
            this.reinsert(message);
            if (!this.isDeadLetterQueue) {
                this.expiries.push(message);
                this.armWakeTimer(message.expiresAtMs);
            }
            if (state === 'locked' && lockToken !== undefined) {
                message.state = 'locked';
                message.lockToken = lockToken;
                this.locks.set(lockToken, message);
                this.lockDeadlines.push({ message, lockToken, dueMs: message.lockedUntilMs });
                this.armWakeTimer(message.lockedUntilMs);
            } else if (state === 'deferred') {
                message.state = 'deferred';
                this.deferredCount++;
            } else {
                // A message taken in ReceiveAndDelete was active: it is available again, in its sequence order.
                message.state = 'active';
                this.returnedMessages.push(message);
                this.notifyAvailable();
            }
        }
    }

    /** Puts a message back in bySequenceNumber at its place in the listing order (the store's load order). */
    private reinsert(message: StoredMessage): void {
        const key = (entry: StoredMessage) => [entry.deadLetter?.atMs ?? 0, entry.sequenceNumber] as const;
        const before = (a: StoredMessage, b: StoredMessage) => {
            const [aTime, aNumber] = key(a);
            const [bTime, bNumber] = key(b);
            return aTime < bTime || (aTime === bTime && aNumber < bNumber);
        };
        let last: StoredMessage | undefined;
        for (const entry of this.bySequenceNumber.values()) {
            last = entry;
        }
        if (last === undefined || before(last, message)) {
            this.bySequenceNumber.set(message.sequenceNumber, message);
            return;
        }
        // O(n), on a failure path only: rebuild the map with the message in its place.
        const entries = [...this.bySequenceNumber.values(), message].sort((a, b) => (before(a, b) ? -1 : 1));
        this.bySequenceNumber.clear();
        entries.forEach((entry) => this.bySequenceNumber.set(entry.sequenceNumber, entry));
    }

    private view(
        message: StoredMessage,
        lockToken: string,
        lockedUntilMs: number,
        deliveryIncrement: number,
    ): ReceivedServiceBusMessage {
        const state = message.deferred ? 'deferred' : message.state === 'scheduled' ? 'scheduled' : undefined;
        return {
            body: message.body,
            messageId: message.messageId,
            sequenceNumber: message.sequenceNumber,
            deliveryCount: message.deliveryCount + deliveryIncrement,
            enqueuedTimeUtc: new Date(message.enqueuedAtMs),
            expiresAtUtc: new Date(message.expiresAtMs),
            lockedUntilUtc: new Date(lockedUntilMs),
            lockToken,
            contentType: message.contentType,
            applicationProperties: message.applicationProperties,
            timeToLiveMs: message.timeToLiveMs,
            // Only set when present, so in-process consumers see the same shape as before.
            ...(message.correlationId !== undefined ? { correlationId: message.correlationId } : {}),
            ...(message.subject !== undefined ? { subject: message.subject } : {}),
            ...(message.scheduledAtMs !== undefined
                ? { scheduledEnqueueTimeUtc: new Date(message.scheduledAtMs) }
                : {}),
            ...(state !== undefined ? { state } : {}),
            ...(message.deadLetter !== undefined
                ? {
                      deadLetterReason: message.deadLetter.reason,
                      deadLetterErrorDescription: message.deadLetter.description,
                  }
                : {}),
            ...(message.wire !== undefined ? { wire: message.wire } : {}),
        };
    }

    private modify(message: StoredMessage, options: SettlementOptions): void {
        if (options.propertiesToModify !== undefined && Object.keys(options.propertiesToModify).length > 0) {
            message.applicationProperties = { ...message.applicationProperties, ...options.propertiesToModify };
        }
    }

    private requireLock(lockToken: string): StoredMessage {
        this.sweep(this.nowMs());
        const message = this.locks.get(lockToken);
        if (message === undefined) {
            throw new MessageLockLostError(this.name, lockToken);
        }
        return message;
    }

    private removeDeadLetter(sequenceNumber: number): Forgotten {
        const subQueue = this.deadLetterSubQueue;
        const entry = subQueue?.bySequenceNumber.get(sequenceNumber);
        if (subQueue === undefined || entry === undefined) {
            throw new DeadLetterNotFoundError(this.name, sequenceNumber);
        }
        const removed = subQueue.snapshot(entry);
        if (entry.lockToken !== undefined) {
            subQueue.locks.delete(entry.lockToken);
        }
        if (entry.state === 'deferred') {
            subQueue.deferredCount--;
        }
        subQueue.forget(entry);
        return removed;
    }

    /**
     * Ends a lock without completing: abandon or lock expiry. The delivery has counted, so a message that has had
     * maxDeliveryCount deliveries goes to the dead-letter queue instead of being handed out again; a message whose
     * TTL passed while it was locked expires now (expiry never interrupts a lock, it waits for it to end). A deferred
     * message goes back to being deferred.
     */
    private release(message: StoredMessage, nowMs: number): void {
        if (message.lockToken !== undefined) {
            this.locks.delete(message.lockToken);
        }
        message.lockToken = undefined;
        if (!this.isDeadLetterQueue && message.deliveryCount >= this.maxDeliveryCount) {
            this.moveToDeadLetter(
                message,
                MAX_DELIVERY_COUNT_EXCEEDED,
                `Message could not be consumed after ${this.maxDeliveryCount} delivery attempts.`,
                nowMs,
            );
        } else if (!this.isDeadLetterQueue && message.expiresAtMs <= nowMs) {
            this.expire(message, nowMs);
        } else if (message.deferred) {
            message.state = 'deferred';
            this.deferredCount++;
            this.recordUpdate(message);
        } else {
            message.state = 'active';
            this.returnedMessages.push(message);
            this.recordUpdate(message);
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
        // The entry keeps its sequence number and delivery count; in the sub-queue it is receivable and peekable.
        this.deadLetterSubQueue?.adopt({
            ...message,
            state: 'active',
            deferred: false,
            lockToken: undefined,
            lockedUntilMs: 0,
            deadLetter: { reason, description, atMs: nowMs },
        });
    }

    private adopt(message: StoredMessage): void {
        this.pendingWrites?.set(message, 'insert');
        this.storedCount++;
        this.bySequenceNumber.set(message.sequenceNumber, message);
        this.enqueue(message);
    }

    private forget(message: StoredMessage): void {
        const pending = this.pendingWrites;
        if (pending !== undefined) {
            // Inserted and gone before a commit: nothing to write.
            if (pending.get(message) === 'insert') {
                pending.delete(message);
            } else {
                pending.set(message, 'delete');
            }
        }
        message.state = 'gone';
        message.lockToken = undefined;
        this.storedCount--;
        this.bySequenceNumber.delete(message.sequenceNumber);
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

    /** Applies every scheduled enqueue, lock expiry and TTL expiry due at nowMs. */
    private sweep(nowMs: number): void {
        for (let due = this.schedule.peek(); due !== undefined && due.scheduledAtMs! <= nowMs;) {
            this.schedule.pop();
            if (due.state === 'scheduled') {
                this.scheduledCount--;
                due.state = 'active';
                this.returnedMessages.push(due);
                this.expiries.push(due);
                this.armWakeTimer(due.expiresAtMs);
                this.notifyAvailable();
            }
            due = this.schedule.peek();
        }
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
            if (due.state === 'active' || due.state === 'deferred') {
                if (due.state === 'deferred') {
                    this.deferredCount--;
                }
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
        try {
            this.commit();
        } catch {
            // A timer has no caller to tell. What a sweep changes (expired locks and messages) follows from the stored
            // state alone, and the next start applies it again; a failing disk surfaces in the next operation's commit.
        }
        const next = Math.min(
            this.lockDeadlines.peek()?.dueMs ?? Number.POSITIVE_INFINITY,
            this.expiries.peek()?.expiresAtMs ?? Number.POSITIVE_INFINITY,
            this.schedule.peek()?.scheduledAtMs ?? Number.POSITIVE_INFINITY,
        );
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

/** An operation waiting for the group commit: its hooks, then its caller's promise. */
interface GroupMember {
    /** Just before the commit, in the order the operations were made (a send numbers and records its messages). */
    readonly beforeCommit: (() => void) | undefined;
    /** The commit failed: undo what beforeCommit did (or, without one, what the operation did before joining). */
    readonly onFailure: (() => void) | undefined;
    /** The commit succeeded: what the caller's promise resolves with. */
    readonly onCommitted: () => unknown;
    readonly resolve: (value: unknown) => void;
    readonly reject: (error: unknown) => void;
}

/**
 * The writes a store-backed queue and its dead-letter sub-queue owe the store, by message, since their last commit.
 * Fields are read at commit time, so a message changed several times before a commit is written once.
 *
 * Group commit: an operation of the asynchronous API (sendBatchAsync, receiveAsync, completeAsync, ...) applies its
 * change in memory (a send only at the commit), joins the current group and waits; the group commits once, at the end
 * of the event loop's turn (setImmediate, as LocalEventHub.sendAsync groups its sends), in one transaction with every
 * write then pending, and only then settles its members' promises, in the order they joined. Their callers acknowledge
 * on resolution (the accepted disposition, the settled disposition, the function invocation after a receive), so no
 * acknowledgement precedes the commit of what it reports, nor of anything it could have observed: every commit
 * writes all that is pending, across both entities. At thousands of messages a second this turns about two
 * transactions per message (its send, its complete, a share of a receive batch's) into a few per turn
 * (bench/serviceBusState.bench.ts: 2.04 against 0.063 per message). A failed group commit reports every member
 * failed (rejects it with the commit's error), which is not to say none of its changes is on disk: a synchronous
 * commit in the same turn writes all that is pending, the group's in-memory changes included. Sends are taken back
 * and a receive-and-delete's messages put back; other operations stay applied in memory with their writes kept for
 * the next commit, as a failed synchronous commit leaves them.
 */
class QueueJournal {
    private readonly entities: Array<{
        readonly entity: string;
        readonly pending: Map<StoredMessage, PendingWrite>;
        readonly nextSequenceNumber: (() => number) | undefined;
    }> = [];

    /** Open inOneCommit calls: commits wait for the outermost to end. */
    private holds = 0;
    /** The operations waiting for the next group commit; undefined when none is scheduled. */
    private group: GroupMember[] | undefined;
    /** Whether the group holds a send, which takes its sequence numbers at the commit. */
    private groupSends = false;

    constructor(readonly store: ServiceBusMessageStore) {}

    hold(): void {
        this.holds++;
    }

    release(): void {
        this.holds--;
        this.commit();
    }

    register(entity: string, nextSequenceNumber: (() => number) | undefined): Map<StoredMessage, PendingWrite> {
        const pending = new Map<StoredMessage, PendingWrite>();
        this.entities.push({ entity, pending, nextSequenceNumber });
        return pending;
    }

    /** Joins the group commit without hooks: resolves once what is pending now is committed. */
    joinGroup(): Promise<void>;
    joinGroup<T>(hooks: { beforeCommit?: () => void; onFailure?: () => void; onCommitted: () => T }): Promise<T>;
    joinGroup(
        hooks: { beforeCommit?: () => void; onFailure?: () => void; onCommitted: () => unknown } = {
            onCommitted: () => undefined,
        },
    ): Promise<unknown> {
        return new Promise((resolve, reject) => {
            if (this.group === undefined) {
                this.group = [];
                setImmediate(() => this.commitGroup());
            }
            if (hooks.beforeCommit !== undefined) {
                this.groupSends = true;
            }
            this.group.push({
                beforeCommit: hooks.beforeCommit,
                onFailure: hooks.onFailure,
                onCommitted: hooks.onCommitted,
                resolve,
                reject,
            });
        });
    }

    /** Commits the group now if it holds a send, so a synchronous send made after it is numbered after it. */
    commitGroupIfSending(): void {
        if (this.groupSends) {
            this.commitGroup();
        }
    }

    /**
     * The group commit: one transaction for everything pending, then each member settled in the order it joined. It
     * ignores inOneCommit holds: none is open when a turn ends, and a synchronous send inside one that commits a
     * group early only commits sooner. Never throws: it runs in setImmediate, where a throw would stop the runtime;
     * its failures go to the members' promises.
     */
    commitGroup(): void {
        const group = this.group;
        if (group === undefined) {
            return;
        }
        this.group = undefined;
        this.groupSends = false;
        let staged = 0;
        try {
            for (const member of group) {
                member.beforeCommit?.();
                staged++;
            }
            this.write();
        } catch (error) {
            // Undo what was staged; a member without beforeCommit (a receive putting back what it took) always.
            group.forEach((member, index) => {
                if (index < staged || member.beforeCommit === undefined) {
                    member.onFailure?.();
                }
            });
            group.forEach((member) => member.reject(error));
            return;
        }
        for (const member of group) {
            try {
                member.resolve(member.onCommitted());
            } catch (error) {
                member.reject(error);
            }
        }
    }

    /**
     * One transaction for everything pending. A commit that throws (disk full, read-only) keeps the pending writes,
     * so the next commit writes them: an operation that changed memory before committing (complete, abandon,
     * defer, dead-letter, a receive's delivery count, a sweep) is reported failed but stays applied in memory, and
     * the disk catches up at the next successful commit instead of differing until a restart. Until then a restart
     * shows the state before it (a completed message comes back: at-least-once, as a complete the service did not
     * confirm). A send takes its own inserts back when its commit throws, since it changes memory only after.
     */
    commit(): void {
        if (this.holds > 0) {
            return;
        }
        this.write();
    }

    private write(): void {
        let writes: ServiceBusEntityWrites[] | undefined;
        for (const { entity, pending, nextSequenceNumber } of this.entities) {
            if (pending.size === 0) {
                continue;
            }
            const inserted: PersistedServiceBusMessage[] = [];
            const updated: PersistedMessageUpdate[] = [];
            const deleted: number[] = [];
            for (const [message, write] of pending) {
                if (write === 'insert') {
                    inserted.push(toPersisted(message));
                } else if (write === 'update') {
                    updated.push({
                        sequenceNumber: message.sequenceNumber,
                        deliveryCount: message.deliveryCount,
                        deferred: message.deferred,
                        locked: message.lockToken !== undefined,
                        applicationProperties: message.applicationProperties,
                    });
                } else {
                    deleted.push(message.sequenceNumber);
                }
            }
            (writes ??= []).push({
                entity,
                inserted,
                updated,
                deleted,
                nextSequenceNumber: inserted.length > 0 ? nextSequenceNumber?.() : undefined,
            });
        }
        if (writes === undefined) {
            return;
        }
        this.store.write(writes);
        this.entities.forEach(({ pending }) => pending.clear());
    }
}

function toPersisted(message: StoredMessage): PersistedServiceBusMessage {
    return {
        sequenceNumber: message.sequenceNumber,
        messageId: message.messageId,
        body: message.body,
        contentType: message.contentType,
        correlationId: message.correlationId,
        subject: message.subject,
        wire: message.wire,
        applicationProperties: message.applicationProperties,
        timeToLiveMs: message.timeToLiveMs,
        scheduledAtMs: message.scheduledAtMs,
        enqueuedAtMs: message.enqueuedAtMs,
        expiresAtMs: message.expiresAtMs,
        deferred: message.deferred,
        deliveryCount: message.deliveryCount,
        locked: message.lockToken !== undefined,
        deadLetter: message.deadLetter,
    };
}
