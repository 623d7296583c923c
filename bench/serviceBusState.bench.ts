/**
 * What keeping the Service Bus queue on the state database costs, side by side in one run: the same work on a queue
 * in memory and on a queue with a SqliteServiceBusMessageStore (synchronous NORMAL, the runtime's setting), with the
 * ratio, once committing per operation (the synchronous API, one transaction per send, receive batch and settlement,
 * as the queue did before its group commit) and once grouped (the *Async API the runtime now uses: one transaction
 * per turn of the event loop). Run with `npx tsx bench/serviceBusState.bench.ts [messageCount]`; the folder is a
 * temporary one on os.tmpdir()'s disk. Besides the rate it prints the process's CPU time per message (user + system),
 * which a busy machine distorts far less than the rate, the store transactions per message, and the load average
 * when each row was measured (the machine may be shared). Each figure is the median of 5 runs alternating in memory
 * and on disk.
 *
 * - send+process: sends of one message in bursts of 100 between event-loop turns while a processor with
 *   maxConcurrentCalls 32 completes them, as `npm run bench` drives the queue. Per operation: `send`, and the
 *   QueueProcessor's former loop (synchronous `receive` of the free slots, a lock-renewal timer, the function,
 *   synchronous `complete`), reproduced here; grouped: `sendBatchAsync` and the QueueProcessor itself. Their
 *   in-memory rows differ by the processors' own promise handling; the CPU the disk adds is the like-for-like figure.
 * - batch send: sends of 10, as the output binding sends one invocation's messages, 100 sends per turn.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import {
    LocalServiceBusQueue,
    SERVICE_BUS_STATE_COMPONENT,
    type ServiceBusMessageStore,
    SqliteServiceBusMessageStore,
} from '../local/serviceBus';
import { StateStore } from '../local/state';

const messageCount = Number(process.argv[2] ?? 20_000);
const MAX_CONCURRENT_CALLS = 32;
const REPETITIONS = 5;
const body = JSON.stringify({
    batchId: '7c1f8a52-3b7e-4d7c-9f0e-2a51c0f3b1aa',
    generatedAt: new Date().toISOString(),
    names: ['Ada Lovelace', 'Émile Zola', 'Grace Hopper', 'Alan Turing', 'Hedy Lamarr', 'Niklaus Wirth'],
});

type Storage = 'in memory' | 'on disk';

interface Measurement {
    messagesPerSecond: number;
    cpuMicrosecondsPerMessage: number;
    transactionsPerMessage: number;
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
}

function medianOf(runs: Measurement[]): Measurement {
    return {
        messagesPerSecond: median(runs.map((run) => run.messagesPerSecond)),
        cpuMicrosecondsPerMessage: median(runs.map((run) => run.cpuMicrosecondsPerMessage)),
        transactionsPerMessage: median(runs.map((run) => run.transactionsPerMessage)),
    };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

async function withQueue(storage: Storage, work: (queue: LocalServiceBusQueue) => Promise<void>): Promise<Measurement> {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'sb-state-bench-'));
    const state =
        storage === 'on disk' ? StateStore.open({ directory, components: [SERVICE_BUS_STATE_COMPONENT] }) : undefined;
    let transactions = 0;
    const inner = state ? new SqliteServiceBusMessageStore(state) : undefined;
    const store: ServiceBusMessageStore | undefined = inner && {
        load: (entity) => inner.load(entity),
        write: (writes) => {
            transactions++;
            inner.write(writes);
        },
    };
    const queue = new LocalServiceBusQueue({ name: 'bench-queue', store });
    transactions = 0;
    try {
        const start = performance.now();
        const cpu = process.cpuUsage();
        await work(queue);
        const used = process.cpuUsage(cpu);
        return {
            messagesPerSecond: (messageCount / (performance.now() - start)) * 1000,
            cpuMicrosecondsPerMessage: (used.user + used.system) / messageCount,
            transactionsPerMessage: transactions / messageCount,
        };
    } finally {
        queue.close();
        state?.close();
        rmSync(directory, { recursive: true, force: true });
    }
}

/** Sends of one message, 100 per turn, by `send` or `sendBatchAsync` (not awaited: the bursts overlap the work). */
async function sendInBursts(queue: LocalServiceBusQueue, grouped: boolean): Promise<void> {
    const sends: Array<Promise<unknown>> = [];
    for (let sent = 0; sent < messageCount;) {
        for (let burst = 0; burst < 100 && sent < messageCount; burst++, sent++) {
            if (grouped) {
                sends.push(queue.sendBatchAsync([{ body, contentType: 'application/json' }]));
            } else {
                queue.send({ body, contentType: 'application/json' });
            }
        }
        await nextTurn();
    }
    await Promise.all(sends);
}

/** The QueueProcessor (grouped): receiveAsync, the function after the commit, completeAsync. */
async function sendAndProcessGrouped(queue: LocalServiceBusQueue): Promise<void> {
    let handled = 0;
    const finished = new Promise<void>((done) => {
        const processor = queue.startProcessor({
            maxConcurrentCalls: MAX_CONCURRENT_CALLS,
            handler: () => {
                if (++handled === messageCount) {
                    void processor.stop().then(done);
                }
                return Promise.resolve();
            },
        });
    });
    await sendInBursts(queue, true);
    await finished;
}

