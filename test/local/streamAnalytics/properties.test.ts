import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
    compileQuery,
    letterCountsJobSettings,
    letterCountsQueryPath,
    type OutputRow,
    QueryCompileError,
} from '../../../local/streamAnalytics/index';

const QUERY = readFileSync(letterCountsQueryPath(), 'utf8');
const START = Date.parse('2026-11-22T06:00:00Z');
const WINDOW_MS = 30_000;

interface Delivery {
    partitionId: string;
    arrival: number;
    lagMs: number;
    eventId: string;
    name: string;
}

/**
 * Deliveries in broker order: arrival times only grow (one broker clock), partitions are random, and event time
 * (generatedAt) lags arrival by at most the out-of-order tolerance, so no policy ever drops or moves an event.
 * Event ids repeat on purpose: a redelivered name must still count once per window.
 */
const deliveries = fc
    .array(
        fc.record({
            // Whole seconds make events land exactly on window edges often; odd milliseconds cover the rest.
            gapMs: fc.oneof(
                fc.integer({ min: 0, max: 20 }).map((seconds) => seconds * 1000),
                fc.integer({ min: 0, max: 20_000 }),
            ),
            partitionId: fc.constantFrom('0', '1', '2'),
            lagMs: fc
                .integer({ min: 0, max: letterCountsJobSettings.eventsOutOfOrderMaxDelayInSeconds })
                .map((seconds) => seconds * 1000),
            eventNumber: fc.integer({ min: 0, max: 40 }),
            name: fc.constantFrom('Ann', 'anna', 'Bob', 'Cy', 'zed', 'Zoe', 'Quinn'),
        }),
        { maxLength: 120 },
    )
    .map((items) => {
        let arrival = START;
        return items.map<Delivery>((item) => {
            arrival += item.gapMs;
            return {
                partitionId: item.partitionId,
                arrival,
                lagMs: item.lagMs,
                eventId: `m:${item.eventNumber}`,
                name: item.name,
            };
        });
    });

/** The brute-force reference: each (window, letter) counts its distinct event ids. */
function referenceCounts(items: readonly Delivery[]): Map<string, number> {
    const ids = new Map<string, Set<string>>();
    for (const item of items) {
        const eventTime = item.arrival - item.lagMs;
        const windowEnd = Math.ceil(eventTime / WINDOW_MS) * WINDOW_MS;
        const key = `${Math.floor(windowEnd / 1000)}-${item.name[0]!.toUpperCase()}`;
        ids.set(key, (ids.get(key) ?? new Set()).add(item.eventId));
    }
    return new Map([...ids].map(([key, set]) => [key, set.size]));
}

async function engineCounts(items: readonly Delivery[]): Promise<Map<string, number>> {
    const plan = compileQuery(QUERY, {
        inputs: { namesInput: { partitionIds: ['0', '1', '2'] } },
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
    for (const item of items) {
        now = item.arrival;
        job.push('namesInput', item.partitionId, [
            {
                enqueuedTime: item.arrival,
                body: {
                    eventId: item.eventId,
                    messageId: 'm',
                    name: item.name,
                    // The bucket the fan-out puts on each event (domain/names/firstLetter.ts); these names are ASCII.
                    letter: item.name[0]!.toUpperCase(),
                    generatedAt: new Date(item.arrival - item.lagMs).toISOString(),
                },
            },
        ]);
    }
    now += 24 * 3_600_000;
    job.advance();
    await job.flush();
    const counts = new Map<string, number>();
    for (const row of rows) {
        expect(counts.has(row.id as string)).toBe(false); // each (window, letter) is written exactly once
        counts.set(row.id as string, row.count as number);
    }
    return counts;
}

describe('letter-count query properties', () => {
    it('produces the same tumbling counts as a brute-force reference for random streams', async () => {
        await fc.assert(
            fc.asyncProperty(deliveries, async (items) => {
                expect(await engineCounts(items)).toEqual(referenceCounts(items));
            }),
            { numRuns: 150 },
        );
    });
});

const VALID_QUERIES = [
    QUERY,
    readFileSync(`${__dirname}/fixtures/several-outputs/query.asaql`, 'utf8'),
    readFileSync(`${__dirname}/fixtures/hopping-windows/query.asaql`, 'utf8'),
];

const FRAGMENTS = [
    'SELECT',
    'FROM',
    'WHERE',
    'GROUP BY',
    '(',
    ')',
    ',',
    "'",
    '[',
    ']',
    '--',
    '/*',
    'CASE',
    'END',
    'AS',
    '.',
    '*',
    'INTO',
    'WITH',
    '0',
    'TumblingWindow(',
    'COUNT(DISTINCT',
    ';',
    '\n',
];

/** Damages a valid query: removes, inserts and replaces slices of its text. */
const damagedQuery = fc
    .tuple(
        fc.constantFrom(...VALID_QUERIES),
        fc.array(
            fc.record({
                at: fc.nat(),
                remove: fc.integer({ min: 0, max: 12 }),
                insert: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 6 })),
            }),
            { minLength: 1, maxLength: 4 },
        ),
    )
    .map(([text, edits]) =>
        edits.reduce((current, edit) => {
            const at = edit.at % (current.length + 1);
            return current.slice(0, at) + edit.insert + current.slice(at + edit.remove);
        }, text),
    );

describe('malformed queries', () => {
    it('either compile or fail with a located QueryCompileError, never anything else', () => {
        fc.assert(
            fc.property(fc.oneof(damagedQuery, fc.string({ maxLength: 80 })), (text) => {
                try {
                    compileQuery(text, {
                        inputs: { namesInput: { partitionIds: ['0'] }, readings: { partitionIds: ['0'] } },
                        outputs: ['letterCountsOutput', 'allNames', 'sizes', 'positional', 'named'],
                        jobSettings: letterCountsJobSettings,
                    });
                } catch (error) {
                    expect(error).toBeInstanceOf(QueryCompileError);
                    const located = error as QueryCompileError;
                    const lines = text.split('\n');
                    expect(located.line).toBeGreaterThanOrEqual(1);
                    expect(located.line).toBeLessThanOrEqual(lines.length);
                    expect(located.column).toBeGreaterThanOrEqual(1);
                    expect(located.column).toBeLessThanOrEqual(lines[located.line - 1]!.length + 1);
                }
            }),
            { numRuns: 2000 },
        );
    });
});
