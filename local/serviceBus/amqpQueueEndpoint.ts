import {
    type Delivery,
    type EventContext,
    type Message,
    message as rheaMessage,
    type Sender,
    string_to_uuid,
    types,
    uuid_to_string,
} from 'rhea';

import {
    AmqpError,
    type AmqpLinkContext,
    type AmqpManagementRequest,
    type AmqpManagementResponse,
    type AmqpServer,
    notImplemented,
    transferredMessages,
} from '../amqp';
import {
    InvalidQueueOptionError,
    MessageLockLostError,
    MessageNotFoundError,
    MessageSizeExceededError,
} from './errors';
import { DEAD_LETTER_QUEUE_SUFFIX, type LocalServiceBusQueue, type ReceiveMode } from './localServiceBusQueue';
import type { ApplicationProperties, ReceivedServiceBusMessage, ServiceBusMessageToSend } from './messages';

/** Annotations the broker sets on the way out; a client's own values for them are not kept. */
const BROKER_ANNOTATIONS = new Set([
    'x-opt-sequence-number',
    'x-opt-enqueued-time',
    'x-opt-locked-until',
    'x-opt-enqueue-sequence-number',
    'x-opt-message-state',
    'x-opt-scheduled-enqueue-time',
    'x-opt-deadletter-source',
]);
/** Dead-letter outcome condition the SDK sends (wire-protocols.md §3.4; SB SDK `core/messageReceiver.ts`). */
const DEAD_LETTER_CONDITION = 'com.microsoft:dead-letter';
/** AMQP header ttl is a uint of milliseconds. */
const MAX_HEADER_TTL_MS = 0xffff_ffff;
/** Deliveries handed to one link per pump turn, so one busy link cannot starve the event loop. */
const MAX_PER_PUMP = 256;

/** rhea's outcome constructors, which its typings leave out (rhea `lib/message.js` `define_outcome`). */
const outcomes = rheaMessage as unknown as Record<
    'accepted' | 'released' | 'rejected' | 'modified',
    (fields?: Record<string, unknown>) => { described(): unknown }
>;

function creditOf(link: Sender): number {
    return (link as unknown as { credit: number }).credit;
}

/**
 * Credit not yet spoken for. rhea counts a delivery against the link's credit only when it writes the transfer
 * (session `Outgoing.process`), so deliveries handed to `send` in this turn still show as credit; without this a
 * second pump in the same turn would lock messages the client never asked for. The JS SDKs open one session per
 * link, so the session's unsent deliveries are this link's.
 */
function availableCredit(link: Sender): number {
    const outgoing = (
        link.session as unknown as { outgoing: { next_delivery_id: number; next_pending_delivery: number } }
    ).outgoing;
    return Math.max(0, creditOf(link) - (outgoing.next_delivery_id - outgoing.next_pending_delivery));
}

/** How the AMQP endpoint keeps what the broker does not model, so a message leaves as it came (opaque to the broker). */
interface WireDetails {
    readonly bodyType: 'data' | 'value' | 'sequence';
    /** The amqp-value or amqp-sequence content, when the body was not a data section. */
    readonly value?: unknown;
    readonly properties: Record<string, unknown>;
    readonly annotations: Record<string, unknown>;
}

/**
 * Serves one LocalServiceBusQueue over AMQP 1.0 at its name, as Service Bus does, for the official SDK clients:
 *
 * - send links (`<queue>`): single and batched transfers (format 0x80013700); a message over the queue's size limit
 *   is rejected with `amqp:link:message-size-exceeded`; `x-opt-scheduled-enqueue-time` schedules it.
 * - receive links (`<queue>` or `<queue>/$DeadLetterQueue`): peek-lock (lock token in the delivery tag, in .NET
 *   byte order) or receive-and-delete (pre-settled), by link credit, with drain; accepted → complete, modified →
 *   abandon (undeliverable-here false) or defer (true), rejected `com.microsoft:dead-letter` → dead-letter with its
 *   reason and description, released → abandon. Each settlement is answered with a settled disposition; a lost lock
 *   with `rejected{com.microsoft:message-lock-lost}`. A session receiver (source filter
 *   `com.microsoft:session-filter`) is refused with `amqp:not-implemented`.
 * - `$management`: renew-lock, receive-by-sequence-number, peek-message, schedule-message, cancel-scheduled-message,
 *   update-disposition; session and rule operations are refused with `amqp:not-implemented`.
 *
 * Protocol facts and sources: ../shared/reference/wire-protocols.md §3 (SB SDK 7.9.5 `core/messageReceiver.ts`,
 * `core/managementClient.ts`, `serviceBusMessage.ts`; the AMQP request-response doc).
 *
 * @returns the unregister function
 */
