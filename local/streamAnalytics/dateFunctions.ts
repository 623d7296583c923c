import { asDateTimeValue, asInteger, type Fail } from './functions';
import { DateTime, type Value } from './values';

/**
 * The date and time functions of
 * https://learn.microsoft.com/stream-analytics-query/date-and-time-functions-azure-stream-analytics, on 100 ns
 * datetimes (values.ts). Date arguments may be datetimes or ISO 8601 strings. Week and weekday follow T-SQL's
 * us_english defaults, which Stream Analytics' pages do not restate (inferred): weeks start on Sunday, weekday 1 is
 * Sunday, week 1 is the week holding 1 January.
 */

export type DatePart =
    | 'year'
    | 'quarter'
    | 'month'
    | 'dayofyear'
    | 'day'
    | 'week'
    | 'weekday'
    | 'hour'
    | 'minute'
    | 'second'
    | 'millisecond'
    | 'microsecond'
    | 'nanosecond';

/**
 * Date-part names and abbreviations from the DATEADD/DATEDIFF/DATEPART/DATENAME pages. `nanosecond` (ns) is not
 * in those pages' table; it is accepted as T-SQL does, its values being multiples of 100 at datetime's precision.
 */
export const DATE_PARTS: Readonly<Record<string, DatePart>> = {
    YEAR: 'year', YY: 'year', YYYY: 'year',
    QUARTER: 'quarter', QQ: 'quarter', Q: 'quarter',
    MONTH: 'month', MM: 'month', M: 'month',
    DAYOFYEAR: 'dayofyear', DY: 'dayofyear', Y: 'dayofyear',
    DAY: 'day', DD: 'day', D: 'day',
    WEEK: 'week', WK: 'week', WW: 'week',
    WEEKDAY: 'weekday', DW: 'weekday', W: 'weekday',
    HOUR: 'hour', HH: 'hour',
    MINUTE: 'minute', MI: 'minute', N: 'minute',
    SECOND: 'second', SS: 'second', S: 'second',
    MILLISECOND: 'millisecond', MS: 'millisecond',
    MICROSECOND: 'microsecond', MCS: 'microsecond',
    NANOSECOND: 'nanosecond', NS: 'nanosecond',
}; // prettier-ignore

const MS_PER_DAY = 86_400_000;

/** Parts of fixed length in milliseconds (day-like parts included: they all add whole days). */
const FIXED_PART_MS: Partial<Record<DatePart, number>> = {
    week: 7 * MS_PER_DAY,
    day: MS_PER_DAY,
    dayofyear: MS_PER_DAY,
    weekday: MS_PER_DAY,
    hour: 3_600_000,
    minute: 60_000,
    second: 1000,
    millisecond: 1,
};

/** Parts shorter than a millisecond, in 100 ns ticks (nanosecond: 1/100 tick, so only DATEPART/DATEDIFF use it). */
const SUB_MS_PART_TICKS: Partial<Record<DatePart, number>> = { microsecond: 10, nanosecond: 0.01 };

const MONTHS_PER_PART: Partial<Record<DatePart, number>> = { year: 12, quarter: 3, month: 1 };

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.9999999Z, the datetime range (.NET DateTime). */
const MIN_DATETIME_MS = new Date(Date.UTC(2000, 0, 1)).setUTCFullYear(1, 0, 1);
const MAX_DATETIME_MS = new Date(Date.UTC(2000, 0, 1)).setUTCFullYear(9999, 11, 31) + MS_PER_DAY - 1;

function checkedDateTime(ms: number, subMsTicks: number, fail: Fail, what: string): DateTime {
    if (!(ms >= MIN_DATETIME_MS && ms <= MAX_DATETIME_MS)) {
        return fail(ms, `${what} is outside the datetime range 0001-01-01 to 9999-12-31`);
    }
    return new DateTime(ms, subMsTicks);
}

/**
 * DATEADD(part, number, date): adds `number` (a float is truncated, not rounded) parts; month-based parts keep the
 * day of month, clamped to the target month's last day (T-SQL); returns a datetime (the page's "bigint" is a doc
 * bug: its examples use the result as a datetime).
 */
