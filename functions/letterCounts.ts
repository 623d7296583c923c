import { app, HttpRequest, HttpResponseInit, input, InvocationContext } from '@azure/functions';

import { InvalidRequestError } from '../domain/errors';
import { parseRecentWindowsParameter, RECENT_LETTER_COUNTS_QUERY } from '../domain/letterCounts/recentWindows';
import { groupIntoWindows } from '../domain/letterCounts/windowUpdate';
import { readWindowSeconds } from './shared/appSettings';

export const recentLetterCounts = input.cosmosDB({
    connection: 'CosmosDBConnection',
    databaseName: '%COSMOS_DATABASE%',
    containerName: '%LETTER_COUNTS_CONTAINER%',
    sqlQuery: RECENT_LETTER_COUNTS_QUERY,
});

/** `GET /api/letter-counts?windows=N`: the latest N windows (default 20, at most 60), oldest first, for backfill. */
export function letterCounts(request: HttpRequest, context: InvocationContext): HttpResponseInit {
    let windowCount: number;
    try {
        windowCount = parseRecentWindowsParameter(request.query.getAll('windows'));
    } catch (error) {
        if (error instanceof InvalidRequestError) {
            return { status: 400, jsonBody: { error: error.message } };
        }
        throw error;
    }
    const documents = context.extraInputs.get(recentLetterCounts);
    const { windows, rejected } = groupIntoWindows(Array.isArray(documents) ? documents : [], readWindowSeconds());
    for (const error of rejected) {
        context.warn(`Left out a letter-count document: ${error.message}`);
    }
    return {
        jsonBody: { windows: windows.slice(-windowCount) },
        headers: { 'Cache-Control': 'no-store' },
    };
}

app.http('letterCounts', {
    route: 'letter-counts',
    methods: ['GET'],
    authLevel: 'anonymous',
    extraInputs: [recentLetterCounts],
    handler: letterCounts,
});
