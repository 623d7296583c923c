import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import {
    compileQuery,
    type InputEvent,
    type JobSettings,
    letterCountsJobSettings,
    type OutputRow,
} from '../../../local/streamAnalytics/index';

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
     * list of event bodies, all pushed at this clock time on the first partition; then the inputs end
     * (job.finish()) and each expected file is the plain list of rows the output received, in order.
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
    const plan = compileQuery(readFileSync(path.join(folder, fixture.script), 'utf8'), {
        inputs: Object.fromEntries(
            fixture.inputs.map((input) => [
                input.inputAlias,
                // Documentation examples read their input as a file: no Event Hub metadata columns.
                { partitionIds: input.partitionIds, metadataColumns: fixture.arrival === undefined },
            ]),
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
    if (fixture.arrival !== undefined) {
        return runDocumentationExample(fixture, folder, plan);
    }
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

async function runDocumentationExample(
    fixture: FixtureCase,
    folder: string,
    plan: ReturnType<typeof compileQuery>,
): Promise<Record<string, OutputRow[]>> {
    const arrival = new Date(fixture.arrival!);
    const received: Record<string, OutputRow[]> = Object.fromEntries(
        fixture.outputs.map((output) => [output.outputAlias, []]),
    );
    const job = plan.createJob({
        clock: { now: () => arrival },
        sink: (alias, rows) => {
            received[alias]!.push(...rows);
            return Promise.resolve();
        },
    });
    for (const input of fixture.inputs) {
        const bodies = readJson<unknown[]>(path.join(folder, input.filePath));
        job.push(
            input.inputAlias,
            input.partitionIds[0]!,
            bodies.map((body) => ({ enqueuedTime: arrival, body })),
        );
    }
    job.finish();
    await job.flush();
    return received;
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
