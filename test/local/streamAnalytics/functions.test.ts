import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import {
    compileQuery,
    letterCountsJobSettings,
    type OutputRow,
    QueryCompileError,
    QueryRuntimeError,
} from '../../../local/streamAnalytics/index';
import { round } from '../../../local/streamAnalytics/mathFunctions';
import { arrayElements, recordProperties } from '../../../local/streamAnalytics/recordFunctions';

const AT = Date.parse('2026-11-22T06:00:30Z');

/** Evaluates SELECT expressions over one event through the whole engine, so parsing and compiling are covered too. */
async function evaluate(
    selectList: string,
    body: Record<string, unknown> = {},
    event: Record<string, unknown> = {},
): Promise<OutputRow> {
    const plan = compileQuery(`SELECT ${selectList} INTO out FROM input`, {
        inputs: { input: { partitionIds: ['0'] } },
        outputs: ['out'],
        jobSettings: letterCountsJobSettings,
    });
    const rows: OutputRow[] = [];
    const job = plan.createJob({
        clock: { now: () => new Date(AT) },
        sink: (_alias, batch) => {
            rows.push(...batch);
            return Promise.resolve();
        },
    });
    job.push('input', '0', [{ enqueuedTime: AT, body, ...event }]);
    await job.flush();
    return rows[0]!;
}

/** The located error a query raises at load or on its first event, as `kind: message`. */
async function failure(selectList: string, body: Record<string, unknown> = {}): Promise<string> {
    try {
        await evaluate(selectList, body);
    } catch (error) {
        if (error instanceof QueryCompileError) {
            return `compile ${error.kind}: ${error.message}`;
        }
        if (error instanceof QueryRuntimeError) {
            return `runtime: ${error.message}`;
        }
        throw error;
    }
    return 'no error';
}

const fail = (value: unknown, reason: string): never => {
    throw new Error(`${reason}: ${JSON.stringify(value)}`);
};

