/**
 * What keeping the Service Bus queue on the state database costs, side by side in one run: the same work on a queue
 * in memory and on a queue with a SqliteServiceBusMessageStore (synchronous NORMAL, the runtime's setting), with the
 * ratio. Run with `npx tsx bench/serviceBusState.bench.ts [messageCount]`; the folder is a temporary one on
 * os.tmpdir()'s disk. Besides the rate it prints the process's CPU time per message (user + system), which a busy
 * machine distorts far less than the rate: the difference is what the state database adds to each message.
 *
 * - send+process: sends of one message in bursts of 100 between event-loop turns while the trigger's processor
 *   (maxConcurrentCalls 32) completes them, as `npm run bench` drives the queue: per message one commit for the send,
 *   one per receive batch and one for the complete.
 * - batch send: sendBatch of 10, as the output binding sends one invocation's messages.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { LocalServiceBusQueue, SERVICE_BUS_STATE_COMPONENT, SqliteServiceBusMessageStore } from '../local/serviceBus';
import { StateStore } from '../local/state';

const messageCount = Number(process.argv[2] ?? 20_000);
const body = JSON.stringify({
    batchId: '7c1f8a52-3b7e-4d7c-9f0e-2a51c0f3b1aa',
    generatedAt: new Date().toISOString(),
    names: ['Ada Lovelace', 'Émile Zola', 'Grace Hopper', 'Alan Turing', 'Hedy Lamarr', 'Niklaus Wirth'],
});

type Mode = 'in memory' | 'on disk';

interface Measurement {
    messagesPerSecond: number;
    cpuMicrosecondsPerMessage: number;
}

async function withQueue(mode: Mode, work: (queue: LocalServiceBusQueue) => Promise<void>): Promise<Measurement> {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'sb-state-bench-'));
    const state =
        mode === 'on disk' ? StateStore.open({ directory, components: [SERVICE_BUS_STATE_COMPONENT] }) : undefined;
    const queue = new LocalServiceBusQueue({
        name: 'bench-queue',
        store: state ? new SqliteServiceBusMessageStore(state) : undefined,
    });
    try {
        const start = performance.now();
        const cpu = process.cpuUsage();
        await work(queue);
        const used = process.cpuUsage(cpu);
        return {
            messagesPerSecond: (messageCount / (performance.now() - start)) * 1000,
            cpuMicrosecondsPerMessage: (used.user + used.system) / messageCount,
        };
    } finally {
        queue.close();
        state?.close();
        rmSync(directory, { recursive: true, force: true });
    }
}

async function sendAndProcess(queue: LocalServiceBusQueue): Promise<void> {
    let handled = 0;
    const finished = new Promise<void>((done) => {
        const processor = queue.startProcessor({
            maxConcurrentCalls: 32,
            handler: () => {
                if (++handled === messageCount) {
                    void processor.stop().then(done);
                }
                return Promise.resolve();
            },
        });
    });
    for (let sent = 0; sent < messageCount;) {
        for (let burst = 0; burst < 100 && sent < messageCount; burst++, sent++) {
            queue.send({ body, contentType: 'application/json' });
        }
        await new Promise((resolve) => setImmediate(resolve));
    }
    await finished;
}

function sendBatches(queue: LocalServiceBusQueue): Promise<void> {
    for (let sent = 0; sent < messageCount; sent += 10) {
        queue.sendBatch(Array.from({ length: 10 }, () => ({ body, contentType: 'application/json' })));
    }
    return Promise.resolve();
}

async function main(): Promise<void> {
    const rows: Array<Record<string, string>> = [];
    for (const [name, work] of [
        ['send+process (sends of 1)', sendAndProcess],
        ['batch send (10 per send)', sendBatches],
    ] as const) {
        // Warm-up of both, then the measured pair back to back.
        await withQueue('in memory', work);
        await withQueue('on disk', work);
        const inMemory = await withQueue('in memory', work);
        const onDisk = await withQueue('on disk', work);
        const show = (measured: Measurement) =>
            `${Math.round(measured.messagesPerSecond).toLocaleString('en-US')} messages/s, ` +
            `${measured.cpuMicrosecondsPerMessage.toFixed(1)} µs CPU each`;
        rows.push({
            case: `${name}, ${messageCount} messages`,
            'in memory': show(inMemory),
            'on disk': show(onDisk),
            'rate on disk / in memory': (onDisk.messagesPerSecond / inMemory.messagesPerSecond).toFixed(2),
            'CPU added per message': `${(onDisk.cpuMicrosecondsPerMessage - inMemory.cpuMicrosecondsPerMessage).toFixed(1)} µs`,
        });
    }
    console.table(rows);
    console.log(
        `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, node ${process.version}, ` +
            `${os.platform()} ${os.release()}, load average ${os.loadavg()[0]!.toFixed(1)}, folder on ${os.tmpdir()}`,
    );
}

void main();
