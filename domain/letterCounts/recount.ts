import type { InvalidMessageError } from '../errors';
import { NamestreamError } from '../errors';
import { parseNewNamesMessage, splitNames } from '../messages/newNamesMessage';
import { formatStreamAnalyticsTime, parseIsoUtc } from '../time';
import { BUCKETS, letterCountId, WINDOW_SECONDS, windowEndFor } from './letterCountDocument';

/**
 * The recount: the counts of chosen windows derived again from the source of truth, the raw-names blobs (one per
 * message, every name included), with the same rules as the live pipeline: the name contract decides which names
 * count and under which letter (domain/names/personName.ts), `generatedAt` decides the window, and each
 * `{messageId}:{index}` counts once. The documents it returns carry the deterministic ids Stream Analytics uses, so
 * upserting them corrects a window in place, and the change feed tells the dashboard and Event Grid subscribers.
 *
 * Why it exists: the Stream Analytics job drops events that arrive after their window has been emitted (the
 * late-arrival policy, docs/stream-analytics.md), so a backlog, an output outage or a dead-letter resubmit leaves
 * names out of the live counts. The job counts them (Late Input Events); the recount puts them back.
 */

/**
 * How long after its end a window is left to Stream Analytics before a recount touches it: the job emits a window
 * once its watermark passes (out-of-order tolerance 10 s, late-arrival tolerance 30 s on an idle partition) and
 * writes it within seconds; 2 minutes leaves a wide margin, so a recount never races the job's own write (which would
 * show subscribers a partial count of the still-open window first). Used by the scheduled function and as the
 * default `--until` of `npm run recount`.
 */
export const RECOUNT_SETTLE_MS = 2 * 60_000;

/** The windows to recount: every window whose end is after `from` and at or before `to`. */
export interface RecountRange {
    from: Date;
    to: Date;
}

/** A letter-count document as Stream Analytics writes it (windowEnd in its seven-digit fraction format). */
export interface RecountedDocument {
    id: string;
    windowEnd: string;
    letter: string;
    count: number;
}

export interface RecountResult {
    /** One document per (window, letter) with at least one name, oldest window first, A to Z then other. */
    documents: RecountedDocument[];
    /** Raw blobs whose envelope is not a valid message (they never produced events either). */
    rejectedMessages: InvalidMessageError[];
    /** Messages read whose names fall in the range. */
    messagesCounted: number;
}

/**
 * Derives the letter-count documents of the windows in `range` from raw messages (parsed blob bodies).
 * Messages outside the range are ignored; an invalid envelope is reported, an unusable name is not counted (as the
 * fan-out leaves it out).
 */
export function recountWindows(
    rawMessages: Iterable<unknown>,
    range: RecountRange,
    windowSeconds = WINDOW_SECONDS,
): RecountResult {
    const events = new Map<string, Set<string>>();
    const rejectedMessages: InvalidMessageError[] = [];
    let messagesCounted = 0;
    for (const raw of rawMessages) {
        let message;
        try {
            message = parseNewNamesMessage(raw);
        } catch (error) {
            if (error instanceof NamestreamError && error.code === 'InvalidMessage') {
                rejectedMessages.push(error as InvalidMessageError);
                continue;
            }
            throw error;
        }
        const windowEnd = windowEndFor(parseIsoUtc(message.generatedAt)!, windowSeconds).getTime();
        if (!(windowEnd > range.from.getTime() && windowEnd <= range.to.getTime())) {
            continue;
        }
        messagesCounted += 1;
        for (const { index, bucket } of splitNames(message).accepted) {
            const key = `${windowEnd}|${bucket}`;
            const ids = events.get(key) ?? new Set<string>();
            ids.add(`${message.id}:${index}`);
            events.set(key, ids);
        }
    }
    const documents = [...events.entries()]
        .map(([key, ids]) => {
            const [windowEndText, letter] = key.split('|') as [string, string];
            const windowEnd = new Date(Number(windowEndText));
            return {
                id: letterCountId(windowEnd, letter),
                windowEnd: toStreamAnalyticsTime(windowEnd),
                letter,
                count: ids.size,
            };
        })
        .sort(
            (a, b) =>
                Date.parse(a.windowEnd) - Date.parse(b.windowEnd) ||
                BUCKETS.indexOf(a.letter) - BUCKETS.indexOf(b.letter),
        );
    return { documents, rejectedMessages, messagesCounted };
}

/**
 * The recounted documents that differ from what is stored (by id: a different count, or missing), so a recount of
 * windows that were right writes nothing and wakes no change feed.
 */
export function correctionsTo(
    recounted: readonly RecountedDocument[],
    stored: readonly unknown[],
): RecountedDocument[] {
    const counts = new Map<string, unknown>();
    for (const document of stored) {
        if (document !== null && typeof document === 'object') {
            const { id, count } = document as { id?: unknown; count?: unknown };
            if (typeof id === 'string') {
                counts.set(id, count);
            }
        }
    }
    return recounted.filter((document) => counts.get(document.id) !== document.count);
}

/** System.Timestamp() as the Stream Analytics Cosmos DB output writes it: seven fractional digits, UTC. */
export function toStreamAnalyticsTime(instant: Date): string {
    return formatStreamAnalyticsTime(instant.getTime());
}

/**
 * Parses a duration such as "2h", "90m", "45s" or "1d" (a whole number and one unit) into milliseconds; undefined
 * when the text is not one.
 */
export function parseDuration(text: string): number | undefined {
    const match = /^\s*(\d+)\s*(s|m|h|d)\s*$/i.exec(text);
    if (!match) {
        return undefined;
    }
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd'];
    return Number(match[1]) * unit;
}
