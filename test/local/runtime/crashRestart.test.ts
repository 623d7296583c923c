import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, describe, expect, it } from 'vitest';

import { systemClock } from '../../../domain/clock';
import { windowEndFor } from '../../../domain/letterCounts/letterCountDocument';
import { recountWindows } from '../../../domain/letterCounts/recount';
import { createNewNamesMessage } from '../../../domain/messages/createNewNamesMessage';
import type { NewNamesMessage } from '../../../domain/messages/newNamesMessage';
import { createRandomSource } from '../../../domain/random';
import { readRawMessagesSince } from '../../../functions/shared/rawNamesBlobs';
import { createLocalCosmosClient } from '../../../local/cosmos';

/**
 * Crash safety (issue 14, item 2): the whole runtime, as `npm start` runs it on a state folder, is killed with
 * SIGKILL at seeded random moments under load, CRASH_KILLS times (default 20), and restarted on the same folder
 * each time; then it settles and the test checks, against outside clients (the official Service Bus, Blob and
 * Cosmos DB SDKs):
 *
 * (a) nothing acknowledged is lost: every message whose send an `@azure/service-bus` sender saw accepted, and every
 *     message of the timer's own whose invocation succeeded, has its raw-names blob (it was processed), or is still
 *     in the queue, or is in its dead-letter queue (reported);
 * (b) the Cosmos DB counts equal, per window and letter, the recount of the raw-names blobs (domain/letterCounts/
 *     recount.ts, the same derivation `npm run recount` uses), exactly, for every window up to the one in which
 *     the final run drained the queue;
 * (c) the change feed resumed from its lease: (c1) every count document of those windows, at the version stored at
 *     the end (its `_lsn`), reached broadcastLetterCounts; (c2) after each restart, the only versions delivered
 *     again are those of the last batch the killed run received (at-least-once: a kill between the handler and
 *     the checkpoint), never earlier ones, so the feed neither restarted from the beginning nor lost its place;
 * (d) no restart fails: each start reaches "ready", or the test shows what it printed; and a copy of the folder
 *     with its write-ahead log and Azurite's metadata torn, as a kill in mid-write leaves them, starts, or is
 *     refused with a StateCorruptError naming the file, the same way twice (never a crash loop).
 *
 * CRASH_SEED replays a run (kill moments, the torn copy's round, the producer's names; on a machine of another speed
 * the age budget, see toleranceFor, may move a startup kill after ready or hold a kill back); the seed is printed.
 */
const KILLS = Number(process.env.CRASH_KILLS ?? 20);
const SEED = Number(process.env.CRASH_SEED ?? randomInt(2 ** 31));
const WINDOW_SECONDS = 2;
/** One kill in this many lands while the runtime is still starting (opening, migrating, loading its state). */
const STARTUP_KILL_ODDS = 4;
/** At most this many kills during startup in a row. */
const STARTUP_KILLS_IN_A_ROW = 2;

