import https from 'node:https';

import type { ChangeFeedIteratorResponse, Container, CosmosClient } from '@azure/cosmos';
import { ChangeFeedMode, ChangeFeedStartFrom } from '@azure/cosmos';
import Document from '@vercel/cosmosdb-server/lib/account/document';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { ensureCosmosResources } from '../../../../local/cosmos/cosmosResources';
import { createLocalCosmosClient } from '../../../../local/cosmos/localCosmosClient';
import type { LocalCosmos } from '../../../../local/cosmos/localCosmosServer';
import { startLocalCosmos } from '../../../../local/cosmos/localCosmosServer';

const DATABASE = 'feeds';

interface Versioned {
    id: string;
    pk: string;
    version: number;
    _lsn: number;
    _ts: number;
}

type Page = ChangeFeedIteratorResponse<Versioned[]>;

/** The user part of a page: what the official client returned, id and version per document. */
function versions(page: Page): string[] {
    return page.result.map((document) => `${document.id}@${document.version}`);
}

/** The etag the official client keeps for the whole-container range, from its continuation token. */
function etagOf(continuationToken: string): string {
    const token = JSON.parse(continuationToken) as { Continuation: { continuationToken: string }[] };
    return token.Continuation[0]!.continuationToken;
}

describe('the local Cosmos DB change feed, read with @azure/cosmos getChangeFeedIterator', () => {
    let cosmos: LocalCosmos;
    let client: CosmosClient;
    let container: Container;
    let containerCount = 0;

    beforeAll(async () => {
        cosmos = await startLocalCosmos({ port: 0 });
        client = createLocalCosmosClient(cosmos.connectionString, { ca: cosmos.ca });
    });

    afterAll(async () => {
        client.dispose();
        await cosmos.close();
    });

    beforeEach(async () => {
        containerCount += 1;
        const id = `monitored-${containerCount}`;
        await ensureCosmosResources(client, { databaseName: DATABASE, containers: [{ id, partitionKeyPath: '/pk' }] });
        container = client.database(DATABASE).container(id);
    });

    async function write(id: string, version: number, pk = 'p'): Promise<Versioned> {
        const { resource } = await container.items.upsert<Versioned>({ id, pk, version } as Versioned);
        return resource as unknown as Versioned;
    }

    it('from the beginning: each document once at its latest version, in change order, paged by maxItemCount', async () => {
        await write('a', 1);
        await write('b', 1);
        await write('a', 2);
        await write('c', 1);
        const deleted = await write('d', 1);
        await container.item(deleted.id, 'p').delete();
        const iterator = container.items.getChangeFeedIterator<Versioned>({
            changeFeedStartFrom: ChangeFeedStartFrom.Beginning(),
            maxItemCount: 2,
        });

        const first = await iterator.readNext();
        const second = await iterator.readNext();
        const third = await iterator.readNext();

        expect([first.statusCode, versions(first)]).toEqual([200, ['b@1', 'a@2']]);
        expect([second.statusCode, versions(second)]).toEqual([200, ['c@1']]);
        expect([third.statusCode, versions(third)]).toEqual([304, []]);
        const { resource: definition } = await container.read();
        expect(JSON.parse(second.continuationToken)).toEqual({
            rid: definition!._rid,
            Continuation: [{ minInclusive: '', maxExclusive: 'FF', continuationToken: `"${second.result[0]!._lsn}"` }],
        });
        // The 304 moves the continuation to the container's highest _lsn, the deleted document's, as Azure's does.
        expect(etagOf(third.continuationToken)).toBe(`"${deleted._lsn}"`);
    });

    it('keeps delivering later creates and updates, an updated document again at its new version', async () => {
        await write('a', 1);
        const iterator = container.items.getChangeFeedIterator<Versioned>({
            changeFeedStartFrom: ChangeFeedStartFrom.Beginning(),
        });
        expect(versions(await iterator.readNext())).toEqual(['a@1']);
        await write('b', 1);
        await write('a', 2);
        expect(versions(await iterator.readNext())).toEqual(['b@1', 'a@2']);
        expect((await iterator.readNext()).statusCode).toBe(304);
    });

    it('from now: nothing written before, then what is written after', async () => {
        await write('before', 1);
        const iterator = container.items.getChangeFeedIterator<Versioned>({
            changeFeedStartFrom: ChangeFeedStartFrom.Now(),
        });
        const empty = await iterator.readNext();
        await write('after', 1);
        const next = await iterator.readNext();

        expect([empty.statusCode, next.statusCode, versions(next)]).toEqual([304, 200, ['after@1']]);
    });

    it('from a point in time: the changes at or after it, at the second precision of _ts; a future time waits for new changes', async () => {
        const early = await write('early', 1);
        while (Math.floor(Date.now() / 1000) <= early._ts) await new Promise((resolve) => setTimeout(resolve, 50));
        const late = await write('late', 1);
        const fromLate = container.items.getChangeFeedIterator<Versioned>({
            changeFeedStartFrom: ChangeFeedStartFrom.Time(new Date(late._ts * 1000)),
        });
        const fromPast = container.items.getChangeFeedIterator<Versioned>({
            changeFeedStartFrom: ChangeFeedStartFrom.Time(new Date('2000-01-01T00:00:00Z')),
        });
        const fromFuture = container.items.getChangeFeedIterator<Versioned>({
            changeFeedStartFrom: ChangeFeedStartFrom.Time(new Date(Date.now() + 3_600_000)),
        });

        expect(versions(await fromLate.readNext())).toEqual(['late@1']);
        expect(versions(await fromPast.readNext())).toEqual(['early@1', 'late@1']);
        expect((await fromFuture.readNext()).statusCode).toBe(304);
        await write('next', 1);
        expect(versions(await fromFuture.readNext())).toEqual(['next@1']);
    });

    it('from a continuation token, in a new client: resumes after the last change read, without loss or repeats', async () => {
        await write('a', 1);
        await write('b', 1);
        const reader = container.items.getChangeFeedIterator<Versioned>({
            changeFeedStartFrom: ChangeFeedStartFrom.Beginning(),
            maxItemCount: 1,
        });
        const firstPage = await reader.readNext();
        await write('c', 1);

        const otherClient = createLocalCosmosClient(cosmos.connectionString, { ca: cosmos.ca });
        try {
            const resumed = otherClient
                .database(DATABASE)
                .container(container.id)
                .items.getChangeFeedIterator<Versioned>({
                    changeFeedStartFrom: ChangeFeedStartFrom.Continuation(firstPage.continuationToken),
                });
            const rest = await resumed.readNext();
            expect([versions(firstPage), versions(rest)]).toEqual([['a@1'], ['b@1', 'c@1']]);
            // The position is the _lsn stored in the last document read, so it survives whatever keeps the documents.
            expect(etagOf(firstPage.continuationToken)).toBe(`"${firstPage.result[0]!._lsn}"`);
        } finally {
            otherClient.dispose();
        }
    });

    it('answers a poll at the end of the feed without reading a document, so polling costs the same whatever the container holds', async () => {
        for (let n = 0; n < 5; n++) await write(`d${n}`, 1);
        const iterator = container.items.getChangeFeedIterator<Versioned>({
            changeFeedStartFrom: ChangeFeedStartFrom.Beginning(),
        });
        expect(versions(await iterator.readNext())).toEqual(['d0@1', 'd1@1', 'd2@1', 'd3@1', 'd4@1']);
        // The trigger polls every 500 ms; a week of letter counts is about 540,000 documents (docs/local-runtime.md).
        const { page: atEnd, reads } = await readNextCountingDocumentReads(iterator);
        expect([atEnd.statusCode, reads]).toEqual([304, 0]);
        await write('d1', 2);
        expect(versions(await iterator.readNext())).toEqual(['d1@2']);
    });

    it('moves the continuation past a document created and deleted between two polls, so later polls read no document and miss or repeat no change', async () => {
        await write('kept', 1);
        const iterator = container.items.getChangeFeedIterator<Versioned>({
            changeFeedStartFrom: ChangeFeedStartFrom.Beginning(),
        });
        expect(versions(await iterator.readNext())).toEqual(['kept@1']);
        const gone = await write('gone', 1);
        await container.item(gone.id, 'p').delete();
        // No document holds the highest _lsn now: a 304 that echoed the position asked for would leave every later
        // poll below it, each one a pass over all the documents (docs/local-runtime.md), until the next write.
        const empty = await iterator.readNext();
        const { page: again, reads } = await readNextCountingDocumentReads(iterator);
        expect([
            empty.statusCode,
            etagOf(empty.continuationToken),
            again.statusCode,
            etagOf(again.continuationToken),
            reads,
        ]).toEqual([304, `"${gone._lsn}"`, 304, `"${gone._lsn}"`, 0]);
        await write('next', 1);
        await write('kept', 2);
        expect(versions(await iterator.readNext())).toEqual(['next@1', 'kept@2']);
        expect((await iterator.readNext()).statusCode).toBe(304);
    });

    it('for one partition key: only that logical partition', async () => {
        await write('a', 1, 'left');
        await write('b', 1, 'right');
        await write('c', 1, 'left');
        const iterator = container.items.getChangeFeedIterator<Versioned>({
            changeFeedStartFrom: ChangeFeedStartFrom.Beginning('left'),
        });
        expect(versions(await iterator.readNext())).toEqual(['a@1', 'c@1']);
        await write('d', 1, 'right');
        expect((await iterator.readNext()).statusCode).toBe(304);
    });

    it('over every feed range the client lists (the one range of the local container)', async () => {
        await write('a', 1);
        const ranges = await container.getFeedRanges();
        expect(ranges).toHaveLength(1);
        const iterator = container.items.getChangeFeedIterator<Versioned>({
            changeFeedStartFrom: ChangeFeedStartFrom.Beginning(ranges[0]),
        });
        expect(versions(await iterator.readNext())).toEqual(['a@1']);
    });

    it('refuses all-versions-and-deletes mode with a 400 that says so', async () => {
        const iterator = container.items.getChangeFeedIterator<Versioned>({
            changeFeedStartFrom: ChangeFeedStartFrom.Now(),
            changeFeedMode: ChangeFeedMode.AllVersionsAndDeletes,
        });
        await expect(iterator.readNext()).rejects.toMatchObject({
            code: 400,
            message: expect.stringContaining('all versions and deletes mode is not'),
        });
    });

    it('answers 404 for a container that does not exist', async () => {
        const iterator = client
            .database(DATABASE)
            .container('missing')
            .items.getChangeFeedIterator({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() });
        await expect(iterator.readNext()).rejects.toMatchObject({ code: 404 });
    });

    it('answers a malformed If-None-Match with a 400 that quotes it', async () => {
        const url = new URL(`dbs/${DATABASE}/colls/${container.id}/docs`, cosmos.endpoint);
        const { status, body } = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
            https
                .get(
                    url,
                    { ca: cosmos.ca, headers: { 'a-im': 'Incremental feed', 'if-none-match': 'yesterday' } },
                    (res) => {
                        let text = '';
                        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
                        res.on('end', () => resolve({ status: res.statusCode, body: text }));
                    },
                )
                .on('error', reject);
        });
        expect(status).toBe(400);
        expect(JSON.parse(body)).toEqual({
            code: 'BadRequest',
            message:
                'Invalid change feed request: header If-None-Match must be *, or an etag this feed returned (got "yesterday")',
        });
    });
});

/** The iterator's next page, and how many stored documents the stand-in read to answer it. */
async function readNextCountingDocumentReads(iterator: {
    readNext(): Promise<Page>;
}): Promise<{ page: Page; reads: number }> {
    const documentReads = vi.spyOn(Document.prototype, 'read');
    try {
        const page = await iterator.readNext();
        return { page, reads: documentReads.mock.calls.length };
    } finally {
        documentReads.mockRestore();
    }
}
