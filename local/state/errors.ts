import { NamestreamError, quote } from '../../domain/errors';

/** Another process holds the state folder: two runtimes writing one folder would corrupt it. */
export class StateLockedError extends NamestreamError {
    readonly code = 'StateLocked';
    /** @param advice what the refused command can do instead (by default npm start's choices) */
    constructor(
        readonly directory: string,
        readonly owner: string | undefined,
        advice = 'Stop it first, start with --state-dir <another folder>, or use --in-memory.',
    ) {
        super(
            `The state folder ${quote(directory)} is in use by another namestream process` +
                `${owner ? ` (${owner})` : ''}. ${advice}`,
        );
        this.name = 'StateLockedError';
    }
}

/**
 * A state file SQLite cannot read (torn, truncated, overwritten) or a record that does not match its schema.
 * Raised instead of starting on it, so a damaged file is never half-used and never crash-loops the runtime.
 */
export class StateCorruptError extends NamestreamError {
    readonly code = 'StateCorrupt';
    constructor(
        readonly file: string,
        readonly reason: string,
    ) {
        super(
            `The state file ${quote(file)} is damaged and was not used: ${reason}. ` +
                'Move it aside to keep it for inspection, or run "npm run reset-state" to start with empty state.',
        );
        this.name = 'StateCorruptError';
    }
}

/** The file was written by a newer namestream (a component's schema version this code does not know). */
export class StateVersionError extends NamestreamError {
    readonly code = 'StateVersion';
    constructor(
        readonly file: string,
        readonly component: string,
        readonly version: number,
        readonly knownVersion: number,
    ) {
        super(
            `The state file ${quote(file)} holds ${quote(component)} schema version ${version}, newer than ` +
                `version ${knownVersion} this namestream knows. Use the newer namestream, or run ` +
                '"npm run reset-state" to start with empty state.',
        );
        this.name = 'StateVersionError';
    }
}
