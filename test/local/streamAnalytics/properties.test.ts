import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { eventSubMsTicks, toEventTime } from '../../../local/streamAnalytics/compileExpression';
import {
    compileQuery,
    letterCountsJobSettings,
    letterCountsQueryPath,
    type OutputRow,
    QueryCompileError,
} from '../../../local/streamAnalytics/index';
import { isoUtcMs, parseDateTime, parseDateTimeValue } from '../../../local/streamAnalytics/values';

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
    ...[
        'docs-stream-join',
        'docs-lag-duration-of-condition',
        'docs-cross-outer-apply',
        'docs-windows-function',
        'docs-session-window',
        'docs-join-three-streams',
        'docs-lag-with-join',
    ].map((name) => readFileSync(`${__dirname}/fixtures/${name}/query.asaql`, 'utf8')),
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
    'OVER (',
    'LIMIT DURATION(',
    'PARTITION BY',
    'JOIN',
    'ON',
    'CROSS APPLY',
    'UNION',
    'Windows(',
    'LIKE',
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

// ---------------------------------------------------------------- windows, joins and LAG against brute force

interface TimedEvent {
    id: number;
    time: number;
    k: string;
    v: number;
    side: 'left' | 'right' | 'third';
}

/** Events in time order (arrival = event time), on two inputs; whole seconds often land on window edges. */
const timedEvents = fc
    .array(
        fc.record({
            gapMs: fc.oneof(
                fc.integer({ min: 0, max: 12 }).map((seconds) => seconds * 1000),
                fc.integer({ min: 0, max: 12_000 }),
            ),
            k: fc.constantFrom('a', 'b'),
            v: fc.integer({ min: -5, max: 20 }),
            side: fc.constantFrom<'left' | 'right'>('left', 'right'),
        }),
        { maxLength: 40 },
    )
    .map((items) => {
        let time = START;
        return items.map<TimedEvent>((item, id) => {
            time += item.gapMs;
            return { id, time, k: item.k, v: item.v, side: item.side };
        });
    });

/**
 * The same on three inputs, for joins of three streams, closer together so that pairs often arrive while a third
 * event matching them is near being forgotten.
 */
const threeStreamEvents = fc
    .array(
        fc.record({
            gapMs: fc.oneof(
                fc.integer({ min: 0, max: 3 }).map((seconds) => seconds * 1000),
                fc.integer({ min: 0, max: 3000 }),
            ),
            k: fc.constantFrom('a', 'b'),
            v: fc.integer({ min: -5, max: 20 }),
            side: fc.constantFrom<'left' | 'right' | 'third'>('left', 'right', 'third'),
        }),
        { maxLength: 45 },
    )
    .map((items) => {
        let time = START;
        return items.map<TimedEvent>((item, id) => {
            time += item.gapMs;
            return { id, time, k: item.k, v: item.v, side: item.side };
        });
    });

const iso = (ms: number): string => new Date(ms).toISOString().replace('Z', '0000Z');

