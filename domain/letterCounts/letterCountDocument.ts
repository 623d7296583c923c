import { z } from 'zod';

import { InvalidMessageError } from '../errors';
import { isoUtcTimestampSchema } from '../messages/newNamesMessage';
import { BUCKETS, LETTERS, OTHER_BUCKET } from '../names/personName';
import { parseOrThrow } from '../schema';
import { parseIsoUtc } from '../time';

/** The window the Stream Analytics query counts over; windows align to the Unix epoch, as Stream Analytics' do. */
export const WINDOW_SECONDS = 30;

export { BUCKETS, LETTERS, OTHER_BUCKET };

/**
 * The container's partition key path. `/windowEnd`: every document of one window shares a logical partition, so
 * Stream Analytics writes a closed window into a single partition, and the key has unbounded cardinality over
 * time (no hot or oversized logical partition ever: a window holds at most 27 documents). Reading the latest N
 * windows is an `ORDER BY windowEnd DESC` query that fans out across physical partitions, which stays cheap
 * because retention (container TTL) keeps the container small; at larger scale add `windowEnd >= @since`.
 */
export const LETTER_COUNTS_PARTITION_KEY = '/windowEnd';

/**
 * One document per (window, letter), written by Stream Analytics (and by a recount) with an upsert on `id`. The
 * `id` is deterministic, `{windowEnd as Unix seconds}-{letter}`, so a replayed, retried or recounted window
 * overwrites its own documents instead of adding new ones. `letter` is a bucket of the name contract
 * (domain/names/personName.ts): A to Z, or "other" for names whose first character has no A to Z base letter.
 */
export const letterCountDocumentSchema = z.object(
    {
        id: z
            .string({ error: 'must be a string' })
            .regex(/^\d+-(?:[A-Z]|other)$/, { error: `must look like "<unix seconds>-<A-Z or ${OTHER_BUCKET}>"` }),
        windowEnd: isoUtcTimestampSchema,
        letter: z
            .string({ error: 'must be a string' })
            .refine((letter) => BUCKETS.includes(letter), { error: `must be one letter A to Z or "${OTHER_BUCKET}"` }),
        count: z
            .number({ error: 'must be a number' })
            .int({ error: 'must be a whole number' })
            .nonnegative({ error: 'must not be negative' }),
    },
    { error: 'must be an object' },
);

export type LetterCountDocument = z.infer<typeof letterCountDocumentSchema>;

/** A validated document with its window end parsed; what the functions work with. */
export interface LetterCount {
    windowEnd: Date;
    letter: string;
    count: number;
}

export function letterCountId(windowEnd: Date, letter: string): string {
    return `${Math.floor(windowEnd.getTime() / 1000)}-${letter}`;
}

/** Parses a document from Cosmos DB; throws InvalidMessageError naming the bad field, including a mismatched id. */
export function parseLetterCountDocument(document: unknown): LetterCount {
    const parsed = parseOrThrow(letterCountDocumentSchema, document, 'document');
    const windowEnd = parseIsoUtc(parsed.windowEnd)!;
    const expectedId = letterCountId(windowEnd, parsed.letter);
    if (parsed.id !== expectedId) {
        throw new InvalidMessageError('id', parsed.id, `must be "${expectedId}" for this window and letter`);
    }
    return { windowEnd, letter: parsed.letter, count: parsed.count };
}

/** The end of the tumbling window an event at `instant` belongs to: start-exclusive, end-inclusive, epoch-aligned. */
export function windowEndFor(instant: Date, windowSeconds = WINDOW_SECONDS): Date {
    const sizeMs = windowSeconds * 1000;
    return new Date(Math.ceil(instant.getTime() / sizeMs) * sizeMs);
}
