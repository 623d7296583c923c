import type { Clock } from '../../domain/clock';
import type { CompiledQuery, CompiledStatement, StatementInstance } from './compiler';
import { OutputDeliveryError, StreamJobUsageError } from './errors';
import { type InputEvent, InputSource, type JobCounters } from './inputSource';
import type { JobSettings } from './jobSettings';
import { OutputBuffer, type OutputRow } from './operators';
import type { EventOrderingPolicy } from './watermark';

/** What a sink learns about a batch besides its rows. */
export interface OutputBatch {
    /**
     * The largest System.Timestamp() among the batch's rows, in epoch ms: once the sink has accepted the batch, the
     * job's last output event time for that output (what Azure's "When last stopped" start resumes from).
     */
    readonly lastOutputEventTime: number;
}

/** Receives the rows of one output alias. Reject to have the batch retried by the next flush(). */
export type OutputSink = (outputAlias: string, rows: readonly OutputRow[], batch: OutputBatch) => Promise<void>;

export interface JobOptions {
    readonly clock: Clock;
    readonly sink: OutputSink;
    /**
     * The output start time per output alias, in epoch ms: rows whose System.Timestamp() is earlier are computed
     * but not written, as a job started with an output start time writes nothing before it ("The first possible
     * output event would have a timestamp equal to or greater than" it:
     * https://learn.microsoft.com/azure/stream-analytics/start-job#start-options). A job that resumes reads its
     * inputs from before this time to rebuild the windows open at it, so the rows it would rebuild from part of a
     * window (those earlier than this time) must not overwrite the complete ones written before. Absent: no limit.
     */
    readonly outputStartTimes?: Readonly<Record<string, number>>;
}

export type JobMetrics = Readonly<JobCounters>;

/** A running Stream Analytics job over declared, partitioned inputs. See docs/stream-analytics.md for the contract. */
export interface StreamJob {
    /**
     * Feeds events of one input partition, in the order the partition delivered them. Computes synchronously and
     * queues any output that becomes final; call flush() to deliver it.
     */
    push(inputAlias: string, partitionId: string, events: readonly InputEvent[]): void;
    /** Lets time pass without events, so idle partitions release output after the late-arrival tolerance. */
    advance(nowMs?: number): void;
    /**
     * Ends every input, as at the end of a file input: the watermark moves to the end of time, so every window,
     * session and pending row is released. No event may be pushed afterwards. For running a query over files.
     */
    finish(): void;
    /** Delivers queued output batches in order. Rejects with OutputDeliveryError and keeps the failed batch queued. */
    flush(): Promise<void>;
    /** Output batches computed but not yet accepted by the sink. */
    pendingBatches(): number;
    metrics(): JobMetrics;
}

export interface JobDeclaration {
    readonly inputs: ReadonlyMap<string, readonly string[]>;
    /** Inputs whose events carry no Event Hub metadata columns. */
    readonly withoutMetadata?: ReadonlySet<string>;
    readonly settings: JobSettings;
}

export function createJob(query: CompiledQuery, declaration: JobDeclaration, options: JobOptions): StreamJob {
    return new RunningJob(query, declaration, options);
}

interface Batch {
    readonly alias: string;
    readonly rows: readonly OutputRow[];
    readonly lastOutputEventTime: number;
}

class RunningJob implements StreamJob {
    private readonly sources = new Map<string, InputSource[]>();
    private readonly queue: Batch[] = [];
    private delivering: Promise<void> | undefined;
    private finished = false;
    private readonly counters: JobCounters = {
        inputEvents: 0,
        deserializationErrors: 0,
        invalidTimestampEvents: 0,
        lateInputEvents: 0,
        earlyInputEvents: 0,
        outOfOrderEvents: 0,
        droppedEvents: 0,
        adjustedEvents: 0,
        outputRows: 0,
    };

