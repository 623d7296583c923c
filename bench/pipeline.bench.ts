/**
 * Drives the local pipeline at rising rates and reports, per step: sustained names per second end to end (names
 * that reached the Event Hub, and the backlog left), window-close-to-change-feed latency (p50, p99) and peak memory
 * (this process plus Azurite). A soak run at one rate shows whether memory stays bounded.
 *
 *   npx tsx bench/pipeline.bench.ts                 rising rates, 100 names per message and 4-10 per message
 *   npx tsx bench/pipeline.bench.ts --soak 300      5 minutes at --rate (default 20000) names/s, 100 per message, on
 *                                                   a state folder (--storage in-memory for none), sampling memory,
 *                                                   the folder's files and the retained items every --sample-seconds
 *                                                   (default 5), with a summary per component; every store kept by age
 *                                                   keeps --retention-seconds (default 60; `production` for the real
 *                                                   days), so that it reaches its steady state inside the run;
 *                                                   per component "levelled off" (flat, or bounded between the
 *                                                   second half's lowest and highest samples) unless its trough and
 *                                                   its peak both rose by more than 5 % from the third quarter to
 *                                                   the fourth ("still growing"; the rule in bench/soakVerdict.ts)
 *   npx tsx bench/pipeline.bench.ts --capacity      the highest rate it keeps up with, 4-10 names per message, with
 *                                                   state on disk and in memory side by side
 *   with --soak: --batch N or N-M names per message (default 100); with --capacity (default 4-10)
 *   --capacity runs --rounds N (default 3) rounds of one step per storage (--storage durable|in-memory|both, default
 *   both), each step in a fresh child process (so no step inherits another's garbage, heap growth or Azurite), alternating
 *   which goes first so that the machine's slow spells hit both, and prints each rate, the medians and their
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
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';

import { systemClock } from '../domain/clock';
import { createNewNamesMessage, type NamesPerMessage } from '../domain/messages/createNewNamesMessage';
import { createRandomSource } from '../domain/random';
import { createLocalCosmosClient } from '../local/cosmos';
import { type LocalRuntime, startLocalRuntime } from '../local/runtime/localRuntime';
import type { ServiceBusPath } from '../local/runtime/localServices';
import type { RetentionOverrides } from '../local/runtime/retentionOverrides';
import type { ServiceBusMessageToSend } from '../local/serviceBus/messages';
import { stateLayout } from '../local/state/stateFolder';
import { letterCountsJobSettings } from '../local/streamAnalytics';
import { SOAK_VERDICT_RULE, type SoakMeasure, soakSeriesLine } from './soakVerdict';

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
    /**
     * Bytes this process and Azurite had the kernel write to storage during the step (/proc/<pid>/io write_bytes:
     * SQLite's WAL and checkpoints, Azurite's extents and metadata), per name that reached the hub, in bytes; 0 where
     * /proc is not readable. Unlike the rate it hardly depends on the machine's load, so it shows the cost on disk.
     */
    diskBytesPerName: number;
    /**
     * The step in slices of TIMELINE_SLICE_SECONDS, so a slow step shows whether it was slow throughout or stalled in
     * places, and what the processes were doing meanwhile.
     */
    timeline: TimelineSlice[];
}

/** Seconds per slice of a step's timeline. */
const TIMELINE_SLICE_SECONDS = 5;

/** One slice of a step: what the pipeline delivered and what the runtime and Azurite spent on it. */
interface TimelineSlice {
    /** Names that reached the Event Hub in the slice, per second. */
    namesPerSecond: number;
    /** Share of the slice the runtime's event loop was busy (performance.eventLoopUtilization), in percent. */
    eventLoopBusyPercent: number;
    /** Garbage-collection pauses of the runtime in the slice (PerformanceObserver 'gc' entries), ms. */
    gcMs: number;
    /** CPU the runtime process used (all its threads: SQLite, libuv's pool, V8's helpers), in cores. */
    runtimeCores: number;
    /** CPU the Azurite process used, in cores; 0 where /proc is not readable. */
    azuriteCores: number;
    /** Size of the state database's write-ahead log at the slice's end, MB; undefined in memory. */
    walMb: number | undefined;
}

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
    const index = args.indexOf(`--${name}`);
    return index >= 0 ? Number(args[index + 1]) : fallback;
};
const soakSeconds = option('soak', 0);
const stepSeconds = option('step-seconds', 65);
const windowSeconds = option('window-seconds', 30);

