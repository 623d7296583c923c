import { toLowerInvariant, toUpperInvariant, trimDotnet } from './dotnetText';
import { asInteger, asString, type Fail, toText } from './functions';
import type { Value } from './values';

/**
 * The string functions of https://learn.microsoft.com/stream-analytics-query/string-functions-azure-stream-analytics
 * with .NET semantics: lengths and positions count UTF-16 code units (as .NET's `string.Length` does), positions
 * are 1-based, searches are ordinal, and casing is .NET's invariant one-to-one mapping (dotnetText.ts). NULL in
 * gives NULL out unless a function's page says otherwise (CONCAT, CONCAT_WS). Each takes `fail` first and raises a
 * located QueryRuntimeError through it.
 */

/** SUBSTRING(expression, start, length): start < 1 still counts from `start`; negative length is an error. */
export function substring(fail: Fail, text: Value, start: Value, length: Value): Value {
    if (text === null || start === null || length === null) {
        return null;
    }
    const source = asString(text, 'SUBSTRING', fail);
    const from = asInteger(start, 'SUBSTRING start', fail);
    const count = asInteger(length, 'SUBSTRING length', fail);
    if (count < 0) {
        return fail(count, 'SUBSTRING length must not be negative');
    }
    const end = from + count; // exclusive, 1-based
    const first = Math.max(from, 1);
    return end <= first ? '' : source.slice(first - 1, end - 1);
}

/** LEFT(s, n): the first n code units (all of s when shorter); a negative n is an error (R:left). */
export function left(fail: Fail, text: Value, count: Value): Value {
    if (text === null || count === null) {
        return null;
    }
    const n = asInteger(count, 'LEFT length', fail);
    return n < 0 ? fail(n, 'LEFT length must not be negative') : asString(text, 'LEFT', fail).slice(0, n);
}

/** RIGHT(s, n): the last n code units; a negative n is an error (R:right). */
export function right(fail: Fail, text: Value, count: Value): Value {
    if (text === null || count === null) {
        return null;
    }
    const n = asInteger(count, 'RIGHT length', fail);
    if (n < 0) {
        return fail(n, 'RIGHT length must not be negative');
    }
    const source = asString(text, 'RIGHT', fail);
    return n === 0 ? '' : source.slice(Math.max(source.length - n, 0));
}

/** UPPER: .NET ToUpperInvariant, one code point to one ('straße' stays 6 units long). */
export function upper(fail: Fail, text: Value): Value {
    return text === null ? null : toUpperInvariant(asString(text, 'UPPER', fail));
}

/** LOWER: .NET ToLowerInvariant ('İ' stays 'İ'). */
export function lower(fail: Fail, text: Value): Value {
    return text === null ? null : toLowerInvariant(asString(text, 'LOWER', fail));
}

/** LEN: UTF-16 code units, trailing blanks (U+0020) not counted (R:len). */
export function len(fail: Fail, text: Value): Value {
    if (text === null) {
        return null;
    }
    const source = asString(text, 'LEN', fail);
    let end = source.length;
    while (end > 0 && source.charCodeAt(end - 1) === 0x20) {
        end -= 1;
    }
    return end;
}

export function ltrim(fail: Fail, text: Value): Value {
    return text === null ? null : trimDotnet(asString(text, 'LTRIM', fail), true, false);
}

export function rtrim(fail: Fail, text: Value): Value {
    return text === null ? null : trimDotnet(asString(text, 'RTRIM', fail), false, true);
}

/** TRIM: both sides, white space as .NET's char.IsWhiteSpace (R:trim lists the same categories). */
export function trim(fail: Fail, text: Value): Value {
    return text === null ? null : trimDotnet(asString(text, 'TRIM', fail), true, true);
}

/** CONCAT: NULL arguments count as empty strings, so the result is never NULL (R:concat). */
export function concat(_fail: Fail, ...values: Value[]): Value {
    let result = '';
    for (const value of values) {
        if (value !== null) {
            result += toText(value);
        }
    }
    return result;
}

/** CONCAT_WS(separator, ...): NULL arguments are skipped, with no doubled separator (R:concat-ws). */
export function concatWs(_fail: Fail, separator: Value, ...values: Value[]): Value {
    const parts: string[] = [];
    for (const value of values) {
        if (value !== null) {
            parts.push(toText(value));
        }
    }
    return parts.join(separator === null ? '' : toText(separator));
}

/**
 * CHARINDEX(find, s[, start]): 1-based position of the first ordinal occurrence at or after `start`, 0 when
 * absent; a missing, zero or negative start searches from the beginning (R:charindex). An empty `find` gives 0,
 * as in T-SQL (inferred: not documented).
 */
