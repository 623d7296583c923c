import { app, InvocationContext, output } from '@azure/functions';

import { InvalidMessageError } from '../domain/errors';
import { toNameEvent } from '../domain/messages/nameEvent';
import { parseNewNamesMessage, splitNames } from '../domain/messages/newNamesMessage';

export const nameEvents = output.eventHub({ eventHubName: '%NAMES_EVENT_HUB%', connection: 'EventHubConnection' });

/** `{id}` is a binding expression: the host fills it from the trigger message's `id` property. */
export const rawNamesBlob = output.storageBlob({ path: 'raw-names/{id}.json', connection: 'AzureWebJobsStorage' });

/**
 * Fans one queued message out into one Event Hub event per usable name and keeps the raw message, every name
 * included, as a blob (the source of truth a recount derives counts from again).
 * A message whose envelope is invalid throws: Service Bus redelivers it and, after maxDeliveryCount attempts,
 * dead-letters it, and the thrown error (which names the bad field and value) is what the logs show for each attempt.
 * A valid envelope never loses its usable names to an unusable one: each unusable name is logged as a warning with
 * its field and reason (Application Insights traces in Azure; the log and /_local/status locally) and the rest flow.
 */
export function dequeueNames(body: unknown, context: InvocationContext): string {
    const deliveryCount = context.triggerMetadata?.deliveryCount;
    try {
        const message = parseNewNamesMessage(body);
        const { accepted, rejected } = splitNames(message);
        for (const error of rejected) {
            context.warn(`Left out an unusable name of message ${message.id}: ${error.message}`);
        }
        // Set once with the whole array: setting an output repeatedly keeps only the last value.
        context.extraOutputs.set(
            nameEvents,
            accepted.map((name) => toNameEvent(message, name)),
        );
        const leftOut = rejected.length > 0 ? `, ${rejected.length} unusable left out` : '';
        context.info(
            `Fanned out message ${message.id}: ${accepted.length} names${leftOut} (delivery ${String(deliveryCount)})`,
        );
        return JSON.stringify(message);
    } catch (error) {
        // An invalid message is expected input whose message names the field and value: one line, since a stack
        // would repeat at each of its maxDeliveryCount deliveries and say nothing more. Anything else keeps its stack.
        context.error(
            `Rejected message ${String(context.triggerMetadata?.messageId)} (delivery ${String(deliveryCount)}):`,
            error instanceof InvalidMessageError ? error.message : error,
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
