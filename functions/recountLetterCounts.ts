import { app, input, InvocationContext, output, Timer } from '@azure/functions';

import { type Clock, systemClock } from '../domain/clock';
import { ConfigurationError } from '../domain/errors';
import { RECENT_LETTER_COUNTS_QUERY } from '../domain/letterCounts/recentWindows';
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
        const range = scheduledRange(clock.now(), readLookbackMinutes());
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

/** RECOUNT_LOOKBACK_MINUTES: how far back the scheduled recount looks (default 20, 1 to 1440); the stored documents it
 * compares with cover the newest 60 windows (30 minutes), so older windows are written whether or not they changed. */
export function readLookbackMinutes(env: NodeJS.ProcessEnv = process.env): number {
    const text = env.RECOUNT_LOOKBACK_MINUTES?.trim();
    if (!text) {
        return 20;
    }
    const minutes = Number(text);
    if (!(Number.isInteger(minutes) && minutes >= 1 && minutes <= 1440)) {
        throw new ConfigurationError(
            'RECOUNT_LOOKBACK_MINUTES',
            text,
            'must be a whole number of minutes from 1 to 1440',
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
