import type { RpcTypedData } from './functionsCoreTypes';

/** Encodes a value as the host sends it to the worker: text stays text (the library JSON-parses it if it can). */
export function toTypedData(value: unknown): RpcTypedData {
    if (typeof value === 'string') {
        return textTypedData(value);
    }
    if (Buffer.isBuffer(value)) {
        return { bytes: value };
    }
    if (typeof value === 'number') {
        return Number.isInteger(value) ? { int: value } : { double: value };
    }
    if (value instanceof Date) {
        return textTypedData(value.toISOString());
    }
    return { json: JSON.stringify(value) };
}

/**
 * The library decodes `{ string }` by trying JSON.parse and keeping the text when that throws. Most trigger
 * metadata (message ids, ISO times, lock tokens) is not JSON, so every invocation threw and caught several
 * SyntaxErrors: a tenth of this process's CPU at 5,000 names/s. Text that JSON.parse would certainly reject is
 * sent as `{ json }` of itself instead, which the library decodes to the same string without throwing; anything
 * that might be JSON keeps the host's encoding, so the library's own parse decides it.
 */
function textTypedData(text: string): RpcTypedData {
    return mightBeJson(text) ? { string: text } : { json: JSON.stringify(text) };
}

const JSON_WHITESPACE = ' \t\n\r';
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?[ \t\n\r]*$/;

function mightBeJson(text: string): boolean {
    let start = 0;
    while (start < text.length && JSON_WHITESPACE.includes(text.charAt(start))) {
        start++;
    }
    const first = text.charAt(start);
    if (first === '-' || (first >= '0' && first <= '9')) {
        return JSON_NUMBER.test(text.slice(start));
    }
    // Objects, arrays, strings, true, false and null: let the library's JSON.parse decide.
    return first !== '' && '{["tfn'.includes(first);
}

/** Decodes what the library returned for an output binding into the value the binding extension would get. */
export function fromTypedData(data: RpcTypedData | null | undefined): unknown {
    if (!data) {
        return undefined;
    }
    if (data.string !== undefined && data.string !== null) {
        return data.string;
    }
    if (data.json !== undefined && data.json !== null) {
        return JSON.parse(data.json);
    }
    if (data.bytes) {
        return Buffer.from(data.bytes);
    }
    if (data.int !== undefined && data.int !== null) {
        return data.int;
    }
    if (data.double !== undefined && data.double !== null) {
        return data.double;
    }
    if (data.http !== undefined) {
        return data.http;
    }
    return undefined;
}
