import { generate } from 'selfsigned';

export interface LocalCertificates {
    /** PEM of the throwaway certificate authority; clients trust exactly this. */
    caPem: string;
    /** PEM of the server certificate (localhost, 127.0.0.1, ::1) signed by the CA. */
    serverCertPem: string;
    serverKeyPem: string;
}

const VALIDITY_MS = 7 * 24 * 3600 * 1000;

/**
 * Generates a fresh CA and a server certificate for loopback names at every start, so nothing secret is committed and
 * nothing expires in the repository (cosmosdb-server's bundled certificate already has). EC P-256 keeps generation fast.
 */
export async function generateLocalCertificates(now: Date): Promise<LocalCertificates> {
    const notBeforeDate = new Date(now.getTime() - 60_000);
    const notAfterDate = new Date(now.getTime() + VALIDITY_MS);
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
