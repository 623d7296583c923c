import type {
    ApplyClause,
    BinaryOperator,
    CreateTable,
    DataTypeName,
    Expression,
    FromClause,
    JoinClause,
    OverClause,
    Query,
    SelectItem,
    SelectStatement,
    WithStep,
} from './ast';
import { QueryCompileError, type SourcePosition } from './errors';
import { type Token, tokenize } from './lexer';

/** Words that end an expression or a clause, so they can never be read as a bare alias. */
const CLAUSE_WORDS = new Set([
    'SELECT', 'FROM', 'WHERE', 'GROUP', 'HAVING', 'INTO', 'TIMESTAMP', 'PARTITION', 'JOIN', 'INNER', 'LEFT', 'RIGHT',
    'FULL', 'CROSS', 'OUTER', 'UNION', 'ORDER', 'WITH', 'AS', 'ON', 'AND', 'OR', 'NOT', 'BY', 'WHEN', 'THEN', 'ELSE',
    'END', 'CASE', 'IS', 'NULL', 'BETWEEN', 'IN', 'LIKE', 'OVER', 'LIMIT', 'APPLY', 'MATCH_RECOGNIZE', 'EXCEPT',
    'INTERSECT', 'DISTINCT', 'TOP',
]); // prettier-ignore

/** Clause words that are also names of built-in functions. */
const FUNCTION_WORDS = new Set(['LEFT', 'RIGHT']);

/** Binary operators on the level of `+`: arithmetic and the bitwise ones (R:bitwise-operators). */
const ADDITIVE_OPERATORS = new Set(['+', '-', '&', '|', '^']);

/** Constructs Stream Analytics has but this engine does not; named in the error so the user knows what to avoid. */
const UNSUPPORTED_AFTER_FROM: Record<string, string> = {
    MATCH_RECOGNIZE: 'MATCH_RECOGNIZE',
};

/** Words after a SELECT statement that Stream Analytics does not have at all (T-SQL habits). */
const NOT_IN_THE_LANGUAGE: Record<string, string> = {
    RIGHT: 'RIGHT JOIN is not part of the Stream Analytics query language (joins are INNER or LEFT OUTER)',
    FULL: 'FULL JOIN is not part of the Stream Analytics query language (joins are INNER or LEFT OUTER)',
    ORDER: 'ORDER BY is not part of the Stream Analytics query language (output order follows time)',
    LIMIT: 'LIMIT is not part of the Stream Analytics query language',
    EXCEPT: 'EXCEPT is not part of the Stream Analytics query language (queries combine only with UNION)',
    INTERSECT: 'INTERSECT is not part of the Stream Analytics query language (queries combine only with UNION)',
};

export function parseQuery(text: string): Query {
    return new Parser(tokenize(text)).query();
}

class Parser {
    private index = 0;

    constructor(private readonly tokens: readonly Token[]) {}

    query(): Query {
        const steps: WithStep[] = [];
        const tables: CreateTable[] = [];
        for (;;) {
            while (this.acceptSymbol(';')) {
                // CREATE TABLE statements may end with a semicolon.
            }
            if (!this.peekWord('CREATE')) {
                break;
            }
            tables.push(this.createTable());
        }
        if (this.acceptWord('WITH')) {
            do {
                steps.push(this.withStep());
            } while (this.acceptSymbol(','));
        }
        const statements: SelectStatement[] = [];
        for (;;) {
            while (this.acceptSymbol(';')) {
                // Statements may be separated by semicolons or by nothing at all.
            }
            if (this.peek().kind === 'end') {
                break;
            }
            if (this.peekWord('WITH')) {
                throw this.invalid(this.peek(), 'WITH must come before the first SELECT statement');
            }
            statements.push(this.select());
        }
        if (statements.length === 0) {
            throw this.invalid(this.peek(), 'the query has no SELECT statement');
        }
        return { tables, steps, statements };
    }