export function serveQueueOverAmqp(server: AmqpServer, queue: LocalServiceBusQueue): () => void {
    return server.registerEntity(queue.name, {
        settlesDeliveries: true,
        onReceiverLinkOpened(link, context) {
            if (context.subPath !== '') {
                throw new AmqpError(
                    'amqp:not-allowed',
                    `Messages cannot be sent to ${JSON.stringify(context.address)}: send to the queue itself`,
                    400,
                );
            }
            link.on('message', (messageContext: EventContext) => acceptSend(queue, messageContext));
        },
        onSenderLinkOpened(link, context) {
            openReceiveLink(link, subQueueOf(queue, context), context);
        },
        onManagementRequest(request) {
            return manage(subQueueOf(queue, request), request);
        },
    });
}

function subQueueOf(queue: LocalServiceBusQueue, context: Pick<AmqpLinkContext, 'subPath'>): LocalServiceBusQueue {
    if (context.subPath === '') {
        return queue;
    }
    if (context.subPath.toLowerCase() === DEAD_LETTER_QUEUE_SUFFIX.toLowerCase() && queue.deadLetterSubQueue) {
        return queue.deadLetterSubQueue;
    }
    if (context.subPath.toLowerCase().startsWith('subscriptions')) {
        throw notImplemented('Topics and subscriptions');
    }
    throw notImplemented(`The sub-queue ${JSON.stringify(context.subPath)}`);
}

function acceptSend(queue: LocalServiceBusQueue, context: EventContext): void {
    const delivery = context.delivery!;
    const refuse = (error: unknown) => {
        const amqp = toAmqpError(error);
        delivery.reject({ condition: amqp.condition, description: amqp.message });
    };
    try {
        // Stored whole or not at all, and committed (with a store, in the turn's group commit) before the accepted
        // disposition goes out. A link closed meanwhile gets no disposition: rhea drops it with the session.
        queue.sendBatchAsync(transferredMessages(context).map(toBrokerMessage)).then(() => delivery.accept(), refuse);
    } catch (error) {
        refuse(error);
    }
}

