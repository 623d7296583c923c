import { createHmac, timingSafeEqual } from 'node:crypto';

import { quote } from '../../domain/errors';
import { AmqpError, unauthorized } from './errors';

/** What a put-token grants: the audience's path (entity address, '' for the whole namespace) until it expires. */
export interface SasClaim {
    /** Lower-cased path of the token's resource URI without leading or trailing slashes, e.g. `newnames-queue`. */
    readonly path: string;
    readonly expiresAtMs: number;
}

/**
 * Checks a Shared Access Signature the way Service Bus and Event Hubs do and returns the claim it grants.
 *
 * Token shape (https://learn.microsoft.com/azure/service-bus-messaging/service-bus-sas, "Generate a SAS token"):
 * `SharedAccessSignature sr=<url-encoded resource URI>&sig=<url-encoded base64 HMAC-SHA256>&se=<unix seconds>&skn=<key
 * name>`, where the signed string is `<url-encoded resource URI>\n<se>` and the HMAC key is the key text itself (as
 * core-amqp's `createToken` signs it). The resource must cover the audience the client asks for (same URI or a
 * parent path), as the service requires.
 *
 * @param audience the put-token request's `name`, e.g. `sb://127.0.0.1:5672/newnames-queue`
 * @param keys shared access key name → key
 * @throws AmqpError `amqp:unauthorized-access` with status 401 for a malformed token, an unknown key name, a bad
 *   signature, an expired token or a resource that does not cover the audience.
 */
export function validateSasToken(
    token: unknown,
    audience: string,
    keys: Readonly<Record<string, string>>,
    nowMs: number,
): SasClaim {
    if (typeof token !== 'string' || !token.startsWith('SharedAccessSignature ')) {
        throw unauthorized(`the token is not a SharedAccessSignature (got ${quote(token, 40)})`);
    }
    const fields = new Map<string, string>();
    for (const pair of token.slice('SharedAccessSignature '.length).split('&')) {
        const equals = pair.indexOf('=');
        if (equals > 0) {
            fields.set(pair.slice(0, equals).trim(), pair.slice(equals + 1));
        }
    }
    const resource = fields.get('sr');
    const signature = fields.get('sig');
    const expiry = fields.get('se');
    const keyName = fields.get('skn');
    if (resource === undefined || signature === undefined || expiry === undefined || keyName === undefined) {
        throw unauthorized('the SharedAccessSignature needs sr, sig, se and skn');
    }
    const key = keys[safeDecode(keyName)];
    if (key === undefined) {
        throw unauthorized(`no shared access key named ${quote(safeDecode(keyName))}`);
    }
    const expected = createHmac('sha256', key).update(`${resource}\n${expiry}`).digest();
    const given = Buffer.from(safeDecode(signature), 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw unauthorized(`InvalidSignature: the token signature does not match key ${quote(safeDecode(keyName))}`);
    }
    const expiresAtMs = Number(expiry) * 1000;
    if (!Number.isFinite(expiresAtMs) || expiresAtMs <= nowMs) {
        throw new AmqpError(
            'amqp:unauthorized-access',
            `ExpiredToken: the token expired at ${Number.isFinite(expiresAtMs) ? new Date(expiresAtMs).toISOString() : quote(expiry)}`,
            401,
        );
    }
    const tokenPath = resourcePath(safeDecode(resource));
    const audiencePath = resourcePath(audience);
    if (!coversPath(tokenPath, audiencePath)) {
        throw unauthorized(`the token is for ${quote(safeDecode(resource))}, not ${quote(audience)}`);
    }
    return { path: audiencePath, expiresAtMs };
}

/** `sb://host:port/a/b/` → `a/b` (lower case: entity names are case-insensitive in Service Bus and Event Hubs). */
export function resourcePath(uri: string): string {
    const withoutScheme = uri.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
    const slash = withoutScheme.indexOf('/');
    const path = slash < 0 ? '' : withoutScheme.slice(slash + 1);
    return path.replace(/^\/+|\/+$/g, '').toLowerCase();
}

/** True when `granted` is `requested` or one of its parent paths ('' is the whole namespace). */
export function coversPath(granted: string, requested: string): boolean {
    return granted === '' || requested === granted || requested.startsWith(`${granted}/`);
}

function safeDecode(text: string): string {
    try {
        return decodeURIComponent(text);
    } catch {
        return text;
    }
}
