import { NamestreamError, quote } from '../../domain/errors';

/**
 * A refusal a stand-in sends over AMQP: an error condition (AMQP 1.0 §2.8.15, or the `com.microsoft:` conditions the
 * Azure SDKs translate, listed in ../shared/reference/wire-protocols.md §2.5) plus the HTTP-style status code that
 * request/response replies (`$cbs`, `$management`) carry. Throw it from an entity handler: the server detaches the
 * link with the condition, or replies to the request with the status, description and condition.
 */
export class AmqpError extends NamestreamError {
    readonly code = 'AmqpError';
    constructor(
        readonly condition: string,
        description: string,
        readonly statusCode = 500,
    ) {
        super(description);
        this.name = 'AmqpError';
    }
}

/** The description core-amqp maps to MessagingEntityNotFoundError (its translate() matches this wording). */
export function entityNotFound(address: string): AmqpError {
    return new AmqpError(
        'amqp:not-found',
        `The messaging entity ${quote(address)} could not be found. (status-code: 404)`,
        404,
    );
}

/** A feature the local stand-ins leave out (sessions, transactions, topics): refused at once, never left hanging. */
export function notImplemented(feature: string): AmqpError {
    return new AmqpError(
        'amqp:not-implemented',
        `${feature} is not supported by the namestream local AMQP server; see docs/local-runtime.md.`,
        501,
    );
}

export function unauthorized(reason: string): AmqpError {
    return new AmqpError('amqp:unauthorized-access', `Unauthorized: ${reason}`, 401);
}
