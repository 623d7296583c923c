import { readFileSync } from 'node:fs';
import path from 'node:path';

import { z } from 'zod';

import { parseOrThrow } from '../../domain/schema';
import { formatOf, type InputFormat, LocalFileError, parseFormat, parseJsonEvents, readEvents } from './localFiles';
import type { LocalInput } from './localRun';
import { parseDateTimeValue } from './values';

/**
 * The test configuration `azure-streamanalytics-cicd test` reads (https://learn.microsoft.com/azure/stream-analytics/
 * cicd-tools): `Script` and `TestCases`, each with `Inputs` (`InputAlias`, `Type`, `Format`, `FilePath`,
 * `ScriptType`) and `ExpectedOutputs` (`OutputAlias`, `FilePath`, `Required`, `IgnoreFields`). Relative paths are
 * resolved against the configuration file's folder (Microsoft's examples use absolute paths; the tool's rule for
 * relative ones is not documented).
 */
const required = z.union([z.boolean(), z.enum(['true', 'false', 'True', 'False'])]).transform((value) => {
    return value === true || value === 'true' || value === 'True';
});

const testConfigSchema = z.object({
    Script: z.string().min(1),
    TestCases: z.array(
        z.object({
            Name: z.string().min(1),
            Inputs: z.array(
                z.object({
                    InputAlias: z.string().min(1),
                    Type: z.string().default('Data Stream'),
                    Format: z.string().default('JSON'),
                    FilePath: z.string().min(1),
                    // Only InputMock exists; the tool treats any other value as InputMock.
                    ScriptType: z.string().optional(),
                }),
            ),
            ExpectedOutputs: z.array(
                z.object({
                    OutputAlias: z.string().min(1),
                    FilePath: z.string().min(1),
                    Required: required.default(true),
                    IgnoreFields: z.array(z.string()).default([]),
                }),
            ),
        }),
    ),
});

export interface TestCase {
    readonly name: string;
    readonly inputs: readonly { alias: string; kind: LocalInput['kind']; format: InputFormat; file: string }[];
    readonly expectedOutputs: readonly { alias: string; file: string; required: boolean; ignoreFields: string[] }[];
}

export interface TestConfig {
    readonly file: string;
    readonly script: string;
    readonly testCases: readonly TestCase[];
}

/** Reads and validates a testConfig.json; throws InvalidMessageError naming the bad field. */
export function readTestConfig(file: string): TestConfig {
    let raw: unknown;
    try {
        raw = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as unknown;
    } catch (error) {
        throw new LocalFileError(file, `is not a readable JSON test configuration: ${(error as Error).message}`);
    }
    const config = parseOrThrow(testConfigSchema, raw, 'testConfig');
    const base = path.dirname(path.resolve(file));
    const resolve = (target: string): string => path.resolve(base, target);
    return {
        file,
        script: resolve(config.Script),
        testCases: config.TestCases.map((testCase) => ({
            name: testCase.Name,
            inputs: testCase.Inputs.map((input) => {
                const kind = /^reference/i.test(input.Type) ? ('reference' as const) : ('stream' as const);
                return {
                    alias: input.InputAlias,
                    kind,
                    format: parseFormat(input.Format, resolve(input.FilePath)),
                    file: resolve(input.FilePath),
                };
            }),
            expectedOutputs: testCase.ExpectedOutputs.map((output) => ({
                alias: output.OutputAlias,
                file: resolve(output.FilePath),
                required: output.Required,
                ignoreFields: output.IgnoreFields,
            })),
        })),
    };
}

/** The inputs of a test case, read from their files. */
export function readTestInputs(testCase: TestCase): LocalInput[] {
    return testCase.inputs.map((input) => ({
        alias: input.alias,
        kind: input.kind,
        events: readEvents(input.file, input.format),
    }));
}

/** Expected rows from a file: a JSON array or line-delimited JSON (what local runs write), or CSV. */
export function readExpectedRows(file: string): unknown[] {
    if (formatOf(file) === 'CSV') {
        return readEvents(file, 'CSV');
    }
    let text: string;
    try {
        text = readFileSync(file, 'utf8');
    } catch (error) {
        throw new LocalFileError(file, `cannot be read: ${(error as Error).message}`);
    }
    return parseJsonEvents(text, file);
}

export interface OutputComparison {
    readonly matched: boolean;
    /** Expected rows the run did not produce. */
    readonly missing: readonly string[];
    /** Rows the run produced that were not expected. */
    readonly unexpected: readonly string[];
}

/**
 * Compares rows as objects, not as text (the tool does since 2.2.4, per its maintainers in
 * https://github.com/MicrosoftDocs/azure-docs/issues/81247): field order does not matter, fields named in
 * IgnoreFields are left out, datetimes compare by instant whatever ISO 8601 form they are written in, and rows
 * compare as a multiset, since Stream Analytics guarantees no order among rows of one timestamp (inferred: the
 * tool's row-order rule is not documented). Floats compare exactly; round them in the query, as the docs advise.
 */
export function compareRows(
    expected: readonly unknown[],
    actual: readonly unknown[],
    ignoreFields: readonly string[],
): OutputComparison {
    const ignored = new Set(ignoreFields.map((name) => name.toUpperCase()));
    const canonical = (row: unknown): string => JSON.stringify(normalise(row, ignored, true));
    const remaining = new Map<string, number>();
    for (const row of actual) {
        const key = canonical(row);
        remaining.set(key, (remaining.get(key) ?? 0) + 1);
    }
    const missing: string[] = [];
    for (const row of expected) {
        const key = canonical(row);
        const count = remaining.get(key) ?? 0;
        if (count === 0) {
            missing.push(key);
        } else {
            remaining.set(key, count - 1);
        }
    }
    const unexpected = [...remaining.entries()].flatMap(([key, count]) => Array<string>(count).fill(key));
    return { matched: missing.length === 0 && unexpected.length === 0, missing, unexpected };
}

function normalise(value: unknown, ignored: ReadonlySet<string>, top: boolean): unknown {
    if (Array.isArray(value)) {
        return value.map((item) => normalise(item, ignored, false));
    }
    if (value !== null && typeof value === 'object') {
        const entries = Object.entries(value as Record<string, unknown>)
            .filter(([key]) => !(top && ignored.has(key.toUpperCase())))
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return Object.fromEntries(entries.map(([key, item]) => [key, normalise(item, ignored, false)]));
    }
    if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(value)) {
        return parseDateTimeValue(value)?.toJSON() ?? value;
    }
    return value;
}
