import { accumulatorFor } from './aggregates';
import {
    type AnalyticDefinition,
    type AnalyticFunction,
    AnalyticOperator,
    IsFirstFunction,
    LagFunction,
    OverAggregateFunction,
} from './analytics';
import type {
    CallExpression,
    ColumnExpression,
    CreateTable,
    Expression,
    FromClause,
    Query,
    SelectItem,
    SelectStatement,
} from './ast';
import {
    ANALYTICS,
    compileExpression,
    type Evaluator,
    expressionKey,
    failAt,
    isAggregateCall,
    isAnalyticCall,
    type Scope,
    toEventTime,
    walkExpression,
} from './compileExpression';
import { QueryCompileError, type SourcePosition } from './errors';
import { SCALAR_FUNCTIONS } from './functionTable';
import {
    ApplyOperator,
    type JoinKeys,
    type JoinTime,
    type JoinTimeBound,
    ReferenceJoinOperator,
    StreamJoinOperator,
} from './joins';
import {
    type AggregateDefinition,
    type GroupedQuery,
    type GroupResult,
    MergeOperator,
    type Operator,
    ProjectOperator,
    ReorderOperator,
    SessionAggregateOperator,
    SlidingAggregateOperator,
    WindowedAggregateOperator,
} from './operators';
import { parseQuery } from './parser';
import { arrayElements, recordProperties } from './recordFunctions';
import { allColumns, columnLookup, columnReader, recordField, type Row, timestampOf } from './rows';
import { DateTime, parseDateTime, type Value, valueKey } from './values';
import { integer, parseWindow, parseWindows, timeUnit, windowCall, type WindowMember } from './windows';

/** Where a statement reads a stream from: a declared input (with its TIMESTAMP BY) or an earlier WITH step. */
export type StatementSource =
    | {
          readonly kind: 'input';
          readonly alias: string;
          readonly timestampBy: Evaluator<Row> | undefined;
          /** `TIMESTAMP BY ... OVER k`: the substream key, for per-key out-of-order handling. */
          readonly substream: Evaluator<Row> | undefined;
          /** `CREATE TABLE`: events that do not conform are dropped. */
          readonly conforms: ((fields: Readonly<Record<string, Value>>) => boolean) | undefined;
      }
    | { readonly kind: 'step'; readonly name: string };

/** A running statement: one input port per stream source (in `sources` order), and where its rows go. */
export interface StatementInstance {
    readonly ports: readonly Operator[];
    readonly targets: Operator[];
}

/** A compiled statement: its closures are built once; create() makes fresh operators with their own state per job. */
export interface CompiledStatement {
    readonly sources: readonly StatementSource[];
    create(): StatementInstance;
    /**
     * How far before an output row's System.Timestamp() the input events it depends on can lie, in ms: the window
     * size, LIMIT DURATION and JOIN time bound, added up along the statement and the steps it reads. A job that must
     * produce complete output from time T reads its inputs from T minus this (see lookbackMs in index.ts).
     */
    readonly lookbackMs: number;
}

export interface CompiledQuery {
    /** WITH steps by upper-cased name, in definition order. */
    readonly steps: ReadonlyMap<string, CompiledStatement>;
    readonly statements: readonly { readonly into: string; readonly statement: CompiledStatement }[];
}

/** The output a SELECT without INTO writes to (https://learn.microsoft.com/stream-analytics-query/into-azure-stream-analytics). */
export const DEFAULT_OUTPUT = 'output';

/** Reference data (https://learn.microsoft.com/azure/stream-analytics/stream-analytics-use-reference-data): a static table per alias. */
export type ReferenceTables = ReadonlyMap<string, readonly Readonly<Record<string, Value>>[]>;

interface Names {
    readonly inputs: ReadonlyMap<string, string>;
    readonly references: ReadonlyMap<string, { readonly alias: string; readonly rows: readonly Row[] }>;
    readonly steps: ReadonlyMap<string, CompiledStatement>;
    readonly tables: ReadonlyMap<string, CreateTable>;
}

/**
 * Compiles query text into closures once. Names are matched case-insensitively; inputs, reference inputs and outputs
 * must be declared by the caller (as the job's inputs and outputs are in Azure).
 */
export function compileQueryText(
    text: string,
    inputAliases: readonly string[],
    outputAliases: readonly string[],
    referenceTables: ReferenceTables = new Map(),
): CompiledQuery {
    const query = parseQuery(text);
    const inputs = byUpperName(inputAliases);
    const outputs = byUpperName(outputAliases);
    const references = new Map(
        [...referenceTables].map(([alias, rows]) => [
            alias.toUpperCase(),
            {
                alias,
                rows: rows.map((fields): Row => ({ fields, ts: 0, enqueuedMs: NaN, event: undefined })),
            },
        ]),
    );
    const tables = new Map<string, CreateTable>();
    for (const table of query.tables) {
        if (!inputs.has(table.name.toUpperCase()) && !references.has(table.name.toUpperCase())) {
            throw QueryCompileError.at('invalid', table.at, `CREATE TABLE names an unknown input "${table.name}"`);
        }
        tables.set(table.name.toUpperCase(), table);
    }
    checkSubstreams(query, inputs);
    const steps = new Map<string, CompiledStatement>();
    const names: Names = { inputs, references, steps, tables };
    for (const step of query.steps) {
        const upper = step.name.toUpperCase();
        if (steps.has(upper) || inputs.has(upper) || references.has(upper)) {
            throw QueryCompileError.at(
                'invalid',
                step.at,
                `the name "${step.name}" is already used by ${steps.has(upper) ? 'another step' : 'an input'}`,
            );
        }
        steps.set(upper, compileStatement(step.select, names));
    }
    const statements = query.statements.map((select) => {
        const name = select.into?.name ?? DEFAULT_OUTPUT;
        const into = outputs.get(name.toUpperCase());
        if (into === undefined) {
            throw QueryCompileError.at(
                'invalid',
                select.into?.at ?? select.at,
                select.into === undefined
                    ? `this SELECT has no INTO, so it writes to the output "${DEFAULT_OUTPUT}", which is not declared (declared outputs: ${outputAliases.join(', ') || 'none'})`
                    : `unknown output "${name}" (declared outputs: ${outputAliases.join(', ') || 'none'})`,
            );
        }
        return { into, statement: compileStatement(select, names) };
    });
    return { steps, statements };
}

/**
 * "TIMESTAMP BY OVER must be used for all inputs of the query or none"
 * (https://learn.microsoft.com/stream-analytics-query/timestamp-by-azure-stream-analytics).
 */
function checkSubstreams(query: Query, inputs: ReadonlyMap<string, string>): void {
    const froms = [...query.steps.map((step) => step.select), ...query.statements]
        .flatMap((select) => [select, ...select.union])
        .flatMap((select) => [select.from, ...select.joins.map((join) => join.source)])
        .filter((from) => inputs.has(from.source.toUpperCase()));
    const over = froms.find((from) => from.timestampOver !== undefined);
    const without = froms.find((from) => from.timestampOver === undefined);
    if (over !== undefined && without !== undefined) {
        throw QueryCompileError.at(
            'invalid',
            without.at,
            `TIMESTAMP BY ... OVER must be used for all inputs of the query or none (the FROM on line ${over.at.line} uses it, this one does not)`,
        );
    }
}

