/** What a producer supplies for one event. */
export interface EventDataToSend {
    body: unknown;
    properties?: Record<string, unknown>;
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
 * Approximates the size the service checks against its limit: body bytes (Buffer as is, string as UTF-8, anything
 * else as its JSON text, which is what the Functions output binding sends) plus the JSON text of the application
 * properties. The AMQP framing the service also counts (a few dozen bytes) is not modelled.
 */
export function measureEventBytes(event: EventDataToSend): number {
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
