import { type ContainerClient, RestError } from '@azure/storage-blob';
import { z } from 'zod';

import type { ScheduleMonitor, ScheduleStatus } from '../host/triggers/timerTrigger';

/** The container the Functions host keeps its own state in, in AzureWebJobsStorage. */
export const HOSTS_CONTAINER = 'azure-webjobs-hosts';

const instant = z.string().refine((text) => !Number.isNaN(Date.parse(text)), 'must be an ISO 8601 date');
const statusSchema = z.object({ Last: instant, Next: instant, LastUpdated: instant });

/**
 * The host's StorageScheduleMonitor on Azurite: a timer's status is the JSON blob
 * `azure-webjobs-hosts/timers/{hostId}/{timerName}/status` holding `{ Last, Next, LastUpdated }`, read at start
 * (a missing blob is "never recorded") and overwritten after each invocation. So the status lives exactly as long
 * as the blobs do: on disk with a state folder, in memory with --in-memory.
 * Dates are written as ISO 8601 UTC (`...Z`); the host writes the same instants in .NET's round-trip form.
 * Source: Azure/azure-webjobs-sdk-extensions src/WebJobs.Extensions.Timers.Storage/StorageScheduleMonitor.cs.
 * @throws Error naming the blob when a stored status is not that JSON shape
 */
export function blobScheduleMonitor(container: ContainerClient, hostId: string, timerName: string): ScheduleMonitor {
    const blobName = `timers/${hostId}/${timerName}/status`;
    const blob = container.getBlockBlobClient(blobName);
    let containerReady: Promise<unknown> | undefined;
    return {
        async getStatus(): Promise<ScheduleStatus | null> {
            let text: string;
            try {
                text = (await blob.downloadToBuffer()).toString('utf8');
            } catch (error) {
                if (error instanceof RestError && error.statusCode === 404) {
                    return null;
                }
                throw error;
            }
            let parsed: ReturnType<typeof statusSchema.safeParse>;
            try {
                parsed = statusSchema.safeParse(JSON.parse(text));
            } catch {
                parsed = statusSchema.safeParse(undefined);
            }
            if (!parsed.success) {
                throw new Error(
                    `Timer status blob ${HOSTS_CONTAINER}/${blobName} is not { Last, Next, LastUpdated } (got ${JSON.stringify(text.slice(0, 200))})`,
                );
            }
            const iso = (value: string) => new Date(value).toISOString();
            return {
                Last: iso(parsed.data.Last),
                Next: iso(parsed.data.Next),
                LastUpdated: iso(parsed.data.LastUpdated),
            };
        },
        async updateStatus(status: ScheduleStatus): Promise<void> {
            containerReady ??= container.createIfNotExists().catch((error: unknown) => {
                containerReady = undefined;
                throw error;
            });
            await containerReady;
            const body = JSON.stringify(status);
            await blob.upload(body, Buffer.byteLength(body), {
                blobHTTPHeaders: { blobContentType: 'application/json' },
            });
        },
    };
}