describe('string functions', () => {
    it('examples of the reference pages give the documented results', async () => {
        expect(
            await evaluate(
                `SUBSTRING('abcdefg', 2, 4) AS substringX, LEFT('abcdefg', 2) AS leftX, RIGHT('abcdefg', 2) AS rightX,
                 REVERSE('abcdefg') AS reversedX, STUFF('abcdef', 2, 3, 'ijklmn') AS Stuffed,
                 TRANSLATE('2*[3+4]/{7-2}', '[]{}', '()()') AS translatedX, TRIM('      a test    ') AS trimmed,
                 LTRIM('      Left test') AS lefted, RTRIM('Right test    ') AS righted,
                 RTRIM('LastName  ') + ',' + SPACE(1) + LTRIM('    FirstName') AS FullName,
                 NCHAR(33590) AS UnicodeTea_Decimal, NCHAR(UNICODE('茶')) AS UnicodeTea_Char, UNICODE('茶') AS UnicodeTea,
                 CONCAT('Make: ', Make, ', Model: ', Model) AS MakeModel,
                 CONCAT_WS(', ', address1, address2, city, stateCode, zipCode, country) AS fullAddress`,
                {
                    Make: 'Contoso',
                    Model: 'QRTZX22',
                    address1: '1 Microsoft Way',
                    address2: null,
                    city: 'Redmond',
                    stateCode: 'WA',
                    zipCode: '98052',
                    country: null,
                },
            ),
        ).toEqual({
            substringX: 'bcde',
            leftX: 'ab',
            rightX: 'fg',
            reversedX: 'gfedcba',
            Stuffed: 'aijklmnef',
            translatedX: '2*(3+4)/(7-2)',
            trimmed: 'a test',
            lefted: 'Left test',
            righted: 'Right test',
            FullName: 'LastName, FirstName',
            UnicodeTea_Decimal: '茶',
            UnicodeTea_Char: '茶',
            UnicodeTea: 33590,
            MakeModel: 'Make: Contoso, Model: QRTZX22',
            fullAddress: '1 Microsoft Way, Redmond, WA, 98052',
        });
    });

    it('REPLACE follows the table of its reference page, NULLs included', async () => {
        expect(
            await evaluate(
                `REPLACE('abcde', 'cd', 'xx') AS a, REPLACE('cdabcd', 'cd', 'x') AS b, REPLACE('cd', 'cd', 'xxx') AS c,
                 REPLACE('abcde', 'gh', 'xx') AS d, REPLACE('abcde', 'cde', '') AS e, REPLACE('abcde', '', 'xxx') AS f,
                 REPLACE('', 'cde', 'xxx') AS g, REPLACE(NULL, 'cde', 'xxx') AS h, REPLACE('abcde', NULL, 'xxx') AS i,
                 REPLACE('abcde', 'cde', NULL) AS j`,
            ),
        ).toEqual({
            a: 'abxxe',
            b: 'xabx',
            c: 'xxx',
            d: 'abcde',
            e: 'ab',
            f: 'abcde',
            g: '',
            h: null,
            i: null,
            j: null,
        });
    });

    it('UPPER, LOWER, LEN, SUBSTRING and CHARINDEX work on UTF-16 code units as .NET does', async () => {
        expect(
            await evaluate(
                `UPPER('straße') AS u1, LEN(UPPER('straße')) AS n1, UPPER('ﬁ') AS u2, LOWER('İ') AS l1, UPPER('ı') AS u3,
                 LEN('𐐀x') AS n2, SUBSTRING('𐐀x', 3, 1) AS s1, CHARINDEX('x', '𐐀x') AS c1, UPPER('𐐨') AS u4,
                 LEN('ab  ') AS n3, LEN(' ab') AS n4, TRIM(NCHAR(65279) + 'a' + NCHAR(8195)) AS t1`,
            ),
        ).toEqual({
            u1: 'STRAßE',
            n1: 6,
            u2: 'ﬁ',
            l1: 'İ',
            u3: 'ı',
            n2: 3,
            s1: 'x',
            c1: 3,
            u4: '𐐀',
            n3: 2,
            n4: 3,
            t1: '\ufeffa',
        });
    });

    it('SUBSTRING, LEFT, RIGHT, CHARINDEX, REPLICATE, SPACE, STUFF at their edges', async () => {
        expect(
            await evaluate(
                `SUBSTRING('abc', 0, 2) AS s1, SUBSTRING('abc', -1, 2) AS s2, SUBSTRING('abc', 5, 1) AS s3,
                 SUBSTRING('abc', 2, 99) AS s4, LEFT('ab', 5) AS l1, RIGHT('ab', 5) AS r1, RIGHT('ab', 0) AS r2,
                 CHARINDEX('us', 'Contoso Focus') AS c1, CHARINDEX('o', 'Contoso', 3) AS c2,
                 CHARINDEX('o', 'Contoso', -4) AS c3, CHARINDEX('z', 'Contoso') AS c4, CHARINDEX('', 'abc') AS c5,
                 REPLICATE('ab', 3) AS p1, REPLICATE('ab', -1) AS p2, SPACE(3) AS sp1, SPACE(-1) AS sp2,
                 STUFF('abc', 0, 1, 'X') AS st1, STUFF('abc', 4, 1, 'X') AS st2, STUFF('abcdef', 5, 99, 'X') AS st3,
                 STUFF('abc', 2, 0, 'X') AS st4, CONCAT_WS('-', NULL, NULL) AS w1, CONCAT(NULL, NULL) AS w2,
                 CONCAT('n=', 7, ' f=', 0.00001, ' big=', 1e21, ' whole=', 100000000000000000) AS w3`,
            ),
        ).toEqual({
            s1: 'a',
            s2: '',
            s3: '',
            s4: 'bc',
            l1: 'ab',
            r1: 'ab',
            r2: '',
            c1: 12,
            c2: 5,
            c3: 2,
            c4: 0,
            c5: 0,
            p1: 'ababab',
            p2: null,
            sp1: '   ',
            sp2: null,
            st1: 'Xbc',
            st2: '',
            st3: 'abcdX',
            st4: 'aXbc',
            w1: '',
            w2: '',
            w3: 'n=7 f=1E-05 big=1E+21 whole=100000000000000000',
        });
    });

    it('PATINDEX, REGEXMATCH, NCHAR and UNICODE', async () => {
        expect(
            await evaluate(
                `PATINDEX('%100%', 'ABC1009') AS p1, PATINDEX('%1_0%', 'x150') AS p2, PATINDEX('AB%', 'ABC') AS p3,
                 PATINDEX('B%', 'ABC') AS p4, PATINDEX('%[0-9][0-9]%', 'ab12') AS p5,
                 REGEXMATCH('ABC1009', '[0-9][0-9][0-9]') AS r1, REGEXMATCH('abc', 'B') AS r2,
                 REGEXMATCH('abc', '[') AS r3, REGEXMATCH(NULL, 'a') AS r4, REGEXMATCH('abc', 'x') AS r5,
                 NCHAR(128512) AS n1, LEN(NCHAR(128512)) AS n2, NCHAR(1114112) AS n3, NCHAR(-1) AS n4,
                 UNICODE(NCHAR(128512)) AS u1, UNICODE('') AS u2, UNICODE(NULL) AS u3`,
            ),
        ).toEqual({
            p1: 4,
            p2: 2,
            p3: 1,
            p4: 0,
            p5: 3,
            r1: 4,
            r2: 2,
            r3: 0,
            r4: null,
            r5: 0,
            n1: '😀',
            n2: 2,
            n3: null,
            n4: null,
            u1: 128512,
            u2: null,
            u3: null,
        });
    });

    it('LIKE: % and _ wildcards, [] sets and ranges, [^] negation, ESCAPE, NOT LIKE and NULL', async () => {
        expect(
            await evaluate(
                `'ABC129' LIKE 'A%9' AS q1, 'ABC128' LIKE 'A%9' AS q2, 'abc' LIKE 'a_c' AS w1, 'ac' LIKE 'a_c' AS w2,
                 'b1' LIKE '[abc][0-9]' AS s1, 'd1' LIKE '[abc][0-9]' AS s2, 'd1' LIKE '[^abc]%' AS s3,
                 '50%' LIKE '50!%' ESCAPE '!' AS e1, '500' LIKE '50!%' ESCAPE '!' AS e2, '50%' LIKE '50[%]' AS e3,
                 'abc' NOT LIKE 'a%' AS n1, 'Abc' LIKE 'a%' AS c1, missing LIKE 'a%' AS u1, 'a.c' LIKE 'a.c' AS d1,
                 'abc' LIKE 'a.c' AS d2, 'line1' + NCHAR(10) + 'x' LIKE 'line%x' AS m1`,
            ),
        ).toEqual({
            q1: true,
            q2: false,
            w1: true,
            w2: false,
            s1: true,
            s2: false,
            s3: true,
            e1: true,
            e2: false,
            e3: true,
            n1: false,
            c1: false,
            u1: null,
            d1: true,
            d2: false,
            m1: true,
        });
    });

    it('LIKE filters in WHERE, as the common query patterns page does', async () => {
        const plan = compileQuery(`SELECT License_plate INTO out FROM input WHERE License_plate LIKE 'A%9'`, {
            inputs: { input: { partitionIds: ['0'] } },
            outputs: ['out'],
            jobSettings: letterCountsJobSettings,
        });
        const rows: OutputRow[] = [];
        const job = plan.createJob({
            clock: { now: () => new Date(AT) },
            sink: (_alias, batch) => {
                rows.push(...batch);
                return Promise.resolve();
            },
        });
        const plates = ['ABC-123', 'AAA-999', 'ABC-369', 'DEF-987'];
        job.push(
            'input',
            '0',
            plates.map((plate) => ({ enqueuedTime: AT, body: { License_plate: plate } })),
        );
        await job.flush();
        expect(rows).toEqual([{ License_plate: 'AAA-999' }, { License_plate: 'ABC-369' }]);
    });

    it('type errors and bad lengths are located runtime errors quoting the value', async () => {
        expect(
            await Promise.all([
                failure(`SUBSTRING('abc', 1, -1) AS x`),
                failure(`LEFT('abc', -1) AS x`),
                failure(`UPPER(r) AS x`, { r: { a: 1 } }),
                failure(`TRANSLATE('abc', 'ab', 'x') AS x`),
                failure(`'a' + 1 AS x`),
                failure(`'a' LIKE 'a!' ESCAPE '!' AS x`),
            ]),
        ).toEqual([
            'runtime: Line 1, column 8: SUBSTRING length must not be negative (got -1)',
            'runtime: Line 1, column 8: LEFT length must not be negative (got -1)',
            'runtime: Line 1, column 8: UPPER needs an nvarchar(max), not a record (got {"a":1})',
            'runtime: Line 1, column 8: TRANSLATE needs characters and translations of the same length (got ["ab","x"])',
            'runtime: Line 1, column 12: operator + needs numbers, not nvarchar(max) and bigint (got ["a",1])',
            'runtime: Line 1, column 12: a LIKE pattern cannot end with its escape character (got "a!")',
        ]);
    });
});

