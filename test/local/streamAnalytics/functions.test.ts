import { describe, expect, it } from 'vitest';

import { compileQuery, letterCountsJobSettings, type OutputRow } from '../../../local/streamAnalytics/index';

/** Evaluates SELECT expressions over one event through the whole engine, so parsing and compiling are covered too. */
async function evaluate(selectList: string, body: Record<string, unknown> = {}): Promise<OutputRow> {
    const plan = compileQuery(`SELECT ${selectList} INTO out FROM input`, {
        inputs: { input: { partitionIds: ['0'] } },
        outputs: ['out'],
        jobSettings: letterCountsJobSettings,
    });
    const at = Date.parse('2026-11-22T06:00:30Z');
    const rows: OutputRow[] = [];
    const job = plan.createJob({
        clock: { now: () => new Date(at) },
        sink: (_alias, batch) => {
            rows.push(...batch);
            return Promise.resolve();
        },
    });
    job.push('input', '0', [{ enqueuedTime: at, body }]);
    await job.flush();
    return rows[0]!;
}

describe('scalar functions', () => {
    it('SUBSTRING is 1-based and clamps like the reference describes', async () => {
        expect(
            await evaluate(
                `SUBSTRING('abcdefg', 2, 4) AS a, SUBSTRING('abc', 0, 2) AS b, SUBSTRING('abc', 5, 1) AS c, SUBSTRING(NULL, 1, 1) AS d`,
            ),
        ).toEqual({ a: 'bcde', b: 'a', c: '', d: null });
    });

    it('UPPER, LOWER, LEN (trailing blanks excluded) and CONCAT (NULL as empty)', async () => {
        expect(
            await evaluate(`UPPER(name) AS u, LOWER(name) AS l, LEN('ab  ') AS n, CONCAT(name, NULL, '-', 7) AS c`, {
                name: 'Ann',
            }),
        ).toEqual({ u: 'ANN', l: 'ann', n: 2, c: 'Ann-7' });
    });

    it('DATEDIFF counts boundaries and DATEADD clamps to month ends', async () => {
        expect(
            await evaluate(
                `DATEDIFF(second, CAST('1970-01-01T00:00:00Z' AS datetime), System.Timestamp()) AS epoch,
                 DATEDIFF(second, '2026-01-01T00:00:00.999Z', '2026-01-01T00:00:01.000Z') AS crossed,
                 DATEDIFF(month, '2026-01-31T00:00:00Z', '2026-02-01T00:00:00Z') AS months,
                 DATEADD(month, 1, '2026-01-31T10:00:00Z') AS nextMonth,
                 DATEADD(minute, -90, System.Timestamp()) AS earlier`,
            ),
        ).toEqual({
            epoch: 1795327230,
            crossed: 1,
            months: 1,
            nextMonth: '2026-02-28T10:00:00.0000000Z',
            earlier: '2026-11-22T04:30:30.0000000Z',
        });
    });

    it('CAST and TRY_CAST convert between types; datetimes print with seven fractional digits', async () => {
        expect(
            await evaluate(
                `CAST('42' AS bigint) AS i, CAST(7 AS nvarchar(max)) AS s, CAST('2026-11-22 06:00:00' AS datetime) AS d,
                 TRY_CAST('x' AS bigint) AS bad, CAST(2.9 AS bigint) AS truncated, CAST('1.5' AS float) AS f`,
            ),
        ).toEqual({ i: 42, s: '7', d: '2026-11-22T06:00:00.0000000Z', bad: null, truncated: 2, f: 1.5 });
    });

    it('CASE, comparisons, arithmetic, BETWEEN, IN and three-valued logic', async () => {
        expect(
            await evaluate(
                `CASE WHEN n > 2 THEN 'big' ELSE 'small' END AS size, CASE n WHEN 3 THEN 'three' END AS word,
                 n * 2 + 1 AS calc, 7 / 2 AS half, CAST(7 / 2 AS bigint) AS whole, n BETWEEN 1 AND 3 AS inRange,
                 n IN (1, 2) AS listed, missing = 1 AS unknown, missing IS NULL AS isMissing,
                 COALESCE(missing, n) AS firstPresent, record.inner AS nested`,
                { n: 3, record: { inner: 'x' } },
            ),
        ).toEqual({
            size: 'big',
            word: 'three',
            calc: 7,
            half: 3.5,
            whole: 3,
            inRange: true,
            listed: false,
            unknown: null,
            isMissing: true,
            firstPresent: 3,
            nested: 'x',
        });
    });
});