function openReceiveLink(link: Sender, queue: LocalServiceBusQueue, context: AmqpLinkContext): void {
    const filter = (link.source as { filter?: Record<string, unknown> } | undefined)?.filter;
    if (filter && Object.keys(filter).some((key) => key === 'com.microsoft:session-filter')) {
        throw notImplemented('Sessions (a session receiver)');
    }
    // snd-settle-mode 1 (settled) is receive-and-delete (wire-protocols §3.3).
    const mode: ReceiveMode = link.snd_settle_mode === 1 ? 'receiveAndDelete' : 'peekLock';
    const lockTokens = new WeakMap<Delivery, string>();
    let pumpScheduled = false;
    /** A peek-lock receive waiting for its commit: its messages hold their credit; pumps meanwhile wait for it. */
    let receiving = false;
    let pumpAfterReceive = false;
    const pump = () => {
        pumpScheduled = false;
        if (receiving) {
            pumpAfterReceive = true;
            return;
        }
        if (!link.is_open()) {
            // Closed, or its session or connection went away (rhea emits nothing on the link for those): stop
            // listening here rather than adding a listener per link to the long-lived connection.
            unsubscribe();
            return;
        }
        try {
            serve();
        } catch (error) {
            // Never let one link take the process down: detach it; its locked messages come back when locks expire
            // (a failed receive-and-delete has put its messages back already).
            unsubscribe();
            link.close({ condition: 'amqp:internal-error', description: String(error) });
        }
    };
    const transfer = (messages: readonly ReceivedServiceBusMessage[]) => {
        for (const message of messages) {
            const tag = mode === 'peekLock' ? lockTokenToDeliveryTag(message.lockToken) : undefined;
            const delivery = link.send(toRheaMessage(message, mode), tag);
            if (mode === 'peekLock') {
                lockTokens.set(delivery, message.lockToken);
            }
        }
    };
    const serve = () => {
        const credit = Math.min(availableCredit(link), MAX_PER_PUMP);
        if (credit <= 0) {
            afterServing(0);
        } else if (mode === 'peekLock') {
            // The delivery counts commit with the turn's other operations before the transfers go out. A link that
            // closes meanwhile sends nothing: its messages stay locked and come back when the locks expire. A message
            // whose lock expired before the commit is not sent (it is back in the queue, maybe another receiver's).
            const { messages, committed } = queue.receiveAsync(credit, mode);
            if (messages.length === 0) {
                afterServing(0);
                return;
            }
            receiving = true;
            const detach = (error: unknown) => {
                unsubscribe();
                link.close({ condition: 'amqp:internal-error', description: String(error) });
            };
            void committed
                .then((stillLocked) => {
                    if (!link.is_open()) {
                        return;
                    }
                    transfer(stillLocked);
                    if (stillLocked.length < messages.length) {
                        // Released messages are available again: serve them before a drain may report none left.
                        schedulePump();
                    } else {
                        afterServing(messages.length);
                    }
                })
                .catch(detach)
                .finally(() => {
                    receiving = false;
                    if (pumpAfterReceive) {
                        pumpAfterReceive = false;
                        pump();
                    }
                });
        } else {
            // Receive-and-delete stays synchronous: a message taken is gone once its removal commits, so it must not
            // wait for a commit during which its link could close (it would be lost without having been sent). If
            // the commit throws, receive puts the messages back (available again) and pump detaches the link.
            const messages = queue.receive(credit, mode);
            transfer(messages);
            afterServing(messages.length);
        }
    };
    const afterServing = (served: number) => {
        if (served === MAX_PER_PUMP && availableCredit(link) > 0) {
            // More credit and maybe more messages: continue on the next turn, after other I/O.
            schedulePump();
        } else if (creditOf(link) > 0 && (link as unknown as { _draining: boolean })._draining) {
            // Nothing left to send: rhea advances the delivery count, zeroes the credit and sends the drained flow.
            link.set_drained(true);
        }
    };
    const schedulePump = () => {
        if (!pumpScheduled) {
            pumpScheduled = true;
            setImmediate(pump);
        }
    };
    const unsubscribe = queue.onMessagesAvailable(schedulePump);
    link.on('sendable', schedulePump);
    link.on('sender_draining', () => pump());
    link.on('sender_close', unsubscribe);

    /** Applies a settlement and answers with a settled disposition once it is committed (the turn's group commit). */
    const settle = (outcome: EventContext, apply: (lockToken: string) => Promise<void>, reply: unknown) => {
        const delivery = outcome.delivery!;
        const lockToken = lockTokens.get(delivery);
        if (lockToken === undefined) {
            return;
        }
        const answer = (state: unknown) => {
            delivery.update(true, state);
            // With rcv-settle-mode second the exchange ends with our settled disposition: the client settles
            // silently and never tells us. rhea frees an outgoing delivery only once both ends settled, so without
            // this every peek-lock delivery stays in the session's 2,048-slot buffer until it overflows.
            (delivery as unknown as { remote_settled: boolean }).remote_settled = true;
        };
        const refuse = (error: unknown) => {
            const amqp = toAmqpError(error);
            answer(outcomes.rejected({ error: { condition: amqp.condition, description: amqp.message } }).described());
        };
        let settled: Promise<void>;
        try {
            settled = apply(lockToken);
        } catch (error) {
            settled = Promise.reject(error instanceof Error ? error : new Error(String(error)));
        }
        void settled.then(() => answer(reply), refuse);
    };
    link.on('accepted', (outcome: EventContext) =>
        settle(outcome, (token) => queue.completeAsync(token), outcomes.accepted().described()),
    );
    link.on('released', (outcome: EventContext) =>
        settle(outcome, (token) => queue.abandonAsync(token), outcomes.released().described()),
    );
    link.on('modified', (outcome: EventContext) => {
        const state = outcome.delivery!.remote_state as {
            undeliverable_here?: boolean;
            message_annotations?: Record<string, unknown>;
        };
        const propertiesToModify = (state.message_annotations ?? {}) as ApplicationProperties;
        settle(
            outcome,
            (token) =>
                state.undeliverable_here === true
                    ? queue.deferAsync(token, { propertiesToModify })
                    : queue.abandonAsync(token, { propertiesToModify }),
            outcomes.modified({ undeliverable_here: state.undeliverable_here === true }).described(),
        );
    });
    link.on('rejected', (outcome: EventContext) => {
        const error = (outcome.delivery!.remote_state as { error?: { condition?: string; info?: unknown } }).error;
        const info = { ...((error?.info ?? {}) as Record<string, unknown>) };
        settle(
            outcome,
            (token) => {
                if (error?.condition !== DEAD_LETTER_CONDITION) {
                    // Any other rejection: the service treats it as abandon.
                    return queue.abandonAsync(token);
                }
                const reason = typeof info.DeadLetterReason === 'string' ? info.DeadLetterReason : '';
                const description =
                    typeof info.DeadLetterErrorDescription === 'string' ? info.DeadLetterErrorDescription : '';
                delete info.DeadLetterReason;
                delete info.DeadLetterErrorDescription;
                return queue.deadLetterAsync(token, {
                    reason,
                    description,
                    propertiesToModify: info as ApplicationProperties,
                });
            },
            // Acknowledge with accepted: a state carrying an error would make the SDK's deadLetterMessage throw.
            outcomes.accepted().described(),
        );
    });
    void context;
    schedulePump();
}

