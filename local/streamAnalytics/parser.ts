import type {
    BinaryOperator,
    DataTypeName,
    Expression,
    FromClause,
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

/** Constructs Stream Analytics has but this engine does not; named in the error so the user knows what to avoid. */
const UNSUPPORTED_AFTER_FROM: Record<string, string> = {
    JOIN: 'JOIN',
    INNER: 'JOIN',
    LEFT: 'JOIN',
    RIGHT: 'JOIN',
    FULL: 'JOIN',
    CROSS: 'CROSS APPLY / CROSS JOIN',
    OUTER: 'OUTER APPLY',
    UNION: 'UNION',
    ORDER: 'ORDER BY',
    LIMIT: 'LIMIT',
    MATCH_RECOGNIZE: 'MATCH_RECOGNIZE',
    EXCEPT: 'EXCEPT',
    INTERSECT: 'INTERSECT',
};

export function parseQuery(text: string): Query {
    return new Parser(tokenize(text)).query();
}

class Parser {
    private index = 0;

    constructor(private readonly tokens: readonly Token[]) {}

    query(): Query {
        const steps: WithStep[] = [];
        if (this.peekWord('CREATE')) {
            throw this.unsupported(this.peek(), 'CREATE TABLE');
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
        return { steps, statements };
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
        const start = this.expectWord('SELECT');
        for (const word of ['DISTINCT', 'TOP']) {
            if (this.peekWord(word)) {
                throw this.unsupported(this.peek(), `SELECT ${word}`);
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
        const where = this.acceptWord('WHERE') ? this.expression() : undefined;
        const groupBy: Expression[] = [];
        if (this.acceptWord('GROUP')) {
            this.expectWord('BY');
            do {
                groupBy.push(this.expression());
            } while (this.acceptSymbol(','));
        }
        const having = this.acceptWord('HAVING') ? this.expression() : undefined;
        this.rejectUnsupportedClause();
        return { at: position(start), items, into, from, where, groupBy, having };
    }

    private selectItem(): SelectItem {
        const at = position(this.peek());
        if (this.acceptSymbol('*')) {
            return { kind: 'star', at };
        }
        const expression = this.expression();
        if (this.peek().kind === 'symbol' && this.peek().text === '.' && this.peekAt(1).text === '*') {
            throw this.unsupported(this.peekAt(1), 'source.* in SELECT');
        }
        let alias: string | undefined;
        if (this.acceptWord('AS')) {
            alias = this.name('an alias');
        } else if (this.isBareName(this.peek())) {
            alias = this.name('an alias');
        }
        return { kind: 'expression', at, expression, alias };
    }

    private from(): FromClause {
        const start = this.peek();
        if (this.peek().kind === 'symbol' && this.peek().text === '(') {
            throw this.unsupported(this.peek(), 'a subquery in FROM (use a WITH step)');
        }
        const source = this.name('an input alias or step name');
        let alias: string | undefined;
        if (this.acceptWord('AS')) {
            alias = this.name('a source alias');
        } else if (this.isBareName(this.peek())) {
            alias = this.name('a source alias');
        }
        let timestampBy: Expression | undefined;
        if (this.acceptWord('TIMESTAMP')) {
            this.expectWord('BY');
            timestampBy = this.expression();
            if (this.peekWord('OVER')) {
                throw this.unsupported(this.peek(), 'TIMESTAMP BY ... OVER (substreams)');
            }
        }
        if (this.peekWord('PARTITION')) {
            throw this.unsupported(this.peek(), 'PARTITION BY');
        }
        return { at: position(start), source, alias, timestampBy };
    }

    private rejectUnsupportedClause(): void {
        const token = this.peek();
        if (token.kind === 'identifier' && UNSUPPORTED_AFTER_FROM[token.upper] !== undefined) {
            throw this.unsupported(token, UNSUPPORTED_AFTER_FROM[token.upper]!);
        }
        if (token.kind === 'identifier' && token.upper === 'TIMESTAMP') {
            throw this.invalid(token, 'TIMESTAMP BY must follow the input name in FROM');
        }
        if (token.kind === 'identifier' && token.upper === 'PARTITION') {
            throw this.unsupported(token, 'PARTITION BY');
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
                throw this.unsupported(this.peek(), 'a subquery in IN');
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
            const like: Expression = { kind: 'call', name: '$LIKE', args, distinct: false, star: false, at };
            return negated ? { kind: 'unary', operator: 'NOT', operand: like, at } : like;
        }
        return left;
    }

    private additive(): Expression {
        let left = this.multiplicative();
        for (;;) {
            const token = this.peek();
            if (token.kind !== 'symbol' || (token.text !== '+' && token.text !== '-')) {
                return left;
            }
            this.next();
            left = { kind: 'binary', operator: token.text, left, right: this.multiplicative(), at: position(token) };
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
        if (token.kind === 'symbol' && (token.text === '-' || token.text === '+')) {
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
                throw this.unsupported(this.peek(), 'a subquery (use a WITH step)');
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
        if (this.acceptSymbol('*')) {
            this.expectSymbol(')');
            return { kind: 'call', name, args: [], distinct: false, star: true, at: position(first) };
        }
        const distinct = this.acceptWord('DISTINCT');
        this.acceptWord('ALL');
        const args: Expression[] = [];
        if (!this.acceptSymbol(')')) {
            do {
                args.push(this.expression());
            } while (this.acceptSymbol(','));
            if (this.peekWord('OVER')) {
                throw this.unsupported(this.peek(), 'OVER on a function (analytic and windowed aggregates)');
            }
            this.expectSymbol(')');
        }
        if (this.peekWord('OVER')) {
            throw this.unsupported(this.peek(), 'OVER on a function (analytic and windowed aggregates)');
        }
        return { kind: 'call', name, args, distinct, star: false, at: position(first) };
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
        const typeToken = this.peek();
        const type = this.dataType();
        this.expectSymbol(')');
        if (type === undefined) {
            throw this.unsupported(typeToken, `CAST to ${typeToken.text}`);
        }
        return { kind: 'cast', operand, type, orNull: keyword.upper === 'TRY_CAST', at: position(keyword) };
    }

    private dataType(): DataTypeName | undefined {
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
