import { formatStreamAnalyticsTime } from '../../domain/time';

/**
 * Runtime values. Stream Analytics types (bigint, float, nvarchar(max), datetime, bit, record, array) map onto
 * JavaScript numbers, strings, DateTime, booleans, objects and arrays; NULL is null. Event bodies are used as parsed
 * JSON, without copying, so a value may be any JSON value.
 */
export type Value = null | string | number | boolean | DateTime | readonly Value[] | { readonly [key: string]: Value };

/** 100 ns ticks per millisecond: a Stream Analytics datetime has 7 fractional-second digits (R:data-types). */
export const TICKS_PER_MS = 10_000;

/**
 * A Stream Analytics datetime: UTC with 100 ns precision (7 fractional digits,
 * https://learn.microsoft.com/stream-analytics-query/data-types-azure-stream-analytics). Held as epoch milliseconds
 * (`ms`, floored, what windows and watermarks read) plus the 100 ns ticks past that millisecond (`subMsTicks`,
 * 0–9999), so the hot path stays on plain numbers while ordering, equality and output keep all seven digits.
 */
export class DateTime {
    constructor(
        readonly ms: number,
        readonly subMsTicks: number = 0,
    ) {}

    /** Ticks of 100 ns since the Unix epoch, exact (a bigint, as the count passes 2^53). */
    epochTicks(): bigint {
        return BigInt(this.ms) * BigInt(TICKS_PER_MS) + BigInt(this.subMsTicks);
    }

    static fromEpochTicks(ticks: bigint): DateTime {
        const perMs = BigInt(TICKS_PER_MS);
        let ms = ticks / perMs;
        let rest = ticks % perMs;
        if (rest < 0n) {
            rest += perMs;
            ms -= 1n;
        }
        return new DateTime(Number(ms), Number(rest));
    }

    /** The JSON form Stream Analytics writes: ISO 8601 UTC with seven fractional digits. */
    toJSON(): string {
        return formatDateTime(this.ms, this.subMsTicks);
    }
}

/** Orders two datetimes by milliseconds, then by the 100 ns ticks within the millisecond. */
export function compareDateTimes(a: DateTime, b: DateTime): number {
    return a.ms - b.ms || a.subMsTicks - b.subMsTicks;
}

/**
 * ISO 8601 UTC with seven fractional digits, e.g. `2021-12-10T10:00:00.1234567Z` (A:input-validation): the one
 * format the recount also writes (domain/time.ts).
 */
export const formatDateTime = formatStreamAnalyticsTime;

const ISO_8601 =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

const FULL_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses the ISO 8601 forms Stream Analytics accepts in TIMESTAMP BY and CAST(... AS datetime) to epoch
 * milliseconds (digits beyond the millisecond are floored; parseDateTimeValue keeps them). A string without a zone
 * is UTC, because all Stream Analytics time handling is UTC. Returns undefined for anything else.
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
    return parseFull(text)?.ms;
}

/** Parses like parseDateTime, keeping all seven fractional digits. */
export function parseDateTimeValue(text: string): DateTime | undefined {
    return parseFull(text);
}

function parseFull(text: string): DateTime | undefined {
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
    const digits = (fraction ?? '').padEnd(7, '0');
    const millis = Number(digits.slice(0, 3));
    const subMsTicks = Number(digits.slice(3));
    // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
    const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, s, millis));
    date.setUTCFullYear(Number(year));
    let ms = date.getTime();
    if (date.getUTCDate() !== d) {
        return undefined; // 31 February and friends
    }
    if (zone !== undefined && zone.toUpperCase() !== 'Z') {
        const sign = zone.startsWith('-') ? -1 : 1;
        const offset = zone.slice(1).replace(':', '');
        ms -= sign * (Number(offset.slice(0, 2)) * 60 + Number(offset.slice(2) || 0)) * 60_000;
    }
    return new DateTime(ms, subMsTicks);
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
        return `\u0000d${value.ms}.${value.subMsTicks}`;
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
