import { NamestreamError, quote } from '../../domain/errors';

/**
 * A settlement or renewal with a lock token the queue no longer honours: the lock expired (the message went back to
 * the queue), or the message was already completed, abandoned or dead-lettered. The text is the service's own
 * MessageLockLost wording, followed by the token so a log line says which delivery lost its lock.
 */
export class MessageLockLostError extends NamestreamError {
    readonly code = 'MessageLockLost';
    constructor(
        readonly queueName: string,
        readonly lockToken: string,
    ) {
        super(
            'The lock supplied is invalid. Either the lock expired, or the message has already been removed from ' +
                `the queue. (queue ${quote(queueName)}, lock token ${quote(lockToken)})`,
        );
        this.name = 'MessageLockLostError';
    }
}

/** A send whose body is larger than the queue accepts (Standard tier: 256 KB), worded like the service's refusal. */
export class MessageSizeExceededError extends NamestreamError {
    readonly code = 'MessageSizeExceeded';
    constructor(
        readonly queueName: string,
        readonly bodyBytes: number,
        readonly maxBodyBytes: number,
    ) {
        super(
            `The message body was ${bodyBytes} bytes and the maximum body size is ${maxBodyBytes} bytes ` +
                `(queue ${quote(queueName)})`,
        );
        this.name = 'MessageSizeExceededError';
    }
}

/** A dead-letter operation naming a sequence number that is not (or no longer) in the dead-letter sub-queue. */
export class DeadLetterNotFoundError extends NamestreamError {
    readonly code = 'DeadLetterNotFound';
    constructor(
        readonly queueName: string,
        readonly sequenceNumber: number,
    ) {
        super(`No message with sequence number ${sequenceNumber} in the dead-letter queue of ${quote(queueName)}`);
        this.name = 'DeadLetterNotFoundError';
    }
}

/** A queue or processor option outside the range the service accepts. */
export class InvalidQueueOptionError extends NamestreamError {
    readonly code = 'InvalidQueueOption';
    constructor(
        readonly option: string,
        readonly value: unknown,
        readonly reason: string,
    ) {
        super(`Invalid Service Bus option "${option}": ${reason} (got ${quote(value)})`);
        this.name = 'InvalidQueueOptionError';
    }
}

/**
 * An operation naming a message the queue does not hold in the needed state: a deferred message to receive, a scheduled
 * message to cancel. The SDK reports the AMQP condition `com.microsoft:message-not-found` as MessageNotFound.
 */
export class MessageNotFoundError extends NamestreamError {
    readonly code = 'MessageNotFound';
    constructor(
        readonly queueName: string,
        readonly reason: string,
    ) {
        super(`Message not found in ${quote(queueName)}: ${reason}`);
        this.name = 'MessageNotFoundError';
    }
}
