/**
 * Drives the local pipeline at rising rates and reports, per step: sustained names per second end to end (names
 * that reached the Event Hub, and the backlog left), window-close-to-change-feed latency (p50, p99) and peak memory
 * (this process plus Azurite). A soak run at one rate shows whether memory stays bounded.
 *
 *   npx tsx bench/pipeline.bench.ts                 rising rates, 100 names per message and 4-10 per message
 *   npx tsx bench/pipeline.bench.ts --soak 300      5 minutes at --rate (default 20000) names/s, 100 per message
 *   npx tsx bench/pipeline.bench.ts --capacity      the highest rate it keeps up with, 4-10 names per message
 *   with --soak: --batch N or N-M names per message (default 100); with --capacity (default 4-10)
 *   --capacity measures the Service Bus bindings and the Event Hub output binding both ways in one run: over AMQP with
 *   the official SDK clients (the default, as in Azure) and in-process; --servicebus-path amqp|in-process picks one
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
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { systemClock } from '../domain/clock';
import { createNewNamesMessage, type NamesPerMessage } from '../domain/messages/createNewNamesMessage';
import { createRandomSource } from '../domain/random';
import { startLocalRuntime } from '../local/runtime/localRuntime';
import type { ServiceBusPath } from '../local/runtime/localServices';
import { letterCountsJobSettings } from '../local/streamAnalytics';

/** Messages the capacity step keeps waiting on the queue: well above maxConcurrentCalls, under a second of work. */
const CAPACITY_BACKLOG_MESSAGES = 500;

interface StepResult {
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
    console.log(
        `machine: ${os.cpus()[0]?.model ?? 'unknown'} x ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${os.platform()} ${os.release()}`,
    );
    console.log(
        `job settings: late arrival ${letterCountsJobSettings.eventsLateArrivalMaxDelayInSeconds} s, out of order ${letterCountsJobSettings.eventsOutOfOrderMaxDelayInSeconds} s (${letterCountsJobSettings.eventsOutOfOrderPolicy}); window ${windowSeconds} s`,
    );
    const startRuntime = (serviceBusPath: ServiceBusPath) =>
        startLocalRuntime({
            appRoot: path.resolve(__dirname, '..'),
            ephemeralPorts: true,
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
        report?: (elapsed: number, rssBytes: number, backlog: number) => void,
        serviceBusPath: ServiceBusPath = 'in-process',
    ): Promise<StepResult> => {
        const runtime = await startRuntime(serviceBusPath);
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
            if (report && performance.now() - lastReport > 30_000) {
                lastReport = performance.now();
                report((lastReport - started) / 1000, sampleMemory(), queue.activeMessageCount);
            }
            await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const elapsed = (performance.now() - started) / 1000;
        const snapshot = runtime.metrics.snapshot();
        const reached = snapshot.totalNames;
        const latencies = [...runtime.metrics.windowLatenciesMs].sort((a, b) => a - b);
        clearInterval(memoryTimer);
        const result = {
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
        return result;
    };

    const results: StepResult[] = [];
    if (args.includes('--capacity')) {
        const namesPerMessage = batchOption({ min: 4, max: 10 });
        console.log(
            `capacity: ${stepSeconds} s keeping ${CAPACITY_BACKLOG_MESSAGES} messages queued, ${namesPerMessage.min}-${namesPerMessage.max} names per message`,
        );
        const paths = servicebusPathOption();
        for (const serviceBusPath of paths) {
            results.push(await runStep(namesPerMessage, 'capacity', stepSeconds, undefined, serviceBusPath));
            console.log(JSON.stringify(results.at(-1)));
        }
    } else if (soakSeconds > 0) {
        const rate = option('rate', 20_000);
        const namesPerMessage = batchOption({ min: 100, max: 100 });
        console.log(
            `soak: ${soakSeconds} s at ${rate} names/s, ${namesPerMessage.min}-${namesPerMessage.max} names per message; every 30 s:`,
        );
        results.push(
            await runStep(namesPerMessage, rate, soakSeconds, (elapsed, rss, backlog) =>
                console.log(
                    `  t=${elapsed.toFixed(0)} s rss=${Math.round(rss / 2 ** 20)} MB heap=${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MB backlog=${backlog}`,
                ),
            ),
        );
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
        return ['amqp', 'in-process'];
    }
    const value = args[index + 1];
    if (value !== 'amqp' && value !== 'in-process') {
        throw new Error(`--servicebus-path must be amqp or in-process (got ${JSON.stringify(value)})`);
    }
    return [value];
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