/** The QueueProcessor's loop before the group commit: synchronous receive and complete, one commit each. */
async function sendAndProcessPerOperation(queue: LocalServiceBusQueue): Promise<void> {
    let handled = 0;
    let inFlight = 0;
    let pumpScheduled = false;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
        done = resolve;
    });
    const handler = () => Promise.resolve();
    const pump = () => {
        pumpScheduled = false;
        const freeSlots = MAX_CONCURRENT_CALLS - inFlight;
        if (freeSlots <= 0) {
            return;
        }
        for (const message of queue.receive(freeSlots)) {
            inFlight++;
            // The processor arms a lock-renewal timer per message and clears it when the function returns.
            const renewal = setTimeout(() => undefined, 50_000);
            void handler().then(() => {
                clearTimeout(renewal);
                queue.complete(message.lockToken);
                inFlight--;
                if (++handled === messageCount) {
                    done();
                }
                schedulePump();
            });
        }
    };
    const schedulePump = () => {
        if (!pumpScheduled) {
            pumpScheduled = true;
            queueMicrotask(pump);
        }
    };
    const unsubscribe = queue.onMessagesAvailable(schedulePump);
    schedulePump();
    await sendInBursts(queue, false);
    await finished;
    unsubscribe();
}

async function sendBatches(queue: LocalServiceBusQueue, grouped: boolean): Promise<void> {
    const sends: Array<Promise<unknown>> = [];
    for (let sent = 0; sent < messageCount;) {
        for (let burst = 0; burst < 100 && sent < messageCount; burst++, sent += 10) {
            const batch = Array.from({ length: 10 }, () => ({ body, contentType: 'application/json' }));
            if (grouped) {
                sends.push(queue.sendBatchAsync(batch));
            } else {
                queue.sendBatch(batch);
            }
        }
        await nextTurn();
    }
    await Promise.all(sends);
}

async function main(): Promise<void> {
    const cases: Array<[string, (queue: LocalServiceBusQueue) => Promise<void>]> = [
        ['send+process, per operation', sendAndProcessPerOperation],
        ['send+process, grouped', sendAndProcessGrouped],
        ['batch send (10), per operation', (queue) => sendBatches(queue, false)],
        ['batch send (10), grouped', (queue) => sendBatches(queue, true)],
    ];
    // Warm-up of every case both ways, then the measured pairs back to back.
    for (const [, work] of cases) {
        await withQueue('in memory', work);
        await withQueue('on disk', work);
    }
    const rows: Array<Record<string, string>> = [];
    const onDiskCpu = new Map<string, { total: number; added: number }>();
    for (const [name, work] of cases) {
        // Alternating repetitions, medians of each figure: single runs swing by a factor of 2 on a shared machine.
        const inMemoryRuns: Measurement[] = [];
        const onDiskRuns: Measurement[] = [];
        for (let repetition = 0; repetition < REPETITIONS; repetition++) {
            inMemoryRuns.push(await withQueue('in memory', work));
            onDiskRuns.push(await withQueue('on disk', work));
        }
        const inMemory = medianOf(inMemoryRuns);
        const onDisk = medianOf(onDiskRuns);
        onDiskCpu.set(name, {
            total: onDisk.cpuMicrosecondsPerMessage,
            added: onDisk.cpuMicrosecondsPerMessage - inMemory.cpuMicrosecondsPerMessage,
        });
        const show = (measured: Measurement) =>
            `${Math.round(measured.messagesPerSecond).toLocaleString('en-US')} msg/s, ` +
            `${measured.cpuMicrosecondsPerMessage.toFixed(1)} µs CPU`;
        rows.push({
            case: name,
            'in memory': show(inMemory),
            'on disk': show(onDisk),
            'transactions/msg': onDisk.transactionsPerMessage.toFixed(3),
            'rate disk/memory': (onDisk.messagesPerSecond / inMemory.messagesPerSecond).toFixed(2),
            'CPU added/msg': `${(onDisk.cpuMicrosecondsPerMessage - inMemory.cpuMicrosecondsPerMessage).toFixed(1)} µs`,
            load: os.loadavg()[0]!.toFixed(1),
        });
    }
    console.log(`${messageCount} messages per case; medians of ${REPETITIONS} alternating runs`);
    console.table(rows);
    for (const kind of ['send+process', 'batch send (10)']) {
        const perOperation = onDiskCpu.get(`${kind}, per operation`)!;
        const grouped = onDiskCpu.get(`${kind}, grouped`)!;
        console.log(
            `${kind} on disk, grouped / per operation: CPU per message ${(grouped.total / perOperation.total).toFixed(2)}, ` +
                `CPU the disk adds per message ${(grouped.added / perOperation.added).toFixed(2)}`,
        );
    }
    console.log(
        `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, node ${process.version}, ` +
            `${os.platform()} ${os.release()}, load average ${os
                .loadavg()
                .map((load) => load.toFixed(1))
                .join(' ')}, ` +
            `folder on ${os.tmpdir()}`,
    );
}

void main();
