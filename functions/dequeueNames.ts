import { app, InvocationContext, output } from '@azure/functions';

import { toNameEvents } from '../domain/messages/nameEvent';
import { parseNewNamesMessage } from '../domain/messages/newNamesMessage';

export const nameEvents = output.eventHub({ eventHubName: '%NAMES_EVENT_HUB%', connection: 'EventHubConnection' });

/** `{id}` is a binding expression: the host fills it from the trigger message's `id` property. */
export const rawNamesBlob = output.storageBlob({ path: 'raw-names/{id}.json', connection: 'AzureWebJobsStorage' });

/**
 * Fans one queued message out into one Event Hub event per name and keeps the raw message as a blob.
 * An invalid message throws: Service Bus redelivers it and, after maxDeliveryCount attempts, dead-letters it,
 * and the thrown error (which names the bad field and value) is what the logs show for each attempt.
 */
export function dequeueNames(body: unknown, context: InvocationContext): string {
    const deliveryCount = context.triggerMetadata?.deliveryCount;
    try {
        const message = parseNewNamesMessage(body);
        // Set once with the whole array: setting an output repeatedly keeps only the last value.
        context.extraOutputs.set(nameEvents, toNameEvents(message));
        context.info(
            `Fanned out message ${message.id}: ${message.names.length} names (delivery ${String(deliveryCount)})`,
        );
        return JSON.stringify(message);
    } catch (error) {
        context.error(
            `Rejected message ${String(context.triggerMetadata?.messageId)} (delivery ${String(deliveryCount)}):`,
            error,
        );
        throw error;
    }
}

app.serviceBusQueue('dequeueNames', {
    queueName: '%NAMES_QUEUE%',
    connection: 'ServiceBusConnection',
    return: rawNamesBlob,
    extraOutputs: [nameEvents],
    handler: dequeueNames,
});
