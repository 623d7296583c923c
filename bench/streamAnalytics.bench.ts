/**
 * Throughput of the local Stream Analytics engine running infra/letter-counts.asaql, next to a hand-written loop
 * doing the same aggregation (event time from generatedAt, 30 s tumbling windows, COUNT(DISTINCT eventId) per
 * letter, windows closed by the same max-event-time watermark). Rounds alternate which runs first.
 *
 * Then events per second for a stream-to-stream JOIN, a JOIN of three streams, a LAG inside a JOIN, a LAG and a
 * session-window query, and a memory step: the heap after a garbage collection, at quarters of a long stream, for the
 * joins, a sliding window and a session window, which stays flat because their state is bounded by their duration,
 * not by the stream's length.
 *
 *   npx tsx bench/streamAnalytics.bench.ts [eventsPerRound=300000] [rounds=7]
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import firstNames from '../domain/names/data/firstNames.json';
import { bucketOf } from '../domain/names/firstLetter';
import {
    compileQuery,
    type InputEvent,
    letterCountsJobSettings,
    letterCountsQueryPath,
    type OutputRow,
} from '../local/streamAnalytics/index';

const EVENTS = Number(process.argv[2] ?? 300_000);
const ROUNDS = Number(process.argv[3] ?? 7);
const PARTITIONS = ['0', '1', '2', '3'];
const BATCH = 100;
const START = Date.parse('2026-11-22T06:00:00Z');
const OUT_OF_ORDER_MS = letterCountsJobSettings.eventsOutOfOrderMaxDelayInSeconds * 1000;

interface Batch {
    partitionId: string;
    arrival: number;
    events: InputEvent[];
}

/** Messages of 10 names every 20 ms, 2% of them redelivered once, spread over partitions in batches. */
function workload(): Batch[] {
    const names = firstNames.names.map(([name]) => String(name));
    // The fan-out puts each name's bucket on its event (domain/messages/nameEvent.ts); the query groups by it.
    const letters = names.map(bucketOf);
    const byPartition = new Map<string, InputEvent[]>(PARTITIONS.map((id) => [id, []]));
    const batches: Batch[] = [];
    let produced = 0;
    let generatedAt = START;
    for (let message = 0; produced < EVENTS; message += 1) {
        generatedAt = START + message * 20;
        const copies = message % 50 === 0 ? 2 : 1;
        for (let copy = 0; copy < copies; copy += 1) {
            const partitionId = PARTITIONS[(message + copy) % PARTITIONS.length]!;
            const pending = byPartition.get(partitionId)!;
            for (let index = 0; index < 10 && produced < EVENTS; index += 1, produced += 1) {
                pending.push({
                    enqueuedTime: generatedAt + 40,
                    body: {
                        eventId: `m${message}:${index}`,
                        messageId: `m${message}`,
                        name: names[(message * 7 + index * 13) % names.length]!,
                        letter: letters[(message * 7 + index * 13) % names.length]!,
                        generatedAt: new Date(generatedAt).toISOString(),
                    },
                });
            }
            if (pending.length >= BATCH) {
                batches.push({ partitionId, arrival: generatedAt + 40, events: pending.splice(0) });
            }
        }
    }
    for (const [partitionId, pending] of byPartition) {
        if (pending.length > 0) {
            batches.push({ partitionId, arrival: generatedAt + 40, events: pending });
        }
    }
    return batches;
}

async function runEngine(batches: readonly Batch[], query: string): Promise<OutputRow[]> {
    const plan = compileQuery(query, {
        inputs: { namesInput: { partitionIds: PARTITIONS } },
        outputs: ['letterCountsOutput'],
        jobSettings: letterCountsJobSettings,
    });
    let now = START;
    const rows: OutputRow[] = [];
    const job = plan.createJob({
        clock: { now: () => new Date(now) },
        sink: (_alias, batch) => {
            rows.push(...batch);
            return Promise.resolve();
        },
    });
    for (const batch of batches) {
        now = batch.arrival;
        job.push('namesInput', batch.partitionId, batch.events);
    }
    now += 3_600_000;
    job.advance();
    await job.flush();
    return rows;
}