function byUpperName(names: readonly string[]): Map<string, string> {
    return new Map(names.map((name) => [name.toUpperCase(), name]));
}

function compileStatement(select: SelectStatement, names: Names): CompiledStatement {
    if (select.union.length === 0) {
        return compileSelect(select, names);
    }
    // UNION keeps every row of every branch (https://learn.microsoft.com/stream-analytics-query/union-azure-stream-analytics).
    const branches = [{ ...select, union: [] }, ...select.union].map((branch) => compileSelect(branch, names));
    return {
        sources: branches.flatMap((branch) => branch.sources),
        lookbackMs: Math.max(...branches.map((branch) => branch.lookbackMs)),
        create: () => {
            const merge = new MergeOperator();
            const ports: Operator[] = [];
            for (const branch of branches) {
                const instance = branch.create();
                instance.targets.push(merge.port());
                ports.push(...instance.ports);
            }
            return { ports, targets: merge.targets };
        },
    };
}

/** One source of a statement, in FROM order: the FROM input or step, each JOIN's source, each APPLY alias. */
interface SourceInfo {
    /** Upper-cased names the source answers to: its name and its alias. */
    readonly names: ReadonlySet<string>;
    /** The name the query calls it by (its alias, else its name), for messages. */
    readonly label: string;
    readonly kind: 'stream' | 'reference' | 'apply';
    readonly at: SourcePosition;
}

function resolveSource(
    from: FromClause,
    names: Names,
): { stream: StatementSource | undefined; reference: readonly Row[] | undefined; info: SourceInfo } {
    const upper = from.source.toUpperCase();
    const qualifiers = new Set([upper, ...(from.alias ? [from.alias.toUpperCase()] : [])]);
    const inputAlias = names.inputs.get(upper);
    const reference = names.references.get(upper);
    if (reference !== undefined) {
        for (const clause of [from.timestampBy, from.partitionBy?.[0]]) {
            if (clause !== undefined) {
                throw QueryCompileError.at('invalid', clause.at, 'reference data has no TIMESTAMP BY or PARTITION BY');
            }
        }
        return {
            stream: undefined,
            reference: reference.rows,
            info: { names: qualifiers, label: from.alias ?? from.source, kind: 'reference', at: from.at },
        };
    }
    if (inputAlias === undefined && !names.steps.has(upper)) {
        throw QueryCompileError.at('invalid', from.at, `unknown input or step "${from.source}"`);
    }
    const flatScope = makeRowScope(qualifiers);
    let stream: StatementSource;
    if (inputAlias !== undefined) {
        const timestampBy = from.timestampBy ? compileTimestampBy(from.timestampBy, flatScope) : undefined;
        if (from.timestampOver !== undefined && timestampBy === undefined) {
            throw QueryCompileError.at('invalid', from.at, 'OVER needs TIMESTAMP BY');
        }
        const substreamKeys = from.timestampOver?.map((key) => compileExpression(key, flatScope));
        const substream =
            substreamKeys === undefined
                ? undefined
                : (row: Row): Value =>
                      substreamKeys.length === 1
                          ? substreamKeys[0]!(row)
                          : JSON.stringify(substreamKeys.map((key) => key(row)));
        const table = names.tables.get(upper);
        stream = {
            kind: 'input',
            alias: inputAlias,
            timestampBy,
            substream,
            conforms: table === undefined ? undefined : conformance(table),
        };
    } else {
        if (from.timestampBy !== undefined) {
            // R:timestamp-by, Limitations and Restrictions: a step's columns are created by its SELECT.
            throw QueryCompileError.at(
                'invalid',
                from.timestampBy.at,
                `TIMESTAMP BY can only be applied to an input, not to the step "${from.source}": "Columns ` +
                    `created in a SELECT statement or in any other query clauses can't be used in the TIMESTAMP BY ` +
                    `clause. A field from the input payload must be used." (https://learn.microsoft.com/` +
                    `stream-analytics-query/timestamp-by-azure-stream-analytics); timestamp the input the step reads`,
            );
        }
        stream = { kind: 'step', name: upper };
    }
    // PARTITION BY is a parallelism hint: it does not change results, only how the service spreads the work.
    return {
        stream,
        reference: undefined,
        info: { names: qualifiers, label: from.alias ?? from.source, kind: 'stream', at: from.at },
    };
}

/**
 * CREATE TABLE (https://learn.microsoft.com/stream-analytics-query/create-table-stream-analytics): converts nothing;
 * an event whose declared column holds a value of another type is dropped. NULL or a missing column conforms.
 */
function conformance(table: CreateTable): (fields: Readonly<Record<string, Value>>) => boolean {
    const checks = table.columns.map((column) => {
        const read = columnReader(column.name);
        const row = (fields: Readonly<Record<string, Value>>): Row => ({
            fields,
            ts: 0,
            enqueuedMs: NaN,
            event: undefined,
        });
        const test = (value: Value): boolean => {
            switch (column.type) {
                case 'bigint':
                    return typeof value === 'number' && Number.isInteger(value);
                case 'float':
                    return typeof value === 'number' && Number.isFinite(value);
                case 'nvarchar(max)':
                    return typeof value === 'string';
                case 'datetime':
                    // The forms TIMESTAMP BY and CAST accept, not Date.parse's (which reads zone-less text in local time).
                    return (
                        value instanceof DateTime || (typeof value === 'string' && parseDateTime(value) !== undefined)
                    );
                case 'bit':
                    return typeof value === 'boolean' || value === 0 || value === 1;
                case 'array':
                    return Array.isArray(value);
                case 'record':
                    return typeof value === 'object' && !Array.isArray(value) && !(value instanceof DateTime);
            }
        };
        return (fields: Readonly<Record<string, Value>>): boolean => {
            const value = read(row(fields));
            return value === null || test(value);
        };
    });
    return (fields) => checks.every((check) => check(fields));
}

