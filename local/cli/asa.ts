/**
 * `npm run asa`: runs and tests Stream Analytics queries on this machine with the local engine, no Azure needed.
 *
 *   npm run asa -- run <query.asaql> --input <alias>=<file> [--input ...] [--job-settings <file>] [--output-dir <dir>]
 *       runs the query over JSON (array or line-delimited) or CSV files and prints each output's rows as
 *       line-delimited JSON, or writes them to <dir>/<output>.json
 *   npm run asa -- test <testConfig.json> [--job-settings <file>] [--output-path <dir>]
 *       runs every test case of a Stream Analytics CI/CD test configuration, prints a diff for each mismatch and
 *       exits with 1 when a case fails
 *   common options: --run-start <ISO 8601> (arrival time of inputs without TIMESTAMP BY; default now)
 *
 * Exit codes: 0 success, 1 a test case failed, 2 bad usage, an unreadable file or a query the engine rejects.
 * Relative paths are taken from the directory npm was started in. See docs/stream-analytics.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { NamestreamError } from '../../domain/errors';
import { type JobSettings, type OutputRow, QueryCompileError, QueryRuntimeError } from '../streamAnalytics/index';
import { formatOf, readEvents } from '../streamAnalytics/localFiles';
import { type LocalInput, runQueryLocally } from '../streamAnalytics/localRun';
import { compareRows, readExpectedRows, readTestConfig, readTestInputs } from '../streamAnalytics/testConfig';

type Print = (line: string) => void;

const USAGE = [
    'usage:',
    '  npm run asa -- run <query.asaql> --input <alias>=<file> [--input ...] [--reference <alias>=<file>]',
    '                     [--job-settings <file>] [--output-dir <dir>] [--run-start <ISO 8601>]',
    '  npm run asa -- test <testConfig.json> [--job-settings <file>] [--output-path <dir>] [--run-start <ISO 8601>]',
].join('\n');

class UsageError extends Error {}

export async function runAsa(
    argv: readonly string[],
    print: Print = (line) => console.log(line),
    cwd: string = process.env.INIT_CWD ?? process.cwd(),
): Promise<number> {
    try {
        const { values, positionals } = parseArgs({
            args: [...argv],
            allowPositionals: true,
            options: {
                input: { type: 'string', multiple: true, short: 'i' },
                reference: { type: 'string', multiple: true },
                'job-settings': { type: 'string' },
                'output-dir': { type: 'string' },
                'output-path': { type: 'string' },
                'run-start': { type: 'string' },
                help: { type: 'boolean', short: 'h' },
            },
        });
        const [command, target, ...extra] = positionals;
        if (values.help === true) {
            print(USAGE);
            return 0;
        }
        if (target === undefined || extra.length > 0 || (command !== 'run' && command !== 'test')) {
            throw new UsageError(
                command === 'run' || command === 'test'
                    ? `${command} takes exactly one file (got ${positionals.length - 1})`
                    : `unknown command ${JSON.stringify(command ?? '')}`,
            );
        }
        const resolve = (file: string): string => path.resolve(cwd, file);
        const jobSettings =
            values['job-settings'] === undefined ? {} : readJobSettings(resolve(values['job-settings']));
        const runStart = parseRunStart(values['run-start']);
        if (command === 'run') {
            const inputs = [
                ...(values.input ?? []).map((spec) => inputFrom(spec, 'stream', resolve)),
                ...(values.reference ?? []).map((spec) => inputFrom(spec, 'reference', resolve)),
            ];
            const outputDir = values['output-dir'] === undefined ? undefined : resolve(values['output-dir']);
            return await runCommand(resolve(target), inputs, jobSettings, runStart, outputDir, print);
        }
        const outputPath = values['output-path'] === undefined ? undefined : resolve(values['output-path']);
        return await testCommand(resolve(target), jobSettings, runStart, outputPath, print);
    } catch (error) {
        if (error instanceof UsageError || (error instanceof TypeError && 'code' in error)) {
            print(`${error.message}\n${USAGE}`);
            return 2;
        }
        if (error instanceof NamestreamError) {
            print(error.message);
            return 2;
        }
        throw error;
    }
}

function inputFrom(spec: string, kind: LocalInput['kind'], resolve: (file: string) => string): LocalInput {
    const at = spec.indexOf('=');
    if (at <= 0 || at === spec.length - 1) {
        throw new UsageError(`--${kind === 'stream' ? 'input' : 'reference'} takes <alias>=<file> (got "${spec}")`);
    }
    const file = resolve(spec.slice(at + 1));
    return { alias: spec.slice(0, at), kind, events: readEvents(file, formatOf(file)) };
}

function readJobSettings(file: string): Partial<JobSettings> {
    try {
        return JSON.parse(readFileSync(file, 'utf8')) as Partial<JobSettings>;
    } catch (error) {
        throw new UsageError(`--job-settings ${file}: not a readable JSON file (${(error as Error).message})`);
    }
}

function parseRunStart(text: string | undefined): number {
    if (text === undefined) {
        return Date.now();
    }
    const ms = Date.parse(text);
    if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:\d{2})$/.test(text)) {
        throw new UsageError(
            `--run-start takes an ISO 8601 time with a zone, e.g. 2026-01-01T00:00:00Z (got "${text}")`,
        );
    }
    return ms;
}

/** Loads the query and reports a compile error with the file name in front of its line and column. */
function readQuery(file: string): string {
    try {
        return readFileSync(file, 'utf8');
    } catch (error) {
        throw new UsageError(`${file}: cannot read the query (${(error as Error).message})`);
    }
}