function manage(queue: LocalServiceBusQueue, request: AmqpManagementRequest): AmqpManagementResponse {
    const body = (request.body ?? {}) as Record<string, unknown>;
    try {
        switch (request.operation) {
            case 'com.microsoft:renew-lock': {
                const expirations = arrayOf(body['lock-tokens']).map((token) => queue.renewLock(uuidText(token)));
                return { statusCode: 200, body: { expirations } };
            }
            case 'com.microsoft:peek-message': {
                const from = longOf(body['from-sequence-number']);
                const count = Number(body['message-count'] ?? 1);
                const peeked = queue.peek(from, count);
                if (peeked.length === 0) {
                    return { statusCode: 204, statusDescription: 'No messages to peek' };
                }
                return {
                    statusCode: 200,
                    body: {
                        messages: peeked.map((message) => ({
                            message: rheaMessage.encode(toRheaMessage(message, 'peek')),
                        })),
                    },
                };
            }
            case 'com.microsoft:receive-by-sequence-number': {
                const mode: ReceiveMode = Number(body['receiver-settle-mode']) === 0 ? 'receiveAndDelete' : 'peekLock';
                const received = queue.receiveDeferred(arrayOf(body['sequence-numbers']).map(longOf), mode);
                return {
                    statusCode: 200,
                    body: {
                        messages: received.map((message) => ({
                            message: rheaMessage.encode(toRheaMessage(message, mode)),
                            ...(mode === 'peekLock'
                                ? { 'lock-token': types.wrap_uuid(string_to_uuid(message.lockToken)) }
                                : {}),
                        })),
                    },
                };
            }
            case 'com.microsoft:schedule-message': {
                const messages = arrayOf(body.messages).map((entry) => {
                    const encoded = (entry as { message?: unknown }).message;
                    if (!Buffer.isBuffer(encoded)) {
                        throw new AmqpError(
                            'com.microsoft:argument-error',
                            'schedule-message needs encoded messages',
                            400,
                        );
                    }
                    return toBrokerMessage(rheaMessage.decode(encoded) as unknown as Message);
                });
                const sequenceNumbers = queue.sendBatch(messages).map((sent) => types.wrap_long(sent.sequenceNumber));
                return { statusCode: 200, body: { 'sequence-numbers': sequenceNumbers } };
            }
            case 'com.microsoft:cancel-scheduled-message': {
                queue.inOneCommit(() =>
                    arrayOf(body['sequence-numbers']).forEach((sequenceNumber) =>
                        queue.cancelScheduled(longOf(sequenceNumber)),
                    ),
                );
                return { statusCode: 200 };
            }
            case 'com.microsoft:update-disposition': {
                const status = String(body['disposition-status']);
                const propertiesToModify = (body['properties-to-modify'] ?? {}) as ApplicationProperties;
                // One transaction for the batch of settlements, committed before the reply.
                queue.inOneCommit(() => {
                    for (const token of arrayOf(body['lock-tokens']).map(uuidText)) {
                        switch (status) {
                            case 'completed':
                                queue.complete(token);
                                break;
                            case 'abandoned':
                                queue.abandon(token, { propertiesToModify });
                                break;
                            // The SDK spells it with one r (core-amqp `util/constants.ts`).
                            case 'defered':
                                queue.defer(token, { propertiesToModify });
                                break;
                            case 'suspended':
                                queue.deadLetter(token, {
                                    reason: stringOr(body['deadletter-reason']),
                                    description: stringOr(body['deadletter-description']),
                                    propertiesToModify,
                                });
                                break;
                            default:
                                throw new AmqpError(
                                    'com.microsoft:argument-error',
                                    `Unknown disposition-status ${JSON.stringify(status)}`,
                                    400,
                                );
                        }
                    }
                });
                return { statusCode: 200 };
            }
            default:
                if (/session/i.test(request.operation)) {
                    throw notImplemented(`Sessions (${request.operation})`);
                }
                if (/rule/i.test(request.operation)) {
                    throw notImplemented(`Topics and subscription rules (${request.operation})`);
                }
                throw notImplemented(`The management operation ${JSON.stringify(request.operation)}`);
        }
    } catch (error) {
        throw toAmqpError(error);
    }
}