    private createTable(): CreateTable {
        const at = position(this.expectWord('CREATE'));
        this.expectWord('TABLE');
        const name = this.name('an input alias');
        this.expectSymbol('(');
        const columns: { name: string; type: DataTypeName }[] = [];
        do {
            const column = this.name('a column name');
            columns.push({ name: column, type: this.dataType() });
        } while (this.acceptSymbol(','));
        this.expectSymbol(')');
        return { at, name, columns };
    }

    private withStep(): WithStep {
        const at = this.peek();
        const name = this.name('a step name');
        this.expectWord('AS');
        this.expectSymbol('(');
        const select = this.select();
        this.expectSymbol(')');
        if (select.into !== undefined) {
            throw this.invalid(select.into.at, `a WITH step cannot have INTO (step "${name}")`);
        }
        return { at: position(at), name, select };
    }

    private select(): SelectStatement {
        const first = this.selectSpecification();
        const union: SelectStatement[] = [];
        while (this.acceptWord('UNION')) {
            if (this.peekWord('ALL')) {
                throw this.invalid(
                    this.peek(),
                    'Stream Analytics writes UNION without ALL (it always keeps duplicates)',
                );
            }
            const next = this.selectSpecification();
            if (next.into !== undefined) {
                throw this.invalid(next.into.at, 'only the first SELECT of a UNION may have INTO');
            }
            union.push(next);
        }
        this.rejectUnsupportedClause();
        return { ...first, union };
    }

    private selectSpecification(): SelectStatement {
        const start = this.expectWord('SELECT');
        for (const word of ['DISTINCT', 'TOP']) {
            if (this.peekWord(word)) {
                throw this.invalid(this.peek(), `SELECT ${word} is not part of the Stream Analytics query language`);
            }
        }
        const items: SelectItem[] = [];
        do {
            items.push(this.selectItem());
        } while (this.acceptSymbol(','));
        let into: SelectStatement['into'];
        if (this.acceptWord('INTO')) {
            const at = position(this.peek());
            into = { name: this.name('an output alias'), at };
        }
        this.expectWord('FROM', 'FROM (or a comma before another column)');
        const from = this.from();
        const joins: JoinClause[] = [];
        const applies: ApplyClause[] = [];
        for (;;) {
            const token = this.peek();
            if (this.peekWord('JOIN') || this.peekWord('INNER') || this.peekWord('LEFT')) {
                if (applies.length > 0) {
                    // Outside both documented grammars: APPLY's left side is `input_name | input_alias`
                    // (R:apply) and a JOIN's sides are inputs or joins (R:join); the parsing-JSON page joins APPLY
                    // rows by putting the APPLY in a WITH step.
                    throw this.invalid(
                        token,
                        'a JOIN cannot follow CROSS/OUTER APPLY: in the documented syntax APPLY is applied to ' +
                            '"input_name | input_alias" (https://learn.microsoft.com/stream-analytics-query/' +
                            'apply-azure-stream-analytics) and JOIN joins inputs or joins (https://learn.microsoft.com/' +
                            'stream-analytics-query/join-azure-stream-analytics); do the APPLY in a WITH step and ' +
                            'join the step',
                    );
                }
                joins.push(this.join());
            } else if (
                (this.peekWord('CROSS') || this.peekWord('OUTER')) &&
                this.peekAt(1).kind === 'identifier' &&
                this.peekAt(1).upper === 'APPLY'
            ) {
                applies.push(this.apply());
            } else if (this.peekWord('CROSS') && this.peekAt(1).upper === 'JOIN') {
                throw this.invalid(token, 'CROSS JOIN is not part of Stream Analytics (a JOIN needs an ON condition)');
            } else {
                break;
            }
        }
        const where = this.acceptWord('WHERE') ? this.expression() : undefined;
        const groupBy: Expression[] = [];
        if (this.acceptWord('GROUP')) {
            this.expectWord('BY');
            do {
                groupBy.push(this.expression());
            } while (this.acceptSymbol(','));
        }
        const having = this.acceptWord('HAVING') ? this.expression() : undefined;
        return { at: position(start), items, into, from, joins, applies, where, groupBy, having, union: [] };
    }