function compileSelect(select: SelectStatement, names: Names): CompiledStatement {
    const primary = resolveSource(select.from, names);
    if (primary.stream === undefined) {
        throw QueryCompileError.at(
            'invalid',
            select.from.at,
            'reference data can only be the right side of a JOIN; read a stream in FROM',
        );
    }
    const sources: SourceInfo[] = [primary.info];
    const streams: StatementSource[] = [primary.stream];
    const joins = select.joins.map((join, index) => {
        const resolved = resolveSource(join.source, names);
        const name = (join.source.alias ?? join.source.source).toUpperCase();
        const taken = [select.from, ...select.joins.slice(0, index).map((earlier) => earlier.source)].map((from) =>
            (from.alias ?? from.source).toUpperCase(),
        );
        if (taken.includes(name)) {
            throw QueryCompileError.at(
                'invalid',
                join.source.at,
                `the source name "${name}" is used twice; give it an alias`,
            );
        }
        sources.push(resolved.info);
        if (resolved.stream !== undefined) {
            streams.push(resolved.stream);
        }
        return { join, resolved };
    });
    for (const apply of select.applies) {
        sources.push({ names: new Set([apply.alias.toUpperCase()]), label: apply.alias, kind: 'apply', at: apply.at });
    }
    // Analytic functions, by the stream source they read (its position in FROM order): each is computed over all of
    // that source's events, in time order, before JOIN, WHERE and GROUP BY
    // (https://learn.microsoft.com/stream-analytics-query/analytic-functions-azure-stream-analytics).
    const analytics: AnalyticDefinition[][] = sources.map(() => []);
    const flatScope = makeRowScope(primary.info.names);
    const analyticScope = (base: Scope<Row>): Scope<Row> => ({
        ...base,
        analytic: (call) => {
            if (select.joins.length === 0) {
                const index = analytics[0]!.push(compileAnalytic(call, flatScope)) - 1;
                return (row) => row.analytics![index]!;
            }
            const position = analyticSource(call, sources);
            const definition = compileAnalytic(call, makeRowScope(sources[position]!.names));
            const index = analytics[position]!.push(definition) - 1;
            // The value the source's event got before the JOIN; NULL for the missing side of a LEFT JOIN.
            return (row) => {
                const side = row.sides![position];
                return side === null || side === undefined ? null : side.analytics![index]!;
            };
        },
    });
    const scopeOver = (count: number): Scope<Row> =>
        count === 1 ? flatScope : makeCompositeScope(sources.slice(0, count));
    const finalScope = analyticScope(scopeOver(sources.length));

    // Joins run left-deep, (a JOIN b) JOIN c: each ON sees its own source and every source before it, and each
    // stream join's time bounds relate its source to streams already joined.
    let leftSpreadMs = 0;
    const joinStages = joins.map(({ join, resolved }, index) => {
        const position = index + 1;
        const on = compileExpression(join.on, analyticScope(scopeOver(position + 1)));
        if (resolved.reference !== undefined) {
            const table = resolved.reference;
            return () => new ReferenceJoinOperator(join.kind, on, table);
        }
        const time = joinTime(join.on, sources, position, join.at, leftSpreadMs);
        leftSpreadMs = time.nextSpreadMs;
        return {
            kind: join.kind,
            on,
            time: time.time,
            keys: joinKeys(join.on, sources, position, scopeOver(position)),
            position,
        };
    });
    const applyStages = select.applies.map((apply, index) => {
        const call = apply.call;
        const kind =
            call.name === 'GETARRAYELEMENTS'
                ? 'elements'
                : call.name === 'GETRECORDPROPERTIES'
                  ? 'properties'
                  : undefined;
        if (kind === undefined || call.args.length !== 1 || call.over !== undefined || call.star || call.distinct) {
            throw QueryCompileError.at(
                'invalid',
                call.at,
                `APPLY takes GetArrayElements(array) or GetRecordProperties(record), not ${call.name}`,
            );
        }
        const source = compileExpression(call.args[0]!, analyticScope(scopeOver(1 + joins.length + index)));
        const fail = failAt(call.at);
        const rowsOf =
            kind === 'elements'
                ? (value: Value) => arrayElements(fail, value)
                : (value: Value) => recordProperties(fail, value);
        return () => new ApplyOperator(source, rowsOf, apply.outer);
    });

    const bareStar = select.items.find((item) => item.kind === 'star' && item.qualifier === undefined);
    if (bareStar !== undefined && select.joins.length > 0) {
        // https://learn.microsoft.com/stream-analytics-query/join-azure-stream-analytics
        throw QueryCompileError.at(
            'invalid',
            bareStar.at,
            'SELECT * cannot be used with JOIN: name the columns, or use source.*',
        );
    }
    const where = select.where ? compileExpression(select.where, finalScope) : undefined;
    const core = compileCore(select, finalScope, where, sources);
    const needsOrder = analytics[0]!.length > 0 || core.ordered;
    // Each stage can reach back by its own span; a step source adds how far its own rows reach back.
    const stepLookbackMs = Math.max(
        0,
        ...streams.map((stream) => (stream.kind === 'step' ? names.steps.get(stream.name)!.lookbackMs : 0)),
    );
    // Joins chain left-deep, so their spans add up: a match can reach back through every earlier join's bounds.
    const finiteSpan = (...values: number[]) => Math.max(0, ...values.filter(Number.isFinite).map(Math.abs));
    const joinLookbackMs = joinStages.reduce(
        (total, stage) =>
            typeof stage === 'function'
                ? total
                : total +
                  Math.max(
                      0,
                      ...stage.time.bounds.map((bound) =>
                          finiteSpan(bound.minDeltaMs, bound.maxDeltaMs, bound.upperMs),
                      ),
                  ),
        0,
    );
    /** A stream source's entry: reordering into time order and its analytic functions, when it has any. */
    const entryOf = (position: number, ordered: boolean): { port: Operator; tail: { targets: Operator[] } } => {
        const definitions = analytics[position]!;
        const head: { targets: Operator[] } & Operator =
            ordered || definitions.length > 0 ? new ReorderOperator() : new PassOperator();
        if (definitions.length === 0) {
            return { port: head, tail: head };
        }
        const analytic = new AnalyticOperator(definitions);
        head.targets.push(analytic);
        return { port: head, tail: analytic };
    };
    return {
        sources: streams,
        lookbackMs:
            stepLookbackMs +
            Math.max(0, ...analytics.flat().map((definition) => definition.lookbackMs)) +
            joinLookbackMs +
            core.lookbackMs,
        create: () => {
            const operator = core.create();
            if (!needsOrder && joinStages.length === 0 && applyStages.length === 0) {
                return { ports: [operator.input], targets: operator.targets };
            }
            // The chain from the primary source: reorder (if needed), analytic functions, joins, applies. Each
            // stream join's right side has its own entry in front, in the statement's port order.
            const primaryEntry = entryOf(0, needsOrder);
            const ports: Operator[] = [primaryEntry.port];
            let tail = primaryEntry.tail;
            for (const stage of joinStages) {
                if (typeof stage === 'function') {
                    const operator = stage();
                    tail.targets.push(operator);
                    tail = operator;
                    continue;
                }
                const join = new StreamJoinOperator(stage.kind, stage.on, stage.time, stage.keys);
                tail.targets.push(join.left);
                const rightEntry = entryOf(stage.position, false);
                rightEntry.tail.targets.push(join.right);
                ports.push(rightEntry.port);
                tail = join;
            }
            for (const stage of applyStages) {
                const operator = stage();
                tail.targets.push(operator);
                tail = operator;
            }
            tail.targets.push(operator.input);
            return { ports, targets: operator.targets };
        },
    };
}

/**
 * The stream source an analytic function of a JOIN statement is computed over: the one its arguments, PARTITION BY
 * and WHEN name (the FROM source when they name none, as in `ISFIRST(minute, 10)`). Analytic functions are computed
 * over every event of their input before the JOIN
 * (https://learn.microsoft.com/stream-analytics-query/analytic-functions-azure-stream-analytics), so one reading two
 * sources, reference data or an APPLY alias has no input to run over; an unqualified column cannot be placed on a
 * source without the inputs' schemas.
 */