/** The same aggregation written by hand, without a query engine in between. */
function runHandWritten(batches: readonly Batch[]): OutputRow[] {
    const windows = new Map<number, Map<string, Set<string>>>();
    const maxByPartition = new Map<string, number>(PARTITIONS.map((id) => [id, -Infinity]));
    const rows: OutputRow[] = [];
    const close = (watermark: number): void => {
        for (const end of [...windows.keys()].filter((e) => e < watermark).sort((a, b) => a - b)) {
            for (const [letter, ids] of windows.get(end)!) {
                const iso = new Date(end).toISOString();
                rows.push({
                    id: `${Math.floor(end / 1000)}-${letter}`,
                    windowEnd: `${iso.slice(0, 19)}.${iso.slice(20, 23)}0000Z`,
                    letter,
                    count: ids.size,
                });
            }
            windows.delete(end);
        }
    };
    for (const batch of batches) {
        let max = maxByPartition.get(batch.partitionId)!;
        for (const event of batch.events) {
            const body = event.body as { eventId: string; letter: string; generatedAt: string };
            const ts = Date.parse(body.generatedAt);
            if (ts < max - OUT_OF_ORDER_MS) {
                continue;
            }
            max = Math.max(max, ts);
            const end = Math.ceil(ts / 30_000) * 30_000;
            const letter = body.letter;
            let letters = windows.get(end);
            if (letters === undefined) {
                letters = new Map();
                windows.set(end, letters);
            }
            let ids = letters.get(letter);
            if (ids === undefined) {
                ids = new Set();
                letters.set(letter, ids);
            }
            ids.add(body.eventId);
        }
        maxByPartition.set(batch.partitionId, max);
        close(Math.min(...maxByPartition.values()) - OUT_OF_ORDER_MS);
    }
    close(Infinity);
    return rows;
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
    const query = readFileSync(letterCountsQueryPath(), 'utf8');
    const batches = workload();
    const total = batches.reduce((sum, batch) => sum + batch.events.length, 0);
    const engineRows = await runEngine(batches, query);
    const handRows = runHandWritten(batches);
    const key = (rows: OutputRow[]): string => JSON.stringify(rows.map((row) => [row.id, row.count]).sort());
    if (key(engineRows) !== key(handRows)) {
        throw new Error('engine and hand-written loop disagree; the comparison would be meaningless');
    }
    const engineRates: number[] = [];
    const handRates: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
        const order = round % 2 === 0 ? ['engine', 'hand'] : ['hand', 'engine'];
        for (const which of order) {
            const started = performance.now();
            if (which === 'engine') {
                await runEngine(batches, query);
            } else {
                runHandWritten(batches);
            }
            const rate = total / ((performance.now() - started) / 1000);
            (which === 'engine' ? engineRates : handRates).push(rate);
        }
    }
    const engine = median(engineRates);
    const hand = median(handRates);
    console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, node ${process.version}`);
    console.log(`workload: ${total} events, ${engineRows.length} output rows, ${ROUNDS} interleaved rounds (median)`);
    console.log(`engine (letter-counts.asaql): ${Math.round(engine).toLocaleString('en-US')} events/s`);
    console.log(`hand-written loop:            ${Math.round(hand).toLocaleString('en-US')} events/s`);
    console.log(`ratio engine/hand: ${(engine / hand).toFixed(2)} (target >= 0.80)`);
    console.log(
        '(the engine remembers the last TIMESTAMP BY string it read, which the 10 events of a message share; the loop parses each)',
    );
    await otherWorkloads();
}

/** A pushed batch of one input: `count` events from `first`, `stepMs` apart. */
function timedEvents(count: number, stepMs: number, body: (index: number) => Record<string, unknown>): InputEvent[][] {
    const batches: InputEvent[][] = [];
    for (let index = 0; index < count; index += BATCH) {
        const batch: InputEvent[] = [];
        for (let offset = index; offset < Math.min(index + BATCH, count); offset += 1) {
            const time = START + offset * stepMs;
            batch.push({
                enqueuedTime: time,
                body: { time: new Date(time).toISOString(), ...body(offset) },
            });
        }
        batches.push(batch);
    }
    return batches;
}

interface Workload {
    readonly name: string;
    readonly query: string;
    /** Batches per input alias, pushed alternately. */
    readonly inputs: Readonly<Record<string, InputEvent[][]>>;
}

/** Runs a workload; calls `probe` after each quarter of its batches. */
async function runWorkload(workload: Workload, probe?: (quarter: number) => void): Promise<number> {
    const aliases = Object.keys(workload.inputs);
    const plan = compileQuery(workload.query, {
        inputs: Object.fromEntries(aliases.map((alias) => [alias, { partitionIds: ['0'] }])),
        outputs: ['out'],
        jobSettings: { ...letterCountsJobSettings, eventsOutOfOrderMaxDelayInSeconds: 0 },
    });
    let now = START;
    let rows = 0;
    const job = plan.createJob({
        clock: { now: () => new Date(now) },
        sink: (_alias, batch) => {
            rows += batch.length;
            return Promise.resolve();
        },
    });
    const length = Math.max(...aliases.map((alias) => workload.inputs[alias]!.length));
    for (let index = 0; index < length; index += 1) {
        for (const alias of aliases) {
            const batch = workload.inputs[alias]![index];
            if (batch !== undefined) {
                now = batch.at(-1)!.enqueuedTime as number;
                job.push(alias, '0', batch);
            }
        }
        await job.flush();
        const quarter = Math.floor(((index + 1) * 4) / length);
        if (probe !== undefined && quarter > Math.floor((index * 4) / length)) {
            probe(quarter);
        }
    }
    job.finish();
    await job.flush();
    return rows;
}

function workloads(events: number): Workload[] {
    const plates = 5000;
    return [
        {
            name: 'JOIN (entries with exits within 2 minutes, by plate)',
            query: `SELECT e.plate, DATEDIFF(second, e.time, x.time) AS seconds INTO out
                FROM entries e TIMESTAMP BY time JOIN exits x TIMESTAMP BY time
                ON e.plate = x.plate AND DATEDIFF(minute, e, x) BETWEEN 0 AND 2`,
            inputs: {
                entries: timedEvents(events / 2, 10, (index) => ({ plate: `P${index % plates}` })),
                exits: timedEvents(events / 2, 10, (index) => ({ plate: `P${(index + plates - 3000) % plates}` })),
            },
        },
        {
            name: 'JOIN of three streams (then a payment within 1 minute of the exit, LEFT OUTER)',
            query: `SELECT e.plate, p.amount INTO out
                FROM entries e TIMESTAMP BY time
                JOIN exits x TIMESTAMP BY time ON e.plate = x.plate AND DATEDIFF(minute, e, x) BETWEEN 0 AND 2
                LEFT OUTER JOIN payments p TIMESTAMP BY time
                ON p.plate = x.plate AND DATEDIFF(minute, x, p) BETWEEN 0 AND 1`,
            inputs: {
                entries: timedEvents(events / 3, 15, (index) => ({ plate: `P${index % plates}` })),
                exits: timedEvents(events / 3, 15, (index) => ({ plate: `P${(index + plates - 2000) % plates}` })),
                payments: timedEvents(events / 3, 15, (index) => ({
                    plate: `P${(index + plates - 4000) % plates}`,
                    amount: index % 20,
                })),
            },
        },
        {
            name: 'LAG in a JOIN (previous exit of the plate, computed before the join)',
            query: `SELECT e.plate, LAG(x.time) OVER (PARTITION BY x.plate LIMIT DURATION(minute, 5)) AS previousExit
                INTO out FROM entries e TIMESTAMP BY time JOIN exits x TIMESTAMP BY time
                ON e.plate = x.plate AND DATEDIFF(minute, e, x) BETWEEN 0 AND 2`,
            inputs: {
                entries: timedEvents(events / 2, 10, (index) => ({ plate: `P${index % plates}` })),
                exits: timedEvents(events / 2, 10, (index) => ({ plate: `P${(index + plates - 3000) % plates}` })),
            },
        },
        {
            name: 'LAG (previous reading per sensor within 1 minute)',
            query: `SELECT sensor, reading - LAG(reading) OVER (PARTITION BY sensor LIMIT DURATION(minute, 1)) AS growth
                INTO out FROM readings TIMESTAMP BY time`,
            inputs: {
                readings: timedEvents(events, 5, (index) => ({ sensor: `s${index % 50}`, reading: index % 97 })),
            },
        },
        {
            name: 'SessionWindow (per user, 2 s timeout, 60 s maximum)',
            query: `SELECT user, COUNT(*) AS clicks INTO out FROM clicks TIMESTAMP BY time
                GROUP BY user, SessionWindow(second, 2, 60) OVER (PARTITION BY user)`,
            inputs: { clicks: timedEvents(events, 5, (index) => ({ user: `u${(index * 7) % 400}` })) },
        },
    ];
}

async function otherWorkloads(): Promise<void> {
    const events = Math.min(EVENTS, 200_000);
    for (const workload of workloads(events)) {
        await runWorkload(workload); // warm-up
        const rates: number[] = [];
        for (let round = 0; round < 3; round += 1) {
            const started = performance.now();
            await runWorkload(workload);
            rates.push(events / ((performance.now() - started) / 1000));
        }
        console.log(`${workload.name}: ${Math.round(median(rates)).toLocaleString('en-US')} events/s (median of 3)`);
    }
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const long = Math.min(EVENTS, 200_000) * 2;
    const bounded: Workload[] = [
        ...workloads(long).filter((workload) => !workload.name.startsWith('LAG (')),
        {
            name: 'SlidingWindow (per sensor, 10 s)',
            query: `SELECT sensor, MAX(reading) AS peak INTO out FROM readings TIMESTAMP BY time
                GROUP BY sensor, SlidingWindow(second, 10)`,
            inputs: { readings: timedEvents(long, 5, (index) => ({ sensor: `s${index % 50}`, reading: index % 97 })) },
        },
    ];
    console.log(
        `memory: heap after GC at each quarter of ${long.toLocaleString('en-US')} events (input batches excluded)`,
    );
    for (const workload of bounded) {
        gc();
        const base = process.memoryUsage().heapUsed;
        const used: string[] = [];
        await runWorkload(workload, () => {
            gc();
            used.push(`${((process.memoryUsage().heapUsed - base) / 1_048_576).toFixed(1)} MB`);
        });
        console.log(`  ${workload.name}: ${used.join(', ')}`);
    }
}

void main();