describe('mathematical functions', () => {
    it('ROUND reproduces the table of its reference page', async () => {
        expect(
            await evaluate(
                `ROUND(1, 0) AS a, ROUND(0, 0) AS b, ROUND(-1, 0) AS c, ROUND(1.0, 0) AS d, ROUND(0.5, 0) AS e,
                 ROUND(-0.5, 0) AS f, ROUND(1.234, 2) AS g, ROUND(1.234, 10) AS h, ROUND(123.4, -1) AS i,
                 ROUND(123.4, -10) AS j, ROUND(501.0101, -3) AS k, ROUND(123.9995, 3) AS l`,
            ),
        ).toEqual({ a: 1, b: 0, c: -1, d: 1, e: 1, f: -1, g: 1.23, h: 1.234, i: 120, j: 0, k: 1000, l: 124 });
    });

    it('ROUND rounds as .NET Math.Round(value, digits, MidpointRounding.AwayFromZero) (recorded from .NET)', () => {
        const reference = JSON.parse(readFileSync(path.join(__dirname, 'dotnet-string-reference.json'), 'utf8')) as {
            roundAwayFromZero: [number, number, number][];
        };
        expect(
            reference.roundAwayFromZero.map(([value, digits]) => [value, digits, round(fail, value, digits)]),
        ).toEqual(reference.roundAwayFromZero);
    });

    it('ABS, CEILING, FLOOR, SIGN, EXP, POWER, SQRT, SQUARE, with strings cast to float and NULL passing through', async () => {
        expect(
            await evaluate(
                `ABS(-3) AS a1, ABS(x) AS a2, CEILING(1.2) AS c1, CEILING(-1.2) AS c2, FLOOR(1.8) AS f1, FLOOR(-1.2) AS f2,
                 SIGN(-4.5) AS s1, SIGN(0) AS s2, SIGN(9) AS s3, EXP(0) AS e1, POWER(2, 10) AS p1, POWER(4, 0.5) AS p2,
                 SQRT(16) AS q1, SQUARE(1.5) AS q2, ROUND('2.345', 2) AS r1, ABS(NULL) AS n1, POWER(2, NULL) AS n2`,
                { x: -2.5 },
            ),
        ).toEqual({
            a1: 3,
            a2: 2.5,
            c1: 2,
            c2: -1,
            f1: 1,
            f2: -2,
            s1: -1,
            s2: 0,
            s3: 1,
            e1: 1,
            p1: 1024,
            p2: 2,
            q1: 4,
            q2: 2.25,
            r1: 2.35,
            n1: null,
            n2: null,
        });
    });

    it('a non-numeric string or a result with no finite value fails the job, located', async () => {
        expect(
            await Promise.all([failure(`ROUND('abc', 1) AS x`), failure(`SQRT(-1) AS x`), failure(`EXP(1000) AS x`)]),
        ).toEqual([
            'runtime: Line 1, column 8: ROUND needs a bigint or float, not a nvarchar(max) (got "abc")',
            'runtime: Line 1, column 8: SQRT has no finite float result (got -1)',
            'runtime: Line 1, column 8: EXP has no finite float result (got 1000)',
        ]);
    });
});

