import { describe, expect, it } from 'vitest';

import {
    compileQuery,
    type JobSettings,
    letterCountsJobSettings,
    OutputDeliveryError,
    type OutputRow,
    QueryRuntimeError,
    StreamJobUsageError,
} from '../../../local/streamAnalytics/index';

const START = Date.parse('2026-11-22T06:00:00Z');

function setUp(query: string, settings: JobSettings = letterCountsJobSettings) {
    const plan = compileQuery(query, {
        inputs: { namesInput: { partitionIds: ['0', '1'] } },
        outputs: ['out'],
        jobSettings: settings,
    });
    const clock = { ms: START, now: () => new Date(clock.ms) };
    const delivered: OutputRow[][] = [];
    let failures = 0;
    const job = plan.createJob({
        clock,
        sink: (_alias, rows) => {
            if (failures > 0) {
                failures -= 1;
                return Promise.reject(new Error('Cosmos DB is unavailable'));
            }
            delivered.push([...rows]);
            return Promise.resolve();
        },
    });
    return { job, clock, delivered, failNext: (times: number) => (failures = times) };
}

const COUNT_BY_WINDOW = `SELECT System.Timestamp() AS windowEnd, COUNT(*) AS events INTO out FROM namesInput GROUP BY TumblingWindow(second, 10)`;

describe('StreamJob', () => {
    it('keeps a rejected batch queued and delivers it, in order, on the next flush', async () => {
        const { job, clock, delivered, failNext } = setUp(COUNT_BY_WINDOW);
        job.push('namesInput', '0', [{ enqueuedTime: START + 1000, body: {} }]);
        job.push('namesInput', '1', [{ enqueuedTime: START + 1000, body: {} }]);
        clock.ms = START + 15_000;
        job.push('namesInput', '0', [{ enqueuedTime: START + 15_000, body: {} }]);
        job.push('namesInput', '1', [{ enqueuedTime: START + 15_000, body: {} }]);
        failNext(2);

        await expect(job.flush()).rejects.toThrow(
            new OutputDeliveryError('out', 1, new Error('Cosmos DB is unavailable')).message,
        );
        await expect(job.flush()).rejects.toBeInstanceOf(OutputDeliveryError);
        expect(job.pendingBatches()).toBe(1);
        clock.ms = START + 60_000;
        job.advance();
        expect(job.pendingBatches()).toBe(2);
        await job.flush();

        expect(delivered).toEqual([
            [{ windowEnd: '2026-11-22T06:00:10.0000000Z', events: 2 }],
            [{ windowEnd: '2026-11-22T06:00:20.0000000Z', events: 2 }],
        ]);
        expect(job.pendingBatches()).toBe(0);
    });

    it('rejects an unknown input alias or partition, naming it', () => {
        const { job } = setUp(COUNT_BY_WINDOW);
        expect(() => job.push('other', '0', [])).toThrow(
            new StreamJobUsageError('input alias', 'other', 'expected one of namesInput'),
        );
        expect(() => job.push('namesInput', '7', [])).toThrow(
            'Invalid partition id: input "namesInput" has partitions 0, 1 (got "7")',
        );
    });

    it('stops on a failing CAST like Stream Analytics does, with the expression position', () => {
        const { job } = setUp(`SELECT CAST(name AS bigint) AS number\nINTO out\nFROM namesInput`);
        expect(() => job.push('namesInput', '0', [{ enqueuedTime: START, body: { name: 'Ann' } }])).toThrow(
            new QueryRuntimeError(1, 8, 'Ann', 'cannot CAST a nvarchar(max) to bigint'),
        );
    });

    it('counts late, out-of-order, malformed and untimestamped events in its metrics', () => {
        const { job, clock } = setUp(
            `SELECT name INTO out FROM namesInput TIMESTAMP BY generatedAt`,
            letterCountsJobSettings,
        );
        clock.ms = START + 60_000;
        job.push('namesInput', '0', [
            { enqueuedTime: START + 60_000, body: { name: 'late', generatedAt: '2026-11-22T06:00:00Z' } },
            { enqueuedTime: START + 60_000, body: { name: 'ok', generatedAt: '2026-11-22T06:00:59Z' } },
            { enqueuedTime: START + 60_000, body: { name: 'behind', generatedAt: '2026-11-22T06:00:45Z' } },
            { enqueuedTime: START + 60_000, body: { name: 'early', generatedAt: '2026-11-22T06:06:01Z' } },
            { enqueuedTime: START + 60_000, body: { name: 'no time' } },
            { enqueuedTime: START + 60_000, body: 'not an object' },
        ]);
        expect(job.metrics()).toEqual({
            inputEvents: 6,
            deserializationErrors: 1,
            invalidTimestampEvents: 1,
            lateInputEvents: 1,
            earlyInputEvents: 1,
            outOfOrderEvents: 1,
            droppedEvents: 3,
            adjustedEvents: 0,
            outputRows: 0,
        });
    });

    it('finish() ends the inputs: open windows are released at once, and later pushes are refused', async () => {
        const { job, delivered } = setUp(COUNT_BY_WINDOW);
        job.push('namesInput', '0', [{ enqueuedTime: START + 1000, body: {} }]);
        await job.flush();
        expect(delivered).toEqual([]);
        job.finish();
        await job.flush();
        expect(delivered).toEqual([[{ windowEnd: '2026-11-22T06:00:10.0000000Z', events: 1 }]]);
        expect(() => job.push('namesInput', '0', [{ enqueuedTime: START + 2000, body: {} }])).toThrow(
            StreamJobUsageError,
        );
    });
});

