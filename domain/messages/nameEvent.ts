import type { AcceptedName, NewNamesMessage } from './newNamesMessage';
import { splitNames } from './newNamesMessage';

/**
 * One Event Hub event per usable name. `eventId` is `{messageId}:{index}`, the name's position in the message, so it
 * is stable across redeliveries and the Stream Analytics query counts each name once with `COUNT(DISTINCT eventId)`.
 * `letter` is the bucket the name is counted under (A to Z or "other", domain/names/personName.ts), computed here
 * once so that the query groups by it and Azure and the local engine cannot disagree on a name's first letter.
 */
export interface NameEvent {
    eventId: string;
    messageId: string;
    name: string;
    letter: string;
    generatedAt: string;
}

/** The events of a message's usable names; its unusable names are in splitNames(message).rejected. */
export function toNameEvents(message: NewNamesMessage): NameEvent[] {
    return splitNames(message).accepted.map((name) => toNameEvent(message, name));
}

export function toNameEvent(message: NewNamesMessage, { index, name, bucket }: AcceptedName): NameEvent {
    return {
        eventId: `${message.id}:${index}`,
        messageId: message.id,
        name,
        letter: bucket,
        generatedAt: message.generatedAt,
    };
}
