/**
 * Drives the local pipeline at rising rates and reports, per step: sustained names per second end to end (names
 * that reached the Event Hub, and the backlog left), window-close-to-change-feed latency (p50, p99) and peak memory
 * (this process plus Azurite). A soak run at one rate shows whether memory stays bounded.
 *
 *   npx tsx bench/pipeline.bench.ts                 rising rates, 100 names per message and 4-10 per message
 *   npx tsx bench/pipeline.bench.ts --soak 300      5 minutes at --rate (default 20000) names/s, 100 per message, on
 *                                                   a state folder (--storage in-memory for none), sampling memory and
 *                                                   the folder's size every --sample-seconds (default 5), with a summary
 *   npx tsx bench/pipeline.bench.ts --capacity      the highest rate it keeps up with, 4-10 names per message, with
 *                                                   state on disk and in memory side by side
 *   with --soak: --batch N or N-M names per message (default 100); with --capacity (default 4-10)
 *   --capacity runs --rounds N (default 2) rounds of one step per storage (--storage durable|in-memory|both, default
 *   both), alternating which goes first so that the machine's slow spells hit both, and prints each rate and their
 *   ratio; --servicebus-path amqp|in-process|both (default in-process, npm start's default) picks how the Service Bus
 *   bindings and the Event Hub output binding reach the brokers: over AMQP with the official SDK clients, as in Azure,
 *   or in process
 *   options: --step-seconds N (default 65: two 30-second windows close in each step), --window-seconds N (default 30, the production query)
 *
 * The timer can fire at most once a second, so the driver puts the timer's messages on the queue itself, built by
 * the same createNewNamesMessage the timer uses; everything downstream is the real local pipeline.
 *
 * A fixed rate above what the machine can do builds a backlog that grows without end, and the growing backlog
 * (memory, GC) makes the run slower still, so an overloaded step understates the ceiling and varies a lot from
 * run to run. The capacity step instead keeps a fixed backlog on the queue (enough to keep every concurrent call
 * busy) and sends exactly as fast as the pipeline drains it: the rate it settles at is the highest it sustains.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { systemClock } from '../domain/clock';
import { createNewNamesMessage, type NamesPerMessage } from '../domain/messages/createNewNamesMessage';
import { createRandomSource } from '../domain/random';
import { type LocalRuntime, startLocalRuntime } from '../local/runtime/localRuntime';
import type { ServiceBusPath } from '../local/runtime/localServices';
import { letterCountsJobSettings } from '../local/streamAnalytics';

/** Messages the capacity step keeps waiting on the queue: well above maxConcurrentCalls, under a second of work. */
const CAPACITY_BACKLOG_MESSAGES = 500;

type Storage = 'durable' | 'in-memory';

interface StepResult {
    /** durable: a state folder in a fresh temporary directory, as npm start keeps one; in-memory: --in-memory. */
    storage: Storage;
    serviceBusPath: ServiceBusPath;
    namesPerMessage: string;
    targetNamesPerSecond: number | 'capacity';
    sentNamesPerSecond: number;
    sustainedNamesPerSecond: number;
    backlogMessages: number;
    /** dequeueNames invocations that failed (each one is redelivered work the pipeline pays for twice). */
    failedInvocations: number;
    documentsMeasured: number;
    latencyP50Ms: number | undefined;
    latencyP99Ms: number | undefined;
    peakRssMb: number;
}

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
    const index = args.indexOf(`--${name}`);
    return index >= 0 ? Number(args[index + 1]) : fallback;
};
const soakSeconds = option('soak', 0);
const stepSeconds = option('step-seconds', 65);
const windowSeconds = option('window-seconds', 30);