describe('reference inputs', () => {
    const options = (referenceInputs: Record<string, Record<string, unknown>[]>) => ({
        inputs: { namesInput: { partitionIds: ['0'] } },
        outputs: ['out'],
        jobSettings: letterCountsJobSettings,
        referenceInputs,
    });
    const JOINED = 'SELECT n.name, r.city INTO out FROM namesInput n JOIN people r ON n.name = r.name';

    it('are joined as static tables and never advance time', async () => {
        const plan = compileQuery(JOINED, options({ people: [{ name: 'Ann', city: 'Oslo' }] }));
        const rows: OutputRow[] = [];
        const job = plan.createJob({
            clock: { now: () => new Date(START) },
            sink: (_alias, batch) => {
                rows.push(...batch);
                return Promise.resolve();
            },
        });
        job.push('namesInput', '0', [
            { enqueuedTime: START, body: { name: 'Ann' } },
            { enqueuedTime: START, body: { name: 'Bob' } },
        ]);
        await job.flush();
        expect(rows).toEqual([{ name: 'Ann', city: 'Oslo' }]);
    });

    it('reject rows that are not objects and aliases that are also stream inputs, naming the value', () => {
        expect(() => compileQuery(JOINED, options({ people: [42 as unknown as Record<string, unknown>] }))).toThrow(
            'Invalid row 0 of reference input "people": must be an object (got 42)',
        );
        expect(() => compileQuery(JOINED, options({ namesInput: [] }))).toThrow(StreamJobUsageError);
    });

    it('can only be the right side of a JOIN', () => {
        expect(() => compileQuery('SELECT * INTO out FROM people', options({ people: [{ name: 'Ann' }] }))).toThrow(
            'Line 1, column 24: reference data can only be the right side of a JOIN; read a stream in FROM',
        );
    });
});

describe('event times', () => {
    it('keep 100 ns ticks through TIMESTAMP BY, a WITH step, a JOIN and System.Timestamp(); an adjusted event takes a whole millisecond', async () => {
        const { job, delivered } = setUp(
            `WITH stamped AS (
                SELECT id, System.Timestamp() AS first FROM namesInput TIMESTAMP BY at
            )
            SELECT id, first, System.Timestamp() AS second INTO out FROM stamped

            SELECT a.id, System.Timestamp() AS paired
            INTO out
            FROM namesInput a TIMESTAMP BY DATEADD(microsecond, 1, at)
            JOIN namesInput b TIMESTAMP BY at
            ON a.id = b.id AND DATEDIFF(millisecond, a, b) BETWEEN -1 AND 1`,
            {
                eventsLateArrivalMaxDelayInSeconds: 5,
                eventsOutOfOrderMaxDelayInSeconds: 0,
                eventsOutOfOrderPolicy: 'Adjust',
                compatibilityLevel: '1.2',
            },
        );
        job.push('namesInput', '0', [
            { enqueuedTime: START + 1000, body: { id: 1, at: '2026-11-22T06:00:01.1234567Z' } },
            { enqueuedTime: START + 3000, body: { id: 2, at: '2026-11-22T07:00:02.9999990+01:00' } },
            // Out of order by half a second: Adjust moves it to the watermark, 06:00:02.999 in the engine's ms.
            { enqueuedTime: START + 3000, body: { id: 3, at: '2026-11-22T06:00:02.5000001Z' } },
            { enqueuedTime: START + 4000, body: { id: 4, at: '2026-11-22 06:00:04.5' } },
        ]);
        job.finish();
        await job.flush();
        const rows = delivered.flat().sort((a, b) => Object.keys(a).join().localeCompare(Object.keys(b).join()));
        expect(rows).toEqual([
            { id: 1, first: '2026-11-22T06:00:01.1234567Z', second: '2026-11-22T06:00:01.1234567Z' },
            { id: 2, first: '2026-11-22T06:00:02.9999990Z', second: '2026-11-22T06:00:02.9999990Z' },
            { id: 3, first: '2026-11-22T06:00:02.9990000Z', second: '2026-11-22T06:00:02.9990000Z' },
            { id: 4, first: '2026-11-22T06:00:04.5000000Z', second: '2026-11-22T06:00:04.5000000Z' },
            // The pair takes the later side's time: a, stamped 1 µs after b.
            { id: 1, paired: '2026-11-22T06:00:01.1234577Z' },
            { id: 2, paired: '2026-11-22T06:00:03.0000000Z' },
            // a's id 3 is adjusted to a's own watermark, 06:00:03.000 (id 2 plus 1 µs, in whole ms).
            { id: 3, paired: '2026-11-22T06:00:03.0000000Z' },
            { id: 4, paired: '2026-11-22T06:00:04.5000010Z' },
        ]);
    });
});

