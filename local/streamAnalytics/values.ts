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

/**
 * Parses the ISO 8601 forms Stream Analytics accepts in TIMESTAMP BY and CAST(... AS datetime) to epoch
 * milliseconds (digits beyond the millisecond are floored; parseDateTimeValue keeps them). A string without a zone
 * is UTC, because all Stream Analytics time handling is UTC. Returns undefined for anything else.
 *
 * The one datetime reader of the engine: parseFull is the grammar; isoUtcMs is only a faster way to read the form
 * events carry (`...T..:..:..[.f]Z`) and hands everything else to parseFull. properties.test.ts checks that the two
 * agree on arbitrary ISO 8601 text (fractions of 0 to 8 digits, offsets, zone-less text, impossible dates).
 */
export function parseDateTime(text: string): number | undefined {
    return isoUtcMs(text) ?? parseFull(text)?.ms;
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

/**
 * Reads `YYYY-MM-DDTHH:MM:SS[.f{1,7}]Z` from its character codes, in milliseconds (fraction truncated, as
 * parseFull does); undefined for any other form or an impossible date. Hand-written because the regular
 * expression and Date.parse it replaces were a fifth of the engine's time per event (bench/streamAnalytics.bench.ts).
 */
export function isoUtcMs(text: string): number | undefined {
    const length = text.length;
    if (length < 20 || length > 28 || (text.charCodeAt(length - 1) | 0x20) !== 0x7a /* z */) {
        return undefined;
    }
    if (
        text.charCodeAt(4) !== 45 ||
        text.charCodeAt(7) !== 45 ||
        (text.charCodeAt(10) | 0x20) !== 0x74 /* t */ ||
        text.charCodeAt(13) !== 58 ||
        text.charCodeAt(16) !== 58
    ) {
        return undefined;
    }
    const year = digits(text, 0, 4);
    const month = digits(text, 5, 2);
    const day = digits(text, 8, 2);
    const hour = digits(text, 11, 2);
    const minute = digits(text, 14, 2);
    const second = digits(text, 17, 2);
    let millis = 0;
    if (length > 20) {
        if (text.charCodeAt(19) !== 46 || length === 21) {
            return undefined;
        }
        const fraction = digits(text, 20, length - 21);
        if (fraction < 0) {
            return undefined;
        }
        millis = Math.floor((fraction * 1000) / 10 ** (length - 21));
    }
    if (
        year < 0 ||
        month < 1 ||
        month > 12 ||
        day < 1 ||
        day > daysInMonth(year, month) ||
        hour < 0 ||
        hour > 23 ||
        minute < 0 ||
        minute > 59 ||
        second < 0 ||
        second > 59
    ) {
        return undefined;
    }
    // Days from 1970-01-01 for a proleptic Gregorian date (H. Hinnant's days_from_civil).
    const y = month <= 2 ? year - 1 : year;
    const era = Math.floor(y / 400);
    const yearOfEra = y - era * 400;
    const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
    const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
    const days = era * 146_097 + dayOfEra - 719_468;
    return days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis;
}

/** The decimal number in text[at, at + count), or -1 when a character is not a digit. */
function digits(text: string, at: number, count: number): number {
    let value = 0;
    for (let index = at; index < at + count; index += 1) {
        const code = text.charCodeAt(index) - 48;
        if (code < 0 || code > 9) {
            return -1;
        }
        value = value * 10 + code;
    }
    return value;
}

function daysInMonth(year: number, month: number): number {
    if (month === 2) {
        return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
    }
    return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
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