async function runQuery(
    queryFile: string,
    inputs: readonly LocalInput[],
    jobSettings: Partial<JobSettings>,
    runStart: number,
): Promise<Map<string, OutputRow[]>> {
    try {
        const result = await runQueryLocally({ queryText: readQuery(queryFile), inputs, jobSettings, runStart });
        return new Map(result.outputs);
    } catch (error) {
        if (error instanceof QueryCompileError || error instanceof QueryRuntimeError) {
            throw new QueryFileError(
                `${path.relative(process.cwd(), queryFile) || queryFile}: ${error.message}`,
                error instanceof QueryRuntimeError,
            );
        }
        throw error;
    }
}

/** A query that does not compile, or that stops on an event (`atRuntime`), named with its file. */
class QueryFileError extends NamestreamError {
    readonly code = 'QueryFile';
    constructor(
        message: string,
        readonly atRuntime: boolean,
    ) {
        super(message);
        this.name = 'QueryFileError';
    }
}

async function runCommand(
    queryFile: string,
    inputs: readonly LocalInput[],
    jobSettings: Partial<JobSettings>,
    runStart: number,
    outputDir: string | undefined,
    print: Print,
): Promise<number> {
    if (inputs.length === 0) {
        throw new UsageError('run needs at least one --input <alias>=<file>');
    }
    const outputs = await runQuery(queryFile, inputs, jobSettings, runStart);
    for (const [alias, rows] of outputs) {
        const text = rows.map((row) => JSON.stringify(row)).join('\n');
        if (outputDir === undefined) {
            print(`--- ${alias} (${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`);
            if (rows.length > 0) {
                print(text);
            }
        } else {
            mkdirSync(outputDir, { recursive: true });
            const file = path.join(outputDir, `${alias}.json`);
            writeFileSync(file, rows.length > 0 ? `${text}\n` : '');
            print(`${alias}: ${rows.length} ${rows.length === 1 ? 'row' : 'rows'} written to ${file}`);
        }
    }
    return 0;
}

interface OutputResult {
    OutputAlias: string;
    ExpectedOutput: string;
    Output: string;
}