/*
 * The job's event-ordering tolerances (late arrival and out of order, the same value, seconds) must exceed the age a
 * name has when it reaches the Event Hub. A message a kill leaves in the queue is fanned out only after a restart
 * comes up and drains the queue, so its names reach the hub as old as the time since they were queued: the downtime,
 * plus however long they had already waited (a run killed soon after ready may not have drained the backlog of the
 * one before). Older than the late-arrival tolerance they are late; behind the fresh names the timer sends to the
 * same partition by more than the out-of-order tolerance they are out of order (and right after a restart an idle
 * partition's watermark is already now minus the late-arrival tolerance). The Drop policy leaves either out of the
 * live counts, the recount's job, which this test must not lean on: (b) would fail. Windows close a tolerance after
 * their end, which the final wait pays once, so the tolerance is also the test's cost.
 *
 * Deriving it once from a measured first start (eight starts, at least 30 s) failed both ways: at a load average of
 * 6-7 two startup kills and a 17-20 s restart added up to more than 33 s, and a first start measured while other
 * test files were starting (7.7 s) gave 67 s and a 268 s run. So the age is bounded, not guessed:
 *
 * - The fixture reports, every 200 ms, since when the oldest message still in the queue waits; the test keeps that
 *   age (as the last run that was up left it) as `pendingSince`.
 * - The tolerance starts at TOLERANCE_FLOOR_SECONDS and is passed to each start (the job's settings are job
 *   configuration, read at every start, as an Azure job's are when it is stopped and started). Before each spawn it
 *   is raised, never lowered, to the slowest restart seen so far times RESTART_MARGIN, plus DRAIN_MS and
 *   AGE_ALLOWANCE_MS, up to TOLERANCE_CAP_SECONDS. Raising is safe: a restart rebuilds the windows from its last
 *   output time with the new settings, and a larger tolerance admits every event a smaller one admitted. Lowering
 *   would not be: the window rewritten at the last output time could lose names the earlier run had counted.
 * - A kill during startup is made only while the queued names' age, the moment of that kill and what the next
 *   restart needs (the slowest restart times RESTART_MARGIN, then DRAIN_MS) fit in the tolerance; otherwise that
 *   round's kill lands after ready instead (still a kill: the count of kills is unchanged).
 * - A run that is up is killed at its random moment only if the queued names are then young enough for the next
 *   restart; otherwise the kill waits until they are (the run drains its backlog), or until the queue has just been
 *   empty when the cap leaves no more room, at most 60 s.
 * - The torn copy is taken at its round (a file copy) but started only after the final checks' data is read, so its
 *   two starts do not add to the age either.
 *
 * On a quiet machine (3 s starts) none of this bites and the tolerance stays at the floor. On a loaded one startup
 * kills become rarer and some kills wait for a drain, rather than names falling to the Drop policy; the tolerance
 * grows only with restarts actually seen, and at most to the cap. What remains is a single restart slower than the
 * cap allows (about 25 s): the summary prints the queued names' age at each ready against the tolerance, so a
 * failure of (b) on a machine that slow reads as such.
 */
const TOLERANCE_FLOOR_SECONDS = 30;
const TOLERANCE_CAP_SECONDS = 45;
/** The next restart may be this much slower than the slowest one seen (load varies during the run). */
const RESTART_MARGIN = 1.5;
/** From ready until the fan-out has taken the queue's backlog to the hub. */
const DRAIN_MS = 8_000;
/** How old the queued names may be at a kill, beyond what the next restart needs. */
const AGE_ALLOWANCE_MS = 5_000;
function toleranceFor(slowestRestartMs: number, current: number): number {
    const needed = Math.ceil((slowestRestartMs * RESTART_MARGIN + DRAIN_MS + AGE_ALLOWANCE_MS) / 1000);
    return Math.min(TOLERANCE_CAP_SECONDS, Math.max(current, needed));
}
const fixture = path.join(__dirname, 'fixtures', 'crashRuntime.ts');
/** CRASH_VERBOSE=1 prints each step as it happens (vitest shows console output only at the end). */
const progress = (line: string) => {
    if (process.env.CRASH_VERBOSE) process.stderr.write(`[crash test ${new Date().toISOString()}] ${line}\n`);
};

type Line =
    | {
          type: 'ready';
          pid: number;
          importMs: number;
          startMs: number;
          processMs: number;
          blob: string;
          serviceBus: string;
          cosmos: string;
          cosmosCa: string;
      }
    | { type: 'accepted'; id: string }
    | { type: 'feed'; documents: FeedDocument[] }
    | {
          type: 'status';
          active: number;
          locked: number;
          deadLetters: number;
          pendingSince: number;
          newestWindowEnd: number;
      }
    | { type: 'log'; line: string };
type Ready = Extract<Line, { type: 'ready' }>;
type Status = Extract<Line, { type: 'status' }>;
interface FeedDocument {
    id: string;
    count: number;
    lsn: number;
}

interface Child {
    process: ChildProcess;
    ready: Promise<Ready>;
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
    feed: FeedDocument[][];
    accepted: string[];
    /** Warnings and errors the runtime logged, as npm start prints them. */
    logs: string[];
    status(): Status | undefined;
}

