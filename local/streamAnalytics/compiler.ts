import { accumulatorFor } from './aggregates';
import type { CallExpression, ColumnExpression, Expression, SelectItem, SelectStatement } from './ast';
import {
    compileExpression,
    type Evaluator,
    expressionKey,
    failAt,
    isAggregateCall,
    type Scope,
    walkExpression,
} from './compileExpression';
import { QueryCompileError } from './errors';
import {
    type AggregateDefinition,
    type GroupResult,
    type Operator,
    ProjectOperator,
    WindowedAggregateOperator,
} from './operators';
import { parseQuery } from './parser';
import { allColumns, columnReader, recordField, type Row } from './rows';
import { DateTime, type Value } from './values';
import { isWindowCall, parseWindow, windowCall } from './windows';

/** Where a statement reads from: a declared input (with its TIMESTAMP BY) or an earlier WITH step. */
export type StatementSource =
    | { readonly kind: 'input'; readonly alias: string; readonly timestampBy: Evaluator<Row> | undefined }
    | { readonly kind: 'step'; readonly name: string };

/** A compiled statement: its closures are built once; create() makes a fresh operator with its own state per job. */
export interface CompiledStatement {
    readonly source: StatementSource;
    create(): Operator & { readonly targets: Operator[] };
}

export interface CompiledQuery {
    /** WITH steps by upper-cased name, in definition order. */
    readonly steps: ReadonlyMap<string, CompiledStatement>;
    readonly statements: readonly { readonly into: string; readonly statement: CompiledStatement }[];
}

/**
 * Compiles query text into closures once. Names are matched case-insensitively; inputs and outputs must be declared
 * by the caller (as the job's inputs and outputs are in Azure).
 */
export function compileQueryText(
    text: string,
    inputAliases: readonly string[],
    outputAliases: readonly string[],
): CompiledQuery {
    const query = parseQuery(text);
    const inputs = byUpperName(inputAliases);
    const outputs = byUpperName(outputAliases);
    const steps = new Map<string, CompiledStatement>();
    for (const step of query.steps) {
        const upper = step.name.toUpperCase();
        if (steps.has(upper) || inputs.has(upper)) {
            throw QueryCompileError.at(
                'invalid',
                step.at,
                `the name "${step.name}" is already used by ${steps.has(upper) ? 'another step' : 'an input'}`,
            );
        }
        steps.set(upper, compileStatement(step.select, inputs, steps));
    }
    const statements = query.statements.map((select) => {
        if (select.into === undefined) {
            throw QueryCompileError.at('invalid', select.at, 'this SELECT has no INTO; name the output it writes to');
        }
        const into = outputs.get(select.into.name.toUpperCase());
        if (into === undefined) {
            throw QueryCompileError.at(
                'invalid',
                select.into.at,
                `unknown output "${select.into.name}" (declared outputs: ${outputAliases.join(', ') || 'none'})`,
            );
        }
        return { into, statement: compileStatement(select, inputs, steps) };
    });
    return { steps, statements };
}

function byUpperName(names: readonly string[]): Map<string, string> {
    return new Map(names.map((name) => [name.toUpperCase(), name]));
}

function compileStatement(
    select: SelectStatement,
    inputs: ReadonlyMap<string, string>,
    steps: ReadonlyMap<string, CompiledStatement>,
): CompiledStatement {
    const from = select.from;
    const upperSource = from.source.toUpperCase();
    const inputAlias = inputs.get(upperSource);
    if (inputAlias === undefined && !steps.has(upperSource)) {
        throw QueryCompileError.at('invalid', from.at, `unknown input or step "${from.source}"`);
    }
    const qualifiers = new Set([upperSource, ...(from.alias ? [from.alias.toUpperCase()] : [])]);
    const rowScope = makeRowScope(qualifiers);
    let source: StatementSource;
    if (inputAlias !== undefined) {
        const timestampBy = from.timestampBy ? compileTimestampBy(from.timestampBy, qualifiers) : undefined;
        source = { kind: 'input', alias: inputAlias, timestampBy };
    } else {
        if (from.timestampBy !== undefined) {
            throw QueryCompileError.at(
                'invalid',
                from.timestampBy.at,
                'TIMESTAMP BY can only be applied to an input, not to a step',
            );
        }
        source = { kind: 'step', name: upperSource };
    }
    const where = select.where ? compileExpression(select.where, rowScope) : undefined;
    const aggregateCalls = collectAggregates(select);
    if (select.groupBy.length === 0 && aggregateCalls.length === 0) {
        if (select.having !== undefined) {
            throw QueryCompileError.at('invalid', select.having.at, 'HAVING needs a GROUP BY');
        }
        const project = buildProjection(select.items, rowScope, allColumns);
        return { source, create: () => new ProjectOperator(where, project) };
    }
    return { source, ...compileGrouped(select, rowScope, aggregateCalls, where) };
}

