import { inspect } from 'node:util';

/**
 * Typed errors with a discriminating `code`, so callers branch on the kind of failure rather than on message text.
 * Messages quote the offending value so a dead-lettered message or a 400 response explains itself.
 */
export abstract class NamestreamError extends Error {
    abstract readonly code: string;
}

/** A message or document that does not match its schema. `field` is a dotted path such as `names.3`. */
export class InvalidMessageError extends NamestreamError {
    readonly code = 'InvalidMessage';
    constructor(
        readonly field: string,
        readonly value: unknown,
        readonly reason: string,
    ) {
        super(`Invalid message: field "${field}" ${reason} (got ${quote(value)})`);
        this.name = 'InvalidMessageError';
    }
}

/** Bad HTTP input: the handler turns it into a 400 with this message. */
export class InvalidRequestError extends NamestreamError {
    readonly code = 'InvalidRequest';
    constructor(
        readonly parameter: string,
        readonly value: unknown,
        readonly reason: string,
    ) {
        super(`Invalid request: parameter "${parameter}" ${reason} (got ${quote(value)})`);
        this.name = 'InvalidRequestError';
    }
}

/** A missing or malformed app setting; thrown at load so a misconfigured app fails fast and says which setting. */
export class ConfigurationError extends NamestreamError {
    readonly code = 'Configuration';
    constructor(
        readonly setting: string,
        readonly value: unknown,
        readonly reason: string,
    ) {
        super(`Invalid app setting "${setting}": ${reason} (got ${quote(value)})`);
        this.name = 'ConfigurationError';
    }
}

/** Renders any value for an error message, truncated so a huge payload cannot flood logs or dead-letter reasons. */
export function quote(value: unknown, maxLength = 120): string {
    let text: string;
    if (value === undefined) {
        text = 'undefined';
    } else if (typeof value === 'string') {
        text = JSON.stringify(value);
    } else {
        try {
            // JSON.stringify answers undefined for functions and symbols; inspect covers those and cycles.
            text = JSON.stringify(value) ?? inspect(value);
        } catch {
            text = inspect(value);
        }
    }
    return text.length > maxLength ? `${text.slice(0, maxLength)}… (${text.length} chars)` : text;
}
