/**
 * The parts of an event that arrived over AMQP and that the in-process shape does not carry, kept so an AMQP consumer
 * gets the event back as it was sent: the body section exactly as encoded (data, amqp-value or amqp-sequence), the
 * standard message properties (message-id, correlation-id, content-type, ...) and the sender's own message
 * annotations. `encodedBytes` is the size of the encoded message, which is what the service counts against its limit.
 */
export interface AmqpEventParts {
    readonly bodySection: unknown;
    readonly messageProperties: Readonly<Record<string, unknown>>;
    readonly messageAnnotations: Readonly<Record<string, unknown>>;
    readonly encodedBytes: number;
}

/** What a producer supplies for one event. */
export interface EventDataToSend {
    body: unknown;
    properties?: Record<string, unknown>;
    /** Set for events sent over AMQP; `body` then holds the body decoded as the SDK decodes it. */
    amqp?: AmqpEventParts;
    /**
     * The AMQP message as it arrived, encoded: a durable store keeps these bytes and restores the event through the
     * same decoding, so every section comes back exactly. Not kept in memory.
     */
    encodedMessage?: Buffer;
}

export interface SendOptions {
    /** Hashed to a partition exactly as the service does; mutually exclusive with partitionId. */
    partitionKey?: string;
    partitionId?: string;
}

/**
 * One event as a consumer sees it. Field names follow @azure/event-hubs ReceivedEventData (plus the partition it came
 * from) so consumer code reads the same locally and against the SDK. Events are shared between consumer groups:
 * treat them as immutable.
 */
export interface ReceivedEventData {
    readonly body: unknown;
    readonly properties: Readonly<Record<string, unknown>>;
    readonly partitionId: string;
    /** 0-based and contiguous within a partition. */
    readonly sequenceNumber: number;
    /** Byte position of the event in the partition's log, as a decimal string like the service's offsets. */
    readonly offset: string;
    readonly enqueuedTimeUtc: Date;
    readonly partitionKey: string | null;
    /** Present when the event was sent over AMQP. */
    readonly amqp?: AmqpEventParts;
}

/** Mirrors @azure/event-hubs PartitionProperties. */
export interface PartitionProperties {
    readonly eventHubName: string;
    readonly partitionId: string;
    readonly beginningSequenceNumber: number;
    readonly lastEnqueuedSequenceNumber: number;
    readonly lastEnqueuedOffset: string;
    readonly lastEnqueuedOnUtc: Date;
    readonly isEmpty: boolean;
}

/**
 * The size the service checks against its limit: for an event sent over AMQP its encoded size; otherwise an estimate, body bytes (Buffer as is, string as UTF-8, anything
 * else as its JSON text, which is what the Functions output binding sends) plus the JSON text of the application
 * properties. The AMQP framing the service also counts (a few dozen bytes) is not modelled.
 */
export function measureEventBytes(event: EventDataToSend): number {
    if (event.amqp !== undefined) return event.amqp.encodedBytes;
    return bytesOf(event.body) + (event.properties === undefined ? 0 : jsonBytes(event.properties));
}

function bytesOf(body: unknown): number {
    if (body === undefined) {
        return 0;
    }
    if (typeof body === 'string') {
        return Buffer.byteLength(body);
    }
    if (body instanceof Uint8Array) {
        return body.byteLength;
    }
    return jsonBytes(body);
}

function jsonBytes(value: unknown): number {
    const text = JSON.stringify(value) as string | undefined;
    return text === undefined ? 0 : Buffer.byteLength(text);
}