async function testCommand(
    configFile: string,
    jobSettings: Partial<JobSettings>,
    runStart: number,
    outputPath: string | undefined,
    print: Print,
): Promise<number> {
    const config = readTestConfig(configFile);
    const started = Date.now();
    let failed = 0;
    const results: unknown[] = [];
    for (const testCase of config.testCases) {
        const caseStarted = Date.now();
        const report: string[] = [];
        let outputs: Map<string, OutputRow[]>;
        try {
            outputs = await runQuery(config.script, readTestInputs(testCase), jobSettings, runStart);
        } catch (error) {
            // A failure on one case's data (a CAST that fails, as it would stop the job) fails that case only.
            if (!(error instanceof QueryFileError && error.atRuntime)) {
                throw error;
            }
            outputs = new Map();
            report.push(`  the job stopped: ${error.message}`);
        }
        const lists = {
            OutputMatched: [] as OutputResult[],
            OutputNotEqual: [] as OutputResult[],
            OutputMissing: [] as OutputResult[],
            OutputUnexpected: [] as OutputResult[],
            OutputUnrequired: [] as OutputResult[],
        };
        const caseDir = outputPath === undefined ? undefined : path.join(outputPath, safeName(testCase.name));
        const written = (alias: string, rows: readonly OutputRow[]): string => {
            if (caseDir === undefined) {
                return '';
            }
            mkdirSync(caseDir, { recursive: true });
            const file = path.join(caseDir, `${alias}.json`);
            writeFileSync(file, rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
            return file;
        };
        const byUpper = new Map([...outputs].map(([alias, rows]) => [alias.toUpperCase(), { alias, rows }]));
        for (const expected of report.length > 0 ? [] : testCase.expectedOutputs) {
            const produced = byUpper.get(expected.alias.toUpperCase());
            byUpper.delete(expected.alias.toUpperCase());
            const entry = {
                OutputAlias: expected.alias,
                ExpectedOutput: expected.file,
                Output: written(expected.alias, produced?.rows ?? []),
            };
            if (!expected.required) {
                lists.OutputUnrequired.push(entry);
                continue;
            }
            if (produced === undefined) {
                lists.OutputMissing.push(entry);
                report.push(`  output "${expected.alias}": the query has no such output`);
                continue;
            }
            const comparison = compareRows(readExpectedRows(expected.file), produced.rows, expected.ignoreFields);
            if (comparison.matched) {
                lists.OutputMatched.push(entry);
                continue;
            }
            lists.OutputNotEqual.push(entry);
            report.push(
                `  output "${expected.alias}": ${comparison.missing.length} expected ${plural(comparison.missing.length, 'row')} missing, ` +
                    `${comparison.unexpected.length} unexpected ${plural(comparison.unexpected.length, 'row')}` +
                    (expected.ignoreFields.length > 0 ? ` (ignoring ${expected.ignoreFields.join(', ')})` : ''),
                ...comparison.missing.map((row) => `    - ${row}`),
                ...comparison.unexpected.map((row) => `    + ${row}`),
            );
        }
        for (const { alias, rows } of byUpper.values()) {
            lists.OutputUnexpected.push({ OutputAlias: alias, ExpectedOutput: '', Output: written(alias, rows) });
        }
        const passed = report.length === 0;
        failed += passed ? 0 : 1;
        print(`${passed ? 'PASS' : 'FAIL'} ${testCase.name}`);
        for (const line of report) {
            print(line);
        }
        results.push({ Name: testCase.name, Status: passed ? 0 : 1, Time: Date.now() - caseStarted, ...lists });
    }
    const total = config.testCases.length;
    print(`${total} test ${plural(total, 'case')}: ${total - failed} passed, ${failed} failed`);
    if (outputPath !== undefined) {
        mkdirSync(outputPath, { recursive: true });
        const summary = {
            Total: total,
            Passed: total - failed,
            Failed: failed,
            Script: config.script,
            Time: Date.now() - started,
            Results: results,
        };
        writeFileSync(path.join(outputPath, 'testResultSummary.json'), `${JSON.stringify(summary, null, 4)}\n`);
    }
    return failed === 0 ? 0 : 1;
}

function plural(count: number, word: string): string {
    return count === 1 ? word : `${word}s`;
}

function safeName(name: string): string {
    return name.replace(/[^A-Za-z0-9._-]+/g, '_');
}

if (require.main === module) {
    runAsa(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (error: unknown) => {
            console.error(error);
            process.exit(2);
        },
    );
}