describe('CREATE TABLE', () => {
    it('reads datetime columns as TIMESTAMP BY does: an ISO 8601 string conforms, other date text is dropped', async () => {
        const { job, delivered } = setUp('CREATE TABLE namesInput (at datetime)\nSELECT name INTO out FROM namesInput');
        job.push('namesInput', '0', [
            { enqueuedTime: START, body: { name: 'iso', at: '2026-11-22 06:00:00.1234567' } },
            { enqueuedTime: START, body: { name: 'prose', at: 'November 22, 2026' } },
            { enqueuedTime: START, body: { name: 'missing' } },
        ]);
        job.finish();
        await job.flush();
        expect({ rows: delivered.flat(), dropped: job.metrics().deserializationErrors }).toEqual({
            rows: [{ name: 'iso' }, { name: 'missing' }],
            dropped: 1,
        });
    });
});

describe('output start time', () => {
    it('computes rows earlier than the output start time but writes only the rest, telling the sink their last time', async () => {
        const plan = compileQuery(COUNT_BY_WINDOW, {
            inputs: { namesInput: { partitionIds: ['0'] } },
            outputs: ['out'],
            jobSettings: letterCountsJobSettings,
        });
        const batches: Array<{ rows: OutputRow[]; lastOutputEventTime: string }> = [];
        const job = plan.createJob({
            clock: { now: () => new Date(START) },
            outputStartTimes: { out: START + 20_000 },
            sink: (_alias, rows, batch) => {
                batches.push({
                    rows: [...rows],
                    lastOutputEventTime: new Date(batch.lastOutputEventTime).toISOString(),
                });
                return Promise.resolve();
            },
        });
        job.push(
            'namesInput',
            '0',
            [1_000, 12_000, 12_500, 21_000, 35_000].map((offset) => ({ enqueuedTime: START + offset, body: {} })),
        );
        job.finish();
        await job.flush();
        // The window ending at 06:00:10 is left out; the one ending at the start time itself is written.
        expect(batches).toEqual([
            {
                rows: [
                    { windowEnd: '2026-11-22T06:00:20.0000000Z', events: 2 },
                    { windowEnd: '2026-11-22T06:00:30.0000000Z', events: 1 },
                ],
                lastOutputEventTime: '2026-11-22T06:00:30.000Z',
            },
            {
                rows: [{ windowEnd: '2026-11-22T06:00:40.0000000Z', events: 1 }],
                lastOutputEventTime: '2026-11-22T06:00:40.000Z',
            },
        ]);
        expect(job.metrics().outputRows).toBe(3);
    });

    it("knows each query's reach back in time: windows, LIMIT DURATION and JOIN bounds, added up through steps", () => {
        const lookback = (query: string) =>
            compileQuery(query, {
                inputs: { namesInput: { partitionIds: ['0'] }, other: { partitionIds: ['0'] } },
                outputs: ['out'],
                jobSettings: letterCountsJobSettings,
            }).lookbackMs;
        expect({
            passThrough: lookback('SELECT * INTO out FROM namesInput'),
            letterCounts: lookback(
                'SELECT letter, COUNT(*) AS n INTO out FROM namesInput TIMESTAMP BY generatedAt GROUP BY letter, TumblingWindow(second, 30)',
            ),
            hopping: lookback('SELECT COUNT(*) AS n INTO out FROM namesInput GROUP BY HoppingWindow(minute, 5, 1)'),
            session: lookback('SELECT COUNT(*) AS n INTO out FROM namesInput GROUP BY SessionWindow(second, 5, 60)'),
            lag: lookback('SELECT LAG(name) OVER (LIMIT DURATION(minute, 2)) AS previous INTO out FROM namesInput'),
            join: lookback(
                'SELECT a.name INTO out FROM namesInput a JOIN other b ON a.name = b.name AND DATEDIFF(second, a, b) BETWEEN 0 AND 15',
            ),
            steps: lookback(
                `WITH perTen AS (SELECT COUNT(*) AS n FROM namesInput GROUP BY TumblingWindow(second, 10))
                 SELECT SUM(n) AS total INTO out FROM perTen GROUP BY TumblingWindow(minute, 1)`,
            ),
        }).toEqual({
            passThrough: 0,
            letterCounts: 30_000,
            hopping: 300_000,
            session: 240_000,
            lag: 120_000,
            join: 16_000,
            steps: 70_000,
        });
    });
});
