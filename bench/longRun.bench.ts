/**
 * What a week of `npm start` leaves in the state folder costs at the next start, built synthetically in seconds
 * instead of run for a week:
 *
 * (A) Cosmos DB: the letter-counts container after 7 days of 30-second windows (27 documents each, kept 7 days by the
 *     container's TTL as in the Bicep): 20,160 windows, plus 2 just expired for the TTL sweep to delete, 544,374
 *     documents. A child process opens the folder and starts the stand-in (which loads every document into memory),
 *     then reports the start time, RSS and heap after a forced GC, and the time (and longest event-loop block) of the
 *     dashboard's backfill query, the change-feed trigger's poll, the first write after the start and a TTL sweep,
 *     beside the same child on a folder with the same resources and no documents.
 * (B) Event Hubs: 4 partitions of --events-per-partition (default 1,000,000, the disk cap) stored events of the
 *     pipeline's shape, sent through a durable LocalEventHub with a fake clock. A child opens the folder with the
 *     clock one minute after the last event (within retention), then another with the clock 25 hours after it (past
 *     the 1-day retention: the start deletes every stored event) and reports the start time and the longest
 *     event-loop block (perf_hooks.monitorEventLoopDelay).
 *
 * The documents are written straight into the stand-in's `cosmos_documents` table in one transaction, in the shape
 * the server stores (a template document created through @azure/cosmos, with the library's own `_rid` numbering):
 * 544,374 documents through the REST API would take about 15 minutes. The events go through LocalEventHub.send.
 *
 *   npx tsx bench/longRun.bench.ts [--part a|b|both] [--events-per-partition N] [--windows N]
 *   npm run bench:long-run
 *
 * Folders are temporary ones on os.tmpdir()'s disk (about 100 MB for A, 600 MB for B at the defaults), removed at the end.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import Documents from '@vercel/cosmosdb-server/lib/account/documents';

import type { Clock } from '../domain/clock';
import { BUCKETS } from '../domain/letterCounts/letterCountDocument';
import { RECENT_LETTER_COUNTS_QUERY } from '../domain/letterCounts/recentWindows';
import {
    COSMOS_STATE_COMPONENT,
    createLocalCosmosClient,
    ensureCosmosResources,
    startLocalCosmos,
    startTtlSweeper,
} from '../local/cosmos';
import { ChangeFeedReader } from '../local/cosmos/changeFeed/changeFeedReader';
import { EVENT_HUBS_STATE_COMPONENT, LocalEventHub, SqliteEventHubStore } from '../local/eventHubs';
import { STATE_DATABASE_FILE, StateStore } from '../local/state';

const args = process.argv.slice(2);
function option(name: string, fallback: string): string {
    const index = args.indexOf(name);
    return index >= 0 && args[index + 1] !== undefined ? args[index + 1]! : fallback;
}

const DAY_MS = 24 * 60 * 60_000;
const WINDOW_SECONDS = 30;
const TTL_SECONDS = 7 * 24 * 60 * 60;
const RESOURCES = {
    databaseName: 'namestream',
    containers: [
        { id: 'letter-counts', partitionKeyPath: '/windowEnd', defaultTtlSeconds: TTL_SECONDS },
        { id: 'leases', partitionKeyPath: '/id' },
    ],
};
/** As localInfrastructure.ts creates the names hub under npm start. */
const HUB = {
    name: 'names',
    partitionCount: 4,
    retentionMs: DAY_MS,
    maxRetainedEventsPerPartition: 50_000,
    maxStoredEventsPerPartition: 1_000_000,
};
const CHILD_RESULT = 'LONG_RUN_RESULT ';