/** rhea message (as the SDK encodes it, wire-protocols §3.1) → what the broker stores. */
function toBrokerMessage(message: Message): ServiceBusMessageToSend {
    const section = message.body as { typecode?: number; content?: unknown; multiple?: boolean } | undefined;
    let body: Buffer;
    let wireBody: Pick<WireDetails, 'bodyType' | 'value'>;
    if (section?.typecode === 0x75) {
        const content = section.content;
        body = section.multiple ? Buffer.concat(content as Buffer[]) : Buffer.from(content as Buffer);
        wireBody = { bodyType: 'data' };
    } else if (section?.typecode === 0x76) {
        body = Buffer.from(JSON.stringify(section.content) ?? '');
        wireBody = { bodyType: 'sequence', value: section.content };
    } else {
        body = Buffer.from(JSON.stringify(message.body) ?? '');
        wireBody = { bodyType: 'value', value: message.body };
    }
    const annotations = { ...(message.message_annotations ?? {}) } as Record<string, unknown>;
    const scheduled = annotations['x-opt-scheduled-enqueue-time'];
    for (const key of BROKER_ANNOTATIONS) {
        delete annotations[key];
    }
    const properties: Record<string, unknown> = {};
    for (const key of [
        'to',
        'reply_to',
        'group_id',
        'reply_to_group_id',
        'creation_time',
        'absolute_expiry_time',
        'user_id',
    ] as const) {
        if (message[key] !== undefined && message[key] !== null) {
            properties[key] = message[key];
        }
    }
    const wire: WireDetails = { ...wireBody, properties, annotations };
    return {
        body,
        ...(message.message_id !== undefined && message.message_id !== null
            ? { messageId: String(message.message_id) }
            : {}),
        ...(message.content_type ? { contentType: message.content_type } : {}),
        ...(message.correlation_id !== undefined && message.correlation_id !== null
            ? { correlationId: String(message.correlation_id) }
            : {}),
        ...(message.subject ? { subject: message.subject } : {}),
        ...(message.application_properties
            ? { applicationProperties: message.application_properties as ApplicationProperties }
            : {}),
        ...(typeof message.ttl === 'number' && message.ttl > 0 ? { timeToLiveMs: message.ttl } : {}),
        ...(scheduled instanceof Date ? { scheduledEnqueueTimeUtc: scheduled } : {}),
        wire,
    };
}

