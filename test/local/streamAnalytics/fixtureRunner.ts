import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import {
    compileQuery,
    type InputEvent,
    type JobSettings,
    letterCountsJobSettings,
    type OutputRow,
} from '../../../local/streamAnalytics/index';
import { runQueryLocally } from '../../../local/streamAnalytics/localRun';

/**
 * Golden fixtures in the spirit of Stream Analytics' local testing (input files per input alias, expected output
 * files per output alias), extended with wall-clock times because watermarks depend on when events arrive.
 *
 * A fixture folder holds `case.json`:
 *   { description, script, jobSettings?, inputs: [{ inputAlias, partitionIds, filePath }],
 *     outputs: [{ outputAlias, filePath }] }
 * Each input file is a list of steps `{ at, partitionId?, events? }`: with events, they are pushed to that partition
 * when the clock reads `at` (an event's enqueuedTime defaults to `at`); without, the job just advances to `at`.
 * Steps of all inputs run in `at` order. Each expected output file lists the batches the sink received:
 * `[{ at, rows }]`, `at` being the clock time of the step that released them.
 */
export interface FixtureCase {
    description: string;
    /** Documentation examples: the page the example comes from. */
    source?: string;
    /**
     * Documentation examples, in the simpler form of Stream Analytics' own local tests: each input file is a plain
     * list of event bodies, run exactly as `npm run asa -- run` runs local input files (runQueryLocally, with this
     * time as the run start: inputs with TIMESTAMP BY arrive at their event times, others at the run start, each
     * event with the Event Hub columns); each expected file is the plain list of rows the output received, in order.
     */
    arrival?: string;
    /** Compare rows regardless of order, where Stream Analytics guarantees none. */
    unordered?: boolean;
    /** Reference inputs: files holding a list of rows. */
    referenceInputs?: { inputAlias: string; filePath: string }[];
    script: string;
    jobSettings?: Partial<JobSettings>;
    inputs: { inputAlias: string; partitionIds: string[]; filePath: string }[];
    outputs: { outputAlias: string; filePath: string }[];
}

interface InputStep {
    at: string;
    partitionId?: string;
    events?: ({ enqueuedTime?: string; body: unknown } & Omit<InputEvent, 'enqueuedTime' | 'body'>)[];
}

export interface OutputBatch {
    at: string;
    rows: OutputRow[];
}

export const FIXTURES_DIRECTORY = path.join(__dirname, 'fixtures');

export function fixtureNames(): string[] {
    return readdirSync(FIXTURES_DIRECTORY, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && entry.name !== 'unsupported-constructs')
        .map((entry) => entry.name)
        .sort();
}

function readJson<T>(file: string): T {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export function readFixture(name: string): FixtureCase {
    return readJson<FixtureCase>(path.join(FIXTURES_DIRECTORY, name, 'case.json'));
}

/** Runs a fixture and returns what each output received. */
export async function runFixture(name: string): Promise<Record<string, OutputBatch[] | OutputRow[]>> {
    const folder = path.join(FIXTURES_DIRECTORY, name);
    const fixture = readFixture(name);
    if (fixture.arrival !== undefined) {
        return runDocumentationExample(fixture, folder);
    }
    const plan = compileQuery(readFileSync(path.join(folder, fixture.script), 'utf8'), {
        inputs: Object.fromEntries(
            fixture.inputs.map((input) => [input.inputAlias, { partitionIds: input.partitionIds }]),
        ),
        referenceInputs: Object.fromEntries(
            (fixture.referenceInputs ?? []).map((input) => [
                input.inputAlias,
                readJson<Record<string, unknown>[]>(path.join(folder, input.filePath)),
            ]),
        ),
        outputs: fixture.outputs.map((output) => output.outputAlias),
        jobSettings: { ...letterCountsJobSettings, ...fixture.jobSettings },
    });
    const steps = fixture.inputs
        .flatMap((input) =>
            readJson<InputStep[]>(path.join(folder, input.filePath)).map((step) => ({ ...step, input })),
        )
        .map((step, order) => ({ ...step, order }))
        .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.order - b.order);
    let now = Date.parse(steps[0]?.at ?? '2026-01-01T00:00:00Z');
    const received: Record<string, OutputBatch[]> = Object.fromEntries(
        fixture.outputs.map((output) => [output.outputAlias, []]),
    );
    const job = plan.createJob({
        clock: { now: () => new Date(now) },
        sink: (alias, rows) => {
            received[alias]!.push({ at: new Date(now).toISOString(), rows: [...rows] });
            return Promise.resolve();
        },
    });
    for (const step of steps) {
        now = Date.parse(step.at);
        if (step.events !== undefined) {
            // Other event fields (offset, sequenceNumber, partitionKey, properties) pass through as Event Hubs gives them.
            const events = step.events.map((event) => ({
                ...event,
                enqueuedTime: new Date(event.enqueuedTime ?? step.at),
            }));
            job.push(step.input.inputAlias, step.partitionId ?? step.input.partitionIds[0]!, events);
        } else {
            job.advance();
        }
        await job.flush();
    }
    return received;
}

/**
 * Documentation examples run through the same code as `npm run asa` (runQueryLocally): the input files are read as
 * local input files, so the events carry the same columns and arrival times as in a CLI run.
 */
async function runDocumentationExample(fixture: FixtureCase, folder: string): Promise<Record<string, OutputRow[]>> {
    const { outputs } = await runQueryLocally({
        queryText: readFileSync(path.join(folder, fixture.script), 'utf8'),
        inputs: [
            ...fixture.inputs.map((input) => ({
                alias: input.inputAlias,
                kind: 'stream' as const,
                events: readJson<unknown[]>(path.join(folder, input.filePath)),
            })),
            ...(fixture.referenceInputs ?? []).map((input) => ({
                alias: input.inputAlias,
                kind: 'reference' as const,
                events: readJson<unknown[]>(path.join(folder, input.filePath)),
            })),
        ],
        jobSettings: { ...letterCountsJobSettings, ...fixture.jobSettings },
        runStart: Date.parse(fixture.arrival!),
    });
    return Object.fromEntries(
        fixture.outputs.map((output) => [output.outputAlias, outputs.get(output.outputAlias) ?? []]),
    );
}

export function expectedOutputs(name: string): Record<string, OutputBatch[] | OutputRow[]> {
    const fixture = readFixture(name);
    return Object.fromEntries(
        fixture.outputs.map((output) => [
            output.outputAlias,
            readJson<OutputBatch[] | OutputRow[]>(path.join(FIXTURES_DIRECTORY, name, output.filePath)),
        ]),
    );
}
