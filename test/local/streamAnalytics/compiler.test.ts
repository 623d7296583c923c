import { describe, expect, it } from 'vitest';

import {
    compileQuery,
    letterCountsJobSettings,
    type OutputRow,
    QueryCompileError,
} from '../../../local/streamAnalytics/index';

function compile(text: string): ReturnType<typeof compileQuery> {
    return compileQuery(text, {
        inputs: { input: { partitionIds: ['0'], metadataColumns: false } },
        outputs: ['out'],
        jobSettings: { ...letterCountsJobSettings, eventsLateArrivalMaxDelayInSeconds: -1 },
    });
}

function compileError(text: string): { kind: string; line: number; column: number } {
    try {
        compile(text);
    } catch (error) {
        if (error instanceof QueryCompileError) {
            return { kind: error.kind, line: error.line, column: error.column };
        }
        throw error;
    }
    return { kind: 'none', line: 0, column: 0 };
}

async function run(text: string, bodies: readonly unknown[]): Promise<OutputRow[]> {
    const arrival = Date.parse('2026-11-22T06:00:00Z');
    const rows: OutputRow[] = [];
    const job = compile(text).createJob({
        clock: { now: () => new Date(arrival) },
        sink: (_alias, batch) => {
            rows.push(...batch);
            return Promise.resolve();
        },
    });
    job.push(
        'input',
        '0',
        bodies.map((body) => ({ enqueuedTime: arrival, body })),
    );
    job.finish();
    await job.flush();
    return rows;
}

describe('queries Stream Analytics rejects are invalid, not unsupported', () => {
    // https://learn.microsoft.com/stream-analytics-query/timestamp-by-azure-stream-analytics, Limitations and
    // Restrictions: columns created in a SELECT can't be used in TIMESTAMP BY; a field of the input payload must be.
    it('TIMESTAMP BY on a WITH step, located at its expression', () => {
        expect(compileError('WITH s AS (SELECT id, t FROM input)\nSELECT id INTO out FROM s TIMESTAMP BY t')).toEqual({
            kind: 'invalid',
            line: 2,
            column: 40,
        });
    });

    it('the documented alternative, TIMESTAMP BY on the input the step reads, runs', async () => {
        const rows = await run(
            'WITH s AS (SELECT id FROM input TIMESTAMP BY t)\nSELECT id, System.Timestamp() AS ts INTO out FROM s',
            [
                { id: 1, t: '2026-11-22T05:59:00Z' },
                { id: 2, t: '2026-11-22T05:59:30.1234567Z' },
            ],
        );
        expect(rows).toEqual([
            { id: 1, ts: '2026-11-22T05:59:00.0000000Z' },
            { id: 2, ts: '2026-11-22T05:59:30.1234567Z' },
        ]);
    });

    // R:apply gives APPLY's left side as `input_name | input_alias`; R:join's sides are inputs or joins. The
    // parsing-JSON page (https://learn.microsoft.com/azure/stream-analytics/stream-analytics-parsing-json) joins
    // APPLY rows by putting the APPLY in a WITH step.
    it('a JOIN after CROSS APPLY, located at the JOIN', () => {
        expect(
            compileError(
                'SELECT e.id, flat.ArrayValue AS tag\nINTO out\nFROM input e\n' +
                    'CROSS APPLY GetArrayElements(e.tags) AS flat\n' +
                    'JOIN input r ON DATEDIFF(second, e, r) BETWEEN 0 AND 5 AND r.id = e.id',
            ),
        ).toEqual({ kind: 'invalid', line: 5, column: 1 });
    });

    it('the documented alternative, the APPLY in a WITH step and a JOIN on the step, runs', async () => {
        const rows = await run(
            'WITH flat AS (SELECT e.id, tag.ArrayValue AS tag FROM input e CROSS APPLY GetArrayElements(e.tags) AS tag)\n' +
                'SELECT i.id, f.tag INTO out FROM input i\n' +
                "JOIN flat f ON f.id = i.id AND f.tag = 'b' AND DATEDIFF(second, i, f) BETWEEN 0 AND 0",
            [
                { id: 1, tags: ['a', 'b'] },
                { id: 2, tags: ['c'] },
            ],
        );
        expect(rows).toEqual([{ id: 1, tag: 'b' }]);
    });
});
