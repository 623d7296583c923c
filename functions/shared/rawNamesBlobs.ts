import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';

import { ConfigurationError } from '../../domain/errors';

/** The container the fan-out's blob output writes (`raw-names/{id}.json`). */
export const RAW_NAMES_CONTAINER = 'raw-names';

/**
 * The raw-names container, reached through the same connection the blob output binding uses (`AzureWebJobsStorage`)
 * and in the same two forms the Functions host reads: a connection string (Azurite locally), or the identity-based
 * settings `AzureWebJobsStorage__blobServiceUri` with `__credential=managedidentity` and `__clientId` (Azure, keys
 * free: https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity).
 * There is no binding that lists blobs, so the recount uses the Storage SDK here; the app's identity already holds
 * Storage Blob Data Owner on the account for the host and the fan-out's output.
 */
export function rawNamesContainer(env: NodeJS.ProcessEnv = process.env): ContainerClient {
    const connectionString = env.AzureWebJobsStorage?.trim();
    if (connectionString) {
        return BlobServiceClient.fromConnectionString(connectionString).getContainerClient(RAW_NAMES_CONTAINER);
    }
    const serviceUri = env.AzureWebJobsStorage__blobServiceUri?.trim();
    if (!serviceUri) {
        throw new ConfigurationError(
            'AzureWebJobsStorage',
            undefined,
            'must be a connection string, or AzureWebJobsStorage__blobServiceUri must name the blob endpoint',
        );
    }
    const clientId = env.AzureWebJobsStorage__clientId?.trim();
    const credential: TokenCredential =
        env.AzureWebJobsStorage__credential?.trim().toLowerCase() === 'managedidentity'
            ? new ManagedIdentityCredential(clientId ? { clientId } : {})
            : new DefaultAzureCredential();
    return new BlobServiceClient(serviceUri, credential).getContainerClient(RAW_NAMES_CONTAINER);
}

/**
 * The parsed bodies of the raw-names blobs written at or after `since`. A message generated at time t is written
 * at t or later, so every message generated after `since` is among them; the listing's last-modified times save
 * downloading the rest. A body that is not JSON is returned as its text, for the recount to report.
 */
export async function readRawMessagesSince(container: ContainerClient, since: Date): Promise<unknown[]> {
    const messages: unknown[] = [];
    if (!(await container.exists())) {
        return messages;
    }
    for await (const blob of container.listBlobsFlat()) {
        if (blob.properties.lastModified < since) {
            continue;
        }
        const text = (await container.getBlobClient(blob.name).downloadToBuffer()).toString('utf8');
        try {
            messages.push(JSON.parse(text) as unknown);
        } catch {
            messages.push(text);
        }
    }
    return messages;
}