    private join(): JoinClause {
        const at = position(this.peek());
        let kind: JoinClause['kind'] = 'inner';
        if (this.acceptWord('LEFT')) {
            kind = 'left';
            this.acceptWord('OUTER');
        } else {
            this.acceptWord('INNER');
        }
        this.expectWord('JOIN');
        const source = this.from();
        this.expectWord('ON', 'ON (a JOIN needs a condition)');
        return { at, kind, source, on: this.expression() };
    }

    private apply(): ApplyClause {
        const at = position(this.peek());
        const outer = this.next().upper === 'OUTER';
        this.expectWord('APPLY');
        const callAt = this.peek();
        const call = this.expression();
        if (call.kind !== 'call') {
            throw this.syntax(callAt, 'expected GetArrayElements(...) or GetRecordProperties(...) after APPLY');
        }
        this.acceptWord('AS');
        const alias = this.name('an alias for the APPLY rows');
        return { at, outer, call, alias };
    }

    private selectItem(): SelectItem {
        const at = position(this.peek());
        if (this.acceptSymbol('*')) {
            return { kind: 'star', at, qualifier: undefined };
        }
        // `alias = expression` (for example `growth = reading - LAG(reading) OVER (...)`).
        // Read as an alias only when the item ends right after the expression: `a = 1 AS b` is a comparison.
        if (this.isBareName(this.peek()) && this.peekAt(1).kind === 'symbol' && this.peekAt(1).text === '=') {
            const start = this.index;
            const alias = this.next().text;
            this.next();
            const expression = this.expression();
            const after = this.peek();
            if ((after.kind === 'symbol' && after.text === ',') || this.peekWord('FROM') || this.peekWord('INTO')) {
                return { kind: 'expression', at, expression, alias };
            }
            this.index = start;
        }
        const expression = this.expression();
        if (this.peek().kind === 'symbol' && this.peek().text === '.' && this.peekAt(1).text === '*') {
            if (expression.kind !== 'column') {
                throw this.syntax(this.peek(), 'only an input, step or record column can be followed by .*');
            }
            this.index += 2;
            return { kind: 'star', at, qualifier: expression.path };
        }
        let alias: string | undefined;
        if (this.acceptWord('AS')) {
            alias = this.peek().kind === 'string' ? this.next().text : this.name('an alias');
        } else if (this.isBareName(this.peek())) {
            alias = this.name('an alias');
        }
        return { kind: 'expression', at, expression, alias };
    }

    private from(): FromClause {
        const start = this.peek();
        if (this.peek().kind === 'symbol' && this.peek().text === '(') {
            throw this.invalid(this.peek(), 'a subquery in FROM is not part of Stream Analytics (use a WITH step)');
        }
        const source = this.name('an input alias or step name');
        let alias: string | undefined;
        if (this.acceptWord('AS')) {
            alias = this.name('a source alias');
        } else if (this.isBareName(this.peek())) {
            alias = this.name('a source alias');
        }
        let timestampBy: Expression | undefined;
        let timestampOver: Expression[] | undefined;
        let partitionBy: Expression[] | undefined;
        // The documentation shows TIMESTAMP BY and PARTITION BY in both orders.
        for (;;) {
            if (timestampBy === undefined && this.acceptWord('TIMESTAMP')) {
                this.expectWord('BY');
                timestampBy = this.expression();
                if (this.acceptWord('OVER')) {
                    timestampOver = this.expressionList();
                }
            } else if (partitionBy === undefined && this.peekWord('PARTITION')) {
                this.next();
                this.expectWord('BY');
                partitionBy = this.expressionList();
                if (this.acceptWord('INTO')) {
                    const count = this.peek();
                    if (count.kind !== 'number' || !/^[0-9]+$/.test(count.text) || Number(count.text) < 2) {
                        throw this.invalid(count, 'PARTITION BY ... INTO needs a whole number of partitions above 1');
                    }
                    this.next();
                }
            } else {
                break;
            }
        }
        return { at: position(start), source, alias, timestampBy, timestampOver, partitionBy };
    }

