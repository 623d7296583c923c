import { type BlobServiceClient, RestError } from '@azure/storage-blob';
import pLimit from 'p-limit';

import type { Clock } from '../../domain/clock';
import type { BlobLifecycleRule } from './localInfrastructure';

const DAY_MS = 24 * 60 * 60_000;

/** Azure runs lifecycle policies about once a day; locally the sweep runs at start and then hourly. */
export const DEFAULT_SWEEP_INTERVAL_MS = 60 * 60_000;

/** Blobs listed (and then deleted) per page: the service's maximum, so a sweep costs few list calls. */
export const DEFAULT_SWEEP_PAGE_SIZE = 5000;

/** Deletes a sweep keeps in flight: enough to hide a round trip, few enough to leave Azurite to the pipeline. */
const DELETES_IN_FLIGHT = 8;

export interface BlobLifecycleSweepReport {
    /** Blobs deleted. A count, not the names: a sweep after days down deletes hundreds of thousands. */
    deleted: number;
    /** `container/blobName` of the first blob deleted in listing order (for the log line), if any. */
    firstDeleted: string | undefined;
    /** Blobs the rule's filters matched and that were still young enough to keep. */
    kept: number;
    /** Deletes that failed (each also logged); the next sweep tries them again. */
    failed: number;
}

export interface BlobLifecycleSweeperOptions {
    service: BlobServiceClient;
    rule: BlobLifecycleRule;
    clock: Clock;
    intervalMs?: number;
    pageSize?: number;
    /**
     * Bench and test knob, never set by `npm start`: the age in milliseconds beyond which a blob is deleted, instead
     * of the rule's whole days, so a run of minutes reaches the steady state the rule reaches after days (the soak in
     * bench/pipeline.bench.ts).
     */
    maxAgeMs?: number;
    log: (line: string) => void;
}

export interface BlobLifecycleSweeper {
    /** One sweep now (the timer's sweeps are skipped while one runs); resolves with what it did, never rejects. */
    sweepOnce(): Promise<BlobLifecycleSweepReport>;
    /** The last finished sweep's report (its `kept` is how many of the rule's blobs were retained), if any. */
    readonly lastReport: BlobLifecycleSweepReport | undefined;
    /** Stops the timer and waits for a running sweep to finish. */
    stop(): Promise<void>;
}

/**
 * The storage account's lifecycle management on Azurite, which has none: applies a rule's base-blob delete action
 * the way Azure does, deleting every blob of the rule's types under one of its prefixes (`container/namePrefix`)
 * whose last-modified time is more than `daysAfterModificationGreaterThan` days before the clock's now.
 * Source: https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-overview (a prefix starts with a
 * container name; the age of a base blob is counted from its last modification; the platform runs the policy about
 * once a day). Differs from Azure in the schedule only: the first sweep starts at once, then one every `intervalMs`
 * (default an hour), so a runtime restarted after days trims its disk right away.
 *
 * Each page of the listing (`pageSize` blobs) is deleted, 8 deletes in flight, before the next is listed, so memory
 * stays bounded by a page (the report keeps counts and the first deleted name, not every name). A sweep never throws: a failed delete or listing is logged, and the next sweep tries again.
 * @throws RangeError quoting the value when intervalMs, pageSize or maxAgeMs is not a positive integer (at start, not
 *   later)
 */
export function startBlobLifecycleSweeper(options: BlobLifecycleSweeperOptions): BlobLifecycleSweeper {
    const intervalMs = options.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    const pageSize = options.pageSize ?? DEFAULT_SWEEP_PAGE_SIZE;
    const age: SweepAge =
        options.maxAgeMs === undefined
            ? {
                  ms: options.rule.daysAfterModificationGreaterThan * DAY_MS,
                  text: `${options.rule.daysAfterModificationGreaterThan} days`,
              }
            : { ms: options.maxAgeMs, text: `${options.maxAgeMs} ms` };
    for (const [name, value] of [
        ['intervalMs', intervalMs],
        ['pageSize', pageSize],
        ['maxAgeMs', age.ms],
    ] as const) {
        if (!Number.isSafeInteger(value) || value <= 0) {
            throw new RangeError(`blob lifecycle sweeper: ${name} must be a positive integer (got ${String(value)})`);
        }
    }
    let sweeping: Promise<BlobLifecycleSweepReport> | undefined;
    let lastReport: BlobLifecycleSweepReport | undefined;
    const sweepOnce = (): Promise<BlobLifecycleSweepReport> => {
        sweeping ??= sweepRule(options.service, options.rule, age, options.clock, pageSize, options.log)
            .catch((error: unknown) => {
                options.log(`[blob lifecycle] ${options.rule.name}: sweep failed: ${String(error)}`);
                return { deleted: 0, firstDeleted: undefined, kept: 0, failed: 1 };
            })
            .then((report) => {
                lastReport = report;
                return report;
            })
            .finally(() => {
                sweeping = undefined;
            });
        return sweeping;
    };
    void sweepOnce();
    const timer = setInterval(() => void sweepOnce(), intervalMs);
    // The sweeper alone must not keep a process alive.
    timer.unref();
    return {
        sweepOnce,
        get lastReport() {
            return lastReport;
        },
        stop: async () => {
            clearInterval(timer);
            await sweeping;
        },
    };
}