describe('date and time functions', () => {
    it('DATEADD, DATEDIFF, DATEPART, DATENAME over every date part, with seven fractional digits', async () => {
        const t = `'2026-11-22T06:07:08.1234567Z'`;
        expect(
            await evaluate(
                `DATEPART(year, ${t}) AS year, DATEPART(quarter, ${t}) AS quarter, DATEPART(month, ${t}) AS month,
                 DATEPART(dayofyear, ${t}) AS dayofyear, DATEPART(day, ${t}) AS day, DATEPART(week, ${t}) AS week,
                 DATEPART(weekday, ${t}) AS weekday, DATEPART(hour, ${t}) AS hour, DATEPART(minute, ${t}) AS minute,
                 DATEPART(second, ${t}) AS second, DATEPART(millisecond, ${t}) AS ms, DATEPART(mcs, ${t}) AS mcs,
                 DATEPART(ns, ${t}) AS ns, DATENAME(month, ${t}) AS monthName, DATENAME(dw, ${t}) AS dayName,
                 DATENAME(dd, ${t}) AS dayText, DAY(${t}) AS d, MONTH(${t}) AS m, YEAR(${t}) AS y`,
            ),
        ).toEqual({
            year: 2026,
            quarter: 4,
            month: 11,
            dayofyear: 326,
            day: 22,
            week: 48,
            weekday: 1,
            hour: 6,
            minute: 7,
            second: 8,
            ms: 123,
            mcs: 123456,
            ns: 123456700,
            monthName: 'November',
            dayName: 'Sunday',
            dayText: '22',
            d: 22,
            m: 11,
            y: 2026,
        });
    });

    it('DATEADD adds whole units, clamps month ends and keeps sub-millisecond ticks', async () => {
        expect(
            await evaluate(
                `DATEADD(month, 1, '2026-01-31T10:00:00Z') AS m1, DATEADD(year, 1, '2024-02-29T00:00:00Z') AS y1,
                 DATEADD(quarter, -1, '2026-05-31T00:00:00Z') AS q1, DATEADD(week, 2, '2026-11-22T00:00:00Z') AS w1,
                 DATEADD(microsecond, 3, '2026-11-22T00:00:00.1234567Z') AS mcs1,
                 DATEADD(nanosecond, 250, '2026-11-22T00:00:00Z') AS ns1,
                 DATEADD(millisecond, 1, '2026-11-22T00:00:00.9999999Z') AS ms1,
                 DATEADD(hour, 2.9, '2026-11-22T00:00:00Z') AS h1, DATEADD(dayofyear, 1, '2026-12-31T00:00:00Z') AS dy1,
                 DATEADD(minute, -90, System.Timestamp()) AS earlier, DATEADD(day, NULL, System.Timestamp()) AS n1`,
            ),
        ).toEqual({
            m1: '2026-02-28T10:00:00.0000000Z',
            y1: '2025-02-28T00:00:00.0000000Z',
            q1: '2026-02-28T00:00:00.0000000Z',
            w1: '2026-12-06T00:00:00.0000000Z',
            mcs1: '2026-11-22T00:00:00.1234597Z',
            ns1: '2026-11-22T00:00:00.0000002Z',
            ms1: '2026-11-22T00:00:01.0009999Z',
            h1: '2026-11-22T02:00:00.0000000Z',
            dy1: '2027-01-01T00:00:00.0000000Z',
            earlier: '2026-11-22T04:30:30.0000000Z',
            n1: null,
        });
    });

    it('DATEDIFF counts boundaries crossed, down to microseconds and nanoseconds', async () => {
        expect(
            await evaluate(
                `DATEDIFF(second, CAST('1970-01-01T00:00:00Z' AS datetime), System.Timestamp()) AS epoch,
                 DATEDIFF(second, '2026-01-01T00:00:00.999Z', '2026-01-01T00:00:01.000Z') AS crossed,
                 DATEDIFF(minute, '2026-01-01T12:00:59Z', '2026-01-01T12:01:00Z') AS minute,
                 DATEDIFF(month, '2026-01-31T00:00:00Z', '2026-02-01T00:00:00Z') AS months,
                 DATEDIFF(year, '2026-12-31T23:59:59Z', '2025-01-01T00:00:00Z') AS years,
                 DATEDIFF(quarter, '2026-03-31T00:00:00Z', '2026-04-01T00:00:00Z') AS quarters,
                 DATEDIFF(week, '2026-11-21T00:00:00Z', '2026-11-22T00:00:00Z') AS weeks,
                 DATEDIFF(day, '2026-11-21T23:59:59Z', '2026-11-22T00:00:00Z') AS days,
                 DATEDIFF(microsecond, '2026-11-22T00:00:00.0000009Z', '2026-11-22T00:00:00.0000010Z') AS mcs,
                 DATEDIFF(nanosecond, '2026-11-22T00:00:00.0000009Z', '2026-11-22T00:00:00.0000010Z') AS ns,
                 DATEDIFF(minute, '2014-09-10 11:00:00', CAST('2014-09-10 12:00:00' AS datetime)) AS docExample`,
            ),
        ).toEqual({
            epoch: 1795327230,
            crossed: 1,
            minute: 1,
            months: 1,
            years: -1,
            quarters: 1,
            weeks: 1,
            days: 1,
            mcs: 1,
            ns: 100,
            docExample: 60,
        });
    });

    it('DATETIMEFROMPARTS builds a datetime; NULL parts give NULL; impossible dates fail', async () => {
        expect(
            await evaluate(
                `DATETIMEFROMPARTS(2014, 9, 10, 12, DATEPART(minute, '2014-09-10T11:05:00Z') + 10, 0, 0) AS ExitTime,
                 DATETIMEFROMPARTS(2024, 2, 29, 23, 59, 59, 999) AS leap, DATETIMEFROMPARTS(2024, NULL, 1, 0, 0, 0, 0) AS n`,
            ),
        ).toEqual({ ExitTime: '2014-09-10T12:15:00.0000000Z', leap: '2024-02-29T23:59:59.9990000Z', n: null });
        expect(
            await Promise.all([
                failure(`DATETIMEFROMPARTS(2026, 2, 29, 0, 0, 0, 0) AS x`),
                failure(`DATETIMEFROMPARTS(2026, 13, 1, 0, 0, 0, 0) AS x`),
                failure(`DATEADD(year, 10000, '2026-01-01T00:00:00Z') AS x`),
                failure(`DATEPART(day, 'soon') AS x`),
                failure(`DATEPART(fortnight, 'soon') AS x`),
            ]),
        ).toEqual([
            'runtime: Line 1, column 8: DATETIMEFROMPARTS names a day the month does not have (got [2026,2,29])',
            'runtime: Line 1, column 8: DATETIMEFROMPARTS month must be between 1 and 12 (got 13)',
            `runtime: Line 1, column 8: the DATEADD result is outside the datetime range 0001-01-01 to 9999-12-31 (got ${Date.UTC(12026, 0, 1)})`,
            'runtime: Line 1, column 8: DATEPART needs a datetime or an ISO 8601 string (got "soon")',
            'compile invalid: Line 1, column 17: expected a date part (year, quarter, month, dayofyear, day, week, weekday, hour, minute, second, millisecond, microsecond, nanosecond)',
        ]);
    });
});