/** One step, as the parent hands it to a child process (`--child-step <json>`). */
interface StepSpec {
    namesPerMessage: NamesPerMessage;
    targetNamesPerSecond: number | 'capacity';
    seconds: number;
    serviceBusPath: ServiceBusPath;
    storage: Storage;
}

/** The line a child process prints its result on, for the parent to pick out of the rest of its output. */
const STEP_RESULT_PREFIX = 'step result: ';

async function main(): Promise<void> {
    const childStep = args.indexOf('--child-step');
    if (childStep >= 0) {
        const spec = JSON.parse(args[childStep + 1] ?? '') as StepSpec;
        const result = await runStep(spec);
        console.log(STEP_RESULT_PREFIX + JSON.stringify(result));
        return;
    }
    console.log(`machine: ${machine()}`);
    console.log(
        `job settings: late arrival ${letterCountsJobSettings.eventsLateArrivalMaxDelayInSeconds} s, out of order ${letterCountsJobSettings.eventsOutOfOrderMaxDelayInSeconds} s (${letterCountsJobSettings.eventsOutOfOrderPolicy}); window ${windowSeconds} s`,
    );

    const results: StepResult[] = [];
    if (args.includes('--capacity')) {
        const namesPerMessage = batchOption({ min: 4, max: 10 });
        const rounds = option('rounds', 3);
        const storages = storageOption(['durable', 'in-memory']);
        const paths = servicebusPathOption();
        console.log(
            `capacity: ${rounds} round(s) of ${stepSeconds} s per storage (${storages.join(', ')}) and path (${paths.join(', ')}), each step in a fresh child process, keeping ${CAPACITY_BACKLOG_MESSAGES} messages queued, ${namesPerMessage.min}-${namesPerMessage.max} names per message`,
        );
        for (let round = 1; round <= rounds; round++) {
            // Alternate the order, so that a slow spell of this shared machine does not always hit the same storage.
            const order = round % 2 === 1 ? storages : [...storages].reverse();
            for (const storage of order) {
                for (const serviceBusPath of paths) {
                    results.push(
                        await runStepInChild({
                            namesPerMessage,
                            targetNamesPerSecond: 'capacity',
                            seconds: stepSeconds,
                            serviceBusPath,
                            storage,
                        }),
                    );
                    const { timeline, ...step } = results.at(-1)!;
                    console.log(JSON.stringify({ round, ...step, loadAverage: loadAverage() }));
                    console.log(timelineLines(timeline));
                }
            }
        }
        console.table(results.map(({ timeline: _timeline, ...step }) => step));
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
        const retention = retentionOption(60);
        console.log(
            `soak: ${soakSeconds} s at ${rate} names/s, ${namesPerMessage.min}-${namesPerMessage.max} names per message, ${storage}; ` +
                `retention ${retention ? JSON.stringify(retention) : 'production'}; every ${sampleSeconds} s:`,
        );
        const samples: SoakSample[] = [];
        let lastTables = -1;
        let cosmos: ReturnType<typeof createLocalCosmosClient> | undefined;
        results.push(
            await runStep(
                {
                    namesPerMessage,
                    targetNamesPerSecond: rate,
                    seconds: soakSeconds,
                    serviceBusPath: 'in-process',
                    storage,
                },
                {
                    ...(retention ? { retention } : {}),
                    reportEverySeconds: sampleSeconds,
                    report: async (elapsed, runtime, backlog) => {
                        cosmos ??= createLocalCosmosClient(runtime.settings.CosmosDBConnection!, {
                            ca: runtime.cosmos.ca,
                        });
                        const sample = await soakSample(elapsed, runtime, backlog, cosmos);
                        samples.push(sample);
                        console.log(
                            `  t=${elapsed.toFixed(0)} s cpu=${sample.runtimeCpuPercent}% (Azurite ${sample.azuriteCpuPercent}%) rss=${mb(sample.runtimeRssBytes)} MB (Azurite ${mb(sample.azuriteRssBytes)}) heap=${mb(sample.heapUsedBytes)} MB ` +
                                `database=${mb(sample.databaseBytes)} MB wal=${mb(sample.walBytes)} MB azurite metadata=${mb(sample.azuriteMetadataBytes)} MB extents=${mb(sample.azuriteExtentBytes)} MB ` +
                                `blobs=${sample.rawNamesBlobs} events=${sample.retainedEvents} documents=${sample.cosmosDocuments} backlog=${backlog} names=${sample.totalNames}`,
                        );
                        if (runtime.state && Math.floor(elapsed / 60) !== lastTables) {
                            lastTables = Math.floor(elapsed / 60);
                            console.log(`    tables: ${tableSizes(runtime)}`);
                        }
                    },
                    beforeStop: () => cosmos?.dispose(),
                },
            ),
        );
        console.table(results.map(({ timeline: _timeline, ...step }) => step));
        console.log(
            soakSummary(samples, retention?.rawNamesBlobMs === undefined ? undefined : retention.rawNamesBlobMs / 1000),
        );
        console.log(`machine: ${machine()}`);
        return;
    } else {
        // The rising rates: 100 names per message up to 20,000 names/s, then 4-10 per message up to capacity.
        const risingRates: { namesPerMessage: NamesPerMessage; rates: StepSpec['targetNamesPerSecond'][] }[] = [
            { namesPerMessage: { min: 100, max: 100 }, rates: [5_000, 10_000, 20_000] },
            { namesPerMessage: { min: 4, max: 10 }, rates: [1_000, 2_500, 5_000, 'capacity'] },
        ];
        for (const { namesPerMessage, rates } of risingRates) {
            for (const rate of rates) {
                results.push(
                    await runStep({
                        namesPerMessage,
                        targetNamesPerSecond: rate,
                        seconds: stepSeconds,
                        serviceBusPath: 'in-process',
                        storage: 'in-memory',
                    }),
                );
                console.log(JSON.stringify(results.at(-1)));
            }
        }
    }
    console.table(results.map(({ timeline: _timeline, ...step }) => step));
}