/** Broker message → the rhea message the SDK reads (annotations and header per wire-protocols §3.2). */
function toRheaMessage(message: ReceivedServiceBusMessage, mode: ReceiveMode | 'peek'): Message {
    const wire = message.wire as WireDetails | undefined;
    const bodyBytes = typeof message.body === 'string' ? Buffer.from(message.body) : message.body;
    const body: unknown =
        wire === undefined || wire.bodyType === 'data'
            ? rheaMessage.data_section(bodyBytes)
            : wire.bodyType === 'sequence'
              ? rheaMessage.sequence_section(wire.value)
              : wire.value;
    const annotations: Record<string, unknown> = {
        ...wire?.annotations,
        'x-opt-sequence-number': types.wrap_long(message.sequenceNumber),
        'x-opt-enqueue-sequence-number': types.wrap_long(message.sequenceNumber),
        'x-opt-enqueued-time': message.enqueuedTimeUtc,
    };
    if (mode === 'peekLock') {
        annotations['x-opt-locked-until'] = message.lockedUntilUtc;
    }
    if (message.state === 'deferred') {
        annotations['x-opt-message-state'] = types.wrap_int(1);
    } else if (message.state === 'scheduled') {
        annotations['x-opt-message-state'] = types.wrap_int(2);
    }
    if (message.scheduledEnqueueTimeUtc !== undefined) {
        annotations['x-opt-scheduled-enqueue-time'] = message.scheduledEnqueueTimeUtc;
    }
    const applicationProperties: Record<string, unknown> = { ...message.applicationProperties };
    if (message.deadLetterReason !== undefined) {
        applicationProperties.DeadLetterReason = message.deadLetterReason;
        applicationProperties.DeadLetterErrorDescription = message.deadLetterErrorDescription ?? '';
    }
    return {
        ...wire?.properties,
        message_id: message.messageId,
        ...(message.correlationId !== undefined ? { correlation_id: message.correlationId } : {}),
        ...(message.contentType !== undefined ? { content_type: message.contentType } : {}),
        ...(message.subject !== undefined ? { subject: message.subject } : {}),
        ...(message.timeToLiveMs <= MAX_HEADER_TTL_MS ? { ttl: message.timeToLiveMs } : {}),
        // The header counts prior deliveries (zero-based); the broker counts this one too (wire-protocols §3.2).
        delivery_count: Math.max(0, mode === 'peek' ? message.deliveryCount : message.deliveryCount - 1),
        application_properties: applicationProperties,
        message_annotations: annotations,
        body,
    };
}

/**
 * The JS SDK turns the 16-byte delivery tag into the lock token after swapping the first three groups into .NET
 * `Guid.ToByteArray` order (SB SDK `util/utils.ts` `reorderLockToken`), so send the token's bytes in that order.
 */
export function lockTokenToDeliveryTag(lockToken: string): Buffer {
    const bytes = Buffer.from(lockToken.replace(/-/g, ''), 'hex');
    return Buffer.concat([
        Buffer.from(bytes.subarray(0, 4)).reverse(),
        Buffer.from(bytes.subarray(4, 6)).reverse(),
        Buffer.from(bytes.subarray(6, 8)).reverse(),
        bytes.subarray(8),
    ]);
}

function toAmqpError(error: unknown): AmqpError {
    if (error instanceof AmqpError) {
        return error;
    }
    if (error instanceof MessageLockLostError) {
        return new AmqpError('com.microsoft:message-lock-lost', error.message, 410);
    }
    if (error instanceof MessageNotFoundError) {
        return new AmqpError('com.microsoft:message-not-found', error.message, 404);
    }
    if (error instanceof MessageSizeExceededError) {
        return new AmqpError('amqp:link:message-size-exceeded', error.message, 413);
    }
    if (error instanceof InvalidQueueOptionError) {
        return new AmqpError('com.microsoft:argument-out-of-range', error.message, 400);
    }
    return new AmqpError('amqp:internal-error', error instanceof Error ? error.message : String(error), 500);
}

function arrayOf(value: unknown): unknown[] {
    return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
}

/** A long arrives as a number, or as an 8-byte buffer beyond ±2^53 (rhea `types.js`). */
function longOf(value: unknown): number {
    if (Buffer.isBuffer(value) && value.length === 8) {
        return Number(value.readBigInt64BE());
    }
    return Number(value);
}

function uuidText(value: unknown): string {
    return Buffer.isBuffer(value) ? uuid_to_string(value) : String(value);
}

function stringOr(value: unknown): string {
    return typeof value === 'string' ? value : '';
}
