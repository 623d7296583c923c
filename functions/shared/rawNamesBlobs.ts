import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import pLimit from 'p-limit';

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
 * How many raw-names blobs the recount downloads at once: each is a small JSON body, so a round trip dominates and
 * parallel downloads cut the run time; a bound keeps the function's sockets and memory in check.
 */
export const DOWNLOAD_CONCURRENCY = 16;

/**
 * The parsed bodies of the raw-names blobs written at or after `since`, in listing order. A message generated at time
 * t is written at t or later, so every message generated after `since` is among them; the listing's last-modified
 * times save downloading the rest, up to `concurrency` at a time. A body that is not JSON is returned as its text, for
 * the recount to report.
 *
 * The listing itself is of the whole container: blob names are `raw-names/{id}.json` with a random UUID id (the
 * README's contract), so no prefix selects a time range, and Blob Storage lists no filter on last-modified. The
 * number of blobs listed is bounded by the lifecycle rule's retention (docs/deploy.md#alerts-and-the-recount).
 */
export async function readRawMessagesSince(
    container: ContainerClient,
    since: Date,
    concurrency = DOWNLOAD_CONCURRENCY,
): Promise<unknown[]> {
    if (!(await container.exists())) {
        return [];
    }
    const limit = pLimit(concurrency);
    const downloads: Promise<unknown>[] = [];
    for await (const blob of container.listBlobsFlat()) {
        if (blob.properties.lastModified < since) {
            continue;
        }
        downloads.push(
            limit(async () => {
                const text = (await container.getBlobClient(blob.name).downloadToBuffer()).toString('utf8');
                try {
                    return JSON.parse(text) as unknown;
                } catch {
                    return text;
                }
            }),
        );
    }
    return Promise.all(downloads);
}
