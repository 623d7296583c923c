import type { NewNamesMessage } from './newNamesMessage';

/**
 * One Event Hub event per name. `eventId` is `{messageId}:{index}`, stable across redeliveries of the same Service
 * Bus message, so the Stream Analytics query can count each name once with `COUNT(DISTINCT eventId)`.
 */
export interface NameEvent {
    eventId: string;
    messageId: string;
    name: string;
    generatedAt: string;
}

export function toNameEvents(message: NewNamesMessage): NameEvent[] {
    return message.names.map((name, index) => ({
        eventId: `${message.id}:${index}`,
        messageId: message.id,
        name,
        generatedAt: message.generatedAt,
    }));
}
