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
    | TimestampExpression;

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
    readonly operator: '-' | '+' | 'NOT';
    readonly operand: Expression;
}

export type BinaryOperator = '+' | '-' | '*' | '/' | '%' | '=' | '<>' | '<' | '<=' | '>' | '>=' | 'AND' | 'OR';

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
    /** `COUNT(*)`. */
    readonly star: boolean;
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
    | { readonly kind: 'star'; readonly at: SourcePosition }
    | {
          readonly kind: 'expression';
          readonly at: SourcePosition;
          readonly expression: Expression;
          readonly alias: string | undefined;
      };

export interface FromClause {
    readonly at: SourcePosition;
    readonly source: string;
    readonly alias: string | undefined;
    readonly timestampBy: Expression | undefined;
}

export interface SelectStatement {
    readonly at: SourcePosition;
    readonly items: readonly SelectItem[];
    readonly into: { readonly name: string; readonly at: SourcePosition } | undefined;
    readonly from: FromClause;
    readonly where: Expression | undefined;
    readonly groupBy: readonly Expression[];
    readonly having: Expression | undefined;
}

export interface WithStep {
    readonly at: SourcePosition;
    readonly name: string;
    readonly select: SelectStatement;
}

export interface Query {
    readonly steps: readonly WithStep[];
    readonly statements: readonly SelectStatement[];
}