function compileGrouped(
    select: SelectStatement,
    rowScope: Scope<Row>,
    aggregateCalls: readonly CallExpression[],
    where: Evaluator<Row> | undefined,
): Pick<CompiledStatement, 'create'> {
    const windowCalls = select.groupBy.flatMap((expression) => windowCall(expression) ?? []);
    if (windowCalls.length === 0) {
        const at = select.groupBy[0]?.at ?? aggregateCalls[0]!.at;
        throw QueryCompileError.at(
            'invalid',
            at,
            'aggregating a stream needs a window in GROUP BY (TumblingWindow or HoppingWindow)',
        );
    }
    if (windowCalls.length > 1) {
        throw QueryCompileError.at(
            'unsupported',
            windowCalls[1]!.at,
            'more than one window in GROUP BY is not supported by the local Stream Analytics engine',
        );
    }
    const window = parseWindow(windowCalls[0]!);
    const keyExpressions = select.groupBy.filter((expression) => !isWindowCall(expression));
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
            const argument =
                call.star || call.args.length === 0 ? undefined : compileExpression(call.args[0]!, rowScope);
            aggregates.push({ argument, create: accumulatorFor(call, failAt(call.at)) });
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
    };
    const star = select.items.find((item) => item.kind === 'star');
    if (star !== undefined) {
        throw QueryCompileError.at('invalid', star.at, 'SELECT * cannot be used with GROUP BY');
    }
    const project = buildProjection(select.items, groupScope, undefined);
    const having = select.having ? compileExpression(select.having, groupScope) : undefined;
    return { create: () => new WindowedAggregateOperator(where, window, keys, aggregates, having, project) };
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
                return true;
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
        timestamp: () => (row) => new DateTime(row.ts),
        aggregate: (call) => {
            throw QueryCompileError.at(
                'invalid',
                call.at,
                `aggregate ${call.name} is only allowed in the SELECT or HAVING of a GROUP BY`,
            );
        },
    };
}

function compileTimestampBy(expression: Expression, qualifiers: ReadonlySet<string>): Evaluator<Row> {
    const scope: Scope<Row> = {
        ...makeRowScope(qualifiers),
        timestamp: (at) => {
            throw QueryCompileError.at('invalid', at, 'System.Timestamp() cannot be used inside TIMESTAMP BY');
        },
    };
    return compileExpression(expression, scope);
}

function compileColumn(expression: ColumnExpression, qualifiers: ReadonlySet<string>): Evaluator<Row> {
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

function buildProjection<C>(
    items: readonly SelectItem[],
    scope: Scope<C>,
    star: ((context: C) => Record<string, Value>) | undefined,
): (context: C) => Record<string, Value> {
    const seen = new Set<string>();
    let includesStar = false;
    const columns: { name: string; evaluate: Evaluator<C> }[] = [];
    for (const item of items) {
        if (item.kind === 'star') {
            includesStar = true;
            continue;
        }
        const name = item.alias ?? (item.expression.kind === 'column' ? item.expression.path.at(-1)! : undefined);
        if (name === undefined) {
            throw QueryCompileError.at('invalid', item.at, 'this expression needs a name: add AS <name>');
        }
        if (seen.has(name.toUpperCase())) {
            throw QueryCompileError.at('invalid', item.at, `the output column "${name}" is defined twice`);
        }
        seen.add(name.toUpperCase());
        columns.push({ name, evaluate: compileExpression(item.expression, scope) });
    }
    if (includesStar && star !== undefined && columns.length === 0) {
        return star;
    }
    return (context) => {
        const fields: Record<string, Value> = includesStar && star !== undefined ? star(context) : {};
        for (const column of columns) {
            fields[column.name] = column.evaluate(context);
        }
        return fields;
    };
}
