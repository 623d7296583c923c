/**
 * .NET string semantics for the Stream Analytics string functions. Stream Analytics runs on .NET, whose
 * `ToUpperInvariant`/`ToLowerInvariant` map each code point to exactly one code point (simple case mapping: 'ß' and
 * 'ﬁ' stay themselves, the length never changes), while JavaScript's toUpperCase applies full case mapping
 * ('ß' → 'SS'). Whitespace is `char.IsWhiteSpace`, which is not JavaScript's `\s` (U+FEFF is not whitespace in
 * .NET). Both are checked code point by code point against .NET's own output, recorded by
 * scripts/dotnet-string-reference into test/local/streamAnalytics/dotnet-string-reference.json.
 *
 * Hand-written because no npm package implements .NET's invariant casing; it is JavaScript's mapping restricted to
 * one-to-one results, plus the places where the two Unicode tables differ (listed below, each found by that check).
 */

/**
 * Code points whose .NET invariant mapping differs from "JavaScript's mapping when it yields one code point":
 * ı (U+0131) keeps its case in the invariant culture; Greek letters with ypogegrammeni upper-case to their
 * title-case forms (simple mapping, where JavaScript's full mapping yields two code points).
 */
const UPPER_EXCEPTIONS = new Map<number, number>([
    [0x131, 0x131],
    ...range(0x1f80, 0x1f87).map((cp): [number, number] => [cp, cp + 8]),
    ...range(0x1f90, 0x1f97).map((cp): [number, number] => [cp, cp + 8]),
    ...range(0x1fa0, 0x1fa7).map((cp): [number, number] => [cp, cp + 8]),
    [0x1fb3, 0x1fbc],
    [0x1fc3, 0x1fcc],
    [0x1ff3, 0x1ffc],
]);

/**
 * Case pairs added in Unicode 16, which Node's ICU knows and .NET 10's invariant casing table does not: .NET
 * leaves both sides of these pairs unchanged.
 */
const NEWER_THAN_DOTNET: readonly (readonly [number, number])[] = [
    [0x1c89, 0x1c8a],
    [0xa7cb, 0xa7cf],
    [0xa7d2, 0xa7d5],
    [0xa7da, 0xa7dc],
    [0x10d50, 0x10d85],
    [0x16ea0, 0x16ed3],
];

function range(from: number, to: number): number[] {
    return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

function isNewerThanDotnet(cp: number): boolean {
    return NEWER_THAN_DOTNET.some(([low, high]) => cp >= low && cp <= high);
}

function mapCodePoint(cp: number, upper: boolean): number {
    if (upper) {
        const exception = UPPER_EXCEPTIONS.get(cp);
        if (exception !== undefined) {
            return exception;
        }
    }
    const text = String.fromCodePoint(cp);
    const mapped = upper ? text.toUpperCase() : text.toLowerCase();
    const first = mapped.codePointAt(0)!;
    // One code point in, one code point out: a longer result means only a full mapping exists; .NET keeps the char.
    if (mapped.length !== (first > 0xffff ? 2 : 1)) {
        return cp;
    }
    return isNewerThanDotnet(cp) || isNewerThanDotnet(first) ? cp : first;
}

function isAscii(text: string): boolean {
    for (let index = 0; index < text.length; index++) {
        if (text.charCodeAt(index) > 0x7f) {
            return false;
        }
    }
    return true;
}

function mapText(text: string, upper: boolean): string {
    // ASCII maps the same in both runtimes; it is the common case and stays on the fast built-in path.
    if (isAscii(text)) {
        return upper ? text.toUpperCase() : text.toLowerCase();
    }
    let result = '';
    for (const char of text) {
        result += String.fromCodePoint(mapCodePoint(char.codePointAt(0)!, upper));
    }
    return result;
}

/** .NET `string.ToUpperInvariant()`: the same number of UTF-16 code units out as in. */
export function toUpperInvariant(text: string): string {
    return mapText(text, true);
}

/** .NET `string.ToLowerInvariant()`: the same number of UTF-16 code units out as in. */
export function toLowerInvariant(text: string): string {
    return mapText(text, false);
}

/** .NET `char.IsWhiteSpace`: Unicode Zs, Zl, Zp plus U+0009–U+000D and U+0085 (no U+FEFF, unlike JavaScript). */
export function isDotnetWhiteSpace(code: number): boolean {
    if (code <= 0xff) {
        return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0x85 || code === 0xa0;
    }
    return (
        code === 0x1680 ||
        (code >= 0x2000 && code <= 0x200a) ||
        code === 0x2028 ||
        code === 0x2029 ||
        code === 0x202f ||
        code === 0x205f ||
        code === 0x3000
    );
}

/** .NET `string.TrimStart()` / `TrimEnd()` / `Trim()` with the `char.IsWhiteSpace` set. */
export function trimDotnet(text: string, start: boolean, end: boolean): string {
    let from = 0;
    let to = text.length;
    if (start) {
        while (from < to && isDotnetWhiteSpace(text.charCodeAt(from))) {
            from += 1;
        }
    }
    if (end) {
        while (to > from && isDotnetWhiteSpace(text.charCodeAt(to - 1))) {
            to -= 1;
        }
    }
    return text.slice(from, to);
}

/**
 * .NET `double.ToString(CultureInfo.InvariantCulture)` (shortest round-trip digits): the same digits as
 * JavaScript, but scientific notation when the decimal exponent is above 16 or below -4, written `1E+21` / `1E-07`
 * (at least two exponent digits), and negative zero as `-0`. Checked against .NET's output in the same fixture.
 */
export function formatDotnetDouble(value: number): string {
    if (Object.is(value, -0)) {
        return '-0';
    }
    if (!Number.isFinite(value)) {
        return Number.isNaN(value) ? 'NaN' : value > 0 ? '∞' : '-∞';
    }
    const [mantissa, exponentText] = value.toExponential().split('e') as [string, string];
    const exponent = Number(exponentText);
    if (exponent > 16 || exponent < -4) {
        const sign = exponent < 0 ? '-' : '+';
        return `${mantissa.toUpperCase()}E${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
    }
    // Within that range JavaScript prints plain decimals as .NET does, except that it switches to exponents itself
    // at 1e21 (never reached here) and at 1e-7 (never reached here).
    return String(value);
}
