import type { RpcTypedData } from './functionsCoreTypes';

/** Encodes a value as the host sends it to the worker: text stays text (the library JSON-parses it if it can). */
export function toTypedData(value: unknown): RpcTypedData {
    if (typeof value === 'string') {
        return { string: value };
    }
    if (Buffer.isBuffer(value)) {
        return { bytes: value };
    }
    if (typeof value === 'number') {
        return Number.isInteger(value) ? { int: value } : { double: value };
    }
    if (value instanceof Date) {
        return { string: value.toISOString() };
    }
    return { json: JSON.stringify(value) };
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
