import { toEventTime } from './compileExpression';
import { compileQueryText, DEFAULT_OUTPUT } from './compiler';
import { compileQuery, type JobSettings, type OutputRow, StreamJobUsageError } from './index';
import type { JobMetrics } from './job';
import { parseJobSettings } from './jobSettings';
import { parseQuery } from './parser';
import type { Row } from './rows';
import type { Value } from './values';

/** Reference tables by input alias: each a file's rows. */
type ReferenceTables = Readonly<Record<string, readonly Readonly<Record<string, unknown>>[]>>;

/**
 * Runs a query once over local input files, as Stream Analytics' local runs and `azure-streamanalytics-cicd test`
 * do, and returns every output's rows. Shared by `npm run asa -- run` and `npm run asa -- test`.
 *
 * Time: an input with TIMESTAMP BY is replayed as if each event arrived at its own event time, in file order
 * (arrival times never go backwards, so an event older than one before it arrives "now" and meets the late and
 * out-of-order policies as it would live). An input without TIMESTAMP BY arrives all at once at the run start, as a
 * local run stamps every such record with the run's start time (https://learn.microsoft.com/azure/stream-analytics/
 * input-validation). When the files are exhausted the inputs end (StreamJob.finish()), so every window, session,
 * join bound and held row is written, as a local run does when its input ends.
 *
 * Columns: every event is pushed as the Event Hub input the local file stands in for (a local input "mocks the live
 * input", https://learn.microsoft.com/azure/stream-analytics/visual-studio-code-local-run-all), on partition 0, so it
 * carries EventEnqueuedUtcTime (its arrival), EventProcessedUtcTime (the same instant) and PartitionId 0, and
 * `SELECT *` appends them. The golden fixtures' documentation examples run through this function too, so the CLI and
 * the fixtures cannot disagree on them. Inferred: whether Microsoft's local runner adds these columns to a file input
 * is not documented, and its binary is not available here to check.
 */
export interface LocalInput {
    readonly alias: string;
    /** `stream` for Data Stream inputs, `reference` for Reference Data inputs. */
    readonly kind: 'stream' | 'reference';
    readonly events: readonly unknown[];
}

export interface LocalRunOptions {
    readonly queryText: string;
    readonly inputs: readonly LocalInput[];
    /** ARM-named job settings; missing fields take the service defaults (late 5 s, out of order 0 s, Adjust). */
    readonly jobSettings?: Partial<JobSettings>;
    /** Epoch ms the run starts at: the arrival time of inputs without TIMESTAMP BY. */
    readonly runStart: number;
}

export interface LocalRunResult {
    /** Every output the query writes to, in the order the query names them, with the rows written. */
    readonly outputs: ReadonlyMap<string, OutputRow[]>;
    readonly metrics: JobMetrics;
}

/** The service's defaults for a new job (portal and ARM): late arrival 5 s, out of order 0 s, Adjust. */
export const DEFAULT_JOB_SETTINGS: JobSettings = {
    eventsLateArrivalMaxDelayInSeconds: 5,
    eventsOutOfOrderMaxDelayInSeconds: 0,
    eventsOutOfOrderPolicy: 'Adjust',
    compatibilityLevel: '1.2',
};

/** The largest late-arrival tolerance; a local run must end, so "wait forever" (-1) is read as this. */
const MAX_LATE_ARRIVAL_SECONDS = 1_814_399;

export async function runQueryLocally(options: LocalRunOptions): Promise<LocalRunResult> {
    const settings = parseJobSettings({ ...DEFAULT_JOB_SETTINGS, ...options.jobSettings });
    const lateSeconds =
        settings.eventsLateArrivalMaxDelayInSeconds === -1
            ? MAX_LATE_ARRIVAL_SECONDS
            : settings.eventsLateArrivalMaxDelayInSeconds;
    const jobSettings = { ...settings, eventsLateArrivalMaxDelayInSeconds: lateSeconds };
    const outputs = outputAliasesOf(options.queryText);
    const streams = options.inputs.filter((input) => input.kind === 'stream');
    const references = referenceInputsOf(options.inputs);
    const aliases = streams.map((input) => input.alias);
    const plan = compileQuery(options.queryText, {
        inputs: Object.fromEntries(aliases.map((alias) => [alias, { partitionIds: ['0'] }])),
        referenceInputs: references,
        outputs,
        jobSettings,
    });
    const arrivals = timeline(options.queryText, streams, references, outputs, options.runStart);
    let now = arrivals[0]?.arrival ?? options.runStart;
    const received = new Map<string, OutputRow[]>(outputs.map((alias) => [alias, []]));
    const job = plan.createJob({
        clock: { now: () => new Date(now) },
        sink: (alias, rows) => {
            received.get(alias)!.push(...rows);
            return Promise.resolve();
        },
    });
    for (const { alias, arrival, body } of arrivals) {
        now = arrival;
        job.push(alias, '0', [{ enqueuedTime: arrival, body }]);
    }
    // The files are the whole input: end it, so every window, session, join bound and held row is released.
    job.finish();
    await job.flush();
    return { outputs: received, metrics: job.metrics() };
}

