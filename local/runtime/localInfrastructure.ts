import { LETTER_COUNTS_PARTITION_KEY } from '../../domain/letterCounts/letterCountDocument';
import rawNamesRetention from '../../infra/raw-names-retention.json';

/** A lifecycle management rule's delete-by-age part, named as in the ARM resource (Microsoft.Storage managementPolicies). */
export interface BlobLifecycleRule {
    name: string;
    /** Only these blob types are acted on; the rule here names block blobs only. */
    blobTypes: Array<'blockBlob' | 'appendBlob'>;
    /** `container/` or `container/blobNamePrefix`: a prefix always starts with a container name. */
    prefixMatch: string[];
    /** Whole days; a base blob is deleted when its last-modified time is more than this long ago. */
    daysAfterModificationGreaterThan: number;
}

/**
 * What infra/ provisions in Azure, for the stand-ins: the local runtime creates these at start, as `azd provision`
 * does, so a function never finds a queue, hub or container missing. Names come from the app settings, like the
 * Bicep's; the entity options mirror the Bicep parameters' defaults.
 */
export function localInfrastructure(settings: Record<string, string>) {
    return {
        serviceBusQueues: [
            {
                name: settings.NAMES_QUEUE ?? 'newnames-queue',
                lockDurationMs: 60_000,
                maxDeliveryCount: 10,
                defaultMessageTimeToLiveMs: 24 * 60 * 60_000,
                deadLetteringOnMessageExpiration: true,
            },
        ],
        // Retention is bounded by time (a day, as the Bicep's messageRetentionInDays; test/infra checks they agree)
        // and, for a laptop, by count. In memory 50,000 per partition: the job reads each event within
        // milliseconds, so that is ample for readers that keep up (and, with --in-memory, all the history there
        // is). On disk (the default, durable) 1,000,000 per partition: over 13 minutes at 5,000 names/s, more than
        // the ~5.5 minutes the Stream Analytics job rereads when it restarts (docs/local-runtime.md).
        eventHubs: [
            {
                name: settings.NAMES_EVENT_HUB ?? 'names',
                partitionCount: 4,
                retentionMs: 24 * 60 * 60_000,
                maxRetainedEventsPerPartition: 50_000,
                maxStoredEventsPerPartition: 1_000_000,
            },
        ],
        /** The consumer group the Stream Analytics job reads with; the Bicep creates the same one. */
        streamAnalyticsConsumerGroup: 'stream-analytics',
        cosmos: {
            databaseName: settings.COSMOS_DATABASE ?? 'namestream',
            containers: [
                {
                    id: settings.LETTER_COUNTS_CONTAINER ?? 'letter-counts',
                    partitionKeyPath: LETTER_COUNTS_PARTITION_KEY,
                    defaultTtlSeconds: 7 * 24 * 60 * 60,
                },
                { id: 'leases', partitionKeyPath: '/id' },
            ],
        },
        blobContainers: ['raw-names'],
        /**
         * The storage account's lifecycle rule `expire-raw-names` (infra/modules/storage.bicep): delete a block blob
         * under `raw-names/` once its last modification is more than this many days ago. The number is the Bicep
         * parameter's default, read from the same file (infra/raw-names-retention.json); test/infra checks the
         * compiled rule against this one.
         */
        rawNamesLifecycleRule: {
            name: 'expire-raw-names',
            blobTypes: ['blockBlob'],
            prefixMatch: ['raw-names/'],
            daysAfterModificationGreaterThan: rawNamesRetention.rawNamesRetentionDays,
        } satisfies BlobLifecycleRule,
    };
}