describe('bitwise operators', () => {
    // R:bitwise-and: "170 & 75.0 => 170 & 1 = 0" when the float is read as a bit (the rule of R:data-types, 0.0 is 0
    // and any other value 1), as asa-language.md reads the page's note; 170 & 75 = 10.
    it('read a float operand as a bit, 64-bit two complement otherwise, left to right at the level of +', async () => {
        expect(
            await evaluate(
                `170 & 75 AS ints, 170 & 75.0 AS floatLiteral, 170 & CAST(f AS float) AS castFloat, 171 & half AS dataFloat,
                 ~0 AS notZero, ~75.0 AS notFloat, 1099511627776 | 1 AS wide, -1 ^ 1 AS negative,
                 1 + 2 & 3 AS leftToRight, 2 * 3 & 7 AS afterMultiply, b & 1 AS bitAndBigint, b & b AS bits`,
                { f: 75, half: 2.5, b: true },
            ),
        ).toEqual({
            ints: 10,
            floatLiteral: 0,
            castFloat: 0,
            dataFloat: 1,
            notZero: -1,
            notFloat: false,
            wide: 1099511627777,
            negative: -2,
            leftToRight: 3,
            afterMultiply: 6,
            bitAndBigint: 1,
            bits: true,
        });
    });

    it('refuse other types with a located error', async () => {
        expect(await Promise.all([failure(`'a' | 1 AS x`), failure(`~s AS x`, { s: 'x' })])).toEqual([
            'runtime: Line 1, column 12: operator | needs a bit or a bigint, not a nvarchar(max) (got "a")',
            'runtime: Line 1, column 8: operator ~ needs a bit or a bigint, not a nvarchar(max) (got "x")',
        ]);
    });
});

