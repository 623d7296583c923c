import type { DataTypeName } from './ast';
import { DateTime, formatDateTime, parseDateTime, typeName, type Value } from './values';

/**
 * Scalar built-ins and operators with Stream Analytics semantics. Each takes already-evaluated values and a `fail`
 * callback that raises a located runtime error, so the compiled closures stay free of position bookkeeping.
 */
export type Fail = (value: unknown, reason: string) => never;

// ---------------------------------------------------------------- strings

/** SUBSTRING(expression, start, length): 1-based; start < 1 still counts from position start. */
export function substring(text: Value, start: Value, length: Value, fail: Fail): Value {
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

export function upper(text: Value, fail: Fail): Value {
    return text === null ? null : asString(text, 'UPPER', fail).toUpperCase();
}

export function lower(text: Value, fail: Fail): Value {
    return text === null ? null : asString(text, 'LOWER', fail).toLowerCase();
}

/** LEN: characters excluding trailing blanks, as documented. */
export function len(text: Value, fail: Fail): Value {
    return text === null ? null : asString(text, 'LEN', fail).replace(/ +$/, '').length;
}

/** CONCAT: NULL arguments count as empty strings; other types are converted to text. */
export function concat(values: readonly Value[]): Value {
    let result = '';
    for (const value of values) {
        if (value !== null) {
            result += toText(value);
        }
    }
    return result;
}

function toText(value: Value): string {
    if (typeof value === 'string') {
        return value;
    }
    if (value instanceof DateTime) {
        return formatDateTime(value.ms);
    }
    if (typeof value === 'boolean') {
        return value ? '1' : '0';
    }
    return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

// ---------------------------------------------------------------- dates

export type DatePart = 'year' | 'quarter' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'millisecond';

/** Date-part names and abbreviations from the DATEADD/DATEDIFF reference; week, weekday and microsecond are not here. */
export const DATE_PARTS: Readonly<Record<string, DatePart>> = {
    YEAR: 'year', YY: 'year', YYYY: 'year',
    QUARTER: 'quarter', QQ: 'quarter', Q: 'quarter',
    MONTH: 'month', MM: 'month', M: 'month',
    DAYOFYEAR: 'day', DY: 'day', Y: 'day', DAY: 'day', DD: 'day', D: 'day',
    HOUR: 'hour', HH: 'hour',
    MINUTE: 'minute', MI: 'minute', N: 'minute',
    SECOND: 'second', SS: 'second', S: 'second',
    MILLISECOND: 'millisecond', MS: 'millisecond',
}; // prettier-ignore

const FIXED_PART_MS: Partial<Record<DatePart, number>> = {
    day: 86_400_000,
    hour: 3_600_000,
    minute: 60_000,
    second: 1000,
    millisecond: 1,
};

const MONTHS_PER_PART: Partial<Record<DatePart, number>> = { year: 12, quarter: 3, month: 1 };

export function dateAdd(part: DatePart, amount: Value, date: Value, fail: Fail): Value {
    if (amount === null || date === null) {
        return null;
    }
    const count = asInteger(amount, 'DATEADD number', fail);
    const ms = asDateTime(date, 'DATEADD', fail);
    const fixed = FIXED_PART_MS[part];
    if (fixed !== undefined) {
        return new DateTime(ms + count * fixed);
    }
    // Calendar parts keep the day of month, clamped to the target month's last day (T-SQL behaviour).
    const start = new Date(ms);
    const totalMonths = start.getUTCFullYear() * 12 + start.getUTCMonth() + count * MONTHS_PER_PART[part]!;
    const year = Math.floor(totalMonths / 12);
    const month = totalMonths - year * 12;
    const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    const timeOfDay = ms - Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
    return new DateTime(Date.UTC(year, month, Math.min(start.getUTCDate(), lastDay)) + timeOfDay);
}

/** DATEDIFF counts date-part boundaries crossed between start and end (end minus start), as a bigint. */
export function dateDiff(part: DatePart, start: Value, end: Value, fail: Fail): Value {
    if (start === null || end === null) {
        return null;
    }
    const from = asDateTime(start, 'DATEDIFF', fail);
    const to = asDateTime(end, 'DATEDIFF', fail);
    const fixed = FIXED_PART_MS[part];
    if (fixed !== undefined) {
        return Math.floor(to / fixed) - Math.floor(from / fixed);
    }
    const months = (date: Date): number => date.getUTCFullYear() * 12 + date.getUTCMonth();
    const perPart = MONTHS_PER_PART[part]!;
    return Math.floor(months(new Date(to)) / perPart) - Math.floor(months(new Date(from)) / perPart);
}

// ---------------------------------------------------------------- conversions

/** CAST / TRY_CAST. `fail` is only called by CAST; TRY_CAST passes one that makes the result NULL. */
export function cast(value: Value, type: DataTypeName, fail: Fail): Value {
    if (value === null) {
        return null;
    }
    switch (type) {
        case 'bigint':
            return toBigint(value, fail);
        case 'float':
            return toFloat(value, fail);
        case 'nvarchar(max)':
            if (typeof value === 'object' && !(value instanceof DateTime)) {
                return fail(value, `cannot CAST a ${typeName(value)} to nvarchar(max)`);
            }
            return toText(value);
        case 'datetime':
            return new DateTime(asDateTime(value, 'CAST', fail));
        case 'bit':
            return toBit(value, fail);
    }
}

function toBigint(value: Value, fail: Fail): Value {
    if (typeof value === 'number') {
        return Math.trunc(value);
    }
    if (typeof value === 'boolean') {
        return value ? 1 : 0;
    }
    if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) {
        return Number(value);
    }
    return fail(value, `cannot CAST a ${typeName(value)} to bigint`);
}

function toFloat(value: Value, fail: Fail): Value {
    if (typeof value === 'number') {
        return value;
    }
    if (typeof value === 'boolean') {
        return value ? 1 : 0;
    }
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
        return Number(value);
    }
    return fail(value, `cannot CAST a ${typeName(value)} to float`);
}

