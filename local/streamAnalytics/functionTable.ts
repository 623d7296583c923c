import * as dates from './dateFunctions';
import type { Fail } from './functions';
import * as math from './mathFunctions';
import * as records from './recordFunctions';
import * as strings from './stringFunctions';
import type { Value } from './values';

/**
 * The scalar built-in functions by upper-cased name, with their argument counts. compileExpression.ts looks calls
 * up here; a name that is not here (nor an aggregate, analytic or window function) fails at load as unsupported.
 * Names and argument lists: https://learn.microsoft.com/stream-analytics-query/built-in-functions-azure-stream-analytics
 * and each category's page.
 */
export interface ScalarFunction {
    readonly minArgs: number;
    readonly maxArgs: number;
    /**
     * The first argument is a date part keyword (`minute`, `mi`, ...), resolved when the query loads and passed to
     * evaluate as its canonical DatePart name.
     */
    readonly datePart?: true;
    readonly evaluate: (fail: Fail, ...args: Value[]) => Value;
}

function fixed(count: number, evaluate: ScalarFunction['evaluate']): ScalarFunction {
    return { minArgs: count, maxArgs: count, evaluate };
}

function withDatePart(
    count: number,
    evaluate: (part: dates.DatePart, fail: Fail, first: Value, second: Value) => Value,
): ScalarFunction {
    return {
        minArgs: count,
        maxArgs: count,
        datePart: true,
        // Explicit parameters rather than a rest array: DATEDIFF runs per event in TIMESTAMP BY and WHERE clauses.
        evaluate: (fail, part, first, second) => evaluate(part as dates.DatePart, fail, first ?? null, second ?? null),
    };
}

export const SCALAR_FUNCTIONS: ReadonlyMap<string, ScalarFunction> = new Map<string, ScalarFunction>([
    // string
    ['CHARINDEX', { minArgs: 2, maxArgs: 3, evaluate: strings.charIndex }],
    ['CONCAT', { minArgs: 2, maxArgs: Infinity, evaluate: strings.concat }],
    ['CONCAT_WS', { minArgs: 3, maxArgs: Infinity, evaluate: strings.concatWs }],
    ['LEFT', fixed(2, strings.left)],
    ['LEN', fixed(1, strings.len)],
    ['LOWER', fixed(1, strings.lower)],
    ['LTRIM', fixed(1, strings.ltrim)],
    ['NCHAR', fixed(1, strings.nchar)],
    ['PATINDEX', fixed(2, strings.patIndex)],
    ['REGEXMATCH', fixed(2, strings.regexMatch)],
    ['REPLACE', fixed(3, strings.replace)],
    ['REPLICATE', fixed(2, strings.replicate)],
    ['REVERSE', fixed(1, strings.reverse)],
    ['RIGHT', fixed(2, strings.right)],
    ['RTRIM', fixed(1, strings.rtrim)],
    ['SPACE', fixed(1, strings.space)],
    ['STUFF', fixed(4, strings.stuff)],
    ['SUBSTRING', fixed(3, strings.substring)],
    ['TRANSLATE', fixed(3, strings.translate)],
    ['TRIM', fixed(1, strings.trim)],
    ['UNICODE', fixed(1, strings.unicode)],
    ['UPPER', fixed(1, strings.upper)],
    // `a LIKE p [ESCAPE e]`, which the parser turns into this internal call
    ['$LIKE', { minArgs: 2, maxArgs: 3, evaluate: strings.like }],
    // mathematical
    ['ABS', fixed(1, math.abs)],
    ['CEILING', fixed(1, math.ceiling)],
    ['EXP', fixed(1, math.exp)],
    ['FLOOR', fixed(1, math.floor)],
    ['POWER', fixed(2, math.power)],
    ['ROUND', fixed(2, math.round)],
    ['SIGN', fixed(1, math.sign)],
    ['SQRT', fixed(1, math.sqrt)],
    ['SQUARE', fixed(1, math.square)],
    // date and time
    ['DATEADD', withDatePart(3, (part, fail, amount, date) => dates.dateAdd(part, amount, date, fail))],
    ['DATEDIFF', withDatePart(3, (part, fail, start, end) => dates.dateDiff(part, start, end, fail))],
    ['DATENAME', withDatePart(2, (part, fail, date) => dates.dateName(part, date, fail))],
    ['DATEPART', withDatePart(2, (part, fail, date) => dates.datePart(part, date, fail))],
    ['DATETIMEFROMPARTS', fixed(7, dates.dateTimeFromParts)],
    ['DAY', fixed(1, dates.day)],
    ['MONTH', fixed(1, dates.month)],
    ['YEAR', fixed(1, dates.year)],
    // array and record
    ['GETARRAYELEMENT', fixed(2, records.getArrayElement)],
    ['GETARRAYLENGTH', fixed(1, records.getArrayLength)],
    ['GETRECORDPROPERTYVALUE', fixed(2, records.getRecordPropertyValue)],
    ['JSON_PARSE', fixed(1, records.jsonParse)],
    // conversion
    ['GETTYPE', fixed(1, records.getType)],
]);

/** Table-valued functions: only valid as the source of CROSS APPLY / OUTER APPLY. */
export const TABLE_VALUED_FUNCTIONS = new Set(['GETARRAYELEMENTS', 'GETRECORDPROPERTIES']);