export function charIndex(fail: Fail, find: Value, text: Value, start: Value = 1): Value {
    if (find === null || text === null || start === null) {
        return null;
    }
    const needle = asString(find, 'CHARINDEX', fail);
    const haystack = asString(text, 'CHARINDEX', fail);
    const from = Math.max(asInteger(start, 'CHARINDEX start', fail), 1) - 1;
    if (needle === '') {
        return 0;
    }
    return haystack.indexOf(needle, from) + 1;
}

/**
 * PATINDEX(pattern, s): 1-based position of the first match of a LIKE pattern, 0 if none (R:patindex). As in
 * T-SQL, the pattern matches the whole string, so `'%x%'` finds x anywhere and `'x%'` only at the start.
 */
export function patIndex(fail: Fail, pattern: Value, text: Value): Value {
    if (pattern === null || text === null) {
        return null;
    }
    const source = asString(pattern, 'PATINDEX pattern', fail);
    if (source.length > 8000) {
        return fail(source.length, 'PATINDEX pattern must be at most 8000 characters');
    }
    const leading = source.startsWith('%');
    const body = source.replace(/^%+/, '');
    const regex = likeRegex(body, undefined, !leading, fail);
    const match = regex.exec(asString(text, 'PATINDEX', fail));
    return match === null ? 0 : match.index + 1;
}

/**
 * REGEXMATCH(s, pattern): 1-based position of the first match of an ECMAScript regular expression, matched
 * case-insensitively; 0 when there is none or the pattern is not a valid expression (R:regexmatch).
 */
export function regexMatch(fail: Fail, text: Value, pattern: Value): Value {
    if (text === null || pattern === null) {
        return null;
    }
    const source = asString(pattern, 'REGEXMATCH pattern', fail);
    let regex = REGEX_CACHE.get(source);
    if (regex === undefined) {
        try {
            regex = new RegExp(source, 'i');
        } catch {
            return 0;
        }
        remember(REGEX_CACHE, source, regex);
    }
    const match = regex.exec(asString(text, 'REGEXMATCH', fail));
    return match === null ? 0 : match.index + 1;
}

/** REPLACE(s, find, replacement): every ordinal occurrence; an empty `find` returns s; any NULL gives NULL. */
export function replace(fail: Fail, text: Value, find: Value, replacement: Value): Value {
    if (text === null || find === null || replacement === null) {
        return null;
    }
    const source = asString(text, 'REPLACE', fail);
    const needle = asString(find, 'REPLACE', fail);
    return needle === '' ? source : source.split(needle).join(asString(replacement, 'REPLACE', fail));
}

/** REPLICATE(s, n): s repeated n times; a negative n gives NULL (R:replicate). */
export function replicate(fail: Fail, text: Value, count: Value): Value {
    if (text === null || count === null) {
        return null;
    }
    const n = asInteger(count, 'REPLICATE count', fail);
    return n < 0 ? null : asString(text, 'REPLICATE', fail).repeat(n);
}

/** SPACE(n): n spaces; a negative n gives NULL (R:space). */
export function space(fail: Fail, count: Value): Value {
    if (count === null) {
        return null;
    }
    const n = asInteger(count, 'SPACE count', fail);
    return n < 0 ? null : ' '.repeat(n);
}

/**
 * REVERSE(s): the UTF-16 code units in reverse order, as reversing a .NET char array does (inferred: the page
 * does not say how characters outside the BMP are treated).
 */
export function reverse(fail: Fail, text: Value): Value {
    if (text === null) {
        return null;
    }
    const source = asString(text, 'REVERSE', fail);
    let result = '';
    for (let index = source.length - 1; index >= 0; index--) {
        result += source[index]!;
    }
    return result;
}

/**
 * STUFF(s, start, length, insert): deletes `length` units at `start` and inserts `insert` there. start < 1 counts
 * from the first character; start beyond the string gives ''; a negative length is an error; a length past the end
 * deletes the rest (R:stuff).
 */
export function stuff(fail: Fail, text: Value, start: Value, length: Value, insert: Value): Value {
    if (text === null || start === null || length === null) {
        return null;
    }
    const source = asString(text, 'STUFF', fail);
    const from = Math.max(asInteger(start, 'STUFF start', fail), 1);
    const count = asInteger(length, 'STUFF length', fail);
    if (count < 0) {
        return fail(count, 'STUFF length must not be negative');
    }
    if (from > source.length) {
        return '';
    }
    const inserted = insert === null ? '' : asString(insert, 'STUFF', fail);
    return source.slice(0, from - 1) + inserted + source.slice(from - 1 + count);
}

/**
 * TRANSLATE(s, characters, translations): each unit of `characters` is replaced by the unit at the same position
 * in `translations`, each input unit at most once; the two must be equally long; any NULL gives NULL (R:translate).
 */
