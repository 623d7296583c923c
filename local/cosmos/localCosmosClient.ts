import https from 'node:https';

import { CosmosClient } from '@azure/cosmos';

import { parseConnectionString } from './emulatorAccount';

export interface LocalCosmosClientOptions {
    /** PEM of the CA to trust for this client only; from startLocalCosmos().ca. */
    ca?: string;
}

/**
 * A real @azure/cosmos client for the local server. TLS trust is scoped to this client's own https.Agent, which trusts
 * exactly the given CA (Node's default roots are replaced, not extended), so nothing turns certificate checks off for
 * the process. Without `ca` the client uses Node's default trust store and a locally signed server is refused.
 */
export function createLocalCosmosClient(connectionString: string, { ca }: LocalCosmosClientOptions = {}): CosmosClient {
    const { endpoint, key } = parseConnectionString(connectionString);
    const agent = ca === undefined ? undefined : new https.Agent({ ca, keepAlive: true });
    return new CosmosClient({
        endpoint,
        key,
        ...(agent ? { agent } : {}),
    });
}