export function dateAdd(part: DatePart, amount: Value, date: Value, fail: Fail): Value {
    if (amount === null || date === null) {
        return null;
    }
    const count = asInteger(amount, 'DATEADD number', fail);
    const start = asDateTimeValue(date, 'DATEADD', fail);
    const fixed = FIXED_PART_MS[part];
    if (fixed !== undefined) {
        return checkedDateTime(start.ms + count * fixed, start.subMsTicks, fail, 'the DATEADD result');
    }
    const ticks = SUB_MS_PART_TICKS[part];
    if (ticks !== undefined) {
        // Sub-tick nanoseconds truncate toward zero, as T-SQL rounds nanoseconds to the type's precision.
        const added = start.epochTicks() + BigInt(Math.trunc(count * ticks));
        const result = DateTime.fromEpochTicks(added);
        return checkedDateTime(result.ms, result.subMsTicks, fail, 'the DATEADD result');
    }
    const from = new Date(start.ms);
    const totalMonths = from.getUTCFullYear() * 12 + from.getUTCMonth() + count * MONTHS_PER_PART[part]!;
    const year = Math.floor(totalMonths / 12);
    const month = totalMonths - year * 12;
    const target = new Date(0);
    target.setUTCFullYear(year, month + 1, 0);
    const lastDay = target.getUTCDate();
    target.setUTCFullYear(year, month, Math.min(from.getUTCDate(), lastDay));
    const timeOfDay = start.ms - startOfDay(start.ms);
    return checkedDateTime(target.getTime() + timeOfDay, start.subMsTicks, fail, 'the DATEADD result');
}

function startOfDay(ms: number): number {
    return Math.floor(ms / MS_PER_DAY) * MS_PER_DAY;
}

/**
 * DATEDIFF(part, start, end): a bigint count of `part` boundaries crossed from start to end, negative when end is
 * earlier (T-SQL semantics: `minute` from 12:00:59 to 12:01:00 is 1). Weeks cross on Sundays.
 */
export function dateDiff(part: DatePart, start: Value, end: Value, fail: Fail): Value {
    if (start === null || end === null) {
        return null;
    }
    const from = asDateTimeValue(start, 'DATEDIFF', fail);
    const to = asDateTimeValue(end, 'DATEDIFF', fail);
    if (part === 'week') {
        return sundayWeekIndex(to.ms) - sundayWeekIndex(from.ms);
    }
    const fixed = FIXED_PART_MS[part];
    if (fixed !== undefined) {
        // Boundaries of a millisecond or longer depend only on the whole milliseconds.
        return Math.floor(to.ms / fixed) - Math.floor(from.ms / fixed);
    }
    if (part === 'microsecond') {
        return Number(floorDiv(to.epochTicks(), 10n) - floorDiv(from.epochTicks(), 10n));
    }
    if (part === 'nanosecond') {
        return Number((to.epochTicks() - from.epochTicks()) * 100n);
    }
    const months = (ms: number): number => {
        const date = new Date(ms);
        return date.getUTCFullYear() * 12 + date.getUTCMonth();
    };
    const perPart = MONTHS_PER_PART[part]!;
    return Math.floor(months(to.ms) / perPart) - Math.floor(months(from.ms) / perPart);
}

function floorDiv(a: bigint, b: bigint): bigint {
    const quotient = a / b;
    return a % b < 0n ? quotient - 1n : quotient;
}

/** Weeks since the Sunday before the epoch (1970-01-01 was a Thursday). */
function sundayWeekIndex(ms: number): number {
    return Math.floor((Math.floor(ms / MS_PER_DAY) + 4) / 7);
}

/** DATEPART(part, date): the part as a bigint (R:datepart). */
export function datePart(part: DatePart, date: Value, fail: Fail): Value {
    if (date === null) {
        return null;
    }
    const value = asDateTimeValue(date, 'DATEPART', fail);
    return datePartOf(part, value);
}

