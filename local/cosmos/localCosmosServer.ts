import type { AddressInfo } from 'node:net';

import { createHttpsServer } from '@vercel/cosmosdb-server';

import type { Clock } from '../../domain/clock';
import { systemClock } from '../../domain/clock';
import { installChangeFeedRoute } from './changeFeed/changeFeedRoute';
import { installChangeSequence } from './changeSequence';
import { EMULATOR_ACCOUNT_KEY, toConnectionString } from './emulatorAccount';
import { generateLocalCertificates } from './localCertificates';

export interface LocalCosmosOptions {
    /** 8081 like the Azure Cosmos DB emulator; 0 picks a free port. */
    port?: number;
    /** Loopback only: the key is public. */
    host?: string;
    /** Sets the certificates' validity window; the documents' `_ts` always come from the server's own clock. */
    clock?: Clock;
}

export interface LocalCosmos {
    endpoint: string;
    key: string;
    connectionString: string;
    /** PEM of the CA that signed the server certificate; pass it to createLocalCosmosClient. */
    ca: string;
    close(): Promise<void>;
}

/**
 * Starts @vercel/cosmosdb-server in this process over TLS with a freshly generated CA and server certificate, with
 * the latest-version change feed served on its documents feed (changeFeedRoute.ts). The
 * data lives in memory and goes away with close(). The server advertises `https://<host>:<port>/` as its read and write
 * location, so the SDK's endpoint discovery lands back on the same loopback address the certificate names.
 */
export async function startLocalCosmos({
    port = 8081,
    host = '127.0.0.1',
    clock = systemClock,
}: LocalCosmosOptions = {}): Promise<LocalCosmos> {
    installChangeSequence();
    installChangeFeedRoute();
    const certificates = await generateLocalCertificates(clock.now());
    const server = createHttpsServer({
        cert: certificates.serverCertPem,
        key: certificates.serverKeyPem,
        minVersion: 'TLSv1.2',
        // Without it the server answers every request with `connection: close`, so each call pays a new TLS handshake.
        keepAlive: true,
    });
    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
            server.off('error', reject);
            resolve();
        });
    });
    const address = server.address() as AddressInfo;
    const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const endpoint = `https://${urlHost}:${address.port}/`;
    const key = EMULATOR_ACCOUNT_KEY;
    return {
        endpoint,
        key,
        connectionString: toConnectionString({ endpoint, key }),
        ca: certificates.caPem,
        close: () =>
            new Promise<void>((resolve, reject) => {
                server.close((err) => (err ? reject(err) : resolve()));
                server.closeAllConnections();
            }),
    };
}
