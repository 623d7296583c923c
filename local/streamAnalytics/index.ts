import { readFileSync } from 'node:fs';

import { compileQueryText } from './compiler';
import { StreamJobUsageError } from './errors';
import { createJob, type JobOptions, type StreamJob } from './job';
import { type JobSettings, parseJobSettings } from './jobSettings';
import type { Value } from './values';

export type { Clock } from '../../domain/clock';
export {
    OutputDeliveryError,
    QueryCompileError,
    type QueryCompileErrorKind,
    QueryRuntimeError,
    StreamJobUsageError,
} from './errors';
export type { InputEvent } from './inputSource';
export type { JobMetrics, JobOptions, OutputBatch, OutputSink, StreamJob } from './job';
export {
    type JobSettings,
    LETTER_COUNTS_INPUT_ALIAS,
    LETTER_COUNTS_OUTPUT_ALIAS,
    letterCountsJobSettings,
    letterCountsQueryPath,
    parseJobSettings,
} from './jobSettings';
export type { OutputRow } from './operators';
export { EARLY_ARRIVAL_MS } from './watermark';

export interface CompileOptions {
    /** Input aliases with their partition ids, known up front as the Event Hub's partitions are. */
    /**
     * Stream inputs with their partition ids. `metadataColumns: false` describes an input without the Event Hub
     * columns (EventEnqueuedUtcTime, EventProcessedUtcTime, PartitionId), such as a local file.
     */
    readonly inputs: Readonly<
        Record<string, { readonly partitionIds: readonly string[]; readonly metadataColumns?: boolean }>
    >;
    readonly outputs: readonly string[];
    readonly jobSettings: JobSettings;
    /**
     * Reference inputs (https://learn.microsoft.com/azure/stream-analytics/stream-analytics-use-reference-data):
     * alias -> the table's rows (parsed JSON objects, or CSV rows as records of strings). A query joins them with
     * `stream [LEFT] JOIN alias ON ...`; they never advance time.
     */
    readonly referenceInputs?: Readonly<Record<string, readonly Readonly<Record<string, unknown>>[]>>;
}

/** A query compiled once into closures; each job created from it has its own windows and watermarks. */
export interface QueryPlan {
    readonly inputAliases: readonly string[];
    readonly outputAliases: readonly string[];
    /**
     * How far before an output row's System.Timestamp() the input events it depends on can lie, in ms, over every
     * statement: window sizes, LIMIT DURATION, JOIN time bounds, added up through WITH steps; 0 for a query without
     * temporal operators. A job that starts its output at time T reads its inputs from the event time T minus this,
     * which is what Azure does when a job starts ("Azure Stream Analytics will automatically look back at the data
     * in the input source": https://learn.microsoft.com/azure/stream-analytics/start-job#start-options).
     */
    readonly lookbackMs: number;
    createJob(options: JobOptions): StreamJob;
}

/**
 * Compiles a Stream Analytics query. Throws QueryCompileError (with line and column) for syntax errors,
 * unsupported constructs and invalid references, so a broken query fails at load rather than on the first event.
 */
export function compileQuery(text: string, options: CompileOptions): QueryPlan {
    const settings = parseJobSettings(options.jobSettings);
    const inputs = new Map<string, readonly string[]>();
    const withoutMetadata = new Set<string>();
    for (const [alias, { partitionIds, metadataColumns }] of Object.entries(options.inputs)) {
        if (metadataColumns === false) {
            withoutMetadata.add(alias);
        }
        if (partitionIds.length === 0 || new Set(partitionIds).size !== partitionIds.length) {
            throw new StreamJobUsageError(
                `partitionIds of input "${alias}"`,
                partitionIds,
                'must be a non-empty list of distinct ids',
            );
        }
        inputs.set(alias, [...partitionIds]);
    }
    const references = new Map<string, readonly Readonly<Record<string, Value>>[]>();
    for (const [alias, rows] of Object.entries(options.referenceInputs ?? {})) {
        if (inputs.has(alias)) {
            throw new StreamJobUsageError('reference input', alias, 'is also declared as a stream input');
        }
        rows.forEach((row, index) => {
            if (row === null || typeof row !== 'object' || Array.isArray(row)) {
                throw new StreamJobUsageError(`row ${index} of reference input "${alias}"`, row, 'must be an object');
            }
        });
        references.set(alias, rows as readonly Readonly<Record<string, Value>>[]);
    }
    const query = compileQueryText(text, [...inputs.keys()], options.outputs, references);
    return {
        inputAliases: [...inputs.keys()],
        outputAliases: [...options.outputs],
        lookbackMs: Math.max(
            0,
            ...[...query.steps.values(), ...query.statements.map(({ statement }) => statement)].map(
                (statement) => statement.lookbackMs,
            ),
        ),
        createJob: (jobOptions) => createJob(query, { inputs, withoutMetadata, settings }, jobOptions),
    };
}

/** Reads and compiles a `.asaql` file. */
export function loadQueryFile(path: string, options: CompileOptions): QueryPlan {
    return compileQuery(readFileSync(path, 'utf8'), options);
}