function datePartOf(part: DatePart, value: DateTime): number {
    const date = new Date(value.ms);
    const millisecond = date.getUTCMilliseconds();
    switch (part) {
        case 'year':
            return date.getUTCFullYear();
        case 'quarter':
            return Math.floor(date.getUTCMonth() / 3) + 1;
        case 'month':
            return date.getUTCMonth() + 1;
        case 'dayofyear':
            return dayOfYear(date);
        case 'day':
            return date.getUTCDate();
        case 'week': {
            const januaryFirst = new Date(0);
            januaryFirst.setUTCFullYear(date.getUTCFullYear(), 0, 1);
            return sundayWeekIndex(value.ms) - sundayWeekIndex(januaryFirst.getTime()) + 1;
        }
        case 'weekday':
            return date.getUTCDay() + 1;
        case 'hour':
            return date.getUTCHours();
        case 'minute':
            return date.getUTCMinutes();
        case 'second':
            return date.getUTCSeconds();
        case 'millisecond':
            return millisecond;
        case 'microsecond':
            return millisecond * 1000 + Math.floor(value.subMsTicks / 10);
        case 'nanosecond':
            return millisecond * 1_000_000 + value.subMsTicks * 100;
    }
}

function dayOfYear(date: Date): number {
    const januaryFirst = new Date(0);
    januaryFirst.setUTCFullYear(date.getUTCFullYear(), 0, 1);
    return Math.floor((startOfDay(date.getTime()) - januaryFirst.getTime()) / MS_PER_DAY) + 1;
}

const MONTH_NAMES = [
    'January', 'February', 'March', 'April', 'May', 'June',
    'July', 'August', 'September', 'October', 'November', 'December',
]; // prettier-ignore
const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/**
 * DATENAME(part, date): nvarchar(max); month and weekday are English names (the page's example names a month; the
 * language is not documented, so us_english as in T-SQL is inferred), every other part is DATEPART's number as text.
 */
export function dateName(part: DatePart, date: Value, fail: Fail): Value {
    if (date === null) {
        return null;
    }
    const value = asDateTimeValue(date, 'DATENAME', fail);
    const at = new Date(value.ms);
    if (part === 'month') {
        return MONTH_NAMES[at.getUTCMonth()]!;
    }
    if (part === 'weekday') {
        return WEEKDAY_NAMES[at.getUTCDay()]!;
    }
    return String(datePartOf(part, value));
}

/**
 * DATETIMEFROMPARTS(year, month, day, hour, minute, seconds, milliseconds): a datetime; any NULL part gives NULL;
 * a part outside its range is an error (T-SQL; the page leaves overflow undocumented).
 */
export function dateTimeFromParts(fail: Fail, ...parts: Value[]): Value {
    if (parts.some((part) => part === null)) {
        return null;
    }
    const names = ['year', 'month', 'day', 'hour', 'minute', 'seconds', 'milliseconds'];
    const [year, month, day, hour, minute, second, millisecond] = parts.map((part, index) =>
        asInteger(part, `DATETIMEFROMPARTS ${names[index]!}`, fail),
    ) as [number, number, number, number, number, number, number];
    const limits: [number, number, number][] = [
        [year, 1, 9999],
        [month, 1, 12],
        [day, 1, 31],
        [hour, 0, 23],
        [minute, 0, 59],
        [second, 0, 59],
        [millisecond, 0, 999],
    ];
    for (const [index, [value, low, high]] of limits.entries()) {
        if (value < low || value > high) {
            return fail(value, `DATETIMEFROMPARTS ${names[index]!} must be between ${low} and ${high}`);
        }
    }
    const date = new Date(0);
    date.setUTCFullYear(year, month - 1, day);
    date.setUTCHours(hour, minute, second, millisecond);
    if (date.getUTCDate() !== day) {
        return fail([year, month, day], 'DATETIMEFROMPARTS names a day the month does not have');
    }
    return new DateTime(date.getTime());
}

/** DAY(date), MONTH(date), YEAR(date): bigint parts (R:day, R:month, R:year). */
export function day(fail: Fail, date: Value): Value {
    return date === null ? null : datePartOf('day', asDateTimeValue(date, 'DAY', fail));
}

export function month(fail: Fail, date: Value): Value {
    return date === null ? null : datePartOf('month', asDateTimeValue(date, 'MONTH', fail));
}

export function year(fail: Fail, date: Value): Value {
    return date === null ? null : datePartOf('year', asDateTimeValue(date, 'YEAR', fail));
}