function analyticSource(call: CallExpression, sources: readonly SourceInfo[]): number {
    const roots = [...call.args, ...(call.over?.partitionBy ?? []), ...(call.over?.when ? [call.over.when] : [])];
    const found = new Map<number, SourcePosition>();
    if (call.star) {
        throw QueryCompileError.at(
            'unsupported',
            call.at,
            `${call.name}(*) in a statement with JOIN is not supported by the local Stream Analytics engine: name the source, ${call.name}(source)`,
        );
    }
    const visit = (expression: Expression): boolean => {
        if (expression.kind === 'call' && SCALAR_FUNCTIONS.get(expression.name)?.datePart === true) {
            // The first argument is a date part (`minute`), not a column.
            expression.args.slice(1).forEach((argument) => walkExpression(argument, visit));
            return false;
        }
        if (expression.kind !== 'column') {
            return true;
        }
        const position = sources.findIndex((source) => source.names.has(expression.path[0]!.toUpperCase()));
        if (position === -1) {
            throw QueryCompileError.at(
                'unsupported',
                expression.at,
                `the unqualified column "${expression.path.join('.')}" in ${call.name} of a statement with JOIN is not supported by the local Stream Analytics engine: qualify it with its source (analytic functions are computed per source, before the JOIN)`,
            );
        }
        if (!found.has(position)) {
            found.set(position, expression.at);
        }
        return true;
    };
    for (const root of call.name === 'ISFIRST' ? roots.slice(2) : roots) {
        walkExpression(root, visit);
    }
    const positions = [...found.keys()];
    if (positions.length > 1) {
        const [first, second] = positions.map((position) => sources[position]!.label);
        throw QueryCompileError.at(
            'invalid',
            found.get(positions[1]!)!,
            `${call.name} reads both ${first} and ${second}: an analytic function is computed over the events of one input, before the JOIN (https://learn.microsoft.com/stream-analytics-query/analytic-functions-azure-stream-analytics)`,
        );
    }
    const position = positions[0] ?? 0;
    const source = sources[position]!;
    if (source.kind !== 'stream') {
        throw QueryCompileError.at(
            'invalid',
            found.get(position)!,
            `${call.name} reads ${source.label}, ${source.kind === 'reference' ? 'reference data' : 'an APPLY alias'}: an analytic function is computed over the events of a stream input, before JOIN and APPLY (https://learn.microsoft.com/stream-analytics-query/analytic-functions-azure-stream-analytics)`,
        );
    }
    return position;
}

/** Forwards everything; the entry of a chain that needs no reordering. */
class PassOperator implements Operator {
    readonly targets: Operator[] = [];
    onRow(row: Row): void {
        for (const target of this.targets) {
            target.onRow(row);
        }
    }
    onWatermark(watermark: number): void {
        for (const target of this.targets) {
            target.onWatermark(watermark);
        }
    }
}

interface Core {
    /** True when the operator needs its rows in timestamp order (session windows). */
    readonly ordered: boolean;
    /** How far before an output row's time the rows it aggregates can lie (the window's reach), ms. */
    readonly lookbackMs: number;
    create(): { input: Operator; targets: Operator[] };
}

function compileCore(
    select: SelectStatement,
    scope: Scope<Row>,
    where: Evaluator<Row> | undefined,
    sources: readonly SourceInfo[],
): Core {
    const aggregateCalls = collectAggregates(select);
    if (select.groupBy.length === 0 && aggregateCalls.length === 0) {
        // HAVING without GROUP BY behaves like WHERE (https://learn.microsoft.com/stream-analytics-query/having-azure-stream-analytics).
        const having = select.having ? compileExpression(select.having, scope) : undefined;
        const filter: Evaluator<Row> | undefined =
            where !== undefined && having !== undefined
                ? (row) => (isTrueValue(where(row)) && isTrueValue(having(row)) ? true : false)
                : (where ?? having);
        const project = buildProjection(select.items, scope, starFor(sources));
        return {
            ordered: false,
            lookbackMs: 0,
            create: () => {
                const operator = new ProjectOperator(filter, project);
                return { input: operator, targets: operator.targets };
            },
        };
    }
    return compileGrouped(select, scope, aggregateCalls, where, sources);
}

function isTrueValue(value: Value): boolean {
    return value === true;
}

function compileGrouped(
    select: SelectStatement,
    rowScope: Scope<Row>,
    aggregateCalls: readonly CallExpression[],
    where: Evaluator<Row> | undefined,
    sources: readonly SourceInfo[],
): Core {
    const windowItems = select.groupBy.filter((expression) => windowCall(expression) !== undefined);
    let members: WindowMember[];
    let keyExpressions: Expression[];
    if (windowItems.length === 0) {
        const snapshot = select.groupBy.find((expression) => expression.kind === 'timestamp');
        if (snapshot === undefined) {
            const at = select.groupBy[0]?.at ?? aggregateCalls[0]!.at;
            throw QueryCompileError.at(
                'invalid',
                at,
                'aggregating a stream needs a window in GROUP BY (Tumbling, Hopping, Sliding, Session, Windows(...) or System.Timestamp())',
            );
        }
        // A snapshot window: GROUP BY System.Timestamp() groups the events of one timestamp.
        members = [{ id: null, window: { kind: 'snapshot' }, at: snapshot.at }];
        keyExpressions = select.groupBy.filter((expression) => expression.kind !== 'timestamp');
    } else {
        if (windowItems.length > 1) {
            throw QueryCompileError.at(
                'invalid',
                windowItems[1]!.at,
                'GROUP BY takes one window; use Windows(...) to compute several',
            );
        }
        members = parseWindows(windowCall(windowItems[0]!)!);
        keyExpressions = select.groupBy.filter((expression) => windowCall(expression) === undefined);
    }
    for (const expression of keyExpressions) {
        walkExpression(expression, (inner) => {
            if (isAggregateCall(inner)) {
                throw QueryCompileError.at('invalid', inner.at, `aggregate ${inner.name} cannot appear in GROUP BY`);
            }
            return true;
        });
    }
    const keys = keyExpressions.map((expression) => compileExpression(expression, rowScope));
    const keyIndex = new Map(keyExpressions.map((expression, index) => [expressionKey(expression), index]));
    const aggregateIndex = new Map<string, number>();
    const aggregates: AggregateDefinition[] = [];
    for (const call of aggregateCalls) {
        const key = expressionKey(call);
        if (!aggregateIndex.has(key)) {
            aggregateIndex.set(key, aggregates.length);
            aggregates.push(compileAggregate(call, rowScope, sources));
        }
    }
    const groupScope: Scope<GroupResult> = {
        groupExpression: (expression) => {
            const index = keyIndex.get(expressionKey(expression));
            return index === undefined ? undefined : (group) => group.keys[index]!;
        },
        column: (expression) => {
            throw QueryCompileError.at(
                'invalid',
                expression.at,
                `column "${expression.path.join('.')}" must appear in GROUP BY or inside an aggregate`,
            );
        },
        timestamp: () => (group) => new DateTime(group.windowEnd),
        aggregate: (call) => {
            const index = aggregateIndex.get(expressionKey(call))!;
            return (group) => group.aggregates[index]!;
        },
        windowId: () => (group) => group.windowId,
    };
    const star = select.items.find((item) => item.kind === 'star');
    if (star !== undefined) {
        throw QueryCompileError.at(
            'invalid',
            star.at,
            "Column '*' cannot be used in SELECT clause when GROUP BY clause is present",
        );
    }
    const project = buildProjection(select.items, groupScope, undefined);
    const having = select.having ? compileExpression(select.having, groupScope) : undefined;
    const sessionKeys = members.map((member) =>
        member.window.kind === 'session'
            ? member.window.partitionBy.map((expression) => compileExpression(expression, rowScope))
            : [],
    );
    const create = (): { input: Operator; targets: Operator[] } => {
        const operators = members.map((member, index) => {
            const query: GroupedQuery = { where, keys, aggregates, having, project, windowId: member.id };
            const window = member.window;
            switch (window.kind) {
                case 'hopping':
                    return new WindowedAggregateOperator(query, window.spec);
                case 'snapshot':
                    return new WindowedAggregateOperator(query, 'snapshot');
                case 'sliding':
                    return new SlidingAggregateOperator(query, window.sizeMs);
                case 'session': {
                    const operator = new SessionAggregateOperator(
                        query,
                        window.timeoutMs,
                        window.maxDurationMs,
                        sessionKeys[index]!,
                    );
                    // Sessions depend on event order: give them their own reordering in front.
                    const reorder = new ReorderOperator();
                    reorder.targets.push(operator);
                    return {
                        onRow: reorder.onRow.bind(reorder),
                        onWatermark: reorder.onWatermark.bind(reorder),
                        targets: operator.targets,
                    };
                }
            }
        });
        if (operators.length === 1) {
            return { input: operators[0]!, targets: operators[0]!.targets };
        }
        // Windows(...): the query runs once per window and the results are unioned.
        const merge = new MergeOperator();
        for (const operator of operators) {
            operator.targets.push(merge.port());
        }
        const fanOut: Operator = {
            onRow: (row) => operators.forEach((operator) => operator.onRow(row)),
            onWatermark: (watermark) => operators.forEach((operator) => operator.onWatermark(watermark)),
        };
        return { input: fanOut, targets: merge.targets };
    };
    return { ordered: false, lookbackMs: Math.max(...members.map((member) => windowReachMs(member.window))), create };
}