describe('conversion functions', () => {
    it('CAST and TRY_CAST convert between the types; failures are NULL under TRY_CAST', async () => {
        expect(
            await evaluate(
                `CAST('42' AS bigint) AS i, CAST(7 AS nvarchar(max)) AS s, CAST('2026-11-22 06:00:00' AS datetime) AS d,
                 CAST('2026-11-22T06:00:00.1234567Z' AS datetime) AS d7, TRY_CAST('x' AS bigint) AS bad,
                 CAST(2.9 AS bigint) AS truncated, CAST('1.5' AS float) AS f, TRY_CAST('NaN' AS float) AS nan,
                 TRY_CAST('0x10' AS float) AS hex, CAST(rec AS record) AS r, TRY_CAST(rec AS array) AS notArray,
                 CAST(arr AS array) AS a, CAST(1 AS bit) AS b1, CAST('false' AS bit) AS b0, CAST(0.5 AS bit) AS b2,
                 CAST(1e21 AS nvarchar(max)) AS bigText, TRY_CAST(NULL AS bigint) AS n`,
                { rec: { a: 1 }, arr: [1, 2] },
            ),
        ).toEqual({
            i: 42,
            s: '7',
            d: '2026-11-22T06:00:00.0000000Z',
            d7: '2026-11-22T06:00:00.1234567Z',
            bad: null,
            truncated: 2,
            f: 1.5,
            nan: null,
            hex: null,
            r: { a: 1 },
            notArray: null,
            a: [1, 2],
            b1: true,
            b0: false,
            b2: true,
            bigText: '1E+21',
            n: null,
        });
    });

    // The data types page (stream-analytics-query/data-types-azure-stream-analytics): a datetime has 7 fractional
    // digits and converts to a string "using ISO 8601 standard"; the input validation page
    // (azure/stream-analytics/input-validation) shows a local run writing TRY_CAST('2021-12-10T10:00:00' AS datetime)
    // as 2021-12-10T10:00:00.0000000Z. CAST to nvarchar(max) gives that same text (inferred: no page prints it).
    it('CAST(datetime AS nvarchar(max)) is the 7-digit UTC ISO 8601 text a datetime is written as', async () => {
        expect(
            await evaluate(
                `CAST(CAST(t AS datetime) AS nvarchar(max)) AS text, TRY_CAST(t AS datetime) AS written,
                 CAST(CAST('2021-12-10T11:30:00.1234567+01:30' AS datetime) AS nvarchar(max)) AS offsetText,
                 CONCAT('w-', CAST(DATEADD(second, 30, CAST(t AS datetime)) AS nvarchar(max))) AS id,
                 GetType(CAST(CAST(t AS datetime) AS nvarchar(max))) AS type`,
                { t: '2021-12-10T10:00:00' },
            ),
        ).toEqual({
            text: '2021-12-10T10:00:00.0000000Z',
            written: '2021-12-10T10:00:00.0000000Z',
            offsetText: '2021-12-10T10:00:00.1234567Z',
            id: 'w-2021-12-10T10:00:30.0000000Z',
            type: 'nvarchar(max)',
        });
    });

    it('GetType names the type of each value, as the examples of the reference use it', async () => {
        expect(
            await evaluate(
                `GetType(i) AS i, GetType(f) AS f, GetType(s) AS s, GetType(CAST(s AS datetime)) AS d, GetType(b) AS b,
                 GetType(r) AS r, GetType(a) AS a, GetType(missing) AS n`,
                { i: 1, f: 1.5, s: '2026-11-22T06:00:00Z', b: true, r: {}, a: [] },
            ),
        ).toEqual({
            i: 'bigint',
            f: 'float',
            s: 'nvarchar(max)',
            d: 'datetime',
            b: 'bit',
            r: 'record',
            a: 'array',
            n: null,
        });
    });

    it('a failed CAST stops the job with a located error', async () => {
        expect(
            await Promise.all([failure(`CAST('x' AS bigint) AS x`), failure(`CAST(r AS array) AS x`, { r: {} })]),
        ).toEqual([
            'runtime: Line 1, column 8: cannot CAST a nvarchar(max) to bigint (got "x")',
            'runtime: Line 1, column 8: cannot CAST a record to array (got {})',
        ]);
    });
});

