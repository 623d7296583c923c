import { LETTER_COUNTS_PARTITION_KEY } from '../../domain/letterCounts/letterCountDocument';

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
        // and, for a laptop's memory, by count: the job reads each event within milliseconds, so 50,000 per
        // partition is ample history.
        eventHubs: [
            {
                name: settings.NAMES_EVENT_HUB ?? 'names',
                partitionCount: 4,
                retentionMs: 24 * 60 * 60_000,
                maxRetainedEventsPerPartition: 50_000,
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
    };
}