    private expressionList(): Expression[] {
        const list: Expression[] = [];
        do {
            list.push(this.expression());
        } while (this.acceptSymbol(','));
        return list;
    }

    private rejectUnsupportedClause(): void {
        const token = this.peek();
        if (token.kind === 'identifier' && UNSUPPORTED_AFTER_FROM[token.upper] !== undefined) {
            throw this.unsupported(token, UNSUPPORTED_AFTER_FROM[token.upper]!);
        }
        if (token.kind === 'identifier' && NOT_IN_THE_LANGUAGE[token.upper] !== undefined) {
            throw this.invalid(token, NOT_IN_THE_LANGUAGE[token.upper]!);
        }
        if (token.kind === 'identifier' && (token.upper === 'TIMESTAMP' || token.upper === 'PARTITION')) {
            throw this.invalid(token, `${token.upper} BY must follow the input name in FROM`);
        }
        if (
            token.kind === 'identifier' &&
            (token.upper === 'WHERE' || token.upper === 'GROUP' || token.upper === 'HAVING')
        ) {
            throw this.syntax(token, `${token.upper} is out of place (the order is FROM, WHERE, GROUP BY, HAVING)`);
        }
        if (!(
            token.kind === 'end' ||
            (token.kind === 'symbol' && (token.text === ';' || token.text === ')')) ||
            token.upper === 'SELECT'
        )) {
            throw this.syntax(token, `unexpected ${describe(token)} after the SELECT statement`);
        }
    }

    // ---------------------------------------------------------------- expressions, lowest precedence first

    expression(): Expression {
        return this.or();
    }

    private or(): Expression {
        let left = this.and();
        while (this.peekWord('OR')) {
            const at = position(this.next());
            left = { kind: 'binary', operator: 'OR', left, right: this.and(), at };
        }
        return left;
    }

    private and(): Expression {
        let left = this.not();
        while (this.peekWord('AND')) {
            const at = position(this.next());
            left = { kind: 'binary', operator: 'AND', left, right: this.not(), at };
        }
        return left;
    }

    private not(): Expression {
        if (this.peekWord('NOT')) {
            const at = position(this.next());
            return { kind: 'unary', operator: 'NOT', operand: this.not(), at };
        }
        return this.comparison();
    }

    private comparison(): Expression {
        const left = this.additive();
        const token = this.peek();
        if (token.kind === 'symbol' && ['=', '<>', '!=', '<', '<=', '>', '>='].includes(token.text)) {
            this.next();
            const operator = (token.text === '!=' ? '<>' : token.text) as BinaryOperator;
            return { kind: 'binary', operator, left, right: this.additive(), at: position(token) };
        }
        if (this.peekWord('IS')) {
            this.next();
            const negated = this.acceptWord('NOT');
            this.expectWord('NULL');
            return { kind: 'isNull', operand: left, negated, at: position(token) };
        }
        const negated = this.peekWord('NOT') && ['BETWEEN', 'IN', 'LIKE'].includes(this.peekAt(1).upper);
        if (negated) {
            this.next();
        }
        if (this.acceptWord('BETWEEN')) {
            const low = this.additive();
            this.expectWord('AND');
            return { kind: 'between', operand: left, low, high: this.additive(), negated, at: position(token) };
        }
        if (this.acceptWord('IN')) {
            this.expectSymbol('(');
            if (this.peekWord('SELECT')) {
                throw this.invalid(this.peek(), 'IN takes a list of values; Stream Analytics has no subqueries');
            }
            const list: Expression[] = [];
            do {
                list.push(this.expression());
            } while (this.acceptSymbol(','));
            this.expectSymbol(')');
            return { kind: 'in', operand: left, list, negated, at: position(token) };
        }
        if (this.acceptWord('LIKE')) {
            const args = [left, this.additive()];
            if (this.acceptWord('ESCAPE')) {
                args.push(this.additive());
            }
            const at = position(token);
            const like: Expression = {
                kind: 'call',
                name: '$LIKE',
                args,
                distinct: false,
                star: false,
                over: undefined,
                at,
            };
            return negated ? { kind: 'unary', operator: 'NOT', operand: like, at } : like;
        }
        return left;
    }