/**
 * Reference Data inputs as the engine's reference tables: the whole file is the table, loaded before the first
 * event (https://learn.microsoft.com/azure/stream-analytics/stream-analytics-use-reference-data). Rows must be
 * objects (a JSON object per row, or a CSV row); compileQuery rejects anything else with the row's index.
 */
function referenceInputsOf(inputs: readonly LocalInput[]): ReferenceTables {
    const tables: Record<string, readonly Readonly<Record<string, unknown>>[]> = {};
    for (const input of inputs) {
        if (input.kind !== 'reference') {
            continue;
        }
        if (Object.hasOwn(tables, input.alias)) {
            throw new StreamJobUsageError('reference input', input.alias, 'is given twice');
        }
        tables[input.alias] = input.events as readonly Readonly<Record<string, unknown>>[];
    }
    return tables;
}

/** The outputs a query writes to, by INTO name; a SELECT without INTO writes to `output`, as the engine does (R:into). */
export function outputAliasesOf(queryText: string): string[] {
    const names = new Map<string, string>();
    for (const statement of parseQuery(queryText).statements) {
        const name = statement.into?.name ?? DEFAULT_OUTPUT;
        if (!names.has(name.toUpperCase())) {
            names.set(name.toUpperCase(), name);
        }
    }
    return [...names.values()];
}

interface Arrival {
    readonly alias: string;
    readonly arrival: number;
    readonly body: unknown;
}

/** Every event of every stream input with its arrival time, in arrival order (file order within an input). */
function timeline(
    queryText: string,
    streams: readonly LocalInput[],
    references: ReferenceTables,
    outputs: readonly string[],
    runStart: number,
): Arrival[] {
    const readers = eventTimeReaders(queryText, streams, references, outputs);
    const arrivals: (Arrival & { order: number })[] = [];
    let order = 0;
    for (const input of streams) {
        const reader = readers.get(input.alias.toUpperCase());
        let previous = -Infinity;
        for (const body of input.events) {
            let arrival = runStart;
            if (reader !== undefined) {
                const eventTime = reader(body);
                arrival = Math.max(previous, eventTime ?? previous);
                if (!Number.isFinite(arrival)) {
                    arrival = runStart;
                }
                previous = arrival;
            }
            arrivals.push({ alias: input.alias, arrival, body, order: order++ });
        }
    }
    arrivals.sort((a, b) => a.arrival - b.arrival || a.order - b.order);
    return arrivals;
}

/**
 * The TIMESTAMP BY of each input, evaluated on an event body. This is the one place the local runner reads the
 * compiler's internals (the compiled statement sources); the first FROM that stamps an input wins.
 */
function eventTimeReaders(
    queryText: string,
    streams: readonly LocalInput[],
    references: ReferenceTables,
    outputs: readonly string[],
): Map<string, (body: unknown) => number | undefined> {
    const compiled = compileQueryText(
        queryText,
        streams.map((input) => input.alias),
        outputs,
        new Map(Object.entries(references) as [string, readonly Readonly<Record<string, Value>>[]][]),
    );
    const readers = new Map<string, (body: unknown) => number | undefined>();
    const sources = [...compiled.steps.values(), ...compiled.statements.map(({ statement }) => statement)].flatMap(
        (statement) => statement.sources,
    );
    for (const source of sources) {
        if (source.kind !== 'input' || source.timestampBy === undefined) {
            continue;
        }
        const key = source.alias.toUpperCase();
        const evaluate = source.timestampBy;
        if (!readers.has(key)) {
            readers.set(key, (body) => {
                if (body === null || typeof body !== 'object' || Array.isArray(body)) {
                    return undefined;
                }
                const row: Row = { fields: body as Record<string, Value>, ts: 0, enqueuedMs: NaN, event: undefined };
                try {
                    return toEventTime(evaluate(row));
                } catch {
                    return undefined; // the engine reports the same failure, located, when the event is pushed
                }
            });
        }
    }
    return readers;
}
