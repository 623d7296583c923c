import type * as JoseModule from 'jose' with { 'resolution-mode': 'import' };

import { NamestreamError } from '../../domain/errors';

/** jose 6 ships ESM only; a dynamic import keeps this CommonJS module loadable (Node keeps `import()` as is). */
type Jose = typeof JoseModule;
let josePromise: Promise<Jose> | undefined;
function loadJose(): Promise<Jose> {
    josePromise ??= import('jose');
    return josePromise;
}

export interface SignAccessTokenOptions {
    audience: string;
    accessKey: string;
    now: Date;
    lifetimeSeconds: number;
    /** Extra claims, e.g. `asrs.s.uid` for the user id. */
    claims?: Record<string, string>;
}

/** HS256 over the UTF-8 bytes of the AccessKey, as the SignalR SDKs sign (nbf/iat/exp in whole seconds). */
export async function signAccessToken(options: SignAccessTokenOptions): Promise<string> {
    const { SignJWT } = await loadJose();
    const issuedAt = Math.floor(options.now.getTime() / 1000);
    return new SignJWT(options.claims ?? {})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setAudience(options.audience)
        .setIssuedAt(issuedAt)
        .setNotBefore(issuedAt)
        .setExpirationTime(issuedAt + options.lifetimeSeconds)
        .sign(new TextEncoder().encode(options.accessKey));
}

/** Why a request was refused with 401; the message is returned to the caller so a bad token explains itself. */
export class AccessTokenRejectedError extends NamestreamError {
    readonly code = 'AccessTokenRejected';
    constructor(readonly reason: string) {
        super(`Access token rejected: ${reason}`);
        this.name = 'AccessTokenRejectedError';
    }
}

export interface VerifiedAccessToken {
    audience: string;
    claims: Record<string, unknown>;
}

/**
 * Checks signature (HS256 only), `exp` (required, no clock tolerance) and that `aud` is one of the accepted
 * audiences. Throws AccessTokenRejectedError naming which check failed.
 */
export async function verifyAccessToken(
    token: string | undefined,
    accessKey: string,
    acceptedAudiences: readonly string[],
    now: Date,
): Promise<VerifiedAccessToken> {
    if (!token) throw new AccessTokenRejectedError('no bearer token in the Authorization header or access_token');
    const jose = await loadJose();
    try {
        const { payload } = await jose.jwtVerify(token, new TextEncoder().encode(accessKey), {
            algorithms: ['HS256'],
            currentDate: now,
            requiredClaims: ['exp', 'aud'],
            audience: [...acceptedAudiences],
        });
        const audience = Array.isArray(payload.aud) ? (payload.aud[0] ?? '') : (payload.aud ?? '');
        return { audience, claims: payload };
    } catch (error: unknown) {
        if (error instanceof jose.errors.JWTExpired) throw new AccessTokenRejectedError('the token has expired');
        if (error instanceof jose.errors.JWSSignatureVerificationFailed) {
            throw new AccessTokenRejectedError('the signature does not match the AccessKey');
        }
        if (error instanceof jose.errors.JWTClaimValidationFailed && error.claim === 'aud') {
            throw new AccessTokenRejectedError(
                `the audience ${JSON.stringify(jose.decodeJwt(token).aud)} is not one of ${JSON.stringify(acceptedAudiences)}`,
            );
        }
        throw new AccessTokenRejectedError(error instanceof Error ? error.message : String(error));
    }
}
