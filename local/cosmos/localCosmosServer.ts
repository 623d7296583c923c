import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

import { createHttpsServer } from '@vercel/cosmosdb-server';
import type Account from '@vercel/cosmosdb-server/lib/account';

import type { Clock } from '../../domain/clock';
import { systemClock } from '../../domain/clock';
import type { StateStore } from '../state';
import { installChangeFeedRoute } from './changeFeed/changeFeedRoute';
import { installChangeSequence } from './changeSequence';
import { attachCosmosState, type CosmosStateLoad } from './cosmosState';
import { EMULATOR_ACCOUNT_KEY, toConnectionString } from './emulatorAccount';
import { installExpiryIndex } from './expiryIndex';
import { installLinearQueries } from './linearQueries';
import {
    certificatesExpireAt,
    generateLocalCertificates,
    keptLocalCertificates,
    type LocalCertificates,
    localCertificatesSchema,
} from './localCertificates';

export interface LocalCosmosOptions {
    /** 8081 like the Azure Cosmos DB emulator; 0 picks a free port. */
    port?: number;
    /** Loopback only: the key is public. */
    host?: string;
    /** Sets the certificates' validity window; the documents' `_ts` always come from the server's own clock. */
    clock?: Clock;
    /**
     * The state store to keep the account (databases, containers, documents, hence leases) and the TLS certificates
     * in; its migrations must include COSMOS_STATE_COMPONENT. Absent: everything is in memory and the CA is new.
     */
    state?: StateStore;
}

export interface LocalCosmos {
    endpoint: string;
    key: string;
    connectionString: string;
    /** PEM of the CA that signed the server certificate; pass it to createLocalCosmosClient. */
    ca: string;
    /** When the CA or the server certificate expires, whichever is first. */
    caExpiresAt: Date;
    /** With a state store: whether this start generated the CA (first start, or the kept one was expiring). */
    caGenerated: boolean;
    /** With a state store: what was loaded from it. */
    loaded: CosmosStateLoad | undefined;
    close(): Promise<void>;
}

/** Where the certificates are kept in the state store's records. */
const CERTIFICATES_SCOPE = 'cosmos';
const CERTIFICATES_KEY = 'tls';

/**
 * Starts @vercel/cosmosdb-server in this process over TLS, with the latest-version change feed served on its
 * documents feed (changeFeedRoute.ts). Without `state` the data lives in memory, goes away with close(), and the CA
 * and server certificate are new at each start. With `state` the account is loaded from the store before the first
 * request and every change is committed to it before its response (cosmosState.ts), and the certificates are kept in
 * the store and reused while valid (localCertificates.ts), so a CA trusted once stays trusted across restarts. The
 * server advertises `https://<host>:<port>/` as its read and write location, so the SDK's endpoint discovery lands back
 * on the same loopback address the certificate names.
 */
export async function startLocalCosmos({
    port = 8081,
    host = '127.0.0.1',
    clock = systemClock,
    state,
}: LocalCosmosOptions = {}): Promise<LocalCosmos> {
    installChangeSequence();
    installLinearQueries();
    installExpiryIndex();
    installChangeFeedRoute();
    let certificates: LocalCertificates;
    let caGenerated = true;
    if (state) {
        const kept = await keptLocalCertificates(
            state.records(CERTIFICATES_SCOPE, localCertificatesSchema),
            CERTIFICATES_KEY,
            clock.now(),
        );
        certificates = kept.certificates;
        caGenerated = kept.generated;
        installAccountCapture();
    } else {
        certificates = await generateLocalCertificates(clock.now());
    }
    const server = createHttpsServer({
        cert: certificates.serverCertPem,
        key: certificates.serverKeyPem,
        minVersion: 'TLSv1.2',
        // Without it the server answers every request with `connection: close`, so each call pays a new TLS handshake.
        keepAlive: true,
    });
    let loaded: CosmosStateLoad | undefined;
    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
            server.off('error', reject);
            if (!state) {
                resolve();
                return;
            }
            // The server's 'listening' handler, registered before this one, has just created the account; loading it
            // here, in the same event, puts the stored resources in place before the first request can arrive.
            try {
                loaded = attachCosmosState(takeCapturedAccount(server.address() as AddressInfo), state);
                resolve();
            } catch (error) {
                server.close();
                reject(error instanceof Error ? error : new Error(String(error)));
            }
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
        caExpiresAt: certificatesExpireAt(certificates),
        caGenerated,
        loaded,
        close: () =>
            new Promise<void>((resolve, reject) => {
                server.close((err) => (err ? reject(err) : resolve()));
                server.closeAllConnections();
            }),
    };
}

type AccountClass = (new (host: string, port: number) => Account) & { [capturedAccount]?: Account | undefined };
const capturedAccount = Symbol.for('namestream.cosmos.capturedAccount');

/**
 * cosmosdb-server creates its account inside its 'listening' handler and keeps it in a closure; the change-feed route
 * reaches it per request, but loading must happen before any request. Its server module looks the `Account` class up
 * on the account module at that moment (`new account_1.default(host, port)`), so a subclass put there records the
 * instance it creates. Process-wide and idempotent; installed only by servers with a state store.
 */
function installAccountCapture(): void {
    const accountModule = createRequire(__filename)('@vercel/cosmosdb-server/lib/account') as {
        default: AccountClass;
    };
    if (capturedAccount in accountModule.default) return;
    const LibraryAccount = accountModule.default;
    const CapturingAccount = class extends LibraryAccount {
        constructor(host: string, port: number) {
            super(host, port);
            CapturingAccount[capturedAccount] = this;
        }
    } as AccountClass;
    CapturingAccount[capturedAccount] = undefined;
    accountModule.default = CapturingAccount;
}

/** The account the server listening on `address` just created (its advertised endpoint names the same port). */
function takeCapturedAccount(address: AddressInfo): Account {
    const accountModule = createRequire(__filename)('@vercel/cosmosdb-server/lib/account') as {
        default: AccountClass;
    };
    const account = accountModule.default[capturedAccount];
    accountModule.default[capturedAccount] = undefined;
    const advertised = (account?.read() as { writableLocations?: { databaseAccountEndpoint?: string }[] } | undefined)
        ?.writableLocations?.[0]?.databaseAccountEndpoint;
    if (account === undefined || advertised === undefined || new URL(advertised).port !== String(address.port)) {
        throw new Error(
            `cosmosdb-server did not create its account as this version expects (port ${address.port}, ` +
                `advertised ${String(advertised)}); the Cosmos DB state cannot be loaded`,
        );
    }
    return account;
}
