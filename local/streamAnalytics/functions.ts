import type { DataTypeName } from './ast';
import { formatDotnetDouble } from './dotnetText';
import { compareDateTimes, DateTime, parseDateTime, parseDateTimeValue, typeName, type Value } from './values';

/**
 * Scalar built-ins and operators with Stream Analytics semantics. Each takes already-evaluated values and a `fail`
 * callback that raises a located runtime error, so the compiled closures stay free of position bookkeeping.
 */
export type Fail = (value: unknown, reason: string) => never;

/**
 * The text a value converts to in CONCAT, CAST(... AS nvarchar(max)) and string functions given a non-string:
 * whole numbers as bigints, other numbers as .NET prints a double (`1E-05`, `1E+21`), datetimes in the 7-digit ISO
 * form, bits as 1/0, records and arrays as JSON (inferred: the conversion of those is not documented).
 */
export function toText(value: Value): string {
    if (typeof value === 'string') {
        return value;
    }
    if (value instanceof DateTime) {
        return value.toJSON();
    }
    if (typeof value === 'boolean') {
        return value ? '1' : '0';
    }
    if (typeof value === 'number') {
        // Whole numbers within Int64 arrive as bigints (JSON integers are bigint) and print plainly; the engine cannot
        // tell a whole float from a bigint, so those print like bigints too (docs/stream-analytics.md, "Not emulated").
        return Number.isInteger(value) && Math.abs(value) < 2 ** 63
            ? BigInt(value).toString()
            : formatDotnetDouble(value);
    }
    return JSON.stringify(value);
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
            return asDateTimeValue(value, 'CAST', fail);
        case 'bit':
            return toBit(value, fail);
        case 'record':
            return isRecord(value) ? value : fail(value, `cannot CAST a ${typeName(value)} to record`);
        case 'array':
            return Array.isArray(value)
                ? (value as readonly Value[])
                : fail(value, `cannot CAST a ${typeName(value)} to array`);
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

/** A decimal number as .NET's invariant double.Parse reads it: no hex, no `Infinity`, surrounding blanks allowed. */
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

function toFloat(value: Value, fail: Fail): Value {
    if (typeof value === 'number') {
        return value;
    }
    if (typeof value === 'boolean') {
        return value ? 1 : 0;
    }
    if (typeof value === 'string' && DECIMAL.test(value)) {
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
    if (operator === '+' && typeof left === 'string' && typeof right === 'string') {
        // `+` concatenates two strings, as the SPACE page's example does (R:space).
        return left + right;
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
 * An operand of a bitwise operator (R:bitwise-operators): a bit (boolean) or a bigint (whole number). A float is
 * read as a bit, 0.0 as 0 and any other value as 1 (R:bitwise-and, R:data-types "Conversion to bit"), both when its
 * value is not whole and when the query shows it is a float (`asBit`, e.g. the literal `75.0`); a whole float from
 * data cannot be told from a bigint (docs/stream-analytics.md, "Not emulated").
 */
function bitOperand(
    operator: string,
    value: Value,
    asBit: boolean,
    fail: Fail,
): { readonly bit: boolean; readonly bits: bigint } {
    if (typeof value === 'boolean') {
        return { bit: true, bits: value ? 1n : 0n };
    }
    if (typeof value === 'number') {
        if (asBit || !Number.isInteger(value)) {
            return { bit: true, bits: value === 0 ? 0n : 1n };
        }
        return { bit: false, bits: BigInt(value) };
    }
    return fail(value, `operator ${operator} needs a bit or a bigint, not a ${typeName(value)}`);
}

/**
 * `&`, `|`, `^` on 64-bit two's complement integers. NULL on either side gives NULL; the result is a bit when both
 * operands are bits, else a bigint (R:bitwise-and, R:bitwise-or, R:bitwise-xor, "Return Types").
 */
export function bitwise(
    operator: '&' | '|' | '^',
    left: Value,
    leftAsBit: boolean,
    right: Value,
    rightAsBit: boolean,
    fail: Fail,
): Value {
    if (left === null || right === null) {
        return null;
    }
    const a = bitOperand(operator, left, leftAsBit, fail);
    const b = bitOperand(operator, right, rightAsBit, fail);
    const bits = operator === '&' ? a.bits & b.bits : operator === '|' ? a.bits | b.bits : a.bits ^ b.bits;
    return a.bit && b.bit ? bits !== 0n : Number(BigInt.asIntN(64, bits));
}

/** `~`: a bit flips (0 ↔ 1), a bigint is complemented in 64-bit two's complement, `~170` = -171 (R:bitwise-not). */
export function bitwiseNot(value: Value, asBit: boolean, fail: Fail): Value {
    if (value === null) {
        return null;
    }
    const operand = bitOperand('~', value, asBit, fail);
    return operand.bit ? operand.bits === 0n : Number(BigInt.asIntN(64, ~operand.bits));
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
    if (left instanceof DateTime || right instanceof DateTime) {
        const a = dateTimeValueOrUndefined(left);
        const b = dateTimeValueOrUndefined(right);
        return a !== undefined && b !== undefined ? compareDateTimes(a, b) : undefined;
    }
    return undefined;
}

/** Truthiness of a condition: only a true comparison passes; NULL and false do not. */
export function isTrue(value: Value): boolean {
    return value === true;
}

// ---------------------------------------------------------------- coercion helpers

/** A record value: a JSON object, not an array, not a datetime. */
export function isRecord(value: Value): value is { readonly [key: string]: Value } {
    return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof DateTime);
}

/** A string argument; numbers and datetimes convert to their text, anything else fails. */
export function asString(value: Value, what: string, fail: Fail): string {
    if (typeof value === 'string') {
        return value;
    }
    if (typeof value === 'number' || value instanceof DateTime) {
        return toText(value);
    }
    return fail(value, `${what} needs an nvarchar(max), not a ${typeName(value)}`);
}

/** An integer argument (bigint); a float is truncated toward zero, as a bigint parameter receives it. */
export function asInteger(value: Value, what: string, fail: Fail): number {
    if (typeof value === 'number' && Number.isFinite(value)) {
        return Math.trunc(value);
    }
    return fail(value, `${what} must be a bigint, not a ${typeName(value)}`);
}

/**
 * A numeric argument. A string is implicitly cast to float and a non-numeric string fails the job, as documented
 * for ROUND and MIN/MAX (https://learn.microsoft.com/azure/stream-analytics/input-validation); a bit counts as 1/0.
 */
export function asNumber(value: Value, what: string, fail: Fail): number {
    if (typeof value === 'number') {
        return value;
    }
    if (typeof value === 'boolean') {
        return value ? 1 : 0;
    }
    if (typeof value === 'string' && DECIMAL.test(value)) {
        return Number(value);
    }
    return fail(value, `${what} needs a bigint or float, not a ${typeName(value)}`);
}

/** Epoch milliseconds of a datetime argument (a datetime value or an ISO 8601 string). */
export function asDateTime(value: Value, what: string, fail: Fail): number {
    return asDateTimeValue(value, what, fail).ms;
}

/** A datetime argument with all seven fractional digits. */
export function asDateTimeValue(value: Value, what: string, fail: Fail): DateTime {
    return dateTimeValueOrUndefined(value) ?? fail(value, `${what} needs a datetime or an ISO 8601 string`);
}

function dateTimeValueOrUndefined(value: Value): DateTime | undefined {
    if (value instanceof DateTime) {
        return value;
    }
    return typeof value === 'string' ? parseDateTimeValue(value) : undefined;
}

/** Epoch milliseconds of a datetime or ISO string, or undefined. */
export function dateTimeMsOrUndefined(value: Value): number | undefined {
    if (value instanceof DateTime) {
        return value.ms;
    }
    return typeof value === 'string' ? parseDateTime(value) : undefined;
}
