import { readFileSync } from 'node:fs';

import { compileQueryText } from './compiler';
import { StreamJobUsageError } from './errors';
import { createJob, type JobOptions, type StreamJob } from './job';
import { type JobSettings, parseJobSettings } from './jobSettings';

export type { Clock } from '../../domain/clock';
export {
    OutputDeliveryError,
    QueryCompileError,
    type QueryCompileErrorKind,
    QueryRuntimeError,
    StreamJobUsageError,
} from './errors';
export type { InputEvent } from './inputSource';
export type { JobMetrics, JobOptions, OutputSink, StreamJob } from './job';
export {
    type JobSettings,
    LETTER_COUNTS_INPUT_ALIAS,
    LETTER_COUNTS_OUTPUT_ALIAS,
    letterCountsJobSettings,
    letterCountsQueryPath,
    parseJobSettings,
} from './jobSettings';
export type { OutputRow } from './operators';

export interface CompileOptions {
    /** Input aliases with their partition ids, known up front as the Event Hub's partitions are. */
    readonly inputs: Readonly<Record<string, { readonly partitionIds: readonly string[] }>>;
    readonly outputs: readonly string[];
    readonly jobSettings: JobSettings;
}

/** A query compiled once into closures; each job created from it has its own windows and watermarks. */
export interface QueryPlan {
    readonly inputAliases: readonly string[];
    readonly outputAliases: readonly string[];
    createJob(options: JobOptions): StreamJob;
}

/**
 * Compiles a Stream Analytics query. Throws QueryCompileError (with line and column) for syntax errors,
 * unsupported constructs and invalid references, so a broken query fails at load rather than on the first event.
 */
export function compileQuery(text: string, options: CompileOptions): QueryPlan {
    const settings = parseJobSettings(options.jobSettings);
    const inputs = new Map<string, readonly string[]>();
    for (const [alias, { partitionIds }] of Object.entries(options.inputs)) {
        if (partitionIds.length === 0 || new Set(partitionIds).size !== partitionIds.length) {
            throw new StreamJobUsageError(
                `partitionIds of input "${alias}"`,
                partitionIds,
                'must be a non-empty list of distinct ids',
            );
        }
        inputs.set(alias, [...partitionIds]);
    }
    const query = compileQueryText(text, [...inputs.keys()], options.outputs);
    return {
        inputAliases: [...inputs.keys()],
        outputAliases: [...options.outputs],
        createJob: (jobOptions) => createJob(query, { inputs, settings }, jobOptions),
    };
}

/** Reads and compiles a `.asaql` file. */
export function loadQueryFile(path: string, options: CompileOptions): QueryPlan {
    return compileQuery(readFileSync(path, 'utf8'), options);
}