function toBit(value: Value, fail: Fail): Value {
    if (typeof value === 'boolean') {
        return value;
    }
    if (typeof value === 'number') {
        return value !== 0;
    }
    if (typeof value === 'string' && /^(true|false|1|0)$/i.test(value.trim())) {
        return /^(true|1)$/i.test(value.trim());
    }
    return fail(value, `cannot CAST a ${typeName(value)} to bit`);
}

// ---------------------------------------------------------------- operators

export function arithmetic(operator: '+' | '-' | '*' | '/' | '%', left: Value, right: Value, fail: Fail): Value {
    if (left === null || right === null) {
        return null;
    }
    if (typeof left !== 'number' || typeof right !== 'number') {
        return fail([left, right], `operator ${operator} needs numbers, not ${typeName(left)} and ${typeName(right)}`);
    }
    switch (operator) {
        case '+':
            return left + right;
        case '-':
            return left - right;
        case '*':
            return left * right;
        case '/':
        case '%': {
            if (right === 0) {
                return fail(right, 'division by zero');
            }
            if (operator === '%') {
                return left % right;
            }
            // Numbers do not remember whether they were bigint or float (2.0 from AVG is 2), so division is always
            // exact; integer division is CAST(a / b AS bigint). See docs/stream-analytics.md, "Not emulated".
            return left / right;
        }
    }
}

/**
 * Orders two values of comparable types: numbers with numbers, strings with strings (ordinal), datetimes with
 * datetimes or ISO strings. NULL on either side, or incomparable types, give undefined (the comparison is NULL).
 */
export function compare(left: Value, right: Value): number | undefined {
    if (left === null || right === null) {
        return undefined;
    }
    if (typeof left === 'number' && typeof right === 'number') {
        return left - right;
    }
    if (typeof left === 'string' && typeof right === 'string') {
        return left < right ? -1 : left > right ? 1 : 0;
    }
    if (typeof left === 'boolean' || typeof right === 'boolean') {
        const a = typeof left === 'boolean' ? Number(left) : left;
        const b = typeof right === 'boolean' ? Number(right) : right;
        return typeof a === 'number' && typeof b === 'number' ? a - b : undefined;
    }
    const leftMs = dateTimeOrUndefined(left);
    const rightMs = dateTimeOrUndefined(right);
    if (leftMs !== undefined && rightMs !== undefined && (left instanceof DateTime || right instanceof DateTime)) {
        return leftMs - rightMs;
    }
    return undefined;
}

/** Truthiness of a condition: only a true comparison passes; NULL and false do not. */
export function isTrue(value: Value): boolean {
    return value === true;
}

// ---------------------------------------------------------------- coercion helpers

function asString(value: Value, what: string, fail: Fail): string {
    if (typeof value === 'string') {
        return value;
    }
    if (typeof value === 'number' || value instanceof DateTime) {
        return toText(value);
    }
    return fail(value, `${what} needs an nvarchar(max), not a ${typeName(value)}`);
}

function asInteger(value: Value, what: string, fail: Fail): number {
    if (typeof value === 'number' && Number.isFinite(value)) {
        return Math.trunc(value);
    }
    return fail(value, `${what} must be a bigint`);
}

export function asDateTime(value: Value, what: string, fail: Fail): number {
    const ms = dateTimeOrUndefined(value);
    return ms ?? fail(value, `${what} needs a datetime or an ISO 8601 string`);
}

function dateTimeOrUndefined(value: Value): number | undefined {
    if (value instanceof DateTime) {
        return value.ms;
    }
    return typeof value === 'string' ? parseDateTime(value) : undefined;
}