/**
 * How far before its output time (the window end) a window's events can lie. A session can last up to twice its
 * maximum duration (it closes at the first multiple of the maximum duration at least that far after its start), and
 * a replay that starts inside a session can cut that first session differently; counting two such sessions keeps
 * every session the replay emits at or after the output start time aligned with the original run.
 */
function windowReachMs(window: WindowMember['window']): number {
    switch (window.kind) {
        case 'hopping':
            return window.spec.sizeMs;
        case 'sliding':
            return window.sizeMs;
        case 'session':
            return 4 * window.maxDurationMs;
        case 'snapshot':
            return 0;
    }
}

/**
 * An aggregate's per-event argument. `COUNT(alias)` counts events like `COUNT(*)`
 * (https://learn.microsoft.com/stream-analytics-query/count-azure-stream-analytics); Collect() and TopOne() without
 * an argument take the whole event; TopOne and CollectTop get `[value, ORDER BY keys]`; Percentile_* the ORDER BY value.
 */
function compileAggregate(
    call: CallExpression,
    rowScope: Scope<Row>,
    sources: readonly SourceInfo[],
    analytic = false,
): AggregateDefinition {
    const fail = failAt(call.at);
    const only = call.args.length === 1 ? call.args[0]! : undefined;
    if (call.name === 'COUNT' && only !== undefined && namesSource(only, sources)) {
        if (!call.distinct) {
            return { argument: undefined, create: accumulatorFor({ ...call, args: [], star: true }, fail) };
        }
        // COUNT(DISTINCT input): distinct events.
        return { argument: (row) => allColumns(row), create: accumulatorFor({ ...call, args: [only] }, fail) };
    }
    const orderBy = call.over?.orderBy ?? [];
    const ordered = ['TOPONE', 'COLLECTTOP', 'PERCENTILE_CONT', 'PERCENTILE_DISC'].includes(call.name);
    if (ordered !== orderBy.length > 0) {
        throw QueryCompileError.at(
            'invalid',
            call.over?.at ?? call.at,
            ordered ? `${call.name} needs OVER (ORDER BY ...)` : `${call.name} takes no OVER (ORDER BY ...)`,
        );
    }
    if (!analytic && call.over !== undefined && (call.over.partitionBy.length > 0 || call.over.when !== undefined)) {
        throw QueryCompileError.at(
            'unsupported',
            call.over.at,
            `${call.name} with OVER (PARTITION BY / WHEN) but no LIMIT DURATION is not supported by the local Stream Analytics engine`,
        );
    }
    const descending = orderBy.map((item) => item.descending);
    const create = accumulatorFor(call, fail, descending);
    const keys = orderBy.map((item) => compileExpression(item.expression, rowScope));
    const whole = (row: Row): Value => allColumns(row);
    switch (call.name) {
        case 'PERCENTILE_CONT':
        case 'PERCENTILE_DISC':
            if (keys.length !== 1) {
                throw QueryCompileError.at('invalid', call.over!.at, `${call.name} orders by exactly one expression`);
            }
            return { argument: keys[0], create };
        case 'TOPONE':
        case 'COLLECTTOP': {
            const projected = call.name === 'TOPONE' ? call.args[0] : call.args[1];
            const maxArgs = call.name === 'TOPONE' ? 1 : 2;
            if (call.args.length > maxArgs || call.star || call.distinct) {
                throw QueryCompileError.at(
                    'invalid',
                    call.at,
                    call.name === 'TOPONE' ? 'TopOne takes ([expression])' : 'CollectTop takes (n[, expression])',
                );
            }
            const value = projected === undefined ? whole : compileExpression(projected, rowScope);
            return { argument: (row) => [value(row), keys.map((key) => key(row))], create };
        }
        case 'COLLECT':
            if (call.args.length > 1 || call.star) {
                throw QueryCompileError.at('invalid', call.at, 'Collect takes ([expression])');
            }
            return { argument: only === undefined ? whole : compileExpression(only, rowScope), create };
        default:
            return {
                argument: call.star || only === undefined ? undefined : compileExpression(only, rowScope),
                create,
            };
    }
}

function namesSource(expression: Expression, sources: readonly SourceInfo[]): boolean {
    return (
        expression.kind === 'column' &&
        expression.path.length === 1 &&
        sources.some((source) => source.kind !== 'apply' && source.names.has(expression.path[0]!.toUpperCase()))
    );
}

