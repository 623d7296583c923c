import { app, InvocationContext, output } from '@azure/functions';

import { groupIntoWindows, toWindowCloudEvent } from '../domain/letterCounts/windowUpdate';
import { readWindowSeconds } from './shared/appSettings';

/** The SignalR method browsers listen on. */
export const NEW_LETTER_DATA_TARGET = 'newFirstLetterData';

export const signalRMessages = output.generic({
    type: 'signalR',
    name: 'signalRMessages',
    hubName: '%SIGNALR_HUB%',
    connectionStringSetting: 'AzureSignalRConnectionString',
});

export const windowEvents = output.eventGrid({ connection: 'EventGridConnection' });

/**
 * Broadcasts every letter-count document of a change-feed batch, one SignalR message per window, and publishes one
 * CloudEvent per window. A document that breaks the contract is logged and skipped: throwing would make the
 * trigger redeliver the same poisoned batch, and the valid windows in it would never be broadcast.
 */
export function broadcastLetterCounts(documents: unknown[], context: InvocationContext): void {
    const { windows, rejected } = groupIntoWindows(documents, readWindowSeconds());
    for (const error of rejected) {
        context.warn(`Skipped a letter-count document: ${error.message}`);
    }
    // Each output is set once with an array: setting it inside a loop would send only the last window.
    context.extraOutputs.set(
        signalRMessages,
        windows.map((window) => ({ target: NEW_LETTER_DATA_TARGET, arguments: [window] })),
    );
    context.extraOutputs.set(windowEvents, windows.map(toWindowCloudEvent));
    context.info(`Broadcast ${windows.length} window(s) from ${documents.length} document(s)`);
}

app.cosmosDB('broadcastLetterCounts', {
    connection: 'CosmosDBConnection',
    databaseName: '%COSMOS_DATABASE%',
    containerName: '%LETTER_COUNTS_CONTAINER%',
    leaseContainerName: 'leases',
    // Infrastructure creates the leases container: with Entra ID auth the app may not create containers.
    createLeaseContainerIfNotExists: false,
    feedPollDelay: 500,
    maxItemsPerInvocation: 100,
    startFromBeginning: false,
    extraOutputs: [signalRMessages, windowEvents],
    handler: broadcastLetterCounts,
});
