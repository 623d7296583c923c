import type { CosmosClient } from '@azure/cosmos';

import { InvalidCosmosOptionError } from './errors';

export interface ContainerDefinition {
    id: string;
    partitionKeyPath: string;
    /** Container `defaultTtl`: absent = TTL off, -1 = on but items only expire with their own `ttl`, n > 0 = seconds. */
    defaultTtlSeconds?: number;
}

export interface CosmosResources {
    databaseName: string;
    containers: ContainerDefinition[];
}

/**
 * Creates the database and containers unless they exist, as the Bicep template does in Azure (the functions never
 * create containers: with Entra identities they may not). An existing container whose partition key or TTL differs is
 * an error, not silently replaced: replacing a container in cosmosdb-server discards its documents.
 */
export async function ensureCosmosResources(
    client: CosmosClient,
    { databaseName, containers }: CosmosResources,
): Promise<void> {
    const { database } = await client.databases.createIfNotExists({ id: databaseName });
    for (const definition of containers) {
        const { resource } = await database.containers.createIfNotExists({
            id: definition.id,
            partitionKey: { paths: [definition.partitionKeyPath] },
            ...(definition.defaultTtlSeconds === undefined ? {} : { defaultTtl: definition.defaultTtlSeconds }),
        });
        const existingPath = resource?.partitionKey?.paths?.[0];
        if (existingPath !== definition.partitionKeyPath) {
            throw new InvalidCosmosOptionError(
                `containers.${definition.id}.partitionKeyPath`,
                definition.partitionKeyPath,
                `the existing container is partitioned by "${existingPath}"`,
            );
        }
        const existingTtl = resource?.defaultTtl ?? undefined;
        if (existingTtl !== definition.defaultTtlSeconds) {
            throw new InvalidCosmosOptionError(
                `containers.${definition.id}.defaultTtlSeconds`,
                definition.defaultTtlSeconds,
                `the existing container has defaultTtl ${existingTtl === undefined ? 'unset' : existingTtl}`,
            );
        }
    }
}