    /**
     * `+ - & | ^`, left to right. The bitwise operators share the level of `+` and `-`, as in T-SQL's operator
     * precedence (inferred: the bitwise pages of the reference give no precedence).
     */
    private additive(): Expression {
        let left = this.multiplicative();
        for (;;) {
            const token = this.peek();
            if (token.kind !== 'symbol' || !ADDITIVE_OPERATORS.has(token.text)) {
                return left;
            }
            this.next();
            const operator = token.text as '+' | '-' | '&' | '|' | '^';
            left = { kind: 'binary', operator, left, right: this.multiplicative(), at: position(token) };
        }
    }

    private multiplicative(): Expression {
        let left = this.unary();
        for (;;) {
            const token = this.peek();
            if (token.kind !== 'symbol' || (token.text !== '*' && token.text !== '/' && token.text !== '%')) {
                return left;
            }
            this.next();
            left = { kind: 'binary', operator: token.text, left, right: this.unary(), at: position(token) };
        }
    }

    private unary(): Expression {
        const token = this.peek();
        if (token.kind === 'symbol' && (token.text === '-' || token.text === '+' || token.text === '~')) {
            this.next();
            return { kind: 'unary', operator: token.text, operand: this.unary(), at: position(token) };
        }
        return this.primary();
    }

    private primary(): Expression {
        const token = this.peek();
        const at = position(token);
        if (token.kind === 'number') {
            this.next();
            const isInteger = /^[0-9]+$/.test(token.text);
            return { kind: 'literal', value: Number(token.text), isInteger, at };
        }
        if (token.kind === 'string') {
            this.next();
            return { kind: 'literal', value: token.text, isInteger: false, at };
        }
        if (token.kind === 'symbol' && token.text === '(') {
            this.next();
            if (this.peekWord('SELECT')) {
                throw this.invalid(this.peek(), 'Stream Analytics has no subqueries (use a WITH step)');
            }
            const inner = this.expression();
            this.expectSymbol(')');
            return inner;
        }
        if (token.kind === 'identifier') {
            switch (token.upper) {
                case 'NULL':
                    this.next();
                    return { kind: 'literal', value: null, isInteger: false, at };
                case 'CASE':
                    return this.caseExpression();
                case 'CAST':
                case 'TRY_CAST':
                    if (this.peekAt(1).text === '(') {
                        return this.cast();
                    }
                    break;
                case 'SYSTEM':
                    if (this.peekAt(1).text === '.' && this.peekAt(2).upper === 'TIMESTAMP') {
                        this.index += 3;
                        if (this.acceptSymbol('(')) {
                            this.expectSymbol(')');
                        }
                        return { kind: 'timestamp', at };
                    }
                    if (
                        this.peekAt(1).text === '.' &&
                        this.peekAt(2).upper === 'WINDOW' &&
                        this.peekAt(3).text === '(' &&
                        this.peekAt(4).text === ')'
                    ) {
                        this.index += 5;
                        this.expectSymbol('.');
                        const id = this.peek();
                        if (id.kind !== 'identifier' || id.upper !== 'ID') {
                            throw this.syntax(id, `unexpected ${describe(id)} (System.Window() has one field, Id)`);
                        }
                        this.next();
                        return { kind: 'windowId', at };
                    }
                    break;
                default:
                    // LEFT and RIGHT start joins, but followed by "(" they are the string functions.
                    if (
                        CLAUSE_WORDS.has(token.upper) &&
                        !(FUNCTION_WORDS.has(token.upper) && this.peekAt(1).text === '(')
                    ) {
                        throw this.syntax(token, `unexpected ${describe(token)} (expected an expression)`);
                    }
            }
        }
        if (token.kind === 'identifier' || token.kind === 'quotedIdentifier') {
            return this.columnOrCall();
        }
        throw this.syntax(token, `unexpected ${describe(token)} (expected an expression)`);
    }

