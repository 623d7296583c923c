/** Values the service allows in application properties (AMQP simple types). */
export type ApplicationPropertyValue = string | number | boolean | Date | null;

export type ApplicationProperties = Readonly<Record<string, ApplicationPropertyValue>>;

/** What a sender supplies; the broker assigns everything else. */
export interface ServiceBusMessageToSend {
    body: string | Buffer;
    /** Defaults to a random UUID, as the SDK does for a message without an id. */
    messageId?: string;
    contentType?: string;
    applicationProperties?: ApplicationProperties;
    /** Capped at the queue's defaultMessageTimeToLive, as the service silently does. */
    timeToLiveMs?: number;
    correlationId?: string;
    subject?: string;
    /** A time in the future keeps the message invisible (state `scheduled`) until then, as the service does. */
    scheduledEnqueueTimeUtc?: Date;
    /**
     * What the AMQP endpoint needs to hand the message out as it came in (body section kind, the other AMQP properties
     * and annotations). Opaque to the broker and absent for in-process sends.
     */
    wire?: unknown;
}

/** Where a message stands, as `x-opt-message-state` reports it (0 active, 1 deferred, 2 scheduled). */
export type ServiceBusMessageState = 'active' | 'deferred' | 'scheduled';

/**
 * One peek-locked delivery. Field names follow @azure/service-bus ServiceBusReceivedMessage and cover everything the
 * Functions host puts in Service Bus trigger metadata, so the host can copy them into `context.triggerMetadata`.
 */
export interface ReceivedServiceBusMessage {
    readonly body: string | Buffer;
    readonly messageId: string;
    readonly sequenceNumber: number;
    /** Counts this delivery: 1 on the first receive, as the service reports it. */
    readonly deliveryCount: number;
    readonly enqueuedTimeUtc: Date;
    readonly expiresAtUtc: Date;
    readonly lockedUntilUtc: Date;
    readonly lockToken: string;
    readonly contentType: string | undefined;
    readonly applicationProperties: ApplicationProperties;
    readonly timeToLiveMs: number;
    readonly correlationId?: string | undefined;
    readonly subject?: string | undefined;
    readonly scheduledEnqueueTimeUtc?: Date | undefined;
    readonly state?: ServiceBusMessageState | undefined;
    readonly deadLetterReason?: string | undefined;
    readonly deadLetterErrorDescription?: string | undefined;
    readonly wire?: unknown;
}

/** A message seen without locking it (`peekMessages`); `lockToken` is '' and `lockedUntilUtc` the epoch. */
export type PeekedServiceBusMessage = ReceivedServiceBusMessage;

/** A message in the dead-letter sub-queue, with the two properties the broker adds when it moves it there. */
export interface DeadLetteredServiceBusMessage {
    readonly body: string | Buffer;
    readonly messageId: string;
    /** The sequence number the message had in the main queue; it identifies the entry for resubmit and purge. */
    readonly sequenceNumber: number;
    /** Deliveries made before it was dead-lettered (0 for a message that expired unreceived). */
    readonly deliveryCount: number;
    readonly enqueuedTimeUtc: Date;
    readonly expiresAtUtc: Date;
    readonly deadLetteredTimeUtc: Date;
    readonly deadLetterReason: string;
    readonly deadLetterErrorDescription: string;
    readonly contentType: string | undefined;
    readonly applicationProperties: ApplicationProperties;
    readonly timeToLiveMs: number;
}