export function translate(fail: Fail, text: Value, characters: Value, translations: Value): Value {
    if (text === null || characters === null || translations === null) {
        return null;
    }
    const from = asString(characters, 'TRANSLATE', fail);
    const to = asString(translations, 'TRANSLATE', fail);
    if (from.length !== to.length) {
        return fail([from, to], 'TRANSLATE needs characters and translations of the same length');
    }
    const map = new Map<string, string>();
    for (let index = 0; index < from.length; index++) {
        if (!map.has(from[index]!)) {
            map.set(from[index]!, to[index]!);
        }
    }
    let result = '';
    for (const unit of asString(text, 'TRANSLATE', fail).split('')) {
        result += map.get(unit) ?? unit;
    }
    return result;
}

/** NCHAR(code): the character of a Unicode code point 0–1114111 (two UTF-16 units above U+FFFF); else NULL. */
export function nchar(fail: Fail, code: Value): Value {
    if (code === null) {
        return null;
    }
    const point = asInteger(code, 'NCHAR', fail);
    return point < 0 || point > 0x10ffff ? null : String.fromCodePoint(point);
}

/**
 * UNICODE(s): the code point of the first character, reading a surrogate pair as one code point (inferred from
 * NCHAR's range, which returns such pairs); NULL for an empty string, as in T-SQL.
 */
export function unicode(fail: Fail, text: Value): Value {
    if (text === null) {
        return null;
    }
    const source = asString(text, 'UNICODE', fail);
    return source.length === 0 ? null : source.codePointAt(0)!;
}

// ---------------------------------------------------------------- LIKE

/**
 * `s [NOT] LIKE pattern [ESCAPE c]`: T-SQL wildcards `%` (any run), `_` (one UTF-16 unit), `[abc]`, `[a-z]`,
 * `[^abc]`, and an optional escape character that makes the next character literal. The match is ordinal
 * (case-sensitive), as .NET compares strings; the reference shows only `%` and leaves case undocumented, so this is
 * inferred. NULL on either side gives NULL.
 */
export function like(fail: Fail, text: Value, pattern: Value, escape: Value = null): Value {
    if (text === null || pattern === null) {
        return null;
    }
    const escapeChar = escape === null ? undefined : asString(escape, 'LIKE ESCAPE', fail);
    if (escapeChar !== undefined && escapeChar.length !== 1) {
        return fail(escapeChar, 'the LIKE escape must be a single character');
    }
    const regex = likeRegex(asString(pattern, 'LIKE pattern', fail), escapeChar, true, fail);
    return regex.test(asString(text, 'LIKE', fail));
}

const LIKE_CACHE = new Map<string, RegExp>();
const REGEX_CACHE = new Map<string, RegExp>();
const CACHE_LIMIT = 256;

function remember(cache: Map<string, RegExp>, key: string, regex: RegExp): void {
    if (cache.size >= CACHE_LIMIT) {
        cache.delete(cache.keys().next().value!);
    }
    cache.set(key, regex);
}

/**
 * Compiles a LIKE pattern to an anchored-at-end regular expression (anchored at the start too when `anchorStart`).
 * Patterns are usually literals, so compiled ones are cached.
 */
export function likeRegex(pattern: string, escape: string | undefined, anchorStart: boolean, fail: Fail): RegExp {
    const key = `${anchorStart ? '^' : ''}${escape ?? ''}\u0000${pattern}`;
    const cached = LIKE_CACHE.get(key);
    if (cached !== undefined) {
        return cached;
    }
    let source = anchorStart ? '^' : '';
    for (let index = 0; index < pattern.length; index++) {
        const char = pattern[index]!;
        if (char === escape) {
            const next = pattern[index + 1];
            if (next === undefined) {
                return fail(pattern, 'a LIKE pattern cannot end with its escape character');
            }
            source += escapeRegex(next);
            index += 1;
        } else if (char === '%') {
            source += '[\\s\\S]*';
        } else if (char === '_') {
            source += '[\\s\\S]';
        } else if (char === '[') {
            const close = pattern.indexOf(']', index + 2);
            if (close === -1) {
                source += '\\['; // an unclosed bracket is a literal, as in T-SQL
                continue;
            }
            let body = pattern.slice(index + 1, close);
            const negated = body.startsWith('^');
            if (negated) {
                body = body.slice(1);
            }
            const members = body.replace(/[\\\]^]/g, (special) => `\\${special}`);
            source += `[${negated ? '^' : ''}${members}]`;
            index = close;
        } else {
            source += escapeRegex(char);
        }
    }
    const regex = new RegExp(`${source}$`);
    remember(LIKE_CACHE, key, regex);
    return regex;
}

function escapeRegex(char: string): string {
    return /[\\^$.*+?()[\]{}|/-]/.test(char) ? `\\${char}` : char;
}
