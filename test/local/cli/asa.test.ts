import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { runAsa } from '../../../local/cli/asa';

const ROOT = path.resolve(__dirname, '../../..');
const PROJECT = path.join(ROOT, 'examples/asa-project');
const scratch = mkdtempSync(path.join(tmpdir(), 'asa-cli-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function asa(...argv: string[]): Promise<{ code: number; lines: string[] }> {
    const lines: string[] = [];
    const code = await runAsa(argv, (line) => lines.push(...line.split('\n')), ROOT);
    return { code, lines };
}

describe('npm run asa -- test', () => {
    it('runs every case of the example project and passes', async () => {
        expect(await asa('test', 'examples/asa-project/test/testConfig.json')).toEqual({
            code: 0,
            lines: ['PASS json-input', 'PASS csv-input', '2 test cases: 2 passed, 0 failed'],
        });
    });

    it('prints a diff for a mismatching output and exits with 1', async () => {
        expect(await asa('test', 'examples/asa-project/test/testConfig.failing.json')).toEqual({
            code: 1,
            lines: [
                'FAIL wrong-expectation',
                '  output "MakeCounts": 1 expected row missing, 1 unexpected row',
                '    - {"Count":3,"Make":"Make1","WindowEnd":"2023-01-01T00:00:10.0000000Z"}',
                '    + {"Count":2,"Make":"Make1","WindowEnd":"2023-01-01T00:00:10.0000000Z"}',
                '1 test case: 0 passed, 1 failed',
            ],
        });
    });

    it('writes the actual outputs and a testResultSummary.json like the CI/CD tool with --output-path', async () => {
        const out = path.join(scratch, 'results');
        expect((await asa('test', 'examples/asa-project/test/testConfig.json', '--output-path', out)).code).toBe(0);
        const summary = JSON.parse(readFileSync(path.join(out, 'testResultSummary.json'), 'utf8'));
        expect({
            ...summary,
            Time: 0,
            Results: summary.Results.map((r: { Time: number }) => ({ ...r, Time: 0 })),
        }).toEqual({
            Total: 2,
            Passed: 2,
            Failed: 0,
            Script: path.join(PROJECT, 'TollEntries.asaql'),
            Time: 0,
            Results: [
                {
                    Name: 'json-input',
                    Status: 0,
                    Time: 0,
                    OutputMatched: [
                        {
                            OutputAlias: 'MakeCounts',
                            ExpectedOutput: path.join(PROJECT, 'test/MakeCounts.expected.json'),
                            Output: path.join(out, 'json-input/MakeCounts.json'),
                        },
                        {
                            OutputAlias: 'Flagged',
                            ExpectedOutput: path.join(PROJECT, 'test/Flagged.expected.json'),
                            Output: path.join(out, 'json-input/Flagged.json'),
                        },
                        {
                            OutputAlias: 'Expired',
                            ExpectedOutput: path.join(PROJECT, 'test/Expired.expected.json'),
                            Output: path.join(out, 'json-input/Expired.json'),
                        },
                    ],
                    OutputNotEqual: [],
                    OutputMissing: [],
                    OutputUnexpected: [],
                    OutputUnrequired: [],
                },
                {
                    Name: 'csv-input',
                    Status: 0,
                    Time: 0,
                    OutputMatched: [
                        {
                            OutputAlias: 'MakeCounts',
                            ExpectedOutput: path.join(PROJECT, 'test/MakeCounts.expected.json'),
                            Output: path.join(out, 'csv-input/MakeCounts.json'),
                        },
                        {
                            OutputAlias: 'Expired',
                            ExpectedOutput: path.join(PROJECT, 'test/Expired.expected.json'),
                            Output: path.join(out, 'csv-input/Expired.json'),
                        },
                    ],
                    OutputNotEqual: [],
                    OutputMissing: [],
                    OutputUnexpected: [],
                    OutputUnrequired: [
                        {
                            OutputAlias: 'Flagged',
                            ExpectedOutput: path.join(PROJECT, 'test/unused.json'),
                            Output: path.join(out, 'csv-input/Flagged.json'),
                        },
                    ],
                },
            ],
        });
        expect(readFileSync(path.join(out, 'json-input/MakeCounts.json'), 'utf8')).toBe(
            [
                '{"Make":"Make1","Count":2,"WindowEnd":"2023-01-01T00:00:10.0000000Z"}',
                '{"Make":"Make2","Count":1,"WindowEnd":"2023-01-01T00:00:10.0000000Z"}',
                '{"Make":"Make2","Count":1,"WindowEnd":"2023-01-01T00:00:20.0000000Z"}',
                '{"Make":"Make1","Count":1,"WindowEnd":"2023-01-01T00:00:20.0000000Z"}',
                '',
            ].join('\n'),
        );
    });

    it('rejects a configuration with a bad field, an unsupported format, or an output the query lacks', async () => {
        const bad = path.join(scratch, 'bad.json');
        writeFileSync(bad, JSON.stringify({ Script: 'x.asaql', TestCases: [{ Name: 'a', Inputs: [] }] }));
        const avro = path.join(scratch, 'avro.json');
        writeFileSync(
            avro,
            JSON.stringify({
                Script: path.join(PROJECT, 'TollEntries.asaql'),
                TestCases: [
                    {
                        Name: 'a',
                        Inputs: [{ InputAlias: 'Entries', Format: 'AVRO', FilePath: 'e.avro' }],
                        ExpectedOutputs: [],
                    },
                ],
            }),
        );
        const missing = path.join(scratch, 'missing.json');
        writeFileSync(
            missing,
            JSON.stringify({
                Script: path.join(PROJECT, 'TollEntries.asaql'),
                TestCases: [
                    {
                        Name: 'no-such-output',
                        Inputs: [
                            { InputAlias: 'Entries', FilePath: path.join(PROJECT, 'test/entries.json') },
                            {
                                InputAlias: 'Registration',
                                Type: 'Reference Data',
                                FilePath: path.join(PROJECT, 'test/registration.json'),
                            },
                        ],
                        ExpectedOutputs: [{ OutputAlias: 'Elsewhere', FilePath: 'x.json', Required: 'true' }],
                    },
                ],
            }),
        );
        expect([await asa('test', bad), await asa('test', avro), await asa('test', missing)]).toEqual([
            { code: 2, lines: ['Invalid message: field "TestCases.0.ExpectedOutputs" is missing (got undefined)'] },
            {
                code: 2,
                lines: [
                    `${path.join(scratch, 'e.avro')}: the AVRO format is not supported by the local engine (use JSON or CSV)`,
                ],
            },
            {
                code: 1,
                lines: [
                    'FAIL no-such-output',
                    '  output "Elsewhere": the query has no such output',
                    '1 test case: 0 passed, 1 failed',
                ],
            },
        ]);
    });
    it('fails only the case whose data stops the job, and runs the others', async () => {
        const query = path.join(scratch, 'cast.asaql');
        writeFileSync(query, 'SELECT CAST(v AS bigint) AS n INTO out FROM input');
        writeFileSync(path.join(scratch, 'good.json'), '[{"v": "1"}]');
        writeFileSync(path.join(scratch, 'bad-value.json'), '[{"v": "x"}]');
        writeFileSync(path.join(scratch, 'out.expected.json'), '[{"n": 1}]');
        const testCase = (name: string, file: string) => ({
            Name: name,
            Inputs: [{ InputAlias: 'input', FilePath: file }],
            ExpectedOutputs: [{ OutputAlias: 'out', FilePath: 'out.expected.json' }],
        });
        const config = path.join(scratch, 'cast.testConfig.json');
        writeFileSync(
            config,
            JSON.stringify({
                Script: 'cast.asaql',
                TestCases: [testCase('good', 'good.json'), testCase('bad', 'bad-value.json')],
            }),
        );
        expect(await asa('test', config)).toEqual({
            code: 1,
            lines: [
                'PASS good',
                'FAIL bad',
                `  the job stopped: ${path.relative(process.cwd(), query)}: Line 1, column 8: cannot CAST a nvarchar(max) to bigint (got "x")`,
                '2 test cases: 1 passed, 1 failed',
            ],
        });
    });
});

describe('a SELECT without INTO', () => {
    it('writes to the output named output, which a test case expects by that name (the UNION fixture)', async () => {
        const fixture = path.join(ROOT, 'test/local/streamAnalytics/fixtures/docs-union');
        const config = path.join(scratch, 'union.testConfig.json');
        writeFileSync(
            config,
            JSON.stringify({
                Script: path.join(fixture, 'query.asaql'),
                TestCases: [
                    {
                        Name: 'union',
                        Inputs: [
                            { InputAlias: 'Input1', FilePath: path.join(fixture, 'Input1.json') },
                            { InputAlias: 'Input2', FilePath: path.join(fixture, 'Input2.json') },
                        ],
                        ExpectedOutputs: [
                            { OutputAlias: 'output', FilePath: path.join(fixture, 'output.expected.json') },
                        ],
                    },
                ],
            }),
        );
        const inputs = ['--input', `Input1=${fixture}/Input1.json`, '--input', `Input2=${fixture}/Input2.json`];
        const run = await asa('run', path.join(fixture, 'query.asaql'), ...inputs);
        expect([await asa('test', config), run.lines[0]]).toEqual([
            { code: 0, lines: ['PASS union', '1 test case: 1 passed, 0 failed'] },
            `--- output (${JSON.parse(readFileSync(path.join(fixture, 'output.expected.json'), 'utf8')).length} rows)`,
        ]);
    });
});

describe('npm run asa -- run', () => {
    it('prints each output of the query as line-delimited JSON', async () => {
        expect(
            await asa(
                'run',
                'examples/asa-project/TollEntries.asaql',
                '--input',
                'Entries=examples/asa-project/test/entries.csv',
                '--reference',
                'Registration=examples/asa-project/test/registration.csv',
                '--job-settings',
                'examples/asa-project/job-settings.json',
            ),
        ).toEqual({
            code: 0,
            lines: [
                '--- MakeCounts (4 rows)',
                '{"Make":"Make1","Count":2,"WindowEnd":"2023-01-01T00:00:10.0000000Z"}',
                '{"Make":"Make2","Count":1,"WindowEnd":"2023-01-01T00:00:10.0000000Z"}',
                '{"Make":"Make2","Count":1,"WindowEnd":"2023-01-01T00:00:20.0000000Z"}',
                '{"Make":"Make1","Count":1,"WindowEnd":"2023-01-01T00:00:20.0000000Z"}',
                '--- Flagged (3 rows)',
                '{"Plate":"AAA-999","Label":"Make1 AAA-999","Second":2,"OneMicrosecondLater":"2023-01-01T00:00:02.0000010Z","EventTime":"2023-01-01T00:00:02.0000000Z"}',
                '{"Plate":"ABC-369","Label":"Make2 ABC-369","Second":3,"OneMicrosecondLater":"2023-01-01T00:00:03.0000010Z","EventTime":"2023-01-01T00:00:03.0000000Z"}',
                '{"Plate":"ABC-129","Label":"Make1 Abc-129","Second":12,"OneMicrosecondLater":"2023-01-01T00:00:12.1234577Z","EventTime":"2023-01-01T00:00:12.1234567Z"}',
                '--- Expired (2 rows)',
                '{"Time":"2023-01-01T00:00:02.0000000Z","License_plate":"AAA-999","RegistrationId":"R-1"}',
                '{"Time":"2023-01-01T00:00:12.1234567Z","License_plate":"Abc-129","RegistrationId":"R-3"}',
            ],
        });
    });

    it('reads line-delimited JSON, stamps inputs without TIMESTAMP BY at the run start and writes files', async () => {
        const query = path.join(scratch, 'passthrough.asaql');
        writeFileSync(
            query,
            'SELECT id, System.Timestamp() AS t, EventEnqueuedUtcTime INTO out FROM readings WHERE id <> 2',
        );
        const input = path.join(scratch, 'readings.json');
        writeFileSync(input, '{"id":1}\n\n{"id":2}\n{"id":3}\n');
        const dir = path.join(scratch, 'out');
        const result = await asa(
            'run',
            query,
            '-i',
            `readings=${input}`,
            '--run-start',
            '2026-11-22T06:00:00Z',
            '--output-dir',
            dir,
        );
        expect(result).toEqual({ code: 0, lines: [`out: 2 rows written to ${path.join(dir, 'out.json')}`] });
        expect(readFileSync(path.join(dir, 'out.json'), 'utf8')).toBe(
            [
                '{"id":1,"t":"2026-11-22T06:00:00.0000000Z","EventEnqueuedUtcTime":"2026-11-22T06:00:00.0000000Z"}',
                '{"id":3,"t":"2026-11-22T06:00:00.0000000Z","EventEnqueuedUtcTime":"2026-11-22T06:00:00.0000000Z"}',
                '',
            ].join('\n'),
        );
    });

    it('fails with exit code 2 and a message naming the file, line or construct', async () => {
        const badJson = path.join(scratch, 'bad.jsonl');
        writeFileSync(badJson, '{"id":1}\n{"id":\n');
        const badQuery = path.join(scratch, 'bad.asaql');
        writeFileSync(badQuery, 'SELECT *\nINTO out\nFROM Entries\nWHERE Make LIKE');
        const entries = 'Entries=examples/asa-project/test/entries.json';
        const badReference = `Registration=${path.join(scratch, 'registration.jsonl')}`;
        writeFileSync(path.join(scratch, 'registration.jsonl'), '{"LicensePlate":"AAA-999"}\n42\n');
        const results = [
            await asa('run', 'examples/asa-project/TollEntries.asaql', '--input', `Entries=${badJson}`),
            await asa('run', badQuery, '--input', entries),
            await asa('run', 'examples/asa-project/TollEntries.asaql', '--input', entries, '--reference', entries),
            await asa('run', 'examples/asa-project/TollEntries.asaql', '--input', entries),
            await asa('run', 'examples/asa-project/TollEntries.asaql', '--input', entries, '--reference', badReference),
            await asa('run', 'examples/asa-project/TollEntries.asaql', '--input', 'Entries'),
            await asa('run', 'examples/asa-project/TollEntries.asaql'),
            await asa('deploy', 'x'),
        ];
        expect(results.map(({ code, lines }) => ({ code, first: lines[0] }))).toEqual([
            {
                code: 2,
                first: `${badJson}: line 2 is not JSON (Unexpected end of JSON input); expected a JSON array or one JSON value per line (got "{\\"id\\":")`,
            },
            {
                code: 2,
                first: `${path.relative(process.cwd(), badQuery)}: Line 4, column 16: unexpected end of query (expected an expression)`,
            },
            { code: 2, first: 'Invalid reference input: is also declared as a stream input (got "Entries")' },
            {
                code: 2,
                first: `examples/asa-project/TollEntries.asaql: Line 28, column 6: unknown input or step "Registration"`,
            },
            { code: 2, first: 'Invalid row 1 of reference input "Registration": must be an object (got 42)' },
            { code: 2, first: '--input takes <alias>=<file> (got "Entries")' },
            { code: 2, first: 'run needs at least one --input <alias>=<file>' },
            { code: 2, first: 'unknown command "deploy"' },
        ]);
    });
});

describe('the npm script, as a user runs it', () => {
    it('npm run asa -- test exits 1 on the failing example and prints the diff', async () => {
        const run = promisify(execFile);
        const error = await run('npm', ['run', '--silent', 'asa', '--', 'test', 'test/testConfig.failing.json'], {
            cwd: PROJECT,
        }).then(
            () => undefined,
            (failure: { code: number; stdout: string }) => failure,
        );
        expect(error?.code).toBe(1);
        expect(error?.stdout).toContain('    + {"Count":2,"Make":"Make1","WindowEnd":"2023-01-01T00:00:10.0000000Z"}');
    }, 60_000);
});