/** LAG, LAST, ISFIRST and aggregates with OVER (... LIMIT DURATION ...), compiled against the statement's input. */
function compileAnalytic(call: CallExpression, scope: Scope<Row>): AnalyticDefinition {
    const over = call.over;
    const invalid = (at: SourcePosition, reason: string): QueryCompileError =>
        QueryCompileError.at('invalid', at, reason);
    const partitionBy = (over?.partitionBy ?? []).map((expression) => compileExpression(expression, scope));
    const when = over?.when ? compileExpression(over.when, scope) : undefined;
    if (over !== undefined && over.orderBy.length > 0 && (ANALYTICS.has(call.name) || call.name === 'COLLECT')) {
        throw invalid(over.at, `${call.name} ... OVER takes no ORDER BY`);
    }
    if (call.name === 'ISFIRST') {
        if (over?.limitDuration !== undefined) {
            throw invalid(over.limitDuration.at, 'ISFIRST takes no LIMIT DURATION');
        }
        if (call.args.length !== 2) {
            throw invalid(call.at, 'ISFIRST takes (timeunit, duration)');
        }
        const interval = parseWindow({ ...call, name: 'TUMBLINGWINDOW', over: undefined });
        return { partitionBy, when, create: () => new IsFirstFunction(interval), lookbackMs: interval.sizeMs };
    }
    const limit = over?.limitDuration;
    if (limit === undefined) {
        throw invalid(call.at, `${call.name} needs OVER ([PARTITION BY ...] LIMIT DURATION(unit, length) [WHEN ...])`);
    }
    const durationMs = integer(limit.length) * timeUnit(limit.unit);
    if (durationMs <= 0 || durationMs > 7 * 86_400_000) {
        throw invalid(limit.at, `LIMIT DURATION must be more than 0 and at most 7 days (got ${durationMs} ms)`);
    }
    const value = call.star
        ? (row: Row): Value => allColumns(row)
        : call.args[0] === undefined
          ? undefined
          : compileExpression(call.args[0], scope);
    if (call.name === 'LAG' || call.name === 'LAST') {
        const isLag = call.name === 'LAG';
        const maxArgs = call.star ? (isLag ? 2 : 1) : isLag ? 3 : 2;
        if (value === undefined || call.args.length > maxArgs || call.distinct) {
            throw invalid(
                call.at,
                isLag ? 'LAG takes (expression[, offset[, default]])' : 'LAST takes (expression[, default])',
            );
        }
        const rest = call.star ? call.args : call.args.slice(1);
        let offset = 0;
        if (isLag) {
            offset = rest[0] === undefined ? 1 : integer(rest[0]);
            if (offset < 1) {
                throw invalid(rest[0]!.at, `the LAG offset must be a whole number of at least 1 (got ${offset})`);
            }
        }
        const fallbackExpression = isLag ? rest[1] : rest[0];
        const fallback = fallbackExpression ? compileExpression(fallbackExpression, scope) : undefined;
        return {
            partitionBy,
            when,
            create: () => new LagFunction(value, offset, fallback, durationMs),
            lookbackMs: durationMs,
        };
    }
    if (call.distinct) {
        throw invalid(call.at, `${call.name}(DISTINCT ...) cannot be used with OVER`);
    }
    // The aggregate's per-event argument, as in a GROUP BY (TopOne/CollectTop get [value, ORDER BY keys]).
    const aggregate = compileAggregate(call, scope, [], true);
    const create = (): AnalyticFunction => new OverAggregateFunction(aggregate.argument, aggregate.create, durationMs);
    return { partitionBy, when, create, lookbackMs: durationMs };
}

/**
 * The time bounds of the stream-to-stream JOIN of `sources[position]` from its ON clause: each special
 * `DATEDIFF(unit, x, y)` that names the joined source and one stream already joined, compared with constants
 * (BETWEEN, <, <=, >, >=, =), ANDed with the other conditions
 * (https://learn.microsoft.com/stream-analytics-query/join-azure-stream-analytics). With three or more streams
 * "time bounds must ensure that all matched events occur within a finite amount of time from each other" (same
 * page), so the joined source needs a lower and an upper bound, possibly against different streams already joined
 * (the page's TStart/TEnd/Error example: `DATEDIFF(second, TS, E) BETWEEN 0 AND 5 AND DATEDIFF(second, TE, E) < 0`).
 * A DATEDIFF between two sources joined earlier is an ordinary condition. Without bounds the join is rejected, as
 * Stream Analytics rejects it. `nextSpreadMs` is the left spread of the next join (see JoinTime).
 */
function joinTime(
    on: Expression,
    sources: readonly SourceInfo[],
    position: number,
    at: SourcePosition,
    leftSpreadMs: number,
): { time: JoinTime; nextSpreadMs: number } {
    // Per source already joined: bounds of (joined source's time - that source's time), in ms, and the unit.
    const ranges = new Map<number, { low: number; high: number; unitMs: number }>();
    const conjuncts = conjunctsOf(on);
    const sourceIndex = (expression: Expression | undefined): number | undefined => {
        if (expression?.kind !== 'column' || expression.path.length !== 1) {
            return undefined;
        }
        const name = expression.path[0]!.toUpperCase();
        const index = sources.slice(0, position + 1).findIndex((source) => source.names.has(name));
        return index === -1 ? undefined : index;
    };
    const datediff = (expression: Expression): { side: number; sign: 1 | -1; unit: number } | undefined => {
        if (expression.kind !== 'call' || expression.name !== 'DATEDIFF' || expression.args.length !== 3) {
            return undefined;
        }
        const a = sourceIndex(expression.args[1]);
        const b = sourceIndex(expression.args[2]);
        if (a === undefined || b === undefined || a === b || (a !== position && b !== position)) {
            return undefined;
        }
        const side = a === position ? b : a;
        if (sources[side]!.kind !== 'stream') {
            return undefined;
        }
        // DATEDIFF(unit, x, y) counts from x's time to y's: positive when the joined source is y and later.
        return { side, sign: b === position ? 1 : -1, unit: dateDiffUnitMs(expression.args[0]!) };
    };
    const constant = (expression: Expression): number | undefined => {
        try {
            return integer(expression);
        } catch {
            return undefined;
        }
    };
    const apply = (diff: { side: number; sign: 1 | -1; unit: number }, lo: number, hi: number): void => {
        const range = ranges.get(diff.side) ?? { low: -Infinity, high: Infinity, unitMs: 0 };
        const [from, to] = diff.sign === 1 ? [lo, hi] : [-hi, -lo];
        ranges.set(diff.side, {
            low: Math.max(range.low, from * diff.unit),
            high: Math.min(range.high, to * diff.unit),
            unitMs: Math.max(range.unitMs, diff.unit),
        });
    };
    for (const conjunct of conjuncts) {
        if (conjunct.kind === 'between' && !conjunct.negated) {
            const diff = datediff(conjunct.operand);
            const lo = constant(conjunct.low);
            const hi = constant(conjunct.high);
            if (diff !== undefined && lo !== undefined && hi !== undefined) {
                apply(diff, lo, hi);
            }
        } else if (conjunct.kind === 'binary') {
            const diff = datediff(conjunct.left);
            const value = constant(conjunct.right);
            if (diff === undefined || value === undefined) {
                continue;
            }
            switch (conjunct.operator) {
                case '<':
                    apply(diff, -Infinity, value - 1);
                    break;
                case '<=':
                    apply(diff, -Infinity, value);
                    break;
                case '>':
                    apply(diff, value + 1, Infinity);
                    break;
                case '>=':
                    apply(diff, value, Infinity);
                    break;
                case '=':
                    apply(diff, value, value);
                    break;
                default:
                    break;
            }
        }
    }
    const bounds: JoinTimeBound[] = [...ranges].map(([side, range]) => ({
        side,
        minDeltaMs: range.low - range.unitMs,
        maxDeltaMs: range.high + range.unitMs,
        upperMs: range.high,
    }));
    // The tightest finite bounds: the joined source is at most `earliest` after, and at least `latest` after, some
    // source already joined.
    const earliestUpper = Math.min(...bounds.map((bound) => bound.maxDeltaMs));
    const latestLower = Math.max(...bounds.map((bound) => bound.minDeltaMs));
    if (!Number.isFinite(earliestUpper) || !Number.isFinite(latestLower)) {
        throw QueryCompileError.at(
            'invalid',
            at,
            position === 1
                ? 'The join predicate is not time bounded: add DATEDIFF(unit, left, right) BETWEEN low AND high to ON'
                : `The join predicate is not time bounded: add DATEDIFF(unit, source, ${sources[position]!.label}) BETWEEN low AND high to ON, naming a stream joined before it`,
        );
    }
    for (const range of ranges.values()) {
        // A one-sided bound (`DATEDIFF(second, TE, E) < 0`) has no span of its own.
        const span = range.high - range.low;
        if (Number.isFinite(span) && span > 7 * 86_400_000) {
            throw QueryCompileError.at('invalid', at, 'a JOIN may span at most 7 days');
        }
    }
    return {
        time: { bounds, leftSpreadMs },
        // The next left row is stamped with the latest of its sources (or, unmatched, at most the upper bound after
        // one); its earliest source may be this one, up to `latestLower` before the others.
        nextSpreadMs: leftSpreadMs + Math.max(earliestUpper, 0) + Math.max(-latestLower, 0),
    };
}

