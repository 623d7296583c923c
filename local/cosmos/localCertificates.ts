import { createPrivateKey, X509Certificate } from 'node:crypto';

import { generate } from 'selfsigned';
import { z } from 'zod';

import type { RecordTable } from '../state';

export interface LocalCertificates {
    /** PEM of the local certificate authority; clients trust exactly this. */
    caPem: string;
    /** PEM of the server certificate (localhost, 127.0.0.1, ::1) signed by the CA. */
    serverCertPem: string;
    serverKeyPem: string;
}

export const localCertificatesSchema = z.object({
    caPem: z.string(),
    serverCertPem: z.string(),
    serverKeyPem: z.string(),
});

/** Without a state folder: a week, more than any run lasts; a new pair comes with the next start anyway. */
export const IN_MEMORY_VALIDITY_MS = 7 * 24 * 3600 * 1000;
/**
 * With a state folder: a year, so a CA trusted once (for `func start`) stays trusted for a year of restarts. The
 * CA's private key is discarded once the server certificate is signed (a renewal makes a new CA), so nobody can
 * use a trusted CA to issue more certificates; a year bounds how long a leaked server key stays usable.
 */
export const KEPT_VALIDITY_MS = 365 * 24 * 3600 * 1000;
/** Kept certificates closer than this to expiry are replaced at start, so a running runtime never outlives them. */
export const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;

/**
 * Generates a CA and a server certificate for loopback names, then drops the CA's private key (it is never returned
 * or kept: users add the CA to their system's trusted roots, and a kept key would let anyone who reads it issue
 * certificates that machine trusts for any name), valid from a minute before `now` for `validityMs`, so
 * nothing secret is committed and nothing expires in the repository (cosmosdb-server's bundled certificate already
 * has). EC P-256 keeps generation fast.
 */
export async function generateLocalCertificates(
    now: Date,
    validityMs: number = IN_MEMORY_VALIDITY_MS,
): Promise<LocalCertificates> {
    const notBeforeDate = new Date(now.getTime() - 60_000);
    const notAfterDate = new Date(now.getTime() + validityMs);
    const ca = await generate([{ name: 'commonName', value: 'namestream local Cosmos DB CA' }], {
        keyType: 'ec',
        algorithm: 'sha256',
        notBeforeDate,
        notAfterDate,
        extensions: [
            { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
            { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
        ],
    });
    const server = await generate([{ name: 'commonName', value: 'localhost' }], {
        keyType: 'ec',
        algorithm: 'sha256',
        notBeforeDate,
        notAfterDate,
        ca: { key: ca.private, cert: ca.cert },
        extensions: [
            { name: 'basicConstraints', cA: false },
            { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
            { name: 'extKeyUsage', serverAuth: true },
            {
                name: 'subjectAltName',
                altNames: [
                    { type: 2, value: 'localhost' },
                    { type: 7, ip: '127.0.0.1' },
                    { type: 7, ip: '::1' },
                ],
            },
        ],
    });
    return { caPem: ca.cert, serverCertPem: server.cert, serverKeyPem: server.private };
}

/** When the pair stops being valid: the earlier of the two certificates' notAfter. */
export function certificatesExpireAt(certificates: LocalCertificates): Date {
    const ca = new X509Certificate(certificates.caPem);
    const server = new X509Certificate(certificates.serverCertPem);
    return new Date(Math.min(Date.parse(ca.validTo), Date.parse(server.validTo)));
}

/**
 * The certificates kept in a state folder's records under `key`, reused while they are valid for at least
 * RENEW_BEFORE_MS more, the server certificate is signed by the CA and each key matches its certificate; otherwise
 * (missing, expiring, expired, mismatched) a new pair valid for KEPT_VALIDITY_MS is generated and kept. A new pair
 * means a new CA, which clients outside this process must trust again. A record from an older version that still
 * holds the CA's private key (`caKeyPem`) is rewritten without it (the schema drops unknown fields when read).
 */
export async function keptLocalCertificates(
    records: RecordTable<LocalCertificates>,
    key: string,
    now: Date,
): Promise<{ certificates: LocalCertificates; generated: boolean }> {
    const kept = records.get(key);
    if (kept && usable(kept, now)) {
        records.put(key, kept);
        return { certificates: kept, generated: false };
    }
    const certificates = await generateLocalCertificates(now, KEPT_VALIDITY_MS);
    records.put(key, certificates);
    return { certificates, generated: true };
}

function usable(certificates: LocalCertificates, now: Date): boolean {
    try {
        const ca = new X509Certificate(certificates.caPem);
        const server = new X509Certificate(certificates.serverCertPem);
        const from = now.getTime();
        const until = from + RENEW_BEFORE_MS;
        return (
            Date.parse(ca.validFrom) <= from &&
            Date.parse(server.validFrom) <= from &&
            certificatesExpireAt(certificates).getTime() > until &&
            server.checkIssued(ca) &&
            server.verify(ca.publicKey) &&
            server.checkPrivateKey(createPrivateKey(certificates.serverKeyPem))
        );
    } catch {
        // Unparseable PEM: replace it rather than fail the start over a local development certificate.
        return false;
    }
}
