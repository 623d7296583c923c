import { app, input, InvocationContext, output, Timer } from '@azure/functions';

import { type Clock, systemClock } from '../domain/clock';
import { ConfigurationError } from '../domain/errors';
import { MAX_RECENT_WINDOWS, RECENT_LETTER_COUNTS_QUERY } from '../domain/letterCounts/recentWindows';
import { correctionsTo, RECOUNT_SETTLE_MS, type RecountRange, recountWindows } from '../domain/letterCounts/recount';

export { RECOUNT_SETTLE_MS };
import { readWindowSeconds } from './shared/appSettings';
import { rawNamesContainer, readRawMessagesSince } from './shared/rawNamesBlobs';

/** The documents the recount compares with: the newest 60 windows, the same constant query as the backfill. */
export const storedLetterCounts = input.cosmosDB({
    connection: 'CosmosDBConnection',
    databaseName: '%COSMOS_DATABASE%',
    containerName: '%LETTER_COUNTS_CONTAINER%',
    sqlQuery: RECENT_LETTER_COUNTS_QUERY,
});

/** The Cosmos DB output binding upserts each document by id: the corrected window replaces its own documents. */
export const correctedLetterCounts = output.cosmosDB({
    connection: 'CosmosDBConnection',
    databaseName: '%COSMOS_DATABASE%',
    containerName: '%LETTER_COUNTS_CONTAINER%',
});

/** Blob last-modified times come from the storage service, generatedAt from the generating instance's clock. */
const CLOCK_SKEW_MARGIN_MS = 5 * 60_000;

export interface RecountDeps {
    clock: Clock;
    /** Parsed raw-names blob bodies written at or after `since`. */
    readRawMessages: (since: Date) => Promise<unknown[]>;
}

/** The windows a scheduled recount derives again: those that ended between `lookback` and the settle time ago. */
export function scheduledRange(now: Date, lookbackMinutes: number): RecountRange {
    const to = new Date(now.getTime() - RECOUNT_SETTLE_MS);
    return { from: new Date(to.getTime() - lookbackMinutes * 60_000), to };
}

/**
 * Derives the counts of the recent windows again from the raw-names blobs and writes, through the Cosmos DB output
 * binding, only the documents that differ from what is stored: names Stream Analytics dropped as late (after a
 * backlog, an output outage or a dead-letter resubmit, docs/stream-analytics.md) are counted back into their own
 * window under the same deterministic ids, and the change feed carries the correction to the dashboard and to
 * Event Grid subscribers. Keys-free: blobs through the app's identity, Cosmos DB through bindings.
 */
export function createRecountHandler(getDeps: () => RecountDeps) {
    return async function recountLetterCounts(_timer: Timer, context: InvocationContext): Promise<void> {
        const { clock, readRawMessages } = getDeps();
        const windowSeconds = readWindowSeconds();
        const range = scheduledRange(clock.now(), readLookbackMinutes(process.env, windowSeconds));
        const since = new Date(range.from.getTime() - windowSeconds * 1000 - CLOCK_SKEW_MARGIN_MS);
        const { documents, rejectedMessages, messagesCounted } = recountWindows(
            await readRawMessages(since),
            range,
            windowSeconds,
        );
        for (const error of rejectedMessages) {
            context.warn(`Recount skipped a raw-names blob that is not a valid message: ${error.message}`);
        }
        const stored = context.extraInputs.get(storedLetterCounts);
        const corrections = correctionsTo(documents, Array.isArray(stored) ? stored : []);
        if (corrections.length > 0) {
            context.extraOutputs.set(correctedLetterCounts, corrections);
            context.warn(
                `Recount corrected ${corrections.length} letter-count document(s): ` +
                    corrections.map(({ id, count }) => `${id}=${count}`).join(', '),
            );
        }
        context.info(
            `Recounted windows ending after ${range.from.toISOString()} up to ${range.to.toISOString()}: ` +
                `${messagesCounted} message(s), ${documents.length} document(s), ${corrections.length} corrected`,
        );
    };
}

/**
 * The longest lookback whose windows all lie within the stored documents the recount compares with: the input binding
 * returns the newest MAX_RECENT_WINDOWS windows (60: 30 minutes of 30 s windows, fewer windows when some have no
 * names, so at least that), and the newest stored window ends at or before now, so every window ending after
 * now - 60 windows is among them. The range ends RECOUNT_SETTLE_MS before now, hence 60 x 30 s - 2 min = 28 minutes.
 */
export function maxLookbackMinutes(windowSeconds: number): number {
    return Math.floor((MAX_RECENT_WINDOWS * windowSeconds * 1000 - RECOUNT_SETTLE_MS) / 60_000);
}

/**
 * RECOUNT_LOOKBACK_MINUTES: how far back the scheduled recount looks, in minutes (default 20, 1 to
 * maxLookbackMinutes: 28 with 30 s windows). Throws ConfigurationError quoting the value otherwise.
 *
 * Why capped rather than reading the recount's own range: a window older than the stored-documents input is missing
 * from the comparison, so correctionsTo would rewrite every such window, changed or not, and wake the change feed
 * for each (a raised lookback after an outage rewrote hours of unchanged windows). A timer-triggered Cosmos DB input
 * cannot take its range from binding data, and querying with the Cosmos SDK would give the function a second
 * Cosmos DB client beside its bindings (and the local host a second path to emulate) for a range only an outage
 * needs; so the lookback is held to what the input covers and a larger value fails loudly at the first run rather
 * than writing silently. A longer outage is left to this limit (docs/deploy.md).
 */
export function readLookbackMinutes(
    env: NodeJS.ProcessEnv = process.env,
    windowSeconds = readWindowSeconds(env),
): number {
    const text = env.RECOUNT_LOOKBACK_MINUTES?.trim();
    if (!text) {
        return 20;
    }
    const minutes = Number(text);
    const max = maxLookbackMinutes(windowSeconds);
    if (!(Number.isInteger(minutes) && minutes >= 1 && minutes <= max)) {
        throw new ConfigurationError(
            'RECOUNT_LOOKBACK_MINUTES',
            text,
            `must be a whole number of minutes from 1 to ${max}: the stored documents the recount compares with ` +
                `cover the newest ${MAX_RECENT_WINDOWS} windows of ${windowSeconds} s, and its range ends ` +
                `${RECOUNT_SETTLE_MS / 60_000} minutes before now`,
        );
    }
    return minutes;
}

export const recountLetterCounts = createRecountHandler(() => ({
    clock: systemClock,
    readRawMessages: (since) => readRawMessagesSince(rawNamesContainer(), since),
}));

app.timer('recountLetterCounts', {
    schedule: '%RECOUNT_SCHEDULE%',
    runOnStartup: false,
    useMonitor: true,
    extraInputs: [storedLetterCounts],
    extraOutputs: [correctedLetterCounts],
    handler: recountLetterCounts,
});
