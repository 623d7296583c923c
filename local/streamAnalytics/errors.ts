import { NamestreamError, quote } from '../../domain/errors';

/** Where in the query text a construct starts; 1-based, as editors count. */
export interface SourcePosition {
    readonly line: number;
    readonly column: number;
}

export type QueryCompileErrorKind = 'syntax' | 'unsupported' | 'invalid';

/**
 * A query that cannot be loaded: bad syntax, a construct the local engine does not implement, or a construct Stream
 * Analytics itself would reject (an unknown input alias, a bare column in a grouped SELECT). Always located, so the
 * message points at the exact spot in the `.asaql` file.
 */
export class QueryCompileError extends NamestreamError {
    readonly code = 'QueryCompile';
    constructor(
        readonly kind: QueryCompileErrorKind,
        readonly line: number,
        readonly column: number,
        readonly reason: string,
    ) {
        super(`Line ${line}, column ${column}: ${reason}`);
        this.name = 'QueryCompileError';
    }

    static at(kind: QueryCompileErrorKind, position: SourcePosition, reason: string): QueryCompileError {
        return new QueryCompileError(kind, position.line, position.column, reason);
    }
}

/**
 * An expression that fails on a particular event, such as CAST('abc' AS bigint). Stream Analytics stops the job on
 * such a failure; the local job throws this from push() so the runtime can do the same.
 */
export class QueryRuntimeError extends NamestreamError {
    readonly code = 'QueryRuntime';
    constructor(
        readonly line: number,
        readonly column: number,
        readonly value: unknown,
        readonly reason: string,
    ) {
        super(`Line ${line}, column ${column}: ${reason} (got ${quote(value)})`);
        this.name = 'QueryRuntimeError';
    }
}

/** The sink rejected a batch. The batch stays queued; the next flush() retries it, as Stream Analytics retries. */
export class OutputDeliveryError extends NamestreamError {
    readonly code = 'OutputDelivery';
    constructor(
        readonly outputAlias: string,
        readonly rowCount: number,
        override readonly cause: unknown,
    ) {
        super(
            `Output "${outputAlias}" rejected a batch of ${rowCount} rows: ${cause instanceof Error ? cause.message : quote(cause)}`,
        );
        this.name = 'OutputDeliveryError';
    }
}

/** The caller pushed to an input or partition the job does not know, or declared the job inconsistently. */
export class StreamJobUsageError extends NamestreamError {
    readonly code = 'StreamJobUsage';
    constructor(
        readonly parameter: string,
        readonly value: unknown,
        readonly reason: string,
    ) {
        super(`Invalid ${parameter}: ${reason} (got ${quote(value)})`);
        this.name = 'StreamJobUsageError';
    }
}
