import { QueryCompileError, type SourcePosition } from './errors';

export type TokenKind = 'identifier' | 'quotedIdentifier' | 'number' | 'string' | 'symbol' | 'end';

export interface Token extends SourcePosition {
    readonly kind: TokenKind;
    /** Identifiers as written (bracket quotes removed), strings unescaped, symbols and numbers verbatim. */
    readonly text: string;
    /** Upper-cased text of a bare identifier, for keyword checks; empty for everything else. */
    readonly upper: string;
}

const SYMBOLS = [
    '<>',
    '!=',
    '<=',
    '>=',
    '(',
    ')',
    ',',
    '.',
    '*',
    '+',
    '-',
    '/',
    '%',
    '=',
    '<',
    '>',
    ';',
    '&',
    '|',
    '^',
    '~',
];

/**
 * Splits a Stream Analytics query into tokens with their line and column. Comments (`--` and `/* *\/`) and
 * whitespace are dropped. Keywords are not reserved here: the parser recognises them by position, which is how
 * T-SQL treats most of them.
 */
export function tokenize(text: string): Token[] {
    return new Lexer(text).run();
}

class Lexer {
    private index = 0;
    private line = 1;
    private lineStart = 0;
    private readonly tokens: Token[] = [];

    constructor(private readonly text: string) {}

    run(): Token[] {
        for (;;) {
            this.skipTrivia();
            if (this.index >= this.text.length) {
                this.tokens.push({ kind: 'end', text: '', upper: '', ...this.position() });
                return this.tokens;
            }
            this.tokens.push(this.next());
        }
    }

    private next(): Token {
        const position = this.position();
        const char = this.text[this.index]!;
        if (/[A-Za-z_@]/.test(char)) {
            const match = /^[A-Za-z_@][A-Za-z0-9_@$#]*/.exec(this.text.slice(this.index))![0];
            this.index += match.length;
            return { kind: 'identifier', text: match, upper: match.toUpperCase(), ...position };
        }
        if (/[0-9]/.test(char)) {
            const match = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.index))![0];
            this.index += match.length;
            return { kind: 'number', text: match, upper: '', ...position };
        }
        if (char === "'") {
            return { kind: 'string', text: this.quoted("'", position, 'string literal'), upper: '', ...position };
        }
        if (char === '[') {
            const text = this.quoted(']', position, 'bracketed identifier');
            return { kind: 'quotedIdentifier', text, upper: '', ...position };
        }
        const symbol = SYMBOLS.find((candidate) => this.text.startsWith(candidate, this.index));
        if (symbol === undefined) {
            throw QueryCompileError.at('syntax', position, `unexpected character ${JSON.stringify(char)}`);
        }
        this.index += symbol.length;
        return { kind: 'symbol', text: symbol, upper: '', ...position };
    }

    /** Reads up to the closing quote; a doubled closing quote stands for one (T-SQL escaping). */
    private quoted(close: string, start: SourcePosition, what: string): string {
        let value = '';
        this.index += 1;
        for (;;) {
            if (this.index >= this.text.length) {
                throw QueryCompileError.at('syntax', start, `unterminated ${what}`);
            }
            const char = this.text[this.index]!;
            if (char === close) {
                if (this.text[this.index + 1] === close) {
                    value += close;
                    this.index += 2;
                    continue;
                }
                this.index += 1;
                return value;
            }
            this.advanceOver(char);
            value += char;
        }
    }

    private skipTrivia(): void {
        while (this.index < this.text.length) {
            const char = this.text[this.index]!;
            if (char === '-' && this.text[this.index + 1] === '-') {
                while (this.index < this.text.length && this.text[this.index] !== '\n') {
                    this.index += 1;
                }
            } else if (char === '/' && this.text[this.index + 1] === '*') {
                const start = this.position();
                this.index += 2;
                while (!(this.text[this.index] === '*' && this.text[this.index + 1] === '/')) {
                    if (this.index >= this.text.length) {
                        throw QueryCompileError.at('syntax', start, 'unterminated block comment');
                    }
                    this.advanceOver(this.text[this.index]!);
                }
                this.index += 2;
            } else if (/\s/.test(char)) {
                this.advanceOver(char);
            } else {
                return;
            }
        }
    }

    private advanceOver(char: string): void {
        this.index += 1;
        if (char === '\n') {
            this.line += 1;
            this.lineStart = this.index;
        }
    }

    private position(): SourcePosition {
        return { line: this.line, column: this.index - this.lineStart + 1 };
    }
}
