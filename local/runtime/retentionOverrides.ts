import type { AzuriteExtentGc } from './azurite';

/**
 * Shorter retention for every store the local runtime keeps by age: a bench and test knob, never set by `npm start`.
 * With production retention the runtime's memory and disk level off only after days (raw-names blobs are kept 7
 * days, letter-count documents 7 days, Event Hub events a day); with these shortened, a run of minutes reaches the
 * same steady state, which is what `npm run bench -- --soak` measures (docs/local-runtime.md, "Benchmark"). Each
 * field replaces one production value; an absent field keeps it.
 */
export interface RetentionOverrides {
    /** raw-names blobs are deleted once last modified more than this long ago (production: the lifecycle rule's days). */
    rawNamesBlobMs?: number;
    /** Between two lifecycle sweeps of the raw-names blobs (production: an hour). */
    blobSweepIntervalMs?: number;
    /** The Event Hubs' time-based retention (production: a day, as the Bicep's messageRetentionInDays). */
    eventHubMs?: number;
    /** The letter-counts container's defaultTtl, seconds (production: 7 days, as the Bicep's). */
    letterCountsTtlSeconds?: number;
    /** Between two Cosmos DB TTL sweeps (production: a minute). */
    cosmosTtlSweepIntervalMs?: number;
    /** When Azurite gives deleted blobs' disk back (production: Azurite's own 10 min, 10 min, 64 MB). */
    azuriteExtentGc?: AzuriteExtentGc;
}

/**
 * Checks every given field: each must be a positive integer.
 * @throws RangeError quoting the field and its value
 */
export function checkRetentionOverrides(overrides: RetentionOverrides): RetentionOverrides {
    const fields: Array<[string, unknown]> = [
        ...Object.entries(overrides).filter(([name]) => name !== 'azuriteExtentGc'),
        ...Object.entries(overrides.azuriteExtentGc ?? {}).map(([name, value]): [string, unknown] => [
            `azuriteExtentGc.${name}`,
            value,
        ]),
    ];
    for (const [name, value] of fields) {
        if (value === undefined) {
            continue;
        }
        if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
            throw new RangeError(
                `retention.${name} must be a positive integer (got ${typeof value === 'number' ? String(value) : JSON.stringify(value)})`,
            );
        }
    }
    return overrides;
}
