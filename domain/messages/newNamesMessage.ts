import { z } from 'zod';

import { parseOrThrow } from '../schema';
import { parseIsoUtc } from '../time';

/** The most names one message may carry: 500 names of 64 characters stay well under Service Bus's 256 KB. */
export const MAX_NAMES_PER_MESSAGE = 500;
export const MAX_NAME_LENGTH = 64;

/**
 * A person's name as the pipeline accepts it: trimmed, at most 64 characters, starting with an ASCII letter, so
 * that its first letter is one of the A to Z buckets the Stream Analytics query counts.
 */
export const personNameSchema = z
    .string({ error: 'must be a string' })
    .max(MAX_NAME_LENGTH, { error: `must be at most ${MAX_NAME_LENGTH} characters` })
    .regex(/^[A-Za-z][A-Za-z .'-]*$/, {
        error: 'must start with a letter A to Z and contain only letters, spaces, periods, apostrophes and hyphens',
    });

export const isoUtcTimestampSchema = z
    .string({ error: 'must be a string' })
    .refine((text) => parseIsoUtc(text) !== undefined, { error: 'must be an ISO-8601 timestamp with a UTC offset' });

/** The message the timer puts on the Service Bus queue: `{ id, generatedAt, names }`. */
export const newNamesMessageSchema = z.strictObject(
    {
        id: z.uuid({ error: 'must be a UUID' }),
        generatedAt: isoUtcTimestampSchema,
        names: z
            .array(personNameSchema, { error: 'must be an array of names' })
            .min(1, { error: 'must hold at least one name' })
            .max(MAX_NAMES_PER_MESSAGE, { error: `must hold at most ${MAX_NAMES_PER_MESSAGE} names` }),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? 'is not part of the message' : 'must be a JSON object') },
);

export type NewNamesMessage = z.infer<typeof newNamesMessageSchema>;

/** Validates a dequeued message body; throws InvalidMessageError naming the bad field and value. */
export function parseNewNamesMessage(body: unknown): NewNamesMessage {
    return parseOrThrow(newNamesMessageSchema, body, 'message');
}