/** Runs a query over the inputs (events pushed at their own time, then the inputs end); rows sorted as JSON. */
async function runTimed(query: string, events: readonly TimedEvent[]): Promise<unknown[]> {
    const plan = compileQuery(query, {
        inputs: {
            leftInput: { partitionIds: ['0'] },
            rightInput: { partitionIds: ['0'] },
            thirdInput: { partitionIds: ['0'] },
        },
        outputs: ['out'],
        jobSettings: { ...letterCountsJobSettings, eventsOutOfOrderMaxDelayInSeconds: 0 },
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
    for (const event of events) {
        now = event.time;
        job.push(`${event.side}Input`, '0', [
            { enqueuedTime: event.time, body: { id: event.id, time: iso(event.time), k: event.k, v: event.v } },
        ]);
    }
    job.finish();
    await job.flush();
    return sortRows(rows);
}

function sortRows(rows: readonly unknown[]): unknown[] {
    return [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

const leftOnly = (events: readonly TimedEvent[]): TimedEvent[] => events.filter((event) => event.side === 'left');

/** DATEDIFF(second, from, to) as the JOIN reads it: second boundaries crossed from one event time to the other. */
const secondsCrossed = (from: TimedEvent, to: TimedEvent): number =>
    Math.floor(to.time / 1000) - Math.floor(from.time / 1000);

describe('windows, joins and LAG match brute-force references', () => {
    it('SlidingWindow: a row wherever an event enters or leaves, over (t - size, t]', async () => {
        const size = 10_000;
        await fc.assert(
            fc.asyncProperty(timedEvents, async (events) => {
                const query = `SELECT k, COUNT(*) AS n, SUM(v) AS total, System.Timestamp() AS t INTO out
                    FROM leftInput TIMESTAMP BY time GROUP BY k, SlidingWindow(second, 10)`;
                const expected: unknown[] = [];
                for (const k of ['a', 'b']) {
                    const mine = leftOnly(events).filter((event) => event.k === k);
                    const instants = new Set(mine.flatMap((event) => [event.time, event.time + size]));
                    for (const at of instants) {
                        const inside = mine.filter((event) => event.time > at - size && event.time <= at);
                        if (inside.length > 0) {
                            const total = inside.reduce((sum, event) => sum + event.v, 0);
                            expected.push({ k, n: inside.length, total, t: iso(at) });
                        }
                    }
                }
                expect(await runTimed(query, events)).toEqual(sortRows(expected));
            }),
            { numRuns: 100 },
        );
    });

    it('SessionWindow: gaps beyond the timeout and maximum-duration checkpoints end sessions, per key', async () => {
        const timeout = 5000;
        const maximum = 20_000;
        await fc.assert(
            fc.asyncProperty(timedEvents, async (events) => {
                const query = `SELECT k, COUNT(*) AS n, MIN(v) AS low, System.Timestamp() AS t INTO out
                    FROM leftInput TIMESTAMP BY time GROUP BY k, SessionWindow(second, 5, 20) OVER (PARTITION BY k)`;
                const expected: unknown[] = [];
                for (const k of ['a', 'b']) {
                    let session: { start: number; last: number; members: TimedEvent[] } | undefined;
                    const end = (s: { start: number; last: number }): number =>
                        Math.min(s.last + timeout, Math.ceil((s.start + maximum) / maximum) * maximum);
                    const close = (s: { start: number; last: number; members: TimedEvent[] }): void => {
                        const low = Math.min(...s.members.map((event) => event.v));
                        expected.push({ k, n: s.members.length, low, t: iso(end(s)) });
                    };
                    for (const event of leftOnly(events).filter((item) => item.k === k)) {
                        if (session !== undefined && event.time > end(session)) {
                            close(session);
                            const byMaximum = end(session) < session.last + timeout;
                            const start = byMaximum && event.time - session.last <= timeout ? end(session) : event.time;
                            session = { start, last: event.time, members: [] };
                        }
                        session ??= { start: event.time, last: event.time, members: [] };
                        session.last = event.time;
                        session.members.push(event);
                    }
                    if (session !== undefined) {
                        close(session);
                    }
                }
                expect(await runTimed(query, events)).toEqual(sortRows(expected));
            }),
            { numRuns: 100 },
        );
    });

    it('LAG ... OVER (PARTITION BY k LIMIT DURATION(second, 15)): the previous event of the key within 15 s', async () => {
        await fc.assert(
            fc.asyncProperty(timedEvents, async (events) => {
                const query = `SELECT id, LAG(v) OVER (PARTITION BY k LIMIT DURATION(second, 15)) AS previous
                    INTO out FROM leftInput TIMESTAMP BY time`;
                const mine = leftOnly(events);
                const expected = mine.map((event, index) => {
                    const before = mine
                        .slice(0, index)
                        .filter((other) => other.k === event.k && other.time >= event.time - 15_000);
                    return { id: event.id, previous: before.at(-1)?.v ?? null };
                });
                expect(await runTimed(query, events)).toEqual(sortRows(expected));
            }),
            { numRuns: 100 },
        );
    });

    for (const kind of ['JOIN', 'LEFT OUTER JOIN']) {
        it(`${kind} with DATEDIFF(second, l, r) BETWEEN 0 AND 10: every pair within the bound`, async () => {
            await fc.assert(
                fc.asyncProperty(timedEvents, async (events) => {
                    const query = `SELECT l.id AS leftId, r.id AS rightId INTO out
                        FROM leftInput l TIMESTAMP BY time ${kind} rightInput r TIMESTAMP BY time
                        ON l.k = r.k AND DATEDIFF(second, l, r) BETWEEN 0 AND 10`;
                    const lefts = leftOnly(events);
                    const rights = events.filter((event) => event.side === 'right');
                    const expected: unknown[] = [];
                    for (const left of lefts) {
                        const matches = rights.filter((right) => {
                            const crossed = Math.floor(right.time / 1000) - Math.floor(left.time / 1000);
                            return right.k === left.k && crossed >= 0 && crossed <= 10;
                        });
                        for (const right of matches) {
                            expected.push({ leftId: left.id, rightId: right.id });
                        }
                        if (matches.length === 0 && kind !== 'JOIN') {
                            expected.push({ leftId: left.id, rightId: null });
                        }
                    }
                    expect(await runTimed(query, events)).toEqual(sortRows(expected));
                }),
                { numRuns: 100 },
            );
        });
    }
});

describe('joins of three streams and analytic functions with JOIN match brute-force references', () => {
    const kinds = [
        ['JOIN', 'JOIN'],
        ['JOIN', 'LEFT OUTER JOIN'],
        ['LEFT OUTER JOIN', 'LEFT OUTER JOIN'],
    ] as const;
    for (const [first, second] of kinds) {
        it(`l ${first} r ${second} t, t bounded against l on both sides and against r above`, async () => {
            await fc.assert(
                fc.asyncProperty(threeStreamEvents, async (events) => {
                    const query = `SELECT l.id AS leftId, r.id AS rightId, t.id AS thirdId, System.Timestamp() AS ts,
                            LAG(t.v, 1, -1) OVER (LIMIT DURATION(second, 20)) AS previousThird
                        INTO out
                        FROM leftInput l TIMESTAMP BY time
                        ${first} rightInput r TIMESTAMP BY time ON l.k = r.k AND DATEDIFF(second, l, r) BETWEEN 0 AND 10
                        ${second} thirdInput t TIMESTAMP BY time
                        ON t.k = r.k AND DATEDIFF(second, l, t) BETWEEN 0 AND 12 AND DATEDIFF(second, r, t) <= 5`;
                    const bySide = (side: TimedEvent['side']): TimedEvent[] =>
                        events.filter((event) => event.side === side);
                    const thirds = bySide('third');
                    // LAG over every third event (arrival order is time order here), before the join.
                    const previousThird = new Map(
                        thirds.map((event, index) => {
                            const before = thirds.slice(0, index).filter((other) => other.time >= event.time - 20_000);
                            return [event.id, before.at(-1)?.v ?? -1];
                        }),
                    );
                    // (l JOIN r): a match is stamped with the later event, an unmatched l 10 s after it.
                    const pairs: { l: TimedEvent; r: TimedEvent | null; ts: number }[] = [];
                    for (const l of bySide('left')) {
                        const matches = bySide('right').filter((r) => {
                            const crossed = secondsCrossed(l, r);
                            return r.k === l.k && crossed >= 0 && crossed <= 10;
                        });
                        pairs.push(...matches.map((r) => ({ l, r, ts: Math.max(l.time, r.time) })));
                        if (matches.length === 0 && first !== 'JOIN') {
                            pairs.push({ l, r: null, ts: l.time + 10_000 });
                        }
                    }
                    const expected: unknown[] = [];
                    for (const { l, r, ts } of pairs) {
                        const matches = thirds.filter((t) => {
                            const fromLeft = secondsCrossed(l, t);
                            return t.k === r?.k && fromLeft >= 0 && fromLeft <= 12 && secondsCrossed(r, t) <= 5;
                        });
                        for (const t of matches) {
                            const row = { leftId: l.id, rightId: r?.id ?? null, thirdId: t.id };
                            expected.push({
                                ...row,
                                ts: iso(Math.max(ts, t.time)),
                                previousThird: previousThird.get(t.id),
                            });
                        }
                        if (matches.length === 0 && second !== 'JOIN') {
                            // The latest instant a t could still have come: 12 s after l, 5 s after r, never before
                            // the pair's own time; a pair without r can match nothing, so it keeps its time.
                            const latest = r === null ? ts : Math.max(ts, Math.min(l.time + 12_000, r.time + 5000));
                            const row = { leftId: l.id, rightId: r?.id ?? null, thirdId: null };
                            expected.push({ ...row, ts: iso(latest), previousThird: null });
                        }
                    }
                    expect(await runTimed(query, events)).toEqual(sortRows(expected));
                }),
                { numRuns: 80 },
            );
        });
    }

    for (const kind of ['JOIN', 'LEFT OUTER JOIN']) {
        it(`LAG and LAST with WHEN on both sides of a ${kind}: computed over every event of their source`, async () => {
            await fc.assert(
                fc.asyncProperty(timedEvents, async (events) => {
                    const query = `SELECT l.id AS leftId, r.id AS rightId,
                            LAG(l.v) OVER (PARTITION BY l.k LIMIT DURATION(second, 15)) AS previousLeft,
                            LAST(r.v) OVER (LIMIT DURATION(second, 15) WHEN r.v > 5) AS lastBigRight
                        INTO out
                        FROM leftInput l TIMESTAMP BY time ${kind} rightInput r TIMESTAMP BY time
                        ON l.k = r.k AND DATEDIFF(second, l, r) BETWEEN 0 AND 10`;
                    const lefts = leftOnly(events);
                    const rights = events.filter((event) => event.side === 'right');
                    const previousLeft = (index: number): number | null => {
                        const event = lefts[index]!;
                        const before = lefts
                            .slice(0, index)
                            .filter((other) => other.k === event.k && other.time >= event.time - 15_000);
                        return before.at(-1)?.v ?? null;
                    };
                    const lastBigRight = (index: number): number | null => {
                        const event = rights[index]!;
                        const upTo = rights
                            .slice(0, index + 1)
                            .filter((other) => other.v > 5 && other.time >= event.time - 15_000);
                        return upTo.at(-1)?.v ?? null;
                    };
                    const expected: unknown[] = [];
                    lefts.forEach((left, leftIndex) => {
                        let matched = false;
                        rights.forEach((right, rightIndex) => {
                            const crossed = secondsCrossed(left, right);
                            if (right.k === left.k && crossed >= 0 && crossed <= 10) {
                                matched = true;
                                expected.push({
                                    leftId: left.id,
                                    rightId: right.id,
                                    previousLeft: previousLeft(leftIndex),
                                    lastBigRight: lastBigRight(rightIndex),
                                });
                            }
                        });
                        if (!matched && kind !== 'JOIN') {
                            const row = { leftId: left.id, rightId: null, previousLeft: previousLeft(leftIndex) };
                            expected.push({ ...row, lastBigRight: null });
                        }
                    });
                    expect(await runTimed(query, events)).toEqual(sortRows(expected));
                }),
                { numRuns: 100 },
            );
        });
    }
});

describe('reading TIMESTAMP BY strings by hand', () => {
    it('agrees with Date.parse on the full UTC form, with 0, 3 or 7 fractional digits', () => {
        fc.assert(
            fc.property(
                fc.integer({ min: Date.UTC(1, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }),
                fc.constantFrom(0, 3, 7),
                fc.integer({ min: 0, max: 9999 }),
                (ms, digits, extra) => {
                    const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.fffZ
                    const fraction =
                        digits === 0 ? '' : `.${(iso.slice(20, 23) + String(extra).padStart(4, '0')).slice(0, digits)}`;
                    const text = `${iso.slice(0, 19)}${fraction}Z`;
                    const expected = digits === 0 ? Math.floor(ms / 1000) * 1000 : ms;
                    expect(isoUtcMs(text)).toBe(expected);
                },
            ),
            { numRuns: 2000 },
        );
    });

    it('refuses impossible dates and other forms, leaving them to the general parser', () => {
        for (const text of [
            '2026-02-29T00:00:00Z',
            '2026-04-31T00:00:00Z',
            '2026-13-01T00:00:00Z',
            '2026-01-01T24:00:00Z',
            '2026-01-01T00:60:00Z',
            '2026-01-01T00:00:00.Z',
            '2026-01-01 00:00:00Z',
            '2026-01-01T00:00:00+01:00',
            '2026-01-01T00:00:00.12345678Z',
        ]) {
            expect(isoUtcMs(text)).toBeUndefined();
        }
        expect(isoUtcMs('2024-02-29T12:34:56.789Z')).toBe(Date.parse('2024-02-29T12:34:56.789Z'));
    });
});

/**
 * ISO 8601 text of every shape the datetime grammar has, and near misses: valid and impossible dates, T, t or a
 * space, with or without seconds, 0 to 8 fractional digits, no zone, Z or z, offsets written +HH, +HHMM or +HH:MM,
 * and blanks before the zone.
 */
const iso8601Text = fc
    .record({
        year: fc.integer({ min: 0, max: 9999 }),
        month: fc.integer({ min: 0, max: 13 }),
        day: fc.integer({ min: 0, max: 32 }),
        hour: fc.integer({ min: 0, max: 24 }),
        minute: fc.integer({ min: 0, max: 60 }),
        second: fc.integer({ min: 0, max: 60 }),
        separator: fc.constantFrom('T', 't', ' '),
        withSeconds: fc.boolean(),
        fraction: fc.stringMatching(/^\d{0,8}$/),
        blank: fc.constantFrom('', '', ' '),
        zone: fc.oneof(
            fc.constantFrom('', 'Z', 'z'),
            fc
                .record({
                    sign: fc.constantFrom('+', '-'),
                    hours: fc.integer({ min: 0, max: 14 }),
                    minutes: fc.constantFrom(0, 30, 45),
                    style: fc.constantFrom('HH', 'HHMM', 'HH:MM'),
                })
                .map(({ sign, hours, minutes, style }) => {
                    const hh = String(hours).padStart(2, '0');
                    const mm = String(minutes).padStart(2, '0');
                    return sign + (style === 'HH' ? hh : style === 'HHMM' ? hh + mm : `${hh}:${mm}`);
                }),
        ),
    })
    .map((p) => {
        const two = (n: number): string => String(n).padStart(2, '0');
        const date = `${String(p.year).padStart(4, '0')}-${two(p.month)}-${two(p.day)}`;
        const seconds = p.withSeconds ? `:${two(p.second)}${p.fraction === '' ? '' : `.${p.fraction}`}` : '';
        return `${date}${p.separator}${two(p.hour)}:${two(p.minute)}${seconds}${p.blank}${p.zone}`;
    });

describe('one datetime reader: the fast paths agree with the grammar', () => {
    it('isoUtcMs, parseDateTime, toEventTime and eventSubMsTicks read arbitrary ISO 8601 text as parseDateTimeValue does', () => {
        fc.assert(
            fc.property(iso8601Text, (text) => {
                const full = parseDateTimeValue(text);
                const fast = isoUtcMs(text);
                if (fast !== undefined) {
                    expect(fast).toBe(full?.ms);
                }
                expect(parseDateTime(text)).toBe(full?.ms);
                expect(toEventTime(text)).toBe(full?.ms);
                if (full !== undefined) {
                    expect(eventSubMsTicks(text)).toBe(full.subMsTicks);
                }
            }),
            { numRuns: 3000 },
        );
        // Found by this property: a short fraction followed by an offset's digits has no ticks.
        expect(eventSubMsTicks('2026-01-01T00:00:00.5+0130')).toBe(0);
    });

    it('agree with Date.parse, an outside reader, on the full form with a zone and up to 3 fractional digits', () => {
        fc.assert(
            fc.property(
                // Kept 14 hours inside 0001-9999, so the local time the text is written in stays a 4-digit year.
                fc.integer({ min: Date.UTC(1, 0, 1, 14), max: Date.UTC(9999, 11, 31, 9, 59, 59, 999) }),
                fc.integer({ min: -14 * 60, max: 14 * 60 }),
                fc.constantFrom(0, 1, 2, 3),
                (ms, offsetMinutes, digits) => {
                    const local = new Date(ms + offsetMinutes * 60_000).toISOString();
                    const sign = offsetMinutes < 0 ? '-' : '+';
                    const zone =
                        offsetMinutes === 0
                            ? 'Z'
                            : `${sign}${String(Math.trunc(Math.abs(offsetMinutes) / 60)).padStart(2, '0')}:${String(Math.abs(offsetMinutes) % 60).padStart(2, '0')}`;
                    const text = `${local.slice(0, 19)}${digits === 0 ? '' : local.slice(19, 20 + digits)}${zone}`;
                    expect(parseDateTime(text)).toBe(Date.parse(text));
                    expect(parseDateTimeValue(text)?.ms).toBe(Date.parse(text));
                },
            ),
            { numRuns: 2000 },
        );
    });
});
