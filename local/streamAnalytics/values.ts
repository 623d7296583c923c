import { formatStreamAnalyticsTime } from '../../domain/time';

/**
 * Runtime values. Stream Analytics types (bigint, float, nvarchar(max), datetime, bit, record, array) map onto
 * JavaScript numbers, strings, DateTime, booleans, objects and arrays; NULL is null. Event bodies are used as parsed
 * JSON, without copying, so a value may be any JSON value.
 */
export type Value = null | string | number | boolean | DateTime | readonly Value[] | { readonly [key: string]: Value };

/**
 * A Stream Analytics datetime. Held as epoch milliseconds: the service keeps 100 ns ticks, but every input this
 * project has (Event Hubs enqueued time, ISO strings from Date) is millisecond-precise.
 */
export class DateTime {
    constructor(readonly ms: number) {}

    /** The JSON form Stream Analytics writes: ISO 8601 UTC with seven fractional digits. */
    toJSON(): string {
        return formatDateTime(this.ms);
    }
}

/** The engine writes datetimes in the one format the recount also writes (domain/time.ts). */
export const formatDateTime = formatStreamAnalyticsTime;

const ISO_8601 =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

const FULL_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses the ISO 8601 forms Stream Analytics accepts in TIMESTAMP BY and CAST(... AS datetime). A string without a
 * zone is UTC, because all Stream Analytics time handling is UTC. Returns undefined for anything else.
 */
export function parseDateTime(text: string): number | undefined {
    // Fast path for the common full form with an explicit zone. Date.parse reads it exactly, except that it rolls
    // impossible dates over (31 February becomes 3 March), hence the field checks; zone-less strings must not reach
    // Date.parse at all (it would read them in the machine's local time).
    if (
        FULL_WITH_ZONE.test(text) &&
        twoDigits(text, 8) <= 28 &&
        twoDigits(text, 11) < 24 &&
        twoDigits(text, 14) < 60 &&
        twoDigits(text, 17) < 60
    ) {
        const ms = Date.parse(text);
        if (!Number.isNaN(ms)) {
            return ms;
        }
    }
    const match = ISO_8601.exec(text);
    if (!match) {
        return undefined;
    }
    const [, year, month, day, hour, minute, second, fraction, zone] = match;
    const fields = [Number(month), Number(day), Number(hour ?? 0), Number(minute ?? 0), Number(second ?? 0)];
    const [mo, d, h, mi, s] = fields as [number, number, number, number, number];
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) {
        return undefined;
    }
    const millis = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000);
    let ms = Date.UTC(Number(year), mo - 1, d, h, mi, s, millis);
    if (new Date(ms).getUTCDate() !== d) {
        return undefined; // 31 February and friends
    }
    if (zone !== undefined && zone.toUpperCase() !== 'Z') {
        const sign = zone.startsWith('-') ? -1 : 1;
        const digits = zone.slice(1).replace(':', '');
        ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * 60_000;
    }
    return ms;
}

function twoDigits(text: string, at: number): number {
    return (text.charCodeAt(at) - 48) * 10 + text.charCodeAt(at + 1) - 48;
}

/** The Stream Analytics type name of a value, for error messages. */
export function typeName(value: Value): string {
    if (value === null) {
        return 'NULL';
    }
    if (value instanceof DateTime) {
        return 'datetime';
    }
    if (Array.isArray(value)) {
        return 'array';
    }
    switch (typeof value) {
        case 'string':
            return 'nvarchar(max)';
        case 'number':
            return Number.isInteger(value) ? 'bigint' : 'float';
        case 'boolean':
            return 'bit';
        default:
            return 'record';
    }
}

/**
 * A Map/Set key that is equal exactly when two values are equal in Stream Analytics: strings stay themselves (the
 * common case, kept allocation-free), other values get a tagged string that cannot collide with a plain string.
 */
export function valueKey(value: Value): string | number {
    if (typeof value === 'string' || typeof value === 'number') {
        return value;
    }
    if (value instanceof DateTime) {
        return `\u0000d${value.ms}`;
    }
    return `\u0000j${JSON.stringify(value)}`;
}

/** Converts a value to what the output writes: datetimes become their seven-digit ISO strings. */
export function toOutputValue(value: Value): unknown {
    if (value instanceof DateTime) {
        return value.toJSON();
    }
    if (value !== null && typeof value === 'object') {
        return JSON.parse(JSON.stringify(value)) as unknown;
    }
    return value;
}