async function main(): Promise<void> {
    console.log(`machine: ${machine()}`);
    console.log(
        `job settings: late arrival ${letterCountsJobSettings.eventsLateArrivalMaxDelayInSeconds} s, out of order ${letterCountsJobSettings.eventsOutOfOrderMaxDelayInSeconds} s (${letterCountsJobSettings.eventsOutOfOrderPolicy}); window ${windowSeconds} s`,
    );
    const startRuntime = (serviceBusPath: ServiceBusPath, stateDirectory: string | undefined) =>
        startLocalRuntime({
            appRoot: path.resolve(__dirname, '..'),
            ephemeralPorts: true,
            ...(stateDirectory ? { stateDirectory } : {}),
            serviceBusPath,
            // The Event Hub output binding takes the same path, so "in-process" is the whole pre-AMQP pipeline.
            eventHubPath: serviceBusPath,
            disabledFunctions: ['generateNames'],
            ...(windowSeconds !== 30 ? { windowSeconds } : {}),
            log: (line) => {
                if (/error/.test(line)) {
                    console.log(line);
                }
            },
        });
    const random = createRandomSource(20261122);

    // Each step gets a fresh runtime: Azurite slows down as blobs accumulate (see docs/local-runtime.md), so a step
    // that inherited the previous steps' blobs and backlog would measure them, not its own rate.
    const runStep = async (
        namesPerMessage: NamesPerMessage,
        targetNamesPerSecond: number | 'capacity',
        seconds: number,
        report?: (elapsed: number, runtime: LocalRuntime, backlog: number) => void,
        serviceBusPath: ServiceBusPath = 'in-process',
        storage: Storage = 'in-memory',
        reportEverySeconds = 30,
    ): Promise<StepResult> => {
        const stateDirectory =
            storage === 'durable' ? mkdtempSync(path.join(os.tmpdir(), 'namestream-bench-state-')) : undefined;
        const runtime = await startRuntime(serviceBusPath, stateDirectory);
        const queue = runtime.queues.get('newnames-queue')!;
        let peakRss = 0;
        const sampleMemory = () => {
            const rss = process.memoryUsage().rss + childRss(runtime.azurite.pid);
            peakRss = Math.max(peakRss, rss);
            return rss;
        };
        const memoryTimer = setInterval(sampleMemory, 500);
        const averageNames = (namesPerMessage.min + namesPerMessage.max) / 2;
        let sentNames = 0;
        let sentMessages = 0;
        const started = performance.now();
        const due =
            targetNamesPerSecond === 'capacity'
                ? () => sentMessages + Math.max(0, CAPACITY_BACKLOG_MESSAGES - queue.activeMessageCount)
                : () => Math.floor(((performance.now() - started) / 1000) * (targetNamesPerSecond / averageNames));
        let lastReport = started;
        while (performance.now() - started < seconds * 1000) {
            for (const until = due(); sentMessages < until; sentMessages++) {
                const message = createNewNamesMessage({ clock: systemClock, random, namesPerMessage });
                sentNames += message.names.length;
                queue.send({ body: JSON.stringify(message), contentType: 'application/json' });
            }
            if (report && performance.now() - lastReport > reportEverySeconds * 1000) {
                lastReport = performance.now();
                sampleMemory();
                report((lastReport - started) / 1000, runtime, queue.activeMessageCount);
            }
            await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const elapsed = (performance.now() - started) / 1000;
        const snapshot = runtime.metrics.snapshot();
        const reached = snapshot.totalNames;
        const latencies = [...runtime.metrics.windowLatenciesMs].sort((a, b) => a - b);
        clearInterval(memoryTimer);
        const result = {
            storage,
            serviceBusPath,
            namesPerMessage:
                namesPerMessage.min === namesPerMessage.max
                    ? String(namesPerMessage.min)
                    : `${namesPerMessage.min}-${namesPerMessage.max}`,
            targetNamesPerSecond,
            sentNamesPerSecond: Math.round(sentNames / elapsed),
            sustainedNamesPerSecond: Math.round(reached / elapsed),
            backlogMessages: queue.activeMessageCount + queue.lockedMessageCount,
            failedInvocations: snapshot.invocations.dequeueNames?.failed ?? 0,
            documentsMeasured: latencies.length,
            latencyP50Ms: percentile(latencies, 0.5),
            latencyP99Ms: percentile(latencies, 0.99),
            peakRssMb: Math.round(peakRss / 2 ** 20),
        };
        await runtime.stop();
        if (stateDirectory) {
            rmSync(stateDirectory, { recursive: true, force: true });
        }
        return result;
    };

    const results: StepResult[] = [];
    if (args.includes('--capacity')) {
        const namesPerMessage = batchOption({ min: 4, max: 10 });
        const rounds = option('rounds', 2);
        const storages = storageOption(['durable', 'in-memory']);
        const paths = servicebusPathOption();
        console.log(
            `capacity: ${rounds} round(s) of ${stepSeconds} s per storage (${storages.join(', ')}) and path (${paths.join(', ')}), keeping ${CAPACITY_BACKLOG_MESSAGES} messages queued, ${namesPerMessage.min}-${namesPerMessage.max} names per message`,
        );
        for (let round = 1; round <= rounds; round++) {
            // Alternate the order, so that a slow spell of this shared machine does not always hit the same storage.
            const order = round % 2 === 1 ? storages : [...storages].reverse();
            for (const storage of order) {
                for (const serviceBusPath of paths) {
                    results.push(
                        await runStep(namesPerMessage, 'capacity', stepSeconds, undefined, serviceBusPath, storage),
                    );
                    console.log(JSON.stringify({ round, ...results.at(-1), loadAverage: loadAverage() }));
                }
            }
        }
        console.table(results);
        for (const serviceBusPath of paths) {
            const rates = (storage: Storage) =>
                results
                    .filter((result) => result.storage === storage && result.serviceBusPath === serviceBusPath)
                    .map((result) => result.sustainedNamesPerSecond);
            const durable = median(rates('durable'));
            const inMemory = median(rates('in-memory'));
            console.log(
                `${serviceBusPath}: durable ${rates('durable').join(', ') || '-'} names/s (median ${durable ?? '-'}); ` +
                    `in-memory ${rates('in-memory').join(', ') || '-'} names/s (median ${inMemory ?? '-'})` +
                    (durable !== undefined && inMemory !== undefined
                        ? `; durable/in-memory ${(durable / inMemory).toFixed(2)}`
                        : ''),
            );
        }
        console.log(`machine: ${machine()}`);
        return;
    } else if (soakSeconds > 0) {
        const rate = option('rate', 20_000);
        const namesPerMessage = batchOption({ min: 100, max: 100 });
        const storages = storageOption(['durable']);
        if (storages.length !== 1) {
            throw new Error('--soak runs one storage: --storage durable (the default) or --storage in-memory');
        }
        const storage = storages[0]!;
        const sampleSeconds = option('sample-seconds', 5);
        console.log(
            `soak: ${soakSeconds} s at ${rate} names/s, ${namesPerMessage.min}-${namesPerMessage.max} names per message, ${storage}; every ${sampleSeconds} s:`,
        );
        const samples: SoakSample[] = [];
        let lastTables = -1;
        results.push(
            await runStep(
                namesPerMessage,
                rate,
                soakSeconds,
                (elapsed, runtime, backlog) => {
                    const sample = soakSample(elapsed, runtime, backlog);
                    samples.push(sample);
                    console.log(
                        `  t=${elapsed.toFixed(0)} s rss=${mb(sample.rssBytes)} MB (Azurite ${mb(sample.azuriteRssBytes)}) heap=${mb(sample.heapUsedBytes)} MB database=${mb(sample.databaseBytes)} MB wal=${mb(sample.walBytes)} MB azurite=${mb(sample.azuriteBytes)} MB backlog=${backlog} names=${sample.totalNames}`,
                    );
                    if (runtime.state && Math.floor(elapsed / 60) !== lastTables) {
                        lastTables = Math.floor(elapsed / 60);
                        console.log(`    tables: ${tableSizes(runtime)}`);
                    }
                },
                'in-process',
                storage,
                sampleSeconds,
            ),
        );
        console.table(results);
        console.log(soakSummary(samples));
        console.log(`machine: ${machine()}`);
        return;
    } else {
        for (const rate of [5_000, 10_000, 20_000]) {
            results.push(await runStep({ min: 100, max: 100 }, rate, stepSeconds));
            console.log(JSON.stringify(results.at(-1)));
        }
        for (const rate of [1_000, 2_500, 5_000, 'capacity'] as const) {
            results.push(await runStep({ min: 4, max: 10 }, rate, stepSeconds));
            console.log(JSON.stringify(results.at(-1)));
        }
    }
    console.table(results);
}

function servicebusPathOption(): ServiceBusPath[] {
    const index = args.indexOf('--servicebus-path');
    if (index < 0) {
        return ['in-process'];
    }
    const value = args[index + 1];
    if (value === 'both') {
        return ['amqp', 'in-process'];
    }
    if (value !== 'amqp' && value !== 'in-process') {
        throw new Error(`--servicebus-path must be amqp, in-process or both (got ${JSON.stringify(value)})`);
    }
    return [value];
}

function storageOption(fallback: Storage[]): Storage[] {
    const index = args.indexOf('--storage');
    if (index < 0) {
        return fallback;
    }
    const value = args[index + 1];
    if (value === 'both') {
        return ['durable', 'in-memory'];
    }
    if (value !== 'durable' && value !== 'in-memory') {
        throw new Error(`--storage must be durable, in-memory or both (got ${JSON.stringify(value)})`);
    }
    return [value];
}

/** The machine line every result is printed with: a rate means little without the CPU and how busy it was. */
function machine(): string {
    return (
        `${os.cpus()[0]?.model ?? 'unknown'} x ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
        `load average ${loadAverage()} (1, 5, 15 min), node ${process.version}, ${os.platform()} ${os.release()}`
    );
}

function loadAverage(): string {
    return os
        .loadavg()
        .map((load) => load.toFixed(2))
        .join(' ');
}

function median(values: number[]): number | undefined {
    if (values.length === 0) {
        return undefined;
    }
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
}

function mb(bytes: number): number {
    return Math.round(bytes / 2 ** 20);
}

interface SoakSample {
    elapsedSeconds: number;
    /** This process plus Azurite. */
    rssBytes: number;
    azuriteRssBytes: number;
    heapUsedBytes: number;
    databaseBytes: number;
    walBytes: number;
    /** Azurite's folder: its LokiJS metadata and blob extents. */
    azuriteBytes: number;
    backlog: number;
    totalNames: number;
}

function soakSample(elapsedSeconds: number, runtime: LocalRuntime, backlog: number): SoakSample {
    const azuriteRssBytes = childRss(runtime.azurite.pid);
    const fileSize = (file: string) => {
        try {
            return statSync(file).size;
        } catch {
            return 0;
        }
    };
    const database = runtime.state?.databaseFile;
    return {
        elapsedSeconds,
        rssBytes: process.memoryUsage().rss + azuriteRssBytes,
        azuriteRssBytes,
        heapUsedBytes: process.memoryUsage().heapUsed,
        databaseBytes: database ? fileSize(database) : 0,
        walBytes: database ? fileSize(`${database}-wal`) : 0,
        azuriteBytes: runtime.state ? directorySize(path.join(runtime.state.directory, 'azurite')) : 0,
        backlog,
        totalNames: runtime.metrics.snapshot().totalNames,
    };
}

function directorySize(directory: string): number {
    let total = 0;
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
        const entryPath = path.join(directory, entry.name);
        total += entry.isDirectory() ? directorySize(entryPath) : statSync(entryPath).size;
    }
    return total;
}

/** Rows and bytes per table of the state database (SQLite's dbstat table), largest first: what grows, if any. */
function tableSizes(runtime: LocalRuntime): string {
    const database = runtime.state!.database;
    const bytes = new Map(
        database
            .prepare<[], { name: string; bytes: number }>('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name')
            .all()
            .map((row) => [row.name, row.bytes]),
    );
    const tables = database
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all()
        .map(({ name }) => ({
            name,
            rows: database.prepare<[], { rows: number }>(`SELECT COUNT(*) AS rows FROM "${name}"`).get()!.rows,
            bytes: bytes.get(name) ?? 0,
        }))
        .sort((a, b) => b.bytes - a.bytes);
    return tables
        .map((table) => `${table.name} ${table.rows} rows ${(table.bytes / 2 ** 20).toFixed(1)} MB`)
        .join(', ');
}

/**
 * Whether memory and disk stay bounded: each measure's highest value in the first and in the last minute, and its
 * trend over the second half of the run (least-squares slope, MB per minute); a bounded measure levels off, so its
 * last-minute peak stays near the first's and its slope near zero.
 */
function soakSummary(samples: SoakSample[]): string {
    if (samples.length < 2) {
        return 'soak summary: too few samples';
    }
    const end = samples.at(-1)!.elapsedSeconds;
    const measures: Array<[string, (sample: SoakSample) => number]> = [
        ['rss (runtime + Azurite)', (sample) => sample.rssBytes],
        ['JavaScript heap', (sample) => sample.heapUsedBytes],
        ['database + WAL', (sample) => sample.databaseBytes + sample.walBytes],
        ['Azurite folder', (sample) => sample.azuriteBytes],
    ];
    const secondHalf = samples.filter((sample) => sample.elapsedSeconds >= end / 2);
    const lines = measures.map(([name, value]) => {
        const firstMinute = Math.max(...samples.filter((s) => s.elapsedSeconds <= 60).map(value));
        const lastMinute = Math.max(...samples.filter((s) => s.elapsedSeconds >= end - 60).map(value));
        const xs = secondHalf.map((sample) => sample.elapsedSeconds / 60);
        const ys = secondHalf.map((sample) => value(sample) / 2 ** 20);
        const meanX = xs.reduce((a, b) => a + b, 0) / xs.length;
        const meanY = ys.reduce((a, b) => a + b, 0) / ys.length;
        const slope =
            xs.reduce((sum, x, i) => sum + (x - meanX) * (ys[i]! - meanY), 0) /
            (xs.reduce((sum, x) => sum + (x - meanX) ** 2, 0) || 1);
        return `  ${name}: first-minute max ${mb(firstMinute)} MB, last-minute max ${mb(lastMinute)} MB, slope over the second half ${slope.toFixed(1)} MB/min`;
    });
    const names = samples.at(-1)!.totalNames;
    return [
        `soak summary (${samples.length} samples over ${end.toFixed(0)} s, ${names} names reached the hub, ${Math.round(names / end)} names/s):`,
        ...lines,
    ].join('\n');
}

function batchOption(fallback: NamesPerMessage): NamesPerMessage {
    const index = args.indexOf('--batch');
    if (index < 0) {
        return fallback;
    }
    const batch = /^(\d+)(?:-(\d+))?$/.exec(args[index + 1] ?? '');
    if (!batch) {
        throw new Error(`--batch must be N or N-M names per message (got ${JSON.stringify(args[index + 1])})`);
    }
    return { min: Number(batch[1]), max: Number(batch[2] ?? batch[1]) };
}

function percentile(sorted: number[], p: number): number | undefined {
    if (sorted.length === 0) {
        return undefined;
    }
    return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!);
}

function childRss(pid: number | undefined): number {
    if (!pid) {
        return 0;
    }
    try {
        const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return match ? Number(match[1]) * 1024 : 0;
    } catch {
        return 0;
    }
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