/** The conditions ANDed together in a JOIN's ON clause, left to right. */
function conjunctsOf(expression: Expression): Expression[] {
    return expression.kind === 'binary' && expression.operator === 'AND'
        ? [...conjunctsOf(expression.left), ...conjunctsOf(expression.right)]
        : [expression];
}

/**
 * The equality conditions `l.x = r.y` of the ON clause of the JOIN of `sources[position]` where one side reads only
 * sources joined before it and the other only the joined source, as key functions (the left one reads a left row
 * through `leftScope`): the join compares a row only with the other side's rows of the same key.
 */
function joinKeys(
    on: Expression,
    sources: readonly SourceInfo[],
    position: number,
    leftScope: Scope<Row>,
): JoinKeys | undefined {
    const conjuncts = conjunctsOf(on);
    const right = sources[position]!;
    /** Which side an expression reads: 0 (left), 1 (right), or undefined when none, both or unqualified. */
    const sideOf = (expression: Expression): 0 | 1 | undefined => {
        let side: 0 | 1 | undefined;
        let valid = true;
        walkExpression(expression, (inner) => {
            if (inner.kind === 'column') {
                const name = inner.path[0]!.toUpperCase();
                const index = sources.slice(0, position + 1).findIndex((source) => source.names.has(name));
                const found = inner.path.length > 1 && index !== -1 ? (index === position ? 1 : 0) : undefined;
                if (found === undefined || (side !== undefined && side !== found)) {
                    valid = false;
                }
                side = found;
            } else if (inner.kind === 'timestamp' || isAnalyticCall(inner) || isAggregateCall(inner)) {
                valid = false;
            }
            return true;
        });
        return valid ? side : undefined;
    };
    const pairs: [Expression, Expression][] = [];
    for (const conjunct of conjuncts) {
        if (conjunct.kind === 'binary' && conjunct.operator === '=') {
            const a = sideOf(conjunct.left);
            const b = sideOf(conjunct.right);
            if (a === 0 && b === 1) {
                pairs.push([conjunct.left, conjunct.right]);
            } else if (a === 1 && b === 0) {
                pairs.push([conjunct.right, conjunct.left]);
            }
        }
    }
    if (pairs.length === 0) {
        return undefined;
    }
    const keyOf = (scope: Scope<Row>, expressions: Expression[]): ((row: Row) => string | number) => {
        const evaluators = expressions.map((expression) => compileExpression(expression, scope));
        if (evaluators.length === 1) {
            const only = evaluators[0]!;
            return (row) => joinKeyValue(only(row));
        }
        return (row) => evaluators.map((evaluate) => String(joinKeyValue(evaluate(row)))).join('\u0001');
    };
    return {
        left: keyOf(
            leftScope,
            pairs.map(([l]) => l),
        ),
        right: keyOf(
            makeRowScope(right.names),
            pairs.map(([, r]) => r),
        ),
    };
}

/**
 * A join key: equal for values `=` finds equal. Numbers and datetimes by value; a datetime and its ISO string
 * compare equal in `=`, so both become the instant.
 */
function joinKeyValue(value: Value): string | number {
    if (value instanceof DateTime) {
        return value.ms;
    }
    if (typeof value === 'string') {
        const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? toEventTime(value) : undefined;
        return ms ?? value;
    }
    return valueKey(value);
}

/** Milliseconds per DATEDIFF unit; calendar units by their longest length, since they only bound memory here. */
function dateDiffUnitMs(expression: Expression): number {
    const name = expression.kind === 'column' && expression.path.length === 1 ? expression.path[0]!.toUpperCase() : '';
    const calendar: Record<string, number> = {
        YEAR: 366, YY: 366, YYYY: 366, QUARTER: 92, QQ: 92, Q: 92, MONTH: 31, MM: 31, M: 31,
        WEEK: 7, WK: 7, WW: 7, DAYOFYEAR: 1, DY: 1, Y: 1,
    }; // prettier-ignore
    if (calendar[name] !== undefined) {
        return calendar[name] * 86_400_000;
    }
    return timeUnit(expression);
}

/** Aggregate calls of SELECT and HAVING (never nested), in order of appearance. */
function collectAggregates(select: SelectStatement): CallExpression[] {
    const found: CallExpression[] = [];
    const roots = [
        ...select.items.flatMap((item) => (item.kind === 'expression' ? [item.expression] : [])),
        ...(select.having ? [select.having] : []),
    ];
    for (const root of roots) {
        walkExpression(root, (expression) => {
            if (!isAggregateCall(expression)) {
                return !isAnalyticCall(expression);
            }
            for (const argument of expression.args) {
                walkExpression(argument, (inner) => {
                    if (isAggregateCall(inner)) {
                        throw QueryCompileError.at(
                            'invalid',
                            inner.at,
                            `aggregate ${inner.name} cannot be nested inside ${expression.name}`,
                        );
                    }
                    return true;
                });
            }
            found.push(expression);
            return false;
        });
    }
    if (select.where !== undefined) {
        walkExpression(select.where, (expression) => {
            if (isAggregateCall(expression)) {
                throw QueryCompileError.at(
                    'invalid',
                    expression.at,
                    `aggregate ${expression.name} cannot appear in WHERE (use HAVING)`,
                );
            }
            return true;
        });
    }
    return found;
}

function makeRowScope(qualifiers: ReadonlySet<string>): Scope<Row> {
    return {
        column: (expression) => compileColumn(expression, qualifiers),
        timestamp: () => timestampOf,
        aggregate: (call) => {
            throw QueryCompileError.at(
                'invalid',
                call.at,
                `aggregate ${call.name} is only allowed in the SELECT or HAVING of a GROUP BY`,
            );
        },
        sourceTime: (name) => (qualifiers.has(name.toUpperCase()) ? timestampOf : undefined),
    };
}

/**
 * Names in a statement with JOIN or APPLY: `source.column` reads that source's row; an unqualified column is looked
 * up source by source in FROM order; an APPLY alias alone is its record (`{ArrayIndex, ArrayValue}`).
 */
function makeCompositeScope(sources: readonly SourceInfo[]): Scope<Row> {
    const indexOf = (name: string): number => sources.findIndex((source) => source.names.has(name.toUpperCase()));
    return {
        column: (expression) => {
            const index = indexOf(expression.path[0]!);
            if (index === -1 || (expression.path.length === 1 && sources[index]!.kind !== 'apply')) {
                const lookups = sources.map(() => columnLookup(expression.path[0]!));
                const rest = expression.path.slice(1);
                return (row) => {
                    const sides = row.sides!;
                    for (let side = 0; side < lookups.length; side += 1) {
                        const sideRow = sides[side];
                        if (sideRow === null || sideRow === undefined) {
                            continue;
                        }
                        const value = lookups[side]!(sideRow);
                        if (value !== undefined) {
                            return rest.reduce<Value>((inner, name) => recordField(inner, name), value);
                        }
                    }
                    return null;
                };
            }
            if (expression.path.length === 1) {
                return (row) => {
                    const side = row.sides![index];
                    return side === null || side === undefined ? null : side.fields;
                };
            }
            const read = columnReader(expression.path[1]!);
            const rest = expression.path.slice(2);
            return (row) => {
                const side = row.sides![index];
                if (side === null || side === undefined) {
                    return null;
                }
                return rest.reduce<Value>((value, name) => recordField(value, name), read(side));
            };
        },
        timestamp: () => timestampOf,
        aggregate: (call) => {
            throw QueryCompileError.at(
                'invalid',
                call.at,
                `aggregate ${call.name} is only allowed in the SELECT or HAVING of a GROUP BY`,
            );
        },
        sourceTime: (name) => {
            const index = indexOf(name);
            if (index === -1 || sources[index]!.kind !== 'stream') {
                return undefined;
            }
            return (row) => {
                const side = row.sides![index];
                return side === null || side === undefined ? null : timestampOf(side);
            };
        },
    };
}

