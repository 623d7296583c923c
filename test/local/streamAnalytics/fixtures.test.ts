import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import {
    compileQuery,
    letterCountsJobSettings,
    type OutputRow,
    QueryCompileError,
} from '../../../local/streamAnalytics/index';
import { expectedOutputs, fixtureNames, FIXTURES_DIRECTORY, readFixture, runFixture } from './fixtureRunner';

describe('Stream Analytics golden fixtures', () => {
    for (const name of fixtureNames()) {
        const fixture = readFixture(name);
        it(`${name}: ${fixture.description}`, async () => {
            const received = await runFixture(name);
            const expected = expectedOutputs(name);
            if (fixture.unordered === true) {
                // Stream Analytics does not order rows of one timestamp (or, with substreams, across keys).
                for (const outputs of [received, expected]) {
                    for (const alias of Object.keys(outputs)) {
                        outputs[alias] = ([...outputs[alias]!] as OutputRow[]).sort((a, b) =>
                            JSON.stringify(a).localeCompare(JSON.stringify(b)),
                        );
                    }
                }
            }
            expect(received).toEqual(expected);
        });
    }
});

describe('unsupported and invalid constructs fail at load with a located error', () => {
    const folder = path.join(FIXTURES_DIRECTORY, 'unsupported-constructs');
    const expected = JSON.parse(readFileSync(path.join(folder, 'expected-errors.json'), 'utf8')) as Record<
        string,
        string
    >;
    for (const [file, message] of Object.entries(expected)) {
        it(file, () => {
            const text = readFileSync(path.join(folder, file), 'utf8');
            let thrown: unknown;
            try {
                compileQuery(text, {
                    inputs: { namesInput: { partitionIds: ['0'] } },
                    outputs: ['out'],
                    jobSettings: letterCountsJobSettings,
                });
            } catch (error) {
                thrown = error;
            }
            expect(thrown).toBeInstanceOf(QueryCompileError);
            const error = thrown as QueryCompileError;
            expect(error.message).toBe(message);
            expect(`Line ${error.line}, column ${error.column}: ${error.reason}`).toBe(message);
        });
    }
});