const listedBlobType: Record<BlobLifecycleRule['blobTypes'][number], string> = {
    blockBlob: 'BlockBlob',
    appendBlob: 'AppendBlob',
};

/** How old a blob must be to go, and the words for it in the log line. */
interface SweepAge {
    ms: number;
    text: string;
}

async function sweepRule(
    service: BlobServiceClient,
    rule: BlobLifecycleRule,
    age: SweepAge,
    clock: Clock,
    pageSize: number,
    log: (line: string) => void,
): Promise<BlobLifecycleSweepReport> {
    const report: BlobLifecycleSweepReport = { deleted: 0, firstDeleted: undefined, kept: 0, failed: 0 };
    const limit = pLimit(DELETES_IN_FLIGHT);
    // Fixed for the whole sweep, as one lifecycle run evaluates every blob against the same day.
    const cutoff = clock.now().getTime() - age.ms;
    const types = new Set(rule.blobTypes.map((type) => listedBlobType[type]));
    for (const prefix of rule.prefixMatch) {
        const slash = prefix.indexOf('/');
        const containerName = slash < 0 ? prefix : prefix.slice(0, slash);
        const namePrefix = slash < 0 ? '' : prefix.slice(slash + 1);
        const container = service.getContainerClient(containerName);
        try {
            if (!(await container.exists())) {
                continue;
            }
            // Deleting listed blobs does not disturb the continuation marker: it names the next blob, not an offset.
            for await (const page of container
                .listBlobsFlat({ prefix: namePrefix })
                .byPage({ maxPageSize: pageSize })) {
                const expired: string[] = [];
                for (const blob of page.segment.blobItems) {
                    if (!types.has(blob.properties.blobType ?? '')) {
                        continue;
                    }
                    if (blob.properties.lastModified.getTime() >= cutoff) {
                        report.kept += 1;
                    } else {
                        expired.push(blob.name);
                    }
                }
                // A few deletes in flight, so a sweep that finds thousands of blobs is not one round trip per blob.
                const outcomes = await Promise.all(
                    expired.map((name) =>
                        limit(async () => {
                            try {
                                await container.deleteBlob(name);
                                return 'deleted';
                            } catch (error) {
                                // 404: deleted by someone else since the listing, which is the outcome wanted.
                                if (error instanceof RestError && error.statusCode === 404) {
                                    return 'gone';
                                }
                                log(
                                    `[blob lifecycle] ${rule.name}: deleting ${containerName}/${name} failed: ${String(error)}`,
                                );
                                return 'failed';
                            }
                        }),
                    ),
                );
                // In listing order, whatever order the deletes finished in.
                outcomes.forEach((outcome, index) => {
                    if (outcome === 'deleted') {
                        report.deleted += 1;
                        report.firstDeleted ??= `${containerName}/${expired[index]!}`;
                    } else if (outcome === 'failed') {
                        report.failed += 1;
                    }
                });
            }
        } catch (error) {
            report.failed += 1;
            log(`[blob lifecycle] ${rule.name}: listing ${prefix} failed: ${String(error)}`);
        }
    }
    if (report.firstDeleted !== undefined) {
        const first = report.firstDeleted;
        const more = report.deleted > 1 ? ` (${first} and ${report.deleted - 1} more)` : ` (${first})`;
        log(
            `[blob lifecycle] ${rule.name}: deleted ${report.deleted} blob${report.deleted === 1 ? '' : 's'} last modified more than ` +
                `${age.text} ago${more}`,
        );
    }
    return report;
}
