import { type Message, message as rheaMessage, types } from 'rhea';

import type { AmqpEventParts, EventDataToSend, ReceivedEventData } from '../events';

/** Annotations the service sets on every event it delivers (EH SDK `eventData.ts`, `fromRheaMessage`). */
export const PARTITION_KEY_ANNOTATION = 'x-opt-partition-key';
const SERVICE_ANNOTATIONS = new Set([
    PARTITION_KEY_ANNOTATION,
    'x-opt-sequence-number',
    'x-opt-offset',
    'x-opt-enqueued-time',
]);
/** The standard properties section's fields, in rhea's names. */
const MESSAGE_PROPERTY_NAMES = [
    'message_id',
    'user_id',
    'to',
    'subject',
    'reply_to',
    'correlation_id',
    'content_type',
    'content_encoding',
    'absolute_expiry_time',
    'creation_time',
    'group_id',
    'group_sequence',
    'reply_to_group_id',
] as const;
const DATA_SECTION = 0x75;
const SEQUENCE_SECTION = 0x76;
const VALUE_SECTION = 0x77;

interface Section {
    typecode: number;
    content: unknown;
}

function isSection(body: unknown): body is Section {
    return typeof body === 'object' && body !== null && typeof (body as Section).typecode === 'number';
}

/** The partition key a sent message carries, if any. */
export function partitionKeyOf(message: Message): string | undefined {
    const annotations: Record<string, unknown> | undefined = message.message_annotations;
    const key = annotations?.[PARTITION_KEY_ANNOTATION];
    return typeof key === 'string' ? key : undefined;
}

/**
 * An event as a producer sent it over AMQP, for the broker: the body decoded as the SDK's receiver decodes it (a data
 * section as JSON when it parses, else the bytes; a value or sequence section as its content: EH SDK
 * `dataTransformer.ts`), so in-process consumers read the same `body` an SDK consumer gets; application properties as
 * the event's properties; and everything needed to deliver it over AMQP unchanged. `encoded` is the message's
 * encoding when the caller has it (a stored event being restored); otherwise it is encoded here.
 */
export function eventFromMessage(message: Message, encoded: Buffer = rheaMessage.encode(message)): EventDataToSend {
    const annotations = (message.message_annotations ?? {}) as Record<string, unknown>;
    const messageAnnotations = Object.fromEntries(
        Object.entries(annotations).filter(([key]) => !SERVICE_ANNOTATIONS.has(key)),
    );
    const messageProperties: Record<string, unknown> = {};
    for (const name of MESSAGE_PROPERTY_NAMES) {
        const value = (message as unknown as Record<string, unknown>)[name];
        if (value !== undefined && value !== null) messageProperties[name] = value;
    }
    const amqp: AmqpEventParts = {
        bodySection: message.body,
        messageProperties,
        messageAnnotations,
        encodedBytes: encoded.length,
    };
    const properties = message.application_properties as Record<string, unknown> | undefined;
    return {
        body: decodeBody(message.body),
        ...(properties === undefined ? {} : { properties }),
        amqp,
        encodedMessage: encoded,
    };
}

function decodeBody(body: unknown): unknown {
    if (isSection(body)) {
        if (body.typecode === DATA_SECTION && Buffer.isBuffer(body.content)) return tryJson(body.content);
        if (body.typecode === SEQUENCE_SECTION || body.typecode === VALUE_SECTION) return body.content;
    }
    return Buffer.isBuffer(body) ? tryJson(body) : body;
}

function tryJson(bytes: Buffer): unknown {
    try {
        return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch {
        return bytes;
    }
}

/**
 * The AMQP message a receiver gets for a stored event: as sent (for events that came over AMQP), or as the SDK
 * producer would have encoded an in-process event (a Buffer as one data section, anything else as its JSON text,
 * EH SDK `dataTransformer.ts` `encode`), with the service annotations the SDK reads: `x-opt-sequence-number` (long),
 * `x-opt-offset` (string), `x-opt-enqueued-time` (timestamp) and `x-opt-partition-key` when one was used.
 */
export function messageFromEvent(event: ReceivedEventData): Message {
    const annotations: Record<string, unknown> = {
        ...event.amqp?.messageAnnotations,
        'x-opt-sequence-number': types.wrap_long(event.sequenceNumber),
        'x-opt-offset': event.offset,
        'x-opt-enqueued-time': event.enqueuedTimeUtc,
    };
    if (event.partitionKey !== null) annotations[PARTITION_KEY_ANNOTATION] = event.partitionKey;
    const body: unknown =
        event.amqp !== undefined
            ? event.amqp.bodySection
            : rheaMessage.data_section(
                  Buffer.isBuffer(event.body) ? event.body : Buffer.from(JSON.stringify(event.body) ?? 'null'),
              );
    const message: Record<string, unknown> = {
        ...event.amqp?.messageProperties,
        message_annotations: annotations,
        body,
    };
    if (Object.keys(event.properties).length > 0) message.application_properties = event.properties;
    return message as unknown as Message;
}
