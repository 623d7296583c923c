import { createHash } from 'node:crypto';

import type { InvalidMessageError } from '../errors';
import { NamestreamError } from '../errors';
import { toIsoUtc } from '../time';
import { BUCKETS, type LetterCount, parseLetterCountDocument, WINDOW_SECONDS } from './letterCountDocument';

/** What browsers receive for one window: the letters counted in it, A to Z, then the "other" bucket. */
export interface WindowUpdate {
    windowStart: string;
    windowEnd: string;
    counts: Array<{ letter: string; count: number }>;
}

export interface GroupedWindows {
    /** One entry per window, oldest first. */
    windows: WindowUpdate[];
    /** Documents that did not match the letter-count contract, with the reason. */
    rejected: InvalidMessageError[];
}

/**
 * Groups letter-count documents by window. A batch may hold several windows and, because Stream Analytics
 * upserts, the same (window, letter) more than once: the last one in the batch wins, as it is the newest version.
 */
export function groupIntoWindows(documents: readonly unknown[], windowSeconds = WINDOW_SECONDS): GroupedWindows {
    const byWindow = new Map<number, Map<string, LetterCount>>();
    const rejected: InvalidMessageError[] = [];
    for (const document of documents) {
        let letterCount: LetterCount;
        try {
            letterCount = parseLetterCountDocument(document);
        } catch (error) {
            if (error instanceof NamestreamError && error.code === 'InvalidMessage') {
                rejected.push(error as InvalidMessageError);
                continue;
            }
            throw error;
        }
        const key = letterCount.windowEnd.getTime();
        const letters = byWindow.get(key) ?? new Map<string, LetterCount>();
        letters.set(letterCount.letter, letterCount);
        byWindow.set(key, letters);
    }
    const windows = [...byWindow.entries()]
        .sort(([a], [b]) => a - b)
        .map(([windowEndMs, letters]) => ({
            windowStart: toIsoUtc(new Date(windowEndMs - windowSeconds * 1000)),
            windowEnd: toIsoUtc(new Date(windowEndMs)),
            counts: [...letters.values()]
                .sort((a, b) => BUCKETS.indexOf(a.letter) - BUCKETS.indexOf(b.letter))
                .map(({ letter, count }) => ({ letter, count })),
        }));
    return { windows, rejected };
}

export const WINDOW_UPDATED_EVENT_TYPE = 'Namestream.LetterCounts.WindowUpdated';
export const WINDOW_EVENT_SOURCE = '/namestream/letter-counts';

/** A CloudEvents 1.0 event, in the JSON form the Event Grid output binding and topic accept. */
export interface WindowCloudEvent {
    specversion: '1.0';
    id: string;
    source: string;
    type: string;
    subject: string;
    time: string;
    datacontenttype: 'application/json';
    data: WindowUpdate;
}

/**
 * One CloudEvent per window in a change-feed batch. The id hashes the window's content, so a redelivered batch
 * (the change feed is at-least-once) yields the same id and subscribers can drop the repeat; a later update of the
 * same window carries different counts and so a new id. `time` is the window end: when the counted occurrence ended.
 */
export function toWindowCloudEvent(window: WindowUpdate): WindowCloudEvent {
    const digest = createHash('sha256').update(JSON.stringify(window.counts)).digest('hex').slice(0, 16);
    const windowEndSeconds = Math.floor(Date.parse(window.windowEnd) / 1000);
    return {
        specversion: '1.0',
        id: `${windowEndSeconds}-${digest}`,
        source: WINDOW_EVENT_SOURCE,
        type: WINDOW_UPDATED_EVENT_TYPE,
        subject: `/windows/${window.windowEnd}`,
        time: window.windowEnd,
        datacontenttype: 'application/json',
        data: window,
    };
}
