import type { SourcePosition } from './errors';

/** The syntax tree of the supported Stream Analytics dialect. Every node keeps where it starts in the text. */

export type Expression =
    | LiteralExpression
    | ColumnExpression
    | UnaryExpression
    | BinaryExpression
    | IsNullExpression
    | BetweenExpression
    | InExpression
    | CaseExpression
    | CallExpression
    | CastExpression
    | TimestampExpression
    | WindowIdExpression;

interface Located {
    readonly at: SourcePosition;
}

export interface LiteralExpression extends Located {
    readonly kind: 'literal';
    readonly value: string | number | null;
    /** A whole-number literal is a bigint in Stream Analytics; one with a fraction or exponent is a float. */
    readonly isInteger: boolean;
}

/** `name`, `[name]`, `alias.name`, `record.field.field`. */
export interface ColumnExpression extends Located {
    readonly kind: 'column';
    readonly path: readonly string[];
}

export interface UnaryExpression extends Located {
    readonly kind: 'unary';
    readonly operator: '-' | '+' | 'NOT' | '~';
    readonly operand: Expression;
}

export type BinaryOperator =
    '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^' | '=' | '<>' | '<' | '<=' | '>' | '>=' | 'AND' | 'OR';

export interface BinaryExpression extends Located {
    readonly kind: 'binary';
    readonly operator: BinaryOperator;
    readonly left: Expression;
    readonly right: Expression;
}

export interface IsNullExpression extends Located {
    readonly kind: 'isNull';
    readonly operand: Expression;
    readonly negated: boolean;
}

export interface BetweenExpression extends Located {
    readonly kind: 'between';
    readonly operand: Expression;
    readonly low: Expression;
    readonly high: Expression;
    readonly negated: boolean;
}

export interface InExpression extends Located {
    readonly kind: 'in';
    readonly operand: Expression;
    readonly list: readonly Expression[];
    readonly negated: boolean;
}

export interface CaseExpression extends Located {
    readonly kind: 'case';
    /** Present for the simple form `CASE x WHEN 1 THEN ...`; absent for the searched form `CASE WHEN cond ...`. */
    readonly operand: Expression | undefined;
    readonly branches: readonly { readonly when: Expression; readonly then: Expression }[];
    readonly otherwise: Expression | undefined;
}

/**
 * A function call; `name` is upper-cased. Time units and date parts arrive as single-part column expressions.
 * `a [NOT] LIKE p [ESCAPE e]` arrives as the internal call `$LIKE(a, p[, e])` (under a NOT when negated); `$` cannot
 * start a name in a query, so no user call can collide with it.
 */
export interface CallExpression extends Located {
    readonly kind: 'call';
    readonly name: string;
    readonly args: readonly Expression[];
    readonly distinct: boolean;
    /** `COUNT(*)`, `LAG(*)`. */
    readonly star: boolean;
    /** `OVER (...)` after the call: analytic functions, windowed aggregates, TopOne's ORDER BY, a session's key. */
    readonly over: OverClause | undefined;
}

/**
 * `OVER ([PARTITION BY k, ...] [ORDER BY e [ASC|DESC], ...] [LIMIT DURATION(unit, n)] [WHEN condition])`
 * (https://learn.microsoft.com/stream-analytics-query/over-azure-stream-analytics).
 */
export interface OverClause extends Located {
    readonly partitionBy: readonly Expression[];
    readonly orderBy: readonly { readonly expression: Expression; readonly descending: boolean }[];
    /** `LIMIT DURATION(unit, length)`: the unit as a one-part column expression, the length as written. */
    readonly limitDuration:
        { readonly at: SourcePosition; readonly unit: Expression; readonly length: Expression } | undefined;
    readonly when: Expression | undefined;
}

/** `System.Window().Id`: the id of the Windows() member that produced a grouped row. */
export interface WindowIdExpression extends Located {
    readonly kind: 'windowId';
}

export type DataTypeName = 'bigint' | 'float' | 'nvarchar(max)' | 'datetime' | 'bit' | 'record' | 'array';

export interface CastExpression extends Located {
    readonly kind: 'cast';
    readonly operand: Expression;
    readonly type: DataTypeName;
    /** TRY_CAST yields NULL instead of failing the job. */
    readonly orNull: boolean;
}

/** `System.Timestamp()` (or the older `System.Timestamp`). */
export interface TimestampExpression extends Located {
    readonly kind: 'timestamp';
}

export type SelectItem =
    /** `*`, or `qualifier.*` (an input, step or APPLY alias, or a record column). */
    | { readonly kind: 'star'; readonly at: SourcePosition; readonly qualifier: readonly string[] | undefined }
    | {
          readonly kind: 'expression';
          readonly at: SourcePosition;
          readonly expression: Expression;
          readonly alias: string | undefined;
      };

/** One source of a FROM clause: `name [[AS] alias] [TIMESTAMP BY e [OVER k, ...]] [PARTITION BY k, ... [INTO n]]`. */
export interface FromClause {
    readonly at: SourcePosition;
    readonly source: string;
    readonly alias: string | undefined;
    readonly timestampBy: Expression | undefined;
    /** `TIMESTAMP BY ... OVER k, ...`: substreams with their own out-of-order handling. */
    readonly timestampOver: readonly Expression[] | undefined;
    readonly partitionBy: readonly Expression[] | undefined;
}

/** `[INNER] JOIN` / `LEFT [OUTER] JOIN source ON condition`. */
export interface JoinClause {
    readonly at: SourcePosition;
    readonly kind: 'inner' | 'left';
    readonly source: FromClause;
    readonly on: Expression;
}

/** `CROSS APPLY` / `OUTER APPLY GetArrayElements(e) | GetRecordProperties(e) [AS] alias`. */
export interface ApplyClause {
    readonly at: SourcePosition;
    readonly outer: boolean;
    readonly call: CallExpression;
    readonly alias: string;
}

export interface SelectStatement {
    readonly at: SourcePosition;
    readonly items: readonly SelectItem[];
    readonly into: { readonly name: string; readonly at: SourcePosition } | undefined;
    readonly from: FromClause;
    readonly joins: readonly JoinClause[];
    readonly applies: readonly ApplyClause[];
    readonly where: Expression | undefined;
    readonly groupBy: readonly Expression[];
    readonly having: Expression | undefined;
    /** The SELECTs combined with this one by `UNION` (duplicates kept); only the first may have INTO. */
    readonly union: readonly SelectStatement[];
}

/** `CREATE TABLE input (column type, ...)`: declares the types an input's events must have. */
export interface CreateTable {
    readonly at: SourcePosition;
    readonly name: string;
    readonly columns: readonly { readonly name: string; readonly type: DataTypeName }[];
}

export interface WithStep {
    readonly at: SourcePosition;
    readonly name: string;
    readonly select: SelectStatement;
}

export interface Query {
    readonly tables: readonly CreateTable[];
    readonly steps: readonly WithStep[];
    readonly statements: readonly SelectStatement[];
}