describe('array and record functions', () => {
    it('GetArrayElement, GetArrayLength, GetRecordPropertyValue and JSON_PARSE', async () => {
        expect(
            await evaluate(
                `GetArrayElement(SensorReadings.CustomSensor, 0) AS first, GetArrayElement(SensorReadings.CustomSensor, 1) AS second,
                 GetArrayElement(SensorReadings.CustomSensor, 3) AS outside, GetArrayLength(SensorReadings.CustomSensor) AS n,
                 GetRecordPropertyValue(SensorReadings, name) AS byName, GetRecordPropertyValue(SensorReadings, '[my][Field]') AS quoted,
                 GetRecordPropertyValue(SensorReadings, 'humidity') AS caseless, GetRecordPropertyValue(SensorReadings, 'x') AS missing,
                 JSON_PARSE(eventrow.old) AS parsed, JSON_PARSE('[1]') AS notRecord, JSON_PARSE('{') AS invalid`,
                {
                    name: 'Temperature',
                    SensorReadings: { Temperature: 80, Humidity: 70, CustomSensor: [1, 1, 0], 'my][Field': 'q' },
                    eventrow: { old: '{"SalesOrderID":"65191","SalesOrderDetailID":"89090"}' },
                },
            ),
        ).toEqual({
            first: 1,
            second: 1,
            outside: null,
            n: 3,
            byName: 80,
            quoted: 'q',
            caseless: 70,
            missing: null,
            parsed: { SalesOrderID: '65191', SalesOrderDetailID: '89090' },
            notRecord: null,
            invalid: null,
        });
    });

    it('enumerates array elements and record properties for CROSS APPLY', () => {
        expect([
            arrayElements(fail, [1, 'a']),
            arrayElements(fail, null),
            recordProperties(fail, { a: 1, b: null }),
        ]).toEqual([
            [
                { ArrayIndex: 0, ArrayValue: 1 },
                { ArrayIndex: 1, ArrayValue: 'a' },
            ],
            [],
            [
                { PropertyName: 'a', PropertyValue: 1 },
                { PropertyName: 'b', PropertyValue: null },
            ],
        ]);
        expect(() => arrayElements(fail, 'x')).toThrow('GetArrayElements needs an array, not a nvarchar(max): "x"');
    });

    it('CROSS APPLY runs them: rows per element, and a located error for a value of the wrong type', async () => {
        const applied = (body: Record<string, unknown>) =>
            failure(`e.ArrayValue AS v INTO out FROM input CROSS APPLY GetArrayElements(tags) AS e --`, body);
        expect([await applied({ tags: [1] }), await applied({ tags: 'x' })]).toEqual([
            'no error',
            'runtime: Line 1, column 58: GetArrayElements needs an array, not a nvarchar(max) (got "x")',
        ]);
        expect(
            await evaluate(`e.ArrayValue AS v INTO out FROM input CROSS APPLY GetArrayElements(tags) AS e --`, {
                tags: ['a'],
            }),
        ).toEqual({ v: 'a' });
    });

    it('non-array and non-record arguments are located runtime errors', async () => {
        expect(
            await Promise.all([
                failure(`GetArrayLength(s) AS x`, { s: 'abc' }),
                failure(`GetRecordPropertyValue(a, 'x') AS x`, { a: [1] }),
            ]),
        ).toEqual([
            'runtime: Line 1, column 8: GetArrayLength needs an array, not a nvarchar(max) (got "abc")',
            'runtime: Line 1, column 8: GetRecordPropertyValue needs a record, not a array (got [1])',
        ]);
    });
});