    constructor(
        query: CompiledQuery,
        private readonly declaration: JobDeclaration,
        private readonly options: JobOptions,
    ) {
        for (const alias of declaration.inputs.keys()) {
            this.sources.set(alias, []);
        }
        const startedAt = options.clock.now().getTime();
        const buffers = new Map<string, OutputBuffer>();
        const emit = (alias: string, rows: OutputRow[], lastOutputEventTime: number): void => {
            this.counters.outputRows += rows.length;
            this.queue.push({ alias, rows, lastOutputEventTime });
        };
        const stepInstances = new Map<string, StatementInstance>();
        const connect = (statement: CompiledStatement): StatementInstance => {
            const instance = statement.create();
            statement.sources.forEach((source, index) => {
                const port = instance.ports[index]!;
                if (source.kind === 'step') {
                    stepInstances.get(source.name)!.targets.push(port);
                    return;
                }
                const input = new InputSource(
                    source.alias,
                    declaration.inputs.get(source.alias)!,
                    source,
                    this.policy(source.timestampBy !== undefined),
                    startedAt,
                    this.counters,
                    port,
                    declaration.withoutMetadata?.has(source.alias) !== true,
                );
                this.sources.get(source.alias)!.push(input);
            });
            return instance;
        };
        for (const [name, step] of query.steps) {
            stepInstances.set(name, connect(step));
        }
        for (const { into, statement } of query.statements) {
            let buffer = buffers.get(into);
            if (buffer === undefined) {
                buffer = new OutputBuffer(into, emit, options.outputStartTimes?.[into] ?? -Infinity);
                buffers.set(into, buffer);
            }
            connect(statement).targets.push(buffer.port());
        }
    }

    push(inputAlias: string, partitionId: string, events: readonly InputEvent[]): void {
        if (this.finished) {
            throw new StreamJobUsageError('input alias', inputAlias, 'the job has finished; no more events can come');
        }
        const sources = this.sources.get(inputAlias);
        if (sources === undefined) {
            throw new StreamJobUsageError(
                'input alias',
                inputAlias,
                `expected one of ${[...this.sources.keys()].join(', ')}`,
            );
        }
        if (!this.declaration.inputs.get(inputAlias)!.includes(partitionId)) {
            throw new StreamJobUsageError(
                'partition id',
                partitionId,
                `input "${inputAlias}" has partitions ${this.declaration.inputs.get(inputAlias)!.join(', ')}`,
            );
        }
        const now = this.options.clock.now().getTime();
        for (const source of sources) {
            source.push(partitionId, events, now);
        }
    }

    advance(nowMs: number = this.options.clock.now().getTime()): void {
        for (const sources of this.sources.values()) {
            for (const source of sources) {
                source.advance(nowMs);
            }
        }
    }

    finish(): void {
        this.finished = true;
        for (const sources of this.sources.values()) {
            for (const source of sources) {
                source.finish();
            }
        }
    }

    flush(): Promise<void> {
        this.delivering ??= this.deliver().finally(() => {
            this.delivering = undefined;
        });
        return this.delivering;
    }

    pendingBatches(): number {
        return this.queue.length;
    }

    metrics(): JobMetrics {
        return { ...this.counters };
    }

    private async deliver(): Promise<void> {
        for (let batch = this.queue[0]; batch !== undefined; batch = this.queue[0]) {
            try {
                await this.options.sink(batch.alias, batch.rows, { lastOutputEventTime: batch.lastOutputEventTime });
            } catch (error) {
                throw new OutputDeliveryError(batch.alias, batch.rows.length, error);
            }
            this.queue.shift();
        }
    }

    private policy(eventTime: boolean): EventOrderingPolicy {
        const settings = this.declaration.settings;
        const late = settings.eventsLateArrivalMaxDelayInSeconds;
        return {
            lateArrivalMs: late === -1 ? Infinity : late * 1000,
            // Arrival time only increases within a partition, so the service ignores the out-of-order tolerance then.
            outOfOrderMs: eventTime ? settings.eventsOutOfOrderMaxDelayInSeconds * 1000 : 0,
            action: settings.eventsOutOfOrderPolicy,
        };
    }
}