/**
 * Runs one step in a child process running this file (same loader, same code path as runStep here), so that no
 * step inherits an earlier step's garbage, grown heap, open handles or Azurite: in one process, peak RSS grew from
 * step to step and the same storage varied by a third between rounds. Resolves with the child's result line.
 * @throws Error with the child's exit code when it ends without a result
 */
function runStepInChild(spec: StepSpec): Promise<StepResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(
            process.execPath,
            [...process.execArgv, __filename, ...args, '--child-step', JSON.stringify(spec)],
            { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let result: StepResult | undefined;
        let pending = '';
        child.stdout.on('data', (chunk: Buffer) => {
            pending += chunk.toString();
            const lines = pending.split('\n');
            pending = lines.pop()!;
            for (const line of lines) {
                if (line.startsWith(STEP_RESULT_PREFIX)) {
                    result = JSON.parse(line.slice(STEP_RESULT_PREFIX.length)) as StepResult;
                } else {
                    console.log(line);
                }
            }
        });
        child.once('error', reject);
        child.once('close', (code) =>
            result
                ? resolve(result)
                : reject(new Error(`the step's child process exited with code ${String(code)} without a result`)),
        );
    });
}

interface StepHooks {
    /** Runtime option: shorter retention for the stores kept by age (the soak). */
    retention?: RetentionOverrides;
    /** Called every reportEverySeconds while the step runs; the sender waits for it. */
    report?: (elapsed: number, runtime: LocalRuntime, backlog: number) => Promise<void>;
    reportEverySeconds?: number;
    beforeStop?: () => void;
}