describe('input metadata', () => {
    it('GetMetadataPropertyValue reads the Event Hubs properties, user properties and a stable EventId', async () => {
        const event = { offset: '4096', sequenceNumber: 17, partitionKey: 'k', properties: { SenderClientId: 'c1' } };
        const row = await evaluate(
            `GetMetadataPropertyValue(input, '[EventHub].[EventEnqueuedUtcTime]') AS enqueued,
             GetMetadataPropertyValue(input, 'EventHub') AS eventHub,
             GetMetadataPropertyValue(input, '[User].[SenderClientId]') AS sender,
             GetMetadataPropertyValue(input, '[User]') AS userprops,
             GetMetadataPropertyValue(input, '[EventHub].[Publisher]') AS publisher,
             GetMetadataPropertyValue(input, 'EventId') AS eventId`,
            { name: 'x' },
            event,
        );
        expect(row).toEqual({
            enqueued: '2026-11-22T06:00:30.0000000Z',
            eventHub: {
                EventEnqueuedUtcTime: '2026-11-22T06:00:30.0000000Z',
                EventProcessedUtcTime: '2026-11-22T06:00:30.0000000Z',
                PartitionId: 0,
                Offset: '4096',
                SequenceNumber: 17,
                PartitionKey: 'k',
            },
            sender: 'c1',
            userprops: { SenderClientId: 'c1' },
            publisher: null,
            eventId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        });
        const again = await evaluate(`GetMetadataPropertyValue(input, 'EventId') AS eventId`, { name: 'x' }, event);
        expect(again.eventId).toBe(row.eventId);
        const other = await evaluate(
            `GetMetadataPropertyValue(input, 'EventId') AS eventId`,
            { name: 'x' },
            {
                ...event,
                sequenceNumber: 18,
            },
        );
        expect(other.eventId).not.toBe(row.eventId);
    });

    it('GetMetadataPropertyValue reads the named source in a JOIN, and survives analytic functions', async () => {
        const plan = compileQuery(
            `SELECT a.n, GetMetadataPropertyValue(a, '[EventHub].[SequenceNumber]') AS mine,
                    GetMetadataPropertyValue(b, '[EventHub].[SequenceNumber]') AS theirs
             INTO out FROM input a JOIN other b ON a.n = b.n AND DATEDIFF(second, a, b) BETWEEN 0 AND 5

             SELECT n, GetMetadataPropertyValue(input, '[EventHub].[SequenceNumber]') AS sequence,
                    LAG(n) OVER (LIMIT DURATION(minute, 1)) AS previous
             INTO lagged FROM input`,
            {
                inputs: { input: { partitionIds: ['0'] }, other: { partitionIds: ['0'] } },
                outputs: ['out', 'lagged'],
                jobSettings: letterCountsJobSettings,
            },
        );
        const rows: Record<string, OutputRow[]> = { out: [], lagged: [] };
        const job = plan.createJob({
            clock: { now: () => new Date(AT) },
            sink: (alias, batch) => {
                rows[alias]!.push(...batch);
                return Promise.resolve();
            },
        });
        job.push('input', '0', [
            { enqueuedTime: AT, body: { n: 1 }, sequenceNumber: 7 },
            { enqueuedTime: AT, body: { n: 2 }, sequenceNumber: 8 },
        ]);
        job.push('other', '0', [{ enqueuedTime: AT, body: { n: 2 }, sequenceNumber: 40 }]);
        job.finish();
        await job.flush();
        expect(rows).toEqual({
            out: [{ n: 2, mine: 8, theirs: 40 }],
            lagged: [
                { n: 1, sequence: 7, previous: null },
                { n: 2, sequence: 8, previous: 1 },
            ],
        });
    });
});

describe('general', () => {
    it('CASE, comparisons, arithmetic, BETWEEN, IN, NULLIF, COALESCE and three-valued logic', async () => {
        expect(
            await evaluate(
                `CASE WHEN n > 2 THEN 'big' ELSE 'small' END AS size, CASE n WHEN 3 THEN 'three' END AS word,
                 n * 2 + 1 AS calc, 7 / 2 AS half, CAST(7 / 2 AS bigint) AS whole, n BETWEEN 1 AND 3 AS inRange,
                 n IN (1, 2) AS listed, missing = 1 AS unknown, missing IS NULL AS isMissing,
                 COALESCE(missing, n) AS firstPresent, record.inner AS nested, NULLIF(n, 3) AS same, NULLIF(n, 4) AS differ,
                 '2026-01-01T00:00:00.0000001Z' > CAST('2026-01-01T00:00:00Z' AS datetime) AS later`,
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
            same: null,
            differ: 3,
            later: true,
        });
    });

    it('calls with the wrong number of arguments, unknown functions and table-valued calls fail at load', async () => {
        expect(
            await Promise.all([
                failure(`UPPER('a', 'b') AS x`),
                failure(`CONCAT('a') AS x`),
                failure(`SOUNDEX('a') AS x`),
                failure(`GetRecordProperties(r) AS x`),
                failure(`GetMetadataPropertyValue('input', 'EventId') AS x`),
            ]),
        ).toEqual([
            'compile invalid: Line 1, column 8: UPPER takes 1 arguments (got 2)',
            'compile invalid: Line 1, column 8: CONCAT takes at least 2 arguments (got 1)',
            'compile unsupported: Line 1, column 8: function SOUNDEX is not supported by the local Stream Analytics engine',
            'compile invalid: Line 1, column 8: GETRECORDPROPERTIES returns a table: use it as CROSS APPLY GETRECORDPROPERTIES(...) AS alias, not as a value',
            'compile invalid: Line 1, column 33: the first argument of GetMetadataPropertyValue is the input alias',
        ]);
    });
});
