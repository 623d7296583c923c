import { z } from 'zod';

import type { InvalidMessageError } from '../errors';
import { bucketOf, MAX_NAME_LENGTH, personNameSchema } from '../names/personName';
import { parseOrThrow } from '../schema';
import { parseIsoUtc } from '../time';

export { MAX_NAME_LENGTH };

/** The most names one message may carry: 500 names of 64 code points stay well under Service Bus's 256 KB. */
export const MAX_NAMES_PER_MESSAGE = 500;

export const isoUtcTimestampSchema = z
    .string({ error: 'must be a string' })
    .refine((text) => parseIsoUtc(text) !== undefined, { error: 'must be an ISO-8601 timestamp with a UTC offset' });

/**
 * The message the timer puts on the Service Bus queue: `{ id, generatedAt, names }`. This is the envelope: `names`
 * must be an array of 1 to 500 entries, but each entry is checked on its own (see splitNames), so one unusable name
 * never costs the others.
 */
export const newNamesMessageSchema = z.strictObject(
    {
        id: z.uuid({ error: 'must be a UUID' }),
        generatedAt: isoUtcTimestampSchema,
        names: z
            .array(z.unknown(), { error: 'must be an array of names' })
            .min(1, { error: 'must hold at least one name' })
            .max(MAX_NAMES_PER_MESSAGE, { error: `must hold at most ${MAX_NAMES_PER_MESSAGE} names` }),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? 'is not part of the message' : 'must be a JSON object') },
);

export type NewNamesMessage = z.infer<typeof newNamesMessageSchema>;

/** Validates a dequeued message's envelope; throws InvalidMessageError naming the bad field and value. */
export function parseNewNamesMessage(body: unknown): NewNamesMessage {
    return parseOrThrow(newNamesMessageSchema, body, 'message');
}

/** A usable name with its position in the message (which makes its event id) and the bucket it is counted under. */
export interface AcceptedName {
    index: number;
    name: string;
    bucket: string;
}

export interface SplitNames {
    accepted: AcceptedName[];
    /** One error per unusable name, its field `names.<index>` and the reason (domain/names/personName.ts). */
    rejected: InvalidMessageError[];
}

/** Checks each name of a valid envelope against the name contract: the usable ones flow, the others are reported. */
export function splitNames(message: NewNamesMessage): SplitNames {
    const accepted: AcceptedName[] = [];
    const rejected: InvalidMessageError[] = [];
    message.names.forEach((value, index) => {
        try {
            const name = parseOrThrow(personNameSchema, value, `names.${index}`);
            accepted.push({ index, name, bucket: bucketOf(name) });
        } catch (error) {
            rejected.push(error as InvalidMessageError);
        }
    });
    return { accepted, rejected };
}
