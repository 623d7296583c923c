import { NamestreamError, quote } from '../../domain/errors';

/** A connection string the local Cosmos DB client cannot use; the message quotes it (it only ever holds the public emulator key). */
export class InvalidCosmosConnectionStringError extends NamestreamError {
    readonly code = 'InvalidCosmosConnectionString';
    constructor(
        readonly connectionString: string,
        readonly reason: string,
    ) {
        super(`Invalid Cosmos DB connection string: ${reason} (got ${quote(connectionString)})`);
        this.name = 'InvalidCosmosConnectionStringError';
    }
}

/** An option of the local change-feed processor or TTL sweeper outside its allowed range. */
export class InvalidCosmosOptionError extends NamestreamError {
    readonly code = 'InvalidCosmosOption';
    constructor(
        readonly option: string,
        readonly value: unknown,
        readonly reason: string,
    ) {
        super(`Invalid option "${option}": ${reason} (got ${quote(value)})`);
        this.name = 'InvalidCosmosOptionError';
    }
}

/**
 * The lease document changed under this processor (another instance took it, or it was deleted), so the checkpoint was
 * not written. As in Azure, the processor stops reading that lease; whoever owns it next redelivers the batch.
 */
export class LeaseLostError extends NamestreamError {
    readonly code = 'LeaseLost';
    constructor(
        readonly leaseId: string,
        readonly owner: string,
    ) {
        super(
            `Lease "${leaseId}" was lost by owner ${quote(owner)}: its document changed or vanished before the checkpoint`,
        );
        this.name = 'LeaseLostError';
    }
}