const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(0)} MB`;
const seconds = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
const fileSize = (file: string) => (existsSync(file) ? statSync(file).size : 0);

/** Measures `work`: its wall time and the longest the event loop was blocked meanwhile (10 ms resolution). */
async function measured<T>(work: () => T | Promise<T>): Promise<{ ms: number; maxBlockMs: number; result: T }> {
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    // Its first tick only sets the reference time: let a few pass before a synchronous block begins.
    await new Promise((resolve) => setTimeout(resolve, 35));
    const start = performance.now();
    const result = await work();
    const ms = performance.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 20));
    histogram.disable();
    return { ms, maxBlockMs: histogram.max / 1e6, result };
}

function collectGarbage(): void {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
}

// ---------- (A) Cosmos DB ----------

/**
 * A state folder with the runtime's Cosmos DB resources and `windows` windows of letter counts ending now (with the
 * default 20,162, the oldest one or two are past the TTL by the time the sweep runs). Returns the number of documents.
 */
async function buildCosmosFolder(directory: string, windows: number): Promise<number> {
    const state = StateStore.open({ directory, components: [COSMOS_STATE_COMPONENT] });
    try {
        const cosmos = await startLocalCosmos({ port: 0, state });
        const client = createLocalCosmosClient(cosmos.connectionString, { ca: cosmos.ca });
        try {
            await ensureCosmosResources(client, RESOURCES);
            if (windows === 0) return 0;
            // The template: one document as the server stores it (system properties included), rewritten below.
            await client
                .database(RESOURCES.databaseName)
                .container('letter-counts')
                .items.create({ id: '0-A', windowEnd: '1970-01-01T00:00:00.000Z', letter: 'A', count: 0 });
        } finally {
            client.dispose();
            await cosmos.close();
        }
        const database = state.database;
        const template = database
            .prepare<[], { container_rid: string; body: string }>('SELECT container_rid, body FROM cosmos_documents')
            .get()!;
        const templateBody = JSON.parse(template.body) as Record<string, unknown>;
        const containerSelf = String(templateBody._self).replace(/docs\/[^/]+\/$/, '');
        // The library's own numbering (Documents#_rid), so the restarted server continues it.
        const ridOf = (n: number): string =>
            (Documents.prototype as unknown as { _rid(this: unknown, id: number): string })._rid.call(
                { _parent: { read: () => ({ _rid: template.container_rid }) } },
                n,
            );
        const insert = database.prepare<[string, string, number, string]>(
            'INSERT OR REPLACE INTO cosmos_documents (container_rid, rid, lsn, body) VALUES (?, ?, ?, ?)',
        );
        const nowSeconds = Math.floor(Date.now() / 1000);
        const lastWindowEnd = Math.floor(nowSeconds / WINDOW_SECONDS) * WINDOW_SECONDS;
        let n = 0;
        database.transaction(() => {
            database.prepare('DELETE FROM cosmos_documents').run();
            for (let w = 0; w < windows; w++) {
                const windowEndSeconds = lastWindowEnd - (windows - 1 - w) * WINDOW_SECONDS;
                const windowEnd = new Date(windowEndSeconds * 1000).toISOString();
                for (const letter of BUCKETS) {
                    n += 1;
                    const rid = ridOf(n);
                    const body = {
                        id: `${windowEndSeconds}-${letter}`,
                        windowEnd,
                        letter,
                        count: n % 40,
                        _etag: randomUUID(),
                        _rid: rid,
                        _self: `${containerSelf}docs/${rid}/`,
                        // Written a few seconds after the window closed, as the job's output is.
                        _ts: windowEndSeconds + 5,
                        _lsn: n,
                    };
                    insert.run(template.container_rid, rid, n, JSON.stringify(body));
                }
            }
            database
                .prepare<[number, string]>('UPDATE cosmos_containers SET document_rid_count = ? WHERE rid = ?')
                .run(n, template.container_rid);
        })();
        return n;
    } finally {
        state.close();
    }
}

interface CosmosChildResult {
    documents: number;
    openStoreMs: number;
    startMs: number;
    startMaxBlockMs: number;
    rssBytes: number;
    heapUsedBytes: number;
    dashboardMs: number;
    dashboardMaxBlockMs: number;
    dashboardRows: number;
    feedPollMs: number;
    feedPollMaxBlockMs: number;
    firstWriteMs: number;
    windowWriteMs: number;
    feedPollAfterWriteMs: number;
    feedPollAfterWriteRows: number;
    sweepMs: number;
    sweepMaxBlockMs: number;
    sweepDeleted: number;
    dashboardAgainMs: number;
    dashboardAgainMaxBlockMs: number;
    sweepAgainMs: number;
    sweepAgainMaxBlockMs: number;
    sweepAgainDeleted: number;
    databaseBytes: number;
}

async function cosmosChild(directory: string): Promise<CosmosChildResult> {
    const open = await measured(() => StateStore.open({ directory, components: [COSMOS_STATE_COMPONENT] }));
    const state = open.result;
    const start = await measured(() => startLocalCosmos({ port: 0, state }));
    const cosmos = start.result;
    const client = createLocalCosmosClient(cosmos.connectionString, { ca: cosmos.ca });
    try {
        collectGarbage();
        const memory = process.memoryUsage();
        const container = client.database(RESOURCES.databaseName).container('letter-counts');
        const dashboard = await measured(() => container.items.query(RECENT_LETTER_COUNTS_QUERY).fetchAll());
        // The change-feed trigger's steady state: a poll from its lease's position at the end of the feed (a 304).
        const reader = new ChangeFeedReader(container, 100);
        await reader.open({ kind: 'continuation', etag: `"${cosmos.loaded?.highestLsn ?? 0}"` });
        const poll = await measured(() => reader.poll());
        // The next window: its first write also lifts the change sequence above the loaded documents (changeSequence.ts).
        const windowEnd = new Date(Math.ceil(Date.now() / 30_000) * 30_000 + 30_000);
        const write = (letter: string) =>
            container.items.upsert({
                id: `${windowEnd.getTime() / 1000}-${letter}`,
                windowEnd: windowEnd.toISOString(),
                letter,
                count: 1,
            });
        const firstWrite = await measured(() => write(BUCKETS[0]!));
        const windowWrite = await measured(() => Promise.all(BUCKETS.slice(1).map(write)));
        const pollAfterWrite = await measured(() => reader.poll());
        const sweeper = startTtlSweeper({
            client,
            databaseName: RESOURCES.databaseName,
            containerName: 'letter-counts',
            intervalMs: 3_600_000,
            clock: { now: () => new Date() } satisfies Clock,
        });
        const sweep = await measured(() => sweeper.sweepOnce());
        // The steady state: the next sweep (the first one also builds the expiry index, expiryIndex.ts) and backfill.
        const sweepAgain = await measured(() => sweeper.sweepOnce());
        await sweeper.stop();
        const dashboardAgain = await measured(() => container.items.query(RECENT_LETTER_COUNTS_QUERY).fetchAll());
        return {
            documents: cosmos.loaded?.documents ?? 0,
            openStoreMs: open.ms,
            startMs: start.ms,
            startMaxBlockMs: start.maxBlockMs,
            rssBytes: memory.rss,
            heapUsedBytes: memory.heapUsed,
            dashboardMs: dashboard.ms,
            dashboardMaxBlockMs: dashboard.maxBlockMs,
            dashboardRows: dashboard.result.resources.length,
            feedPollMs: poll.ms,
            feedPollMaxBlockMs: poll.maxBlockMs,
            firstWriteMs: firstWrite.ms,
            windowWriteMs: windowWrite.ms,
            feedPollAfterWriteMs: pollAfterWrite.ms,
            feedPollAfterWriteRows: pollAfterWrite.result.documents.length,
            sweepMs: sweep.ms,
            sweepMaxBlockMs: sweep.maxBlockMs,
            sweepDeleted: sweep.result.length,
            dashboardAgainMs: dashboardAgain.ms,
            dashboardAgainMaxBlockMs: dashboardAgain.maxBlockMs,
            sweepAgainMs: sweepAgain.ms,
            sweepAgainMaxBlockMs: sweepAgain.maxBlockMs,
            sweepAgainDeleted: sweepAgain.result.length,
            databaseBytes: fileSize(path.join(directory, STATE_DATABASE_FILE)),
        };
    } finally {
        client.dispose();
        await cosmos.close();
        state.close();
    }
}

// ---------- (B) Event Hubs ----------

/** Sends 4 x perPartition events of the fan-out's shape, 1,000 per send, enqueued 5,000 a second; returns the last enqueued time. */
function buildEventHubFolder(directory: string, perPartition: number): number {
    const state = StateStore.open({ directory, components: [EVENT_HUBS_STATE_COMPONENT] });
    let nowMs = Date.parse('2026-11-01T00:00:00Z');
    const clock: Clock = { now: () => new Date(nowMs) };
    const hub = new LocalEventHub({ ...HUB, clock, store: new SqliteEventHubStore(state, HUB.name) });
    try {
        const total = perPartition * HUB.partitionCount;
        const perSend = 1_000;
        const messageId = randomUUID();
        for (let sent = 0; sent < total; sent += perSend) {
            const events = [];
            for (let i = 0; i < perSend && sent + i < total; i++) {
                const letter = BUCKETS[(sent + i) % 26]!;
                events.push({
                    body: {
                        eventId: `${messageId}:${sent + i}`,
                        messageId,
                        name: `${letter}da Lovelace`,
                        letter,
                        generatedAt: new Date(nowMs).toISOString(),
                    },
                });
            }
            hub.send(events);
            nowMs += 200; // 1,000 events per 200 ms: 5,000 names/s
        }
        return nowMs;
    } finally {
        hub.close();
        state.close();
    }
}

interface EventHubChildResult {
    openStoreMs: number;
    openStoreMaxBlockMs: number;
    startMs: number;
    startMaxBlockMs: number;
    retainedEvents: number;
    deletesMs: number;
    deletesMaxBlockMs: number;
    databaseBytes: number;
    walBytes: number;
    closeMs: number;
}

async function eventHubChild(directory: string, nowMs: number): Promise<EventHubChildResult> {
    const open = await measured(() => StateStore.open({ directory, components: [EVENT_HUBS_STATE_COMPONENT] }));
    const state = open.result;
    const clock: Clock = { now: () => new Date(nowMs) };
    const start = await measured(
        () => new LocalEventHub({ ...HUB, clock, store: new SqliteEventHubStore(state, HUB.name) }),
    );
    const hub = start.result;
    const retainedEvents = hub.partitionIds.reduce(
        (sum, id) => sum + hub.getPartitionProperties(id).lastEnqueuedSequenceNumber + 1 - beginningOf(hub, id),
        0,
    );
    // Rows the start trimmed are deleted in chunks between turns of the event loop (sqliteEventHubStore.ts): wait
    // for the last, as the running runtime would, measuring how long the loop is held meanwhile.
    const firstStored = state.database.prepare<[string, string], { first: number | null }>(
        'SELECT MIN(sequence_number) AS first FROM eventhub_events WHERE event_hub = ? AND partition_id = ?',
    );
    const deletes = await measured(async () => {
        while (
            hub.partitionIds.some((id) => {
                const first = firstStored.get(HUB.name, id)?.first ?? null;
                return first !== null && first < beginningOf(hub, id);
            })
        ) {
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
    });
    const walBytes = fileSize(path.join(directory, `${STATE_DATABASE_FILE}-wal`));
    const closeStart = performance.now();
    hub.close();
    state.close();
    return {
        openStoreMs: open.ms,
        openStoreMaxBlockMs: open.maxBlockMs,
        startMs: start.ms,
        startMaxBlockMs: start.maxBlockMs,
        retainedEvents,
        deletesMs: deletes.ms,
        deletesMaxBlockMs: deletes.maxBlockMs,
        databaseBytes: fileSize(path.join(directory, STATE_DATABASE_FILE)),
        walBytes,
        closeMs: performance.now() - closeStart,
    };
}

function beginningOf(hub: LocalEventHub, partitionId: string): number {
    const properties = hub.getPartitionProperties(partitionId);
    return properties.isEmpty ? properties.lastEnqueuedSequenceNumber + 1 : properties.beginningSequenceNumber;
}

// ---------- driver ----------

/** Runs this file as a child (same loader) with `childArgs`; resolves with the result line it prints. */
function runChild<T>(childArgs: string[]): Promise<T> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [...process.execArgv, __filename, ...childArgs], {
            stdio: ['ignore', 'pipe', 'inherit'],
        });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.on('error', reject);
        child.on('close', (code) => {
            const line = output.split('\n').find((one) => one.startsWith(CHILD_RESULT));
            if (line === undefined)
                reject(new Error(`the child ${childArgs.join(' ')} exited with ${code}:\n${output}`));
            else resolve(JSON.parse(line.slice(CHILD_RESULT.length)) as T);
        });
    });
}

function machine(): string {
    return (
        `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, ${mb(os.totalmem())} RAM, ` +
        `node ${process.version}, ${os.platform()} ${os.release()}, load average ` +
        `${os
            .loadavg()
            .map((v) => v.toFixed(1))
            .join(' ')}, folders on ${os.tmpdir()}, ${new Date().toISOString()}`
    );
}

async function partA(windows: number): Promise<void> {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'long-run-cosmos-empty-'));
    const full = mkdtempSync(path.join(os.tmpdir(), 'long-run-cosmos-week-'));
    try {
        await buildCosmosFolder(empty, 0);
        const build = performance.now();
        const documents = await buildCosmosFolder(full, windows);
        console.log(
            `(A) built ${documents.toLocaleString('en-US')} documents in ${seconds(performance.now() - build)}`,
        );
        const results = [
            await runChild<CosmosChildResult>(['--child-cosmos', empty]),
            await runChild<CosmosChildResult>(['--child-cosmos', full]),
        ];
        const row = (label: string, value: (r: CosmosChildResult) => string) => ({
            measure: label,
            'no documents': value(results[0]!),
            'a week of windows': value(results[1]!),
        });
        const timed = (ms: number, block: number) => `${seconds(ms)} (block ${seconds(block)})`;
        console.log('(A) Cosmos DB letter-counts container, each column a fresh child process:');
        console.table([
            row('documents loaded', (r) => r.documents.toLocaleString('en-US')),
            row('namestream.db', (r) => mb(r.databaseBytes)),
            row('StateStore.open (quick_check)', (r) => seconds(r.openStoreMs)),
            row('startLocalCosmos (loads documents)', (r) => timed(r.startMs, r.startMaxBlockMs)),
            row('RSS after start, after GC', (r) => mb(r.rssBytes)),
            row('JS heap used after start, after GC', (r) => mb(r.heapUsedBytes)),
            row(
                'dashboard backfill (TOP 1620 ORDER BY)',
                (r) => `${timed(r.dashboardMs, r.dashboardMaxBlockMs)}, ${r.dashboardRows} rows`,
            ),
            row('change-feed poll at the end (304)', (r) => timed(r.feedPollMs, r.feedPollMaxBlockMs)),
            row('first upsert after the start', (r) => seconds(r.firstWriteMs)),
            row('26 more upserts (rest of a window)', (r) => seconds(r.windowWriteMs)),
            row(
                'change-feed poll after the window',
                (r) => `${seconds(r.feedPollAfterWriteMs)}, ${r.feedPollAfterWriteRows} documents`,
            ),
            row('TTL sweep', (r) => `${timed(r.sweepMs, r.sweepMaxBlockMs)}, ${r.sweepDeleted} deleted`),
            row(
                'the next TTL sweep',
                (r) => `${timed(r.sweepAgainMs, r.sweepAgainMaxBlockMs)}, ${r.sweepAgainDeleted} deleted`,
            ),
            row('the next dashboard backfill', (r) => timed(r.dashboardAgainMs, r.dashboardAgainMaxBlockMs)),
        ]);
    } finally {
        rmSync(empty, { recursive: true, force: true });
        rmSync(full, { recursive: true, force: true });
    }
}

async function partB(perPartition: number): Promise<void> {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'long-run-eventhubs-'));
    try {
        const build = performance.now();
        const lastMs = buildEventHubFolder(directory, perPartition);
        console.log(
            `(B) built ${(perPartition * HUB.partitionCount).toLocaleString('en-US')} events ` +
                `(${perPartition.toLocaleString('en-US')} per partition) in ${seconds(performance.now() - build)}`,
        );
        // Within retention first (it deletes nothing), then past it on the same folder.
        const within = await runChild<EventHubChildResult>(['--child-eventhubs', directory, String(lastMs + 60_000)]);
        const past = await runChild<EventHubChildResult>([
            '--child-eventhubs',
            directory,
            String(lastMs + DAY_MS + 3_600_000),
        ]);
        const row = (label: string, value: (r: EventHubChildResult) => string) => ({
            measure: label,
            'within retention (1 min later)': value(within),
            'past retention (25 h later)': value(past),
        });
        console.log('(B) Event Hubs start on the stored log, each column a fresh child process:');
        console.table([
            row(
                'StateStore.open (quick_check)',
                (r) => `${seconds(r.openStoreMs)} (block ${seconds(r.openStoreMaxBlockMs)})`,
            ),
            row('new LocalEventHub (start)', (r) => `${seconds(r.startMs)} (block ${seconds(r.startMaxBlockMs)})`),
            row('events retained after the start', (r) => r.retainedEvents.toLocaleString('en-US')),
            row(
                'then deleting the trimmed rows, in the background',
                (r) => `${seconds(r.deletesMs)} (block ${seconds(r.deletesMaxBlockMs)})`,
            ),
            row('namestream.db after the start', (r) => mb(r.databaseBytes)),
            row('namestream.db-wal after the start', (r) => mb(r.walBytes)),
            row('close (checkpoint)', (r) => seconds(r.closeMs)),
        ]);
    } finally {
        rmSync(directory, { recursive: true, force: true });
    }
}

async function main(): Promise<void> {
    if (args[0] === '--child-cosmos') {
        console.log(CHILD_RESULT + JSON.stringify(await cosmosChild(args[1]!)));
        return;
    }
    if (args[0] === '--child-eventhubs') {
        console.log(CHILD_RESULT + JSON.stringify(await eventHubChild(args[1]!, Number(args[2]))));
        return;
    }
    const part = option('--part', 'both');
    console.log(machine());
    if (part === 'a' || part === 'both') await partA(Number(option('--windows', String(7 * 2880 + 2))));
    if (part === 'b' || part === 'both') await partB(Number(option('--events-per-partition', '1000000')));
    console.log(machine());
}

void main();