function compileTimestampBy(expression: Expression, base: Scope<Row>): Evaluator<Row> {
    const scope: Scope<Row> = {
        ...base,
        timestamp: (at) => {
            throw QueryCompileError.at('invalid', at, 'System.Timestamp() cannot be used inside TIMESTAMP BY');
        },
    };
    return compileExpression(expression, scope);
}

function compileColumn(expression: ColumnExpression, qualifiers: ReadonlySet<string>): Evaluator<Row> {
    if (expression.path.length === 1 && qualifiers.has(expression.path[0]!.toUpperCase())) {
        // The source itself, as a record (its columns): what `COUNT(input)` and `LAG(input)` see.
        const name = expression.path[0]!;
        const read = columnLookup(name);
        return (row) => read(row) ?? allColumns(row);
    }
    const path =
        expression.path.length > 1 && qualifiers.has(expression.path[0]!.toUpperCase())
            ? expression.path.slice(1)
            : expression.path;
    const read = columnReader(path[0]!);
    const rest = path.slice(1);
    if (rest.length === 0) {
        return read;
    }
    return (row) => rest.reduce<Value>((value, name) => recordField(value, name), read(row));
}

/** What `*` and `source.*` expand to in a statement's SELECT. */
interface StarExpansion {
    /** `*`. */
    readonly all: (row: Row) => Record<string, Value>;
    /** `name.*` when name is a source; undefined when it is not (then it is a record column). */
    readonly source: (name: string) => ((row: Row) => Record<string, Value>) | undefined;
}

function starFor(sources: readonly SourceInfo[]): StarExpansion {
    if (sources.length === 1) {
        return {
            all: allColumns,
            source: (name) => (sources[0]!.names.has(name.toUpperCase()) ? allColumns : undefined),
        };
    }
    const sideColumns =
        (index: number) =>
        (row: Row): Record<string, Value> => {
            const side = row.sides![index];
            if (side === null || side === undefined) {
                return {};
            }
            return sources[index]!.kind === 'apply' ? { ...side.fields } : allColumns(side);
        };
    return {
        all: (row) => {
            // `*` with APPLY: the left columns, then the APPLY alias as one record column.
            const fields: Record<string, Value> = {};
            sources.forEach((source, index) => {
                const side = row.sides![index];
                if (source.kind === 'apply') {
                    const alias = [...source.names][0]!;
                    fields[alias] = side === null || side === undefined ? null : side.fields;
                } else {
                    for (const [name, value] of Object.entries(sideColumns(index)(row))) {
                        if (!Object.hasOwn(fields, name)) {
                            fields[name] = value;
                        }
                    }
                }
            });
            return fields;
        },
        source: (name) => {
            const index = sources.findIndex((source) => source.names.has(name.toUpperCase()));
            return index === -1 ? undefined : sideColumns(index);
        },
    };
}

/**
 * The SELECT list. Names: an alias names its column; an unaliased column its last path segment; an unaliased call
 * the function's name in lower case (`COUNT(*)` gives `count`, which the snapshot-window page reads back); other
 * unaliased expressions `column<position>` (undocumented, this engine's choice). A name already projected to the
 * left wins over a later one, as the SELECT reference says for `*` (https://learn.microsoft.com/stream-analytics-query/select-azure-stream-analytics).
 */
function buildProjection<C>(
    items: readonly SelectItem[],
    scope: Scope<C>,
    star: StarExpansion | undefined,
): (context: C) => Record<string, Value> {
    type Part =
        | { kind: 'column'; name: string; upper: string; evaluate: Evaluator<C> }
        | { kind: 'expand'; expand: (context: C) => Record<string, Value> };
    const parts: Part[] = [];
    const seen = new Set<string>();
    items.forEach((item, position) => {
        if (item.kind === 'star') {
            if (star === undefined) {
                throw QueryCompileError.at(
                    'invalid',
                    item.at,
                    "Column '*' cannot be used in SELECT clause when GROUP BY clause is present",
                );
            }
            if (item.qualifier === undefined) {
                parts.push({ kind: 'expand', expand: star.all as unknown as (context: C) => Record<string, Value> });
                return;
            }
            const source = item.qualifier.length === 1 ? star.source(item.qualifier[0]!) : undefined;
            if (source !== undefined) {
                parts.push({ kind: 'expand', expand: source as unknown as (context: C) => Record<string, Value> });
                return;
            }
            // `record.*`: the record's fields become columns.
            const record = compileExpression({ kind: 'column', path: item.qualifier, at: item.at }, scope);
            parts.push({
                kind: 'expand',
                expand: (context) => {
                    const value = record(context);
                    return value !== null &&
                        typeof value === 'object' &&
                        !Array.isArray(value) &&
                        !(value instanceof DateTime)
                        ? { ...(value as Record<string, Value>) }
                        : {};
                },
            });
            return;
        }
        const name = item.alias ?? defaultName(item.expression, position);
        if (seen.has(name.toUpperCase())) {
            throw QueryCompileError.at('invalid', item.at, `the output column "${name}" is defined twice`);
        }
        seen.add(name.toUpperCase());
        parts.push({
            kind: 'column',
            name,
            upper: name.toUpperCase(),
            evaluate: compileExpression(item.expression, scope),
        });
    });
    const only = parts[0];
    if (parts.length === 1 && only?.kind === 'expand') {
        return only.expand;
    }
    if (parts.every((part) => part.kind === 'column')) {
        const columns = parts;
        return (context) => {
            const fields: Record<string, Value> = {};
            for (const column of columns) {
                fields[column.name] = column.evaluate(context);
            }
            return fields;
        };
    }
    return (context) => {
        const fields: Record<string, Value> = {};
        const taken = new Set<string>();
        for (const part of parts) {
            if (part.kind === 'column') {
                if (!taken.has(part.upper)) {
                    fields[part.name] = part.evaluate(context);
                    taken.add(part.upper);
                }
                continue;
            }
            for (const [name, value] of Object.entries(part.expand(context))) {
                const upper = name.toUpperCase();
                if (!taken.has(upper)) {
                    fields[name] = value;
                    taken.add(upper);
                }
            }
        }
        return fields;
    };
}

function defaultName(expression: Expression, position: number): string {
    switch (expression.kind) {
        case 'column':
            return expression.path.at(-1)!;
        case 'call':
            return expression.name.toLowerCase();
        case 'windowId':
            return 'Id';
        default:
            return `column${position + 1}`;
    }
}