interface Round {
    round: number;
    killedAtMs: number;
    /** Spawn to ready; undefined when the kill came first. */
    readyMs: number | undefined;
    importMs: number | undefined;
    startMs: number | undefined;
    sent: number;
    /** The job's tolerances this start ran with, seconds. */
    tolerance: number;
    /** How long the oldest queued message had waited when this start came up, ms (see toleranceFor). */
    queuedAgeAtReadyMs: number | undefined;
    /** How long the kill waited past its moment for the queue to be young enough, ms. */
    heldBackMs: number;
}

describe('crash safety: SIGKILL under load, restart on the same folder', () => {
    const stateDirectory = mkdtempSync(path.join(tmpdir(), 'crash-state-'));
    const scratch: string[] = [];
    const children: ChildProcess[] = [];
    let tolerance = TOLERANCE_FLOOR_SECONDS;
    afterAll(() => {
        children.forEach((child) => child.kill('SIGKILL'));
        for (const folder of [stateDirectory, ...scratch]) {
            rmSync(folder, { recursive: true, force: true });
        }
    });

    function startChild(directory: string, mode?: 'probe'): Child {
        const child = spawn(
            process.execPath,
            [
                '--import',
                'tsx',
                fixture,
                directory,
                JSON.stringify({
                    windowSeconds: WINDOW_SECONDS,
                    lateArrivalSeconds: tolerance,
                    outOfOrderSeconds: tolerance,
                }),
                ...(mode ? [mode] : []),
            ],
            { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        children.push(child);
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
            child.once('exit', (code, signal) => resolve({ code, signal, stderr })),
        );
        const feed: FeedDocument[][] = [];
        const accepted: string[] = [];
        const logs: string[] = [];
        let status: Status | undefined;
        let resolveReady!: (ready: Ready) => void;
        const ready = new Promise<Ready>((resolve, reject) => {
            resolveReady = resolve;
            void exited.then(({ code, signal }) =>
                reject(new Error(`runtime exited before it was up (${code ?? signal}):\n${stderr}`)),
            );
        });
        ready.catch(() => undefined);
        let pending = '';
        child.stdout.on('data', (chunk: Buffer) => {
            pending += chunk.toString();
            const lines = pending.split('\n');
            pending = lines.pop()!;
            for (const text of lines) {
                const line = JSON.parse(text) as Line;
                if (line.type === 'ready') resolveReady(line);
                else if (line.type === 'accepted') accepted.push(line.id);
                else if (line.type === 'feed') feed.push(line.documents);
                else if (line.type === 'log') logs.push(line.line);
                else status = line;
            }
        });
        return { process: child, ready, exited, feed, accepted, logs, status: () => status };
    }

    /** Sends seeded messages, 5 per send, through the official SDK until stopped; keeps those acknowledged. */
    function produce(
        connection: string,
        random: ReturnType<typeof createRandomSource>,
        accepted: Map<string, NewNamesMessage>,
    ) {
        let stopped = false;
        let sent = 0;
        const client = new ServiceBusClient(connection, { retryOptions: { maxRetries: 0, timeoutInMs: 5000 } });
        const sender = client.createSender('newnames-queue');
        const running = (async () => {
            while (!stopped) {
                const batch = Array.from({ length: 5 }, () =>
                    createNewNamesMessage({ clock: systemClock, random, namesPerMessage: { min: 4, max: 10 } }),
                );
                try {
                    await sender.sendMessages(batch.map((body) => ({ body, contentType: 'application/json' })));
                    batch.forEach((message) => accepted.set(message.id, message));
                    sent += batch.length;
                } catch {
                    // Cut off by the kill: not acknowledged, so not expected to survive (it may, which is fine).
                }
                // About 20 messages (140 names) a second: well under what even a loaded machine processes, so the
                // queue drains within each run and no message waits longer than the downtime the tolerances cover.
                // Faster, a backlog carried over several runs would outgrow them, and late names would be dropped.
                await delay(250);
            }
        })();
        return {
            sent: () => sent,
            stop: async () => {
                stopped = true;
                await running;
                // The connection's peer is dead: do not wait for a graceful close.
                await Promise.race([client.close().catch(() => undefined), delay(1000)]);
            },
        };
    }

    it(
        `loses nothing through ${KILLS} SIGKILLs at random moments, and the counts and change feed pick up where they were`,
        // Far above the time it takes (about 90 s for 20 kills on 2 idle cores): a loaded machine starts slower.
        { timeout: 180_000 + KILLS * 30_000 },
        async () => {
            console.log(`crash test: seed ${SEED} (replay with CRASH_SEED=${SEED}), ${KILLS} kills`);
            const random = createRandomSource(SEED);
            const produced = new Map<string, NewNamesMessage>();
            const timerAccepted = new Set<string>();
            const logged: string[] = [];
            const deliveries: FeedDocument[][][] = [];
            const rounds: Round[] = [];
            const tornRound = random.nextInt(Math.min(3, KILLS), KILLS);
            let tornCopy: string | undefined;
            // The slowest spawn-to-ready seen so far, and the last one (the range of a startup kill's moment).
            let slowestRestartMs = 0;
            let lastStartMs = 0;
            // Epoch ms at or before which every name still in the queue was generated (see toleranceFor): from the
            // last status of the last run that was up; undefined before any message.
            let pendingSince: number | undefined;
            const ageAtReady: number[] = [];
            const startupKillsDeferred: number[] = [];
            const drainWaits: number[] = [];
            let startupKillsInARow = 0;
            const stopping: Array<Promise<void>> = [];
            const ageMs = (since = pendingSince) => (since === undefined ? 0 : Date.now() - since);
            /** What the next restart needs of the tolerance, ms: the slowest restart with margin, then the drain. */
            const restartNeedMs = () => slowestRestartMs * RESTART_MARGIN + DRAIN_MS;
            const beforeSpawn = () => (tolerance = toleranceFor(slowestRestartMs, tolerance));
            const cameUp = (readyMs: number): number | undefined => {
                slowestRestartMs = Math.max(slowestRestartMs, readyMs);
                lastStartMs = readyMs;
                // How old the oldest queued name was when the runtime could take it to the hub again.
                if (pendingSince === undefined) return undefined;
                ageAtReady.push(ageMs());
                return Math.round(ageMs());
            };

            for (let round = 1; round <= KILLS; round += 1) {
                // Drawn every round, in this order, so CRASH_SEED replays them whatever the budget below decides.
                const drawnStartupKill = random.nextInt(1, STARTUP_KILL_ODDS) === 1;
                const runFor = random.nextInt(300, 2500);
                const startupKillAt = random.nextInt(0, Math.round(lastStartMs));
                beforeSpawn();
                // A startup kill only while the queued names' age it extends still fits in the tolerance (see
                // toleranceFor); never in round 1, before a start has been measured.
                const mayKillInStartup = drawnStartupKill && round > 1 && startupKillsInARow < STARTUP_KILLS_IN_A_ROW;
                const fits = ageMs() + startupKillAt + restartNeedMs() <= tolerance * 1000;
                const duringStartup = mayKillInStartup && fits;
                if (mayKillInStartup && !fits) startupKillsDeferred.push(round);
                const spawnedAt = performance.now();
                const child = startChild(stateDirectory);
                let producer: ReturnType<typeof produce> | undefined;
                let readyMs: number | undefined;
                let ready: Ready | undefined;
                let queuedAgeAtReadyMs: number | undefined;
                let heldBackMs = 0;
                if (duringStartup) {
                    const outcome = await Promise.race([child.ready, delay(startupKillAt)]);
                    if (outcome !== undefined) {
                        ready = outcome;
                        readyMs = performance.now() - spawnedAt;
                        queuedAgeAtReadyMs = cameUp(readyMs);
                    }
                } else {
                    ready = await child.ready.catch(async () => {
                        const { code, signal, stderr } = await child.exited;
                        throw new Error(
                            `(d) restart ${round} failed (exit ${code ?? signal}): ${stderr.trim() || '(nothing printed)'}`,
                        );
                    });
                    readyMs = performance.now() - spawnedAt;
                    queuedAgeAtReadyMs = cameUp(readyMs);
                    producer = produce(ready.serviceBus, random, produced);
                    await delay(runFor);
                    // Kill only once the queued names are young enough for the next restart to bring them to the
                    // hub within the tolerance, or the queue has just drained (when the cap leaves no more room).
                    const waitStarted = performance.now();
                    const queuedAge = () => ageMs(child.status()?.pendingSince ?? pendingSince);
                    while (
                        queuedAge() + restartNeedMs() > tolerance * 1000 &&
                        queuedAge() > 1000 &&
                        performance.now() - waitStarted < 60_000
                    ) {
                        await delay(100);
                    }
                    heldBackMs = Math.round(performance.now() - waitStarted);
                    if (heldBackMs > 150) drainWaits.push(heldBackMs);
                }
                startupKillsInARow = ready === undefined ? startupKillsInARow + 1 : 0;
                const killedAtMs = performance.now() - spawnedAt;
                child.process.kill('SIGKILL');
                if (ready !== undefined) pendingSince = child.status()?.pendingSince ?? pendingSince ?? Date.now();
                const exit = await child.exited;
                // (d) The child died of the kill, not on its own before it.
                expect({ round, exit: exit.signal ?? exit.code, stderr: exit.stderr }).toEqual({
                    round,
                    exit: 'SIGKILL',
                    stderr: '',
                });
                // Not awaited here: a send in flight to the killed peer can hang for a minute, and the queue's names
                // would age by that before the next start (a 68 s gap was seen). It cannot be acknowledged any more
                // (its peer is dead, and the next start listens elsewhere); the stops are awaited before the checks.
                if (producer !== undefined) stopping.push(producer.stop());
                child.accepted.forEach((id) => timerAccepted.add(id));
                logged.push(...child.logs);
                deliveries.push(child.feed);
                rounds.push({
                    round,
                    killedAtMs: Math.round(killedAtMs),
                    readyMs: readyMs === undefined ? undefined : Math.round(readyMs),
                    importMs: ready?.importMs,
                    startMs: ready?.startMs,
                    sent: producer?.sent() ?? 0,
                    tolerance,
                    queuedAgeAtReadyMs,
                    heldBackMs,
                });

                progress(`round ${round}: ${JSON.stringify(rounds.at(-1))}`);
                if (round === tornRound) {
                    // Only the copy now (a second or less): its starts come after the final run (see toleranceFor).
                    tornCopy = tearCopy();
                }
            }

            // The last start: no more kills. Let the queue drain, then the job write past the window it drained in.
            beforeSpawn();
            const finalSpawnedAt = performance.now();
            const final = startChild(stateDirectory);
            const finalReady = await final.ready;
            cameUp(performance.now() - finalSpawnedAt);
            progress('final run ready');
            const drained = await waitFor(
                () => {
                    const status = final.status();
                    return status !== undefined && status.active + status.locked === 0 ? status : undefined;
                },
                60_000,
                'the queue to drain after the last restart',
            );
            const cutoff = windowEndFor(new Date(), WINDOW_SECONDS).getTime();
            progress(`drained: ${JSON.stringify(drained)}`);
            await waitFor(
                () => (final.status()!.newestWindowEnd > cutoff ? true : undefined),
                (tolerance + 30) * 1000,
                `the job to write a window after ${new Date(cutoff).toISOString()}`,
            );

            const cosmos = createLocalCosmosClient(finalReady.cosmos, { ca: finalReady.cosmosCa })
                .database('namestream')
                .container('letter-counts');
            const storedUpToCutoff = async () =>
                (
                    await cosmos.items
                        .query<{ id: string; windowEnd: string; count: number; _lsn: number }>(
                            'SELECT c.id, c.windowEnd, c["count"], c._lsn FROM c',
                        )
                        .fetchAll()
                ).resources.filter((document) => Date.parse(document.windowEnd) <= cutoff);
            const delivered = () => new Set([...deliveries, final.feed].flat(2).map(({ id, lsn }) => `${id}@${lsn}`));
            // The feed polls every few seconds: give it time to bring the last windows to the trigger.
            await waitFor(
                async () => {
                    const seen = delivered();
                    const stored = await storedUpToCutoff();
                    return stored.every((document) => seen.has(`${document.id}@${document._lsn}`)) ? true : undefined;
                },
                15_000,
                'the change feed to deliver the stored documents',
            ).catch(() => undefined);
            final.accepted.forEach((id) => timerAccepted.add(id));
            logged.push(...final.logs);
            progress('collecting');

            await Promise.all(stopping);
            const rawMessages = await readRawMessagesSince(
                BlobServiceClient.fromConnectionString(finalReady.blob).getContainerClient('raw-names'),
                new Date(0),
            );
            const queued = await peekEverything(finalReady.serviceBus);
            const stored = await storedUpToCutoff();
            const seen = delivered();
            final.process.kill('SIGKILL');
            await final.exited;
            const tornProbe = tornCopy === undefined ? undefined : await probeTornCopy(tornCopy);

            const restartTimes = rounds.flatMap((r) => (r.readyMs === undefined ? [] : [r.readyMs]));
            console.log(
                [
                    `crash test: seed ${SEED}; ${rounds.length} kills, ${rounds.filter((r) => r.readyMs === undefined).length} of them during startup (${startupKillsDeferred.length} drawn ones made after ready instead, to keep the downtime within the tolerance${startupKillsDeferred.length > 0 ? `: rounds ${startupKillsDeferred.join(', ')}` : ''})`,
                    `  job tolerances ${[...new Set(rounds.map((r) => r.tolerance))].join(' -> ')} s (final ${tolerance} s; floor ${TOLERANCE_FLOOR_SECONDS}, cap ${TOLERANCE_CAP_SECONDS}); age of the oldest queued name at a restart's ready ms: ${summary(ageAtReady.map(Math.round))}${Math.max(0, ...ageAtReady) + DRAIN_MS > tolerance * 1000 ? ' (over the tolerance less the drain: names may have been dropped as late if that message was fanned out then)' : ''}; kills held back until the queue was young enough: ${drainWaits.length} (${summary(drainWaits.map(Math.round))})`,
                    `  restart (spawn to ready) ms: ${summary(restartTimes)}; of which module loading ${summary(rounds.flatMap((r) => (r.importMs === undefined ? [] : [r.importMs])))}, startLocalRuntime ${summary(rounds.flatMap((r) => (r.startMs === undefined ? [] : [r.startMs])))}`,
                    `  queued age at ready, ms, per round: ${rounds.map((r) => r.queuedAgeAtReadyMs ?? '-').join(', ')}`,
                    `  kill moments (ms after spawn): ${rounds.map((r) => `${r.killedAtMs}${r.readyMs === undefined ? '*' : ''}`).join(', ')} (* = before ready)`,
                    `  producer: ${produced.size} messages acknowledged; timer: ${timerAccepted.size}; raw-names blobs ${rawMessages.length}; queued ${queued.active.length}, dead-lettered ${queued.deadLetters.length}${queued.deadLetters.length > 0 ? ` (${queued.deadLetters.map((m) => `${String(m.id)}: ${m.reason}`).join('; ')})` : ''}`,
                    `  drained at status ${JSON.stringify(drained)}; windows compared up to ${new Date(cutoff).toISOString()}: ${stored.length} documents`,
                    `  torn copy (round ${tornRound}): ${tornProbe ?? 'not run'}`,
                    `  ${logged.length} warnings and errors logged${
                        logged.length > 0
                            ? `, distinct first lines: ${[
                                  ...new Set(
                                      logged.map((line) =>
                                          line
                                              .split('\n')[0]!
                                              .replace(/[0-9a-f-]{36}/g, '<id>')
                                              .replace(/\d+/g, 'N'),
                                      ),
                                  ),
                              ]
                                  .slice(0, 8)
                                  .join(' | ')}`
                            : ''
                    }`,
                ].join('\n'),
            );

            // Soft: each property is reported even when another fails.
            // (a) Every acknowledged message is processed (its blob) or still queued or dead-lettered.
            const blobIds = new Set(rawMessages.map((message) => (message as { id?: unknown }).id));
            const queuedIds = new Set([...queued.active, ...queued.deadLetters].map((message) => message.id));
            const lost = [...produced.keys(), ...timerAccepted].filter((id) => !blobIds.has(id) && !queuedIds.has(id));
            expect.soft({ lostCount: lost.length, lost: lost.slice(0, 10) }, '(a) acknowledged messages lost').toEqual({
                lostCount: 0,
                lost: [],
            });
            // A processed producer message's blob holds exactly the names sent.
            const byId = new Map(rawMessages.map((message) => [(message as { id?: unknown }).id, message]));
            const altered = [...produced.values()].filter(
                (message) => byId.has(message.id) && JSON.stringify(byId.get(message.id)) !== JSON.stringify(message),
            );
            expect
                .soft(
                    altered.map((message) => message.id),
                    '(a) blobs whose content differs from what was sent',
                )
                .toEqual([]);

            // (b) Cosmos DB equals the recount of the blobs, per window and letter, for every window up to the cutoff.
            const expected = recountWindows(rawMessages, { from: new Date(0), to: new Date(cutoff) }, WINDOW_SECONDS);
            expect.soft(expected.rejectedMessages).toEqual([]);
            expect
                .soft(
                    Object.fromEntries(stored.map((document) => [document.id, document.count]).sort()),
                    '(b) Cosmos DB counts against the recount of the raw-names blobs',
                )
                .toEqual(
                    Object.fromEntries(expected.documents.map((document) => [document.id, document.count]).sort()),
                );

            // (c1) Every stored version reached the change-feed trigger.
            const undelivered = stored.filter((document) => !seen.has(`${document.id}@${document._lsn}`));
            expect
                .soft(
                    undelivered.map((document) => `${document.id}@${document._lsn}`),
                    '(c1) stored document versions the change-feed trigger never received',
                )
                .toEqual([]);
            // (c2) A restarted trigger delivers again only the last batch the killed run received.
            const runs = [...deliveries, final.feed];
            const everDelivered = new Set<string>();
            let lastBatch = new Set<string>();
            const replayedTooMuch: string[] = [];
            runs.forEach((batches, index) => {
                const again = batches
                    .flat()
                    .map(({ id, lsn }) => `${id}@${lsn}`)
                    .filter((key) => everDelivered.has(key) && !lastBatch.has(key));
                if (again.length > 0) {
                    replayedTooMuch.push(`run ${index + 1}: ${again.length} (${again.slice(0, 3).join(', ')})`);
                }
                batches.flat().forEach(({ id, lsn }) => everDelivered.add(`${id}@${lsn}`));
                if (batches.length > 0) {
                    lastBatch = new Set(batches.at(-1)!.map(({ id, lsn }) => `${id}@${lsn}`));
                }
            });
            expect.soft(replayedTooMuch, '(c2) versions delivered again beyond the last unconfirmed batch').toEqual([]);
            // (d) The torn copy started, or was refused with a message naming the file, the same way twice.
            expect
                .soft(tornProbe, '(d) the torn copy')
                .toMatch(/^(started twice|refused twice: StateCorruptError: The state file ".+" is damaged)/);
        },
    );

    /**
     * Copies the folder as the last kill left it, and tears the current end of the write-ahead log and Azurite's
     * metadata (a kill in mid-write). Returns the copy's folder.
     */
    function tearCopy(): string {
        const copy = mkdtempSync(path.join(tmpdir(), 'crash-torn-'));
        scratch.push(copy);
        cpSync(stateDirectory, copy, { recursive: true });
        rmSync(path.join(copy, 'owner.json'), { force: true });
        const wal = path.join(copy, 'namestream.db-wal');
        if (existsSync(wal) && statSync(wal).size > 32 + 24) {
            truncateSync(wal, currentWalEnd(readFileSync(wal)) - 100);
        }
        const azurite = path.join(copy, 'azurite');
        for (const file of existsSync(azurite) ? readdirSync(azurite) : []) {
            if (file.endsWith('.json')) {
                const size = statSync(path.join(azurite, file)).size;
                truncateSync(path.join(azurite, file), Math.floor(size / 2));
            }
        }
        return copy;
    }

    /** Starts a runtime on the torn copy twice: it starts both times, or is refused the same way both times. */
    async function probeTornCopy(copy: string): Promise<string> {
        const outcomes: string[] = [];
        for (let attempt = 0; attempt < 2; attempt += 1) {
            const probe = startChild(copy, 'probe');
            const exit = await Promise.race([
                probe.exited,
                delay(60_000).then(() => ({ code: null, signal: 'timeout', stderr: '' })),
            ]);
            probe.process.kill('SIGKILL');
            outcomes.push(exit.code === 0 ? 'started' : `refused: ${exit.stderr.trim()}`);
        }
        return outcomes[0] === outcomes[1]
            ? `${outcomes[0] === 'started' ? 'started' : 'refused'} twice${outcomes[0] === 'started' ? '' : `: ${outcomes[0]!.slice('refused: '.length)}`}`
            : `differed: ${outcomes.join(' / ')}`;
    }
});

/** Every message in the queue (active, scheduled, deferred) and its dead-letter queue, by peeking. */
async function peekEverything(connection: string): Promise<{
    active: Array<{ id: unknown }>;
    deadLetters: Array<{ id: unknown; reason: string }>;
}> {
    const client = new ServiceBusClient(connection);
    const idOf = (message: ServiceBusReceivedMessage) => {
        const body: unknown = message.body;
        const parsed: unknown =
            typeof body === 'string' ? JSON.parse(body) : Buffer.isBuffer(body) ? JSON.parse(body.toString()) : body;
        return (parsed as { id?: unknown }).id;
    };
    const peekAll = async (subQueueType?: 'deadLetter') => {
        const receiver = client.createReceiver('newnames-queue', subQueueType ? { subQueueType } : {});
        const messages: ServiceBusReceivedMessage[] = [];
        // The receiver peeks on from the last sequence number it saw; stop at an empty page or one that does not move.
        for (let last = -1n; ;) {
            const page = await receiver.peekMessages(500);
            const newest = page.at(-1)?.sequenceNumber?.toBigInt() ?? -1n;
            if (page.length === 0 || newest <= last) break;
            last = newest;
            messages.push(...page);
        }
        await receiver.close();
        return messages;
    };
    try {
        return {
            active: (await peekAll()).map((message) => ({ id: idOf(message) })),
            deadLetters: (await peekAll('deadLetter')).map((message) => ({
                id: idOf(message),
                reason: `${message.deadLetterReason ?? ''} ${message.deadLetterErrorDescription ?? ''}`.trim(),
            })),
        };
    } finally {
        await client.close();
    }
}

/** The WAL's current end (frames of the newest salt); see test/local/state/stateStore.test.ts. */
function currentWalEnd(wal: Buffer): number {
    const pageSize = wal.readUInt32BE(8);
    const [salt1, salt2] = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
    let end = 32;
    while (
        end + 24 + pageSize <= wal.length &&
        wal.readUInt32BE(end + 8) === salt1 &&
        wal.readUInt32BE(end + 12) === salt2
    ) {
        end += 24 + pageSize;
    }
    return end;
}

function summary(values: number[]): string {
    if (values.length === 0) return 'none';
    const sorted = [...values].sort((a, b) => a - b);
    return `min ${sorted[0]}, median ${sorted[Math.floor(sorted.length / 2)]}, max ${sorted.at(-1)}`;
}

function delay(ms: number): Promise<undefined> {
    return new Promise((resolve) => setTimeout(() => resolve(undefined), ms));
}

async function waitFor<T>(
    check: () => T | undefined | Promise<T | undefined>,
    timeoutMs: number,
    what: string,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const result = await check();
        if (result !== undefined) return result;
        if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
        await delay(200);
    }
}