    private columnOrCall(): Expression {
        const first = this.next();
        const path = [first.text];
        while (this.peek().kind === 'symbol' && this.peek().text === '.' && isName(this.peekAt(1))) {
            this.next();
            path.push(this.next().text);
        }
        if (!(this.peek().kind === 'symbol' && this.peek().text === '(')) {
            return { kind: 'column', path, at: position(first) };
        }
        if (path.length > 1) {
            throw this.unsupported(
                first,
                `the user-defined or method-style function ${JSON.stringify(path.join('.'))}`,
            );
        }
        this.next();
        const name = first.text.toUpperCase();
        const at = position(first);
        if (this.acceptSymbol('*')) {
            this.expectSymbol(')');
            return { kind: 'call', name, args: [], distinct: false, star: true, over: this.over(), at };
        }
        const distinct = this.acceptWord('DISTINCT');
        this.acceptWord('ALL');
        const args: Expression[] = [];
        if (!this.acceptSymbol(')')) {
            do {
                args.push(this.expression());
            } while (this.acceptSymbol(','));
            this.expectSymbol(')');
        }
        return { kind: 'call', name, args, distinct, star: false, over: this.over(), at };
    }

    private over(): OverClause | undefined {
        if (!this.peekWord('OVER')) {
            return undefined;
        }
        const at = position(this.next());
        this.expectSymbol('(');
        let partitionBy: Expression[] = [];
        const orderBy: OverClause['orderBy'][number][] = [];
        let limitDuration: OverClause['limitDuration'];
        let when: Expression | undefined;
        if (this.acceptWord('PARTITION')) {
            this.expectWord('BY');
            partitionBy = this.expressionList();
        }
        if (this.acceptWord('ORDER')) {
            this.expectWord('BY');
            do {
                const expression = this.expression();
                const descending = this.acceptWord('DESC');
                if (!descending) {
                    this.acceptWord('ASC');
                }
                orderBy.push({ expression, descending });
            } while (this.acceptSymbol(','));
        }
        if (this.peekWord('LIMIT')) {
            const limitAt = position(this.next());
            this.expectWord('DURATION');
            this.expectSymbol('(');
            const unit = this.expression();
            this.expectSymbol(',');
            const length = this.expression();
            this.expectSymbol(')');
            limitDuration = { at: limitAt, unit, length };
        }
        if (this.acceptWord('WHEN')) {
            when = this.expression();
        }
        this.expectSymbol(')');
        return { at, partitionBy, orderBy, limitDuration, when };
    }

    private caseExpression(): Expression {
        const at = position(this.next());
        const operand = this.peekWord('WHEN') ? undefined : this.expression();
        const branches: { when: Expression; then: Expression }[] = [];
        while (this.acceptWord('WHEN')) {
            const when = this.expression();
            this.expectWord('THEN');
            branches.push({ when, then: this.expression() });
        }
        if (branches.length === 0) {
            throw this.syntax(this.peek(), `unexpected ${describe(this.peek())} (expected WHEN)`);
        }
        const otherwise = this.acceptWord('ELSE') ? this.expression() : undefined;
        this.expectWord('END');
        return { kind: 'case', operand, branches, otherwise, at };
    }

