import { asInteger, asNumber, type Fail } from './functions';
import type { Value } from './values';

/**
 * The mathematical functions of
 * https://learn.microsoft.com/stream-analytics-query/mathematical-functions-azure-stream-analytics. Arguments are
 * bigint or float; a string is implicitly cast to float and a non-numeric string fails the job
 * (https://learn.microsoft.com/azure/stream-analytics/input-validation). NULL gives NULL. A result that is not a
 * finite number (SQRT(-1), EXP(1000)) fails with a located error: JSON output cannot carry NaN or Infinity, and
 * T-SQL raises an error there too (inferred: the pages do not say).
 */

/** The result if it is finite; otherwise a located error quoting the argument that produced it. */
function finite(result: number, argument: Value, what: string, fail: Fail): number {
    return Number.isFinite(result) ? result : fail(argument, `${what} has no finite float result`);
}

export function abs(fail: Fail, value: Value): Value {
    return value === null ? null : Math.abs(asNumber(value, 'ABS', fail));
}

/** CEILING: the smallest integer not below the value, in the input's type (R:ceiling). */
export function ceiling(fail: Fail, value: Value): Value {
    return value === null ? null : Math.ceil(asNumber(value, 'CEILING', fail)) + 0;
}

/** FLOOR: the largest integer not above the value (R:floor). */
export function floor(fail: Fail, value: Value): Value {
    return value === null ? null : Math.floor(asNumber(value, 'FLOOR', fail)) + 0;
}

/** EXP: e raised to the value, a float (R:exp). */
export function exp(fail: Fail, value: Value): Value {
    return value === null ? null : finite(Math.exp(asNumber(value, 'EXP', fail)), value, 'EXP', fail);
}

/** POWER(x, y): x raised to y (R:power). */
export function power(fail: Fail, base: Value, exponent: Value): Value {
    if (base === null || exponent === null) {
        return null;
    }
    const result = Math.pow(asNumber(base, 'POWER', fail), asNumber(exponent, 'POWER', fail));
    return finite(result, [base, exponent], 'POWER', fail);
}

/** SIGN: -1, 0 or +1 (R:sign). */
export function sign(fail: Fail, value: Value): Value {
    return value === null ? null : Math.sign(asNumber(value, 'SIGN', fail)) + 0;
}

/** SQRT: the square root, a float; a negative argument is an error (R:sqrt). */
export function sqrt(fail: Fail, value: Value): Value {
    return value === null ? null : finite(Math.sqrt(asNumber(value, 'SQRT', fail)), value, 'SQRT', fail);
}

/** SQUARE: the value times itself, a float (R:square). */
export function square(fail: Fail, value: Value): Value {
    if (value === null) {
        return null;
    }
    const number = asNumber(value, 'SQUARE', fail);
    return finite(number * number, value, 'SQUARE', fail);
}

/**
 * ROUND(value, length): rounds to `length` decimals (negative: left of the point), halves away from zero
 * (R:round: 0.5 → 1.0, -0.5 → -1.0, 123.9995 at 3 → 124.0, 748.58 at -4 → 0). Done as .NET's
 * Math.Round(value, digits, MidpointRounding.AwayFromZero) does: scale, round, unscale; checked against .NET's
 * results in test/local/streamAnalytics/dotnet-string-reference.json.
 */
export function round(fail: Fail, value: Value, length: Value): Value {
    if (value === null || length === null) {
        return null;
    }
    const number = asNumber(value, 'ROUND', fail);
    const digits = asInteger(length, 'ROUND length', fail);
    if (digits >= 0) {
        if (digits > 15 || Math.abs(number) >= 1e16) {
            return number; // no fractional digits left to round at this precision
        }
        const scale = 10 ** digits;
        return roundHalfAwayFromZero(number * scale) / scale;
    }
    const scale = 10 ** -digits;
    return roundHalfAwayFromZero(number / scale) * scale + 0;
}

function roundHalfAwayFromZero(value: number): number {
    const whole = Math.trunc(value);
    const fraction = value - whole;
    return (Math.abs(fraction) >= 0.5 ? whole + Math.sign(fraction) : whole) + 0;
}
