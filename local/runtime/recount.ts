import type { Container } from '@azure/cosmos';
import type { ContainerClient } from '@azure/storage-blob';

import type { Clock } from '../../domain/clock';
import { correctionsTo, type RecountedDocument, recountWindows } from '../../domain/letterCounts/recount';
import { readRawMessagesSince } from '../../functions/shared/rawNamesBlobs';

export interface RecountRequest {
    /** Windows ending up to this long ago are recounted... */
    sinceMs: number;
    /** ...until this long ago (0: up to now). */
    untilMs: number;
}

export interface RecountReport {
    from: string;
    to: string;
    messagesCounted: number;
    documents: number;
    corrected: RecountedDocument[];
    rejectedMessages: string[];
}

/**
 * `npm run recount` in the running local runtime: the same derivation as the recountLetterCounts function
 * (domain/letterCounts/recount.ts over the raw-names blobs, read with functions/shared/rawNamesBlobs.ts), for a
 * range the operator chooses rather than the schedule's, writing the corrections with the same upsert the Cosmos DB
 * output binding makes. Only the documents that differ are written, so the change feed carries exactly the
 * corrections to the dashboard and to Event Grid subscribers.
 */
export async function recountLocally(
    request: RecountRequest,
    deps: { blobs: ContainerClient; letterCounts: Container; clock: Clock; windowSeconds: number },
): Promise<RecountReport> {
    const now = deps.clock.now().getTime();
    const range = { from: new Date(now - request.sinceMs), to: new Date(now - request.untilMs) };
    // A message is written at or after it is generated; a window ending after `from` holds messages generated
    // after its start.
    const since = new Date(range.from.getTime() - deps.windowSeconds * 1000);
    const result = recountWindows(await readRawMessagesSince(deps.blobs, since), range, deps.windowSeconds);
    const stored = await Promise.all(
        result.documents.map(async (document) => {
            const { resource } = await deps.letterCounts
                .item(document.id, document.windowEnd)
                .read<{ count: number }>();
            return resource ? { id: document.id, count: resource.count } : undefined;
        }),
    );
    const corrected = correctionsTo(
        result.documents,
        stored.filter((document) => document !== undefined),
    );
    for (const document of corrected) {
        await deps.letterCounts.items.upsert(document);
    }
    return {
        from: range.from.toISOString(),
        to: range.to.toISOString(),
        messagesCounted: result.messagesCounted,
        documents: result.documents.length,
        corrected,
        rejectedMessages: result.rejectedMessages.map((error) => error.message),
    };
}