    private cast(): Expression {
        const keyword = this.next();
        this.expectSymbol('(');
        const operand = this.expression();
        this.expectWord('AS');
        const type = this.dataType();
        this.expectSymbol(')');
        return { kind: 'cast', operand, type, orNull: keyword.upper === 'TRY_CAST', at: position(keyword) };
    }

    private dataType(): DataTypeName {
        const token = this.peek();
        if (token.kind !== 'identifier') {
            throw this.syntax(token, `unexpected ${describe(token)} (expected a data type)`);
        }
        this.next();
        switch (token.upper) {
            case 'BIGINT':
            case 'FLOAT':
            case 'DATETIME':
            case 'BIT':
                return token.upper.toLowerCase() as DataTypeName;
            case 'NVARCHAR': {
                this.expectSymbol('(');
                const size = this.next();
                if (size.upper !== 'MAX') {
                    throw this.invalid(
                        size,
                        `nvarchar(${size.text}) is not a Stream Analytics type (only nvarchar(max))`,
                    );
                }
                this.expectSymbol(')');
                return 'nvarchar(max)';
            }
            case 'RECORD':
            case 'ARRAY':
                return token.upper.toLowerCase() as DataTypeName;
            default:
                throw this.invalid(token, `unknown data type ${JSON.stringify(token.text)}`);
        }
    }

    // ---------------------------------------------------------------- token helpers

    private name(what: string): string {
        const token = this.peek();
        if (!isName(token) || (token.kind === 'identifier' && CLAUSE_WORDS.has(token.upper))) {
            throw this.syntax(token, `unexpected ${describe(token)} (expected ${what})`);
        }
        this.next();
        return token.text;
    }

    private isBareName(token: Token): boolean {
        return token.kind === 'quotedIdentifier' || (token.kind === 'identifier' && !CLAUSE_WORDS.has(token.upper));
    }

    private peek(): Token {
        return this.peekAt(0);
    }

    private peekAt(offset: number): Token {
        return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)]!;
    }

    private next(): Token {
        const token = this.peek();
        if (token.kind !== 'end') {
            this.index += 1;
        }
        return token;
    }

    private peekWord(word: string): boolean {
        const token = this.peek();
        return token.kind === 'identifier' && token.upper === word;
    }

    private acceptWord(word: string): boolean {
        if (this.peekWord(word)) {
            this.next();
            return true;
        }
        return false;
    }

    private expectWord(word: string, expected = word): Token {
        const token = this.peek();
        if (!this.acceptWord(word)) {
            throw this.syntax(token, `unexpected ${describe(token)} (expected ${expected})`);
        }
        return token;
    }

    private acceptSymbol(symbol: string): boolean {
        const token = this.peek();
        if (token.kind === 'symbol' && token.text === symbol) {
            this.next();
            return true;
        }
        return false;
    }

    private expectSymbol(symbol: string): void {
        const token = this.peek();
        if (!this.acceptSymbol(symbol)) {
            throw this.syntax(token, `unexpected ${describe(token)} (expected "${symbol}")`);
        }
    }

    private syntax(at: SourcePosition, reason: string): QueryCompileError {
        return QueryCompileError.at('syntax', at, reason);
    }

    private invalid(at: SourcePosition, reason: string): QueryCompileError {
        return QueryCompileError.at('invalid', at, reason);
    }

    private unsupported(at: SourcePosition, construct: string): QueryCompileError {
        return QueryCompileError.at(
            'unsupported',
            at,
            `${construct} is not supported by the local Stream Analytics engine`,
        );
    }
}

function isName(token: Token): boolean {
    return token.kind === 'identifier' || token.kind === 'quotedIdentifier';
}

function position(token: SourcePosition): SourcePosition {
    return { line: token.line, column: token.column };
}

function describe(token: Token): string {
    switch (token.kind) {
        case 'end':
            return 'end of query';
        case 'string':
            return `string '${token.text}'`;
        case 'quotedIdentifier':
            return `[${token.text}]`;
        default:
            return `"${token.text}"`;
    }
}