// Each step gets a fresh runtime: Azurite slows down as blobs accumulate (see docs/local-runtime.md), so a step
// that inherited the previous steps' blobs and backlog would measure them, not its own rate.
async function runStep(spec: StepSpec, hooks: StepHooks = {}): Promise<StepResult> {
    const { namesPerMessage, targetNamesPerSecond, seconds, serviceBusPath, storage } = spec;
    const reportEverySeconds = hooks.reportEverySeconds ?? 30;
    const stateDirectory =
        storage === 'durable' ? mkdtempSync(path.join(os.tmpdir(), 'namestream-bench-state-')) : undefined;
    const runtime = await startLocalRuntime({
        appRoot: path.resolve(__dirname, '..'),
        ephemeralPorts: true,
        ...(stateDirectory ? { stateDirectory } : {}),
        serviceBusPath,
        // The Event Hub output binding takes the same path, so "in-process" is the whole pre-AMQP pipeline.
        eventHubPath: serviceBusPath,
        // The scheduled recount is off in every step. It fires at wall-clock 5-minute marks (RECOUNT_SCHEDULE) and
        // downloads every raw-names blob written in its 20-minute lookback, so it costs what the step has written,
        // not the rate: one that fell 30 s into a capacity step took the pipeline from 6,300-8,500 names/s to 84
        // and 588 while it ran and about 2,400 for the rest of the step (docs/local-runtime.md, "Benchmark"), so
        // whether a step met one decided its result. With the soak's short retention it would also read blobs the
        // sweep is deleting.
        disabledFunctions: ['generateNames', 'recountLetterCounts'],
        ...(windowSeconds !== 30 ? { windowSeconds } : {}),
        ...(hooks.retention ? { retention: hooks.retention } : {}),
        log: (line) => {
            if (/error/.test(line)) {
                console.log(line);
            }
        },
    });
    const random = createRandomSource(20261122);
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
    const writtenAtStart = writtenBytes('self') + writtenBytes(runtime.azurite.pid);
    const namesAtStart = runtime.metrics.snapshot().totalNames;
    const timeline = sampleTimeline(runtime, stateDirectory);
    const due =
        targetNamesPerSecond === 'capacity'
            ? () => sentMessages + Math.max(0, CAPACITY_BACKLOG_MESSAGES - queue.activeMessageCount)
            : () => Math.floor(((performance.now() - started) / 1000) * (targetNamesPerSecond / averageNames));
    let lastReport = started;
    while (performance.now() - started < seconds * 1000) {
        // One grouped send per loop, as the timer's output binding sends (sendBatchAsync): a synchronous send per
        // message would commit once per message and take the trigger's pending writes with it, charging the durable
        // run a transaction per message that npm start's own path does not pay.
        const batch: ServiceBusMessageToSend[] = [];
        for (const until = due(); sentMessages < until; sentMessages++) {
            const message = createNewNamesMessage({ clock: systemClock, random, namesPerMessage });
            sentNames += message.names.length;
            batch.push({ body: JSON.stringify(message), contentType: 'application/json' });
        }
        if (batch.length > 0) {
            await queue.sendBatchAsync(batch);
        }
        if (hooks.report && performance.now() - lastReport > reportEverySeconds * 1000) {
            lastReport = performance.now();
            sampleMemory();
            await hooks.report((lastReport - started) / 1000, runtime, queue.activeMessageCount);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const elapsed = (performance.now() - started) / 1000;
    const snapshot = runtime.metrics.snapshot();
    const reached = snapshot.totalNames;
    const latencies = [...runtime.metrics.windowLatenciesMs].sort((a, b) => a - b);
    clearInterval(memoryTimer);
    const slices = timeline.stop();
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
        diskBytesPerName: Math.round(
            (writtenBytes('self') + writtenBytes(runtime.azurite.pid) - writtenAtStart) /
                Math.max(1, reached - namesAtStart),
        ),
        timeline: slices,
    };
    hooks.beforeStop?.();
    await runtime.stop();
    if (stateDirectory) {
        rmSync(stateDirectory, { recursive: true, force: true });
    }
    return result;
}

/**
 * --retention-seconds N: every store kept by age keeps N seconds (raw-names blobs, swept every N/2 s; Event Hub
 * events; letter-count documents, swept every N/4 s), and Azurite collects deleted blobs' extents (256 KiB each)
 * every N/4 s; or `production` for the real retention (undefined).
 */
function retentionOption(fallbackSeconds: number): RetentionOverrides | undefined {
    const index = args.indexOf('--retention-seconds');
    const value = index >= 0 ? args[index + 1] : String(fallbackSeconds);
    if (value === 'production') {
        return undefined;
    }
    const seconds = Number(value);
    if (!Number.isSafeInteger(seconds) || seconds < 4) {
        throw new Error(
            `--retention-seconds must be a whole number of seconds, at least 4, or production (got ${JSON.stringify(value)})`,
        );
    }
    const sweepMs = (seconds * 1000) / 4;
    return {
        rawNamesBlobMs: seconds * 1000,
        // Half the retention, not a quarter: each sweep lists every retained blob, which costs Azurite CPU.
        blobSweepIntervalMs: sweepMs * 2,
        eventHubMs: seconds * 1000,
        letterCountsTtlSeconds: seconds,
        cosmosTtlSweepIntervalMs: sweepMs,
        azuriteExtentGc: { gcIntervalMs: sweepMs, gcProtectMs: sweepMs, maxExtentBytes: 256 * 1024 },
    };
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
    /** This process: the runtime, its stand-ins and the functions host. */
    runtimeRssBytes: number;
    azuriteRssBytes: number;
    heapUsedBytes: number;
    databaseBytes: number;
    walBytes: number;
    /** Azurite's LokiJS metadata files (every blob's and extent's record, saved whole every 5 s). */
    azuriteMetadataBytes: number;
    /** Azurite's extent files (`__blobstorage__/`): the blobs' content. */
    azuriteExtentBytes: number;
    /** CPU time since the previous sample, in % of one core: this process, and Azurite. */
    runtimeCpuPercent: number;
    azuriteCpuPercent: number;
    /** raw-names blobs within the retention at the last lifecycle sweep. */
    rawNamesBlobs: number;
    /** Events retained by the names hub, all partitions. */
    retainedEvents: number;
    /** Documents in the letter-counts container. */
    cosmosDocuments: number;
    backlog: number;
    totalNames: number;
}

let previousCpu: { at: number; runtime: NodeJS.CpuUsage; azuriteMs: number } | undefined;

/** A child's user + system CPU time in ms (/proc/<pid>/stat, in clock ticks of 10 ms on Linux). */
/** Bytes a process had written to storage (/proc/<pid>/io write_bytes); 0 where that is not readable. */
function writtenBytes(pid: number | 'self' | undefined): number {
    if (!pid) {
        return 0;
    }
    try {
        return Number(/^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
    } catch {
        return 0;
    }
}

/** Samples a step's timeline every TIMELINE_SLICE_SECONDS until stopped; stop returns the whole slices. */
function sampleTimeline(runtime: LocalRuntime, stateDirectory: string | undefined): { stop(): TimelineSlice[] } {
    const slices: TimelineSlice[] = [];
    let gcMs = 0;
    const gcObserver = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
            gcMs += entry.duration;
        }
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    let names = runtime.metrics.snapshot().totalNames;
    let loop = performance.eventLoopUtilization();
    let cpu = process.cpuUsage();
    let azuriteMs = childCpuMs(runtime.azurite.pid);
    const timer = setInterval(() => {
        const nowNames = runtime.metrics.snapshot().totalNames;
        const nowAzuriteMs = childCpuMs(runtime.azurite.pid);
        const cpuDelta = process.cpuUsage(cpu);
        const sliceMs = TIMELINE_SLICE_SECONDS * 1000;
        slices.push({
            namesPerSecond: Math.round((nowNames - names) / TIMELINE_SLICE_SECONDS),
            eventLoopBusyPercent: Math.round(performance.eventLoopUtilization(loop).utilization * 100),
            gcMs: Math.round(gcMs),
            runtimeCores: Number(((cpuDelta.user + cpuDelta.system) / 1000 / sliceMs).toFixed(2)),
            azuriteCores: Number(((nowAzuriteMs - azuriteMs) / sliceMs).toFixed(2)),
            walMb: stateDirectory === undefined ? undefined : Number((walBytes(stateDirectory) / 2 ** 20).toFixed(1)),
        });
        names = nowNames;
        loop = performance.eventLoopUtilization();
        cpu = process.cpuUsage();
        azuriteMs = nowAzuriteMs;
        gcMs = 0;
    }, TIMELINE_SLICE_SECONDS * 1000);
    return {
        stop: () => {
            clearInterval(timer);
            gcObserver.disconnect();
            return slices;
        },
    };
}

function walBytes(stateDirectory: string): number {
    try {
        return statSync(`${stateLayout(stateDirectory).database}-wal`).size;
    } catch {
        return 0;
    }
}

/** A step's timeline as one line per measure, a column per slice, for reading a slow step next to a fast one. */
function timelineLines(slices: readonly TimelineSlice[]): string {
    const row = (label: string, values: Array<number | undefined>) =>
        `  ${label.padEnd(22)}${values.map((value) => String(value ?? '-').padStart(7)).join('')}`;
    const measures: Array<[string, keyof TimelineSlice]> = [
        ['names/s', 'namesPerSecond'],
        ['event loop busy %', 'eventLoopBusyPercent'],
        ['GC ms', 'gcMs'],
        ['runtime cores', 'runtimeCores'],
        ['Azurite cores', 'azuriteCores'],
        ['WAL MB', 'walMb'],
    ];
    return [
        `  timeline, ${TIMELINE_SLICE_SECONDS}-s slices:`,
        ...measures.map(([label, key]) =>
            row(
                label,
                slices.map((slice) => slice[key]),
            ),
        ),
    ].join('\n');
}

function childCpuMs(pid: number | undefined): number {
    if (!pid) {
        return 0;
    }
    try {
        // Fields after the parenthesised command name: state is the 3rd field, utime the 14th, stime the 15th.
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
        return 0;
    }
}

async function soakSample(
    elapsedSeconds: number,
    runtime: LocalRuntime,
    backlog: number,
    cosmos: ReturnType<typeof createLocalCosmosClient>,
): Promise<SoakSample> {
    const fileSize = (file: string) => {
        try {
            return statSync(file).size;
        } catch {
            return 0;
        }
    };
    const database = runtime.state?.databaseFile;
    const azurite = runtime.state ? path.join(runtime.state.directory, 'azurite') : undefined;
    const metadataFiles = azurite
        ? readdirSync(azurite)
              .filter((name) => name.endsWith('.json'))
              .map((name) => path.join(azurite, name))
        : [];
    const hub = runtime.eventHubs.get('names')!;
    const retainedEvents = hub.partitionIds
        .map((id) => hub.getPartitionProperties(id))
        .reduce(
            (sum, partition) =>
                sum +
                (partition.isEmpty ? 0 : partition.lastEnqueuedSequenceNumber - partition.beginningSequenceNumber + 1),
            0,
        );
    const { resources } = await cosmos
        .database('namestream')
        .container('letter-counts')
        .items.query<number>('SELECT VALUE COUNT(1) FROM c')
        .fetchAll();
    const cpu = { at: performance.now(), runtime: process.cpuUsage(), azuriteMs: childCpuMs(runtime.azurite.pid) };
    const previous = previousCpu ?? cpu;
    previousCpu = cpu;
    const wallMs = cpu.at - previous.at || 1;
    const runtimeCpuMs =
        (cpu.runtime.user + cpu.runtime.system - previous.runtime.user - previous.runtime.system) / 1000;
    return {
        elapsedSeconds,
        runtimeCpuPercent: Math.round((100 * runtimeCpuMs) / wallMs),
        azuriteCpuPercent: Math.round((100 * (cpu.azuriteMs - previous.azuriteMs)) / wallMs),
        runtimeRssBytes: process.memoryUsage().rss,
        azuriteRssBytes: childRss(runtime.azurite.pid),
        heapUsedBytes: process.memoryUsage().heapUsed,
        databaseBytes: database ? fileSize(database) : 0,
        walBytes: database ? fileSize(`${database}-wal`) : 0,
        azuriteMetadataBytes: metadataFiles.reduce((sum, file) => sum + fileSize(file), 0),
        azuriteExtentBytes: azurite ? directorySize(path.join(azurite, '__blobstorage__')) : 0,
        // Counted by the lifecycle sweep, which lists them anyway: a listing of its own every sample would cost Azurite
        // about 0.35 ms of CPU per blob (XML serialization), enough to slow the pipeline it measures.
        rawNamesBlobs: runtime.blobLifecycle.lastReport?.kept ?? 0,
        retainedEvents,
        cosmosDocuments: resources[0] ?? 0,
        backlog,
        totalNames: runtime.metrics.snapshot().totalNames,
    };
}

function directorySize(directory: string): number {
    let total = 0;
    let entries;
    try {
        entries = readdirSync(directory, { withFileTypes: true });
    } catch {
        return 0;
    }
    for (const entry of entries) {
        const entryPath = path.join(directory, entry.name);
        try {
            total += entry.isDirectory() ? directorySize(entryPath) : statSync(entryPath).size;
        } catch {
            // Deleted since the listing (Azurite's extent collection, LokiJS's save by rename): no longer there.
        }
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
 * Whether memory and disk stay bounded, per component: its trend in each half of the run (least-squares slope per
 * minute, shown only), its trough, median and peak in each quarter, and a verdict by bench/soakVerdict.ts: still
 * growing when, from the third quarter to the fourth, its trough and its peak both rose by more than 5 % of the third
 * quarter's median (or the measure's noise floor); otherwise levelled off, flat or bounded between the second half's
 * lowest and highest samples. Memory is a garbage-collection sawtooth: a quarter's trough and peak wander with where
 * the collections fall and the sampler catches them, rarely both up at once, where a leak lifts both. With retention
 * (default 60 s) at most a quarter of the run, both quarters are in the steady state.
 */
function soakSummary(samples: SoakSample[], retentionSeconds: number | undefined): string {
    if (samples.length === 0) {
        return 'soak summary: no samples';
    }
    const end = samples.at(-1)!.elapsedSeconds;
    // The verdict compares the last two quarters, which must both be past the stores' filling up to their retention.
    const warmUpNote =
        retentionSeconds === undefined
            ? '  note: with production retention the stores kept by age fill up for days, so for them "still growing" means still filling'
            : end < 4 * retentionSeconds
              ? `  note: the run (${end.toFixed(0)} s) is shorter than 4 times the retention (${retentionSeconds} s), so its third quarter is still in the warm-up and "still growing" may be the stores filling up: run at least ${4 * retentionSeconds} s`
              : undefined;
    const MB = 2 ** 20;
    const measures: Array<SoakMeasure & { scale: number; value: (s: SoakSample) => number }> = [
        { name: 'runtime RSS', unit: 'MB', scale: MB, floor: 5, value: (s) => s.runtimeRssBytes },
        { name: 'runtime JavaScript heap', unit: 'MB', scale: MB, floor: 5, value: (s) => s.heapUsedBytes },
        { name: 'Azurite RSS', unit: 'MB', scale: MB, floor: 5, value: (s) => s.azuriteRssBytes },
        { name: 'namestream.db', unit: 'MB', scale: MB, floor: 1, value: (s) => s.databaseBytes },
        { name: 'namestream.db-wal', unit: 'MB', scale: MB, floor: 1, value: (s) => s.walBytes },
        { name: 'Azurite metadata (LokiJS)', unit: 'MB', scale: MB, floor: 1, value: (s) => s.azuriteMetadataBytes },
        { name: 'Azurite extents (blob content)', unit: 'MB', scale: MB, floor: 1, value: (s) => s.azuriteExtentBytes },
        { name: 'raw-names blobs', unit: 'blobs', scale: 1, floor: 0, value: (s) => s.rawNamesBlobs },
        { name: 'Event Hub events retained', unit: 'events', scale: 1, floor: 0, value: (s) => s.retainedEvents },
        { name: 'Cosmos DB documents', unit: 'documents', scale: 1, floor: 0, value: (s) => s.cosmosDocuments },
    ];
    const lines = measures.map(({ scale, value, ...measure }) =>
        soakSeriesLine(
            measure,
            samples.map((sample) => ({ elapsedSeconds: sample.elapsedSeconds, value: value(sample) / scale })),
        ),
    );
    const meanOf = (value: (sample: SoakSample) => number) =>
        Math.round(samples.slice(1).reduce((sum, sample) => sum + value(sample), 0) / Math.max(1, samples.length - 1));
    const names = samples.at(-1)!.totalNames;
    return [
        `soak summary (${samples.length} samples over ${end.toFixed(0)} s, ${names} names reached the hub, ` +
            `${Math.round(names / Math.max(1, end))} names/s; CPU ${meanOf((s) => s.runtimeCpuPercent)} % of a core for this ` +
            `process, ${meanOf((s) => s.azuriteCpuPercent)} % for Azurite; backlog peak ${Math.max(...samples.map((s) => s.backlog))} messages):`,
        `  ${SOAK_VERDICT_RULE}`,
        ...(warmUpNote ? [warmUpNote] : []),
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
