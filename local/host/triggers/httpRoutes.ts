/** A compiled Functions route template such as `letter-counts`, `items/{id:int}` or `files/{*path}`. */
export interface RouteMatcher {
    template: string;
    match(path: string): Record<string, string> | undefined;
}

/** Thrown at start-up for a route template the host would reject, naming the template and the problem. */
export class RouteTemplateError extends Error {
    constructor(template: string, problem: string, options?: ErrorOptions) {
        super(`Route "${template}": ${problem}`, options);
        this.name = 'RouteTemplateError';
    }
}

type Constraint = (value: string) => boolean;

const INT32 = { min: -(2n ** 31n), max: 2n ** 31n - 1n };
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };
/** The white space .NET's NumberStyles allow around a number (and bool.TryParse trims). */
const WS = '[\\t\\n\\v\\f\\r ]*';
const GUID_FORMATS = [
    /^[0-9a-f]{32}$/i,
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/i,
    /^\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)$/i,
];
const INTEGER = new RegExp(`^${WS}([+-]?\\d+)${WS}$`);
const BOOLEAN = new RegExp(`^${WS}(true|false)${WS}$`, 'i');
/** Digits with thousands separators in the integer part, as NumberStyles.AllowThousands reads them. */
const NUMBER = '(?:\\d[\\d,]*(?:\\.\\d*)?|\\.\\d+)';
/** double.TryParse(NumberStyles.Float | AllowThousands, invariant), its NaN and Infinity symbols included. */
const FLOATING = new RegExp(`^${WS}(?:[+-]?${NUMBER}(?:e[+-]?\\d+)?|NaN|[+-]?Infinity)${WS}$`, 'i');
/** decimal.TryParse(NumberStyles.Number, invariant): a leading or trailing sign, no exponent. */
const DECIMAL = new RegExp(`^${WS}(?:[+-]?${NUMBER}|${NUMBER}[+-])${WS}$`);
/**
 * The invariant-culture forms DateTime.TryParse reads that a URL can carry: ISO dates and date-times (with `T` or
 * a space, optional fraction and zone), `yyyy/MM/dd`, `MM/dd/yyyy`, each with an optional time, and a time alone.
 */
const DATE_TIME =
    /^(?:(\d{4})([-/])(\d{1,2})\2(\d{1,2})|(\d{1,2})\/(\d{1,2})\/(\d{4}))?(?:(?:^|[T ])(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** An integer as long.TryParse(NumberStyles.Integer, invariant) reads it, within [min, max]. */
function integerBetween(min: bigint, max: bigint): Constraint {
    return (value) => {
        const digits = INTEGER.exec(value)?.[1];
        if (digits === undefined) {
            return false;
        }
        const number = BigInt(digits);
        return number >= min && number <= max;
    };
}

function isDateTime(value: string): boolean {
    const found = DATE_TIME.exec(value.trim());
    if (!found || value.trim() === '') {
        return false;
    }
    const [, isoYear, , isoMonth, isoDay, usMonth, usDay, usYear, hour, minute, second] = found;
    const year = Number(isoYear ?? usYear ?? 2000);
    const month = Number(isoMonth ?? usMonth ?? 1);
    const day = Number(isoDay ?? usDay ?? 1);
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
    return (
        month >= 1 &&
        month <= 12 &&
        day >= 1 &&
        day <= daysInMonth &&
        Number(hour ?? 0) <= 23 &&
        Number(minute ?? 0) <= 59 &&
        Number(second ?? 0) <= 59
    );
}

/** ASP.NET Core's FileNameRouteConstraint: the last segment has a dot followed by something other than dots. */
function isFileName(value: string): boolean {
    const last = value.slice(value.lastIndexOf('/') + 1);
    const dot = last.indexOf('.');
    return dot !== -1 && /[^.]/.test(last.slice(dot + 1));
}

/**
 * ASP.NET Core's inline route constraints, which the Functions host applies: a value that fails one makes the
 * route not match (404), as in Azure. Numbers are read as the invariant culture reads them.
 */
function compileConstraint(template: string, text: string): Constraint {
    const parsed = /^([a-z]+)(?:\((.*)\))?$/i.exec(text);
    if (!parsed) {
        throw new RouteTemplateError(template, `cannot read the constraint "${text}"`);
    }
    const name = parsed[1]!.toLowerCase();
    const argument = parsed[2];
    const integerArguments = (count: number[]): bigint[] => {
        const values = (argument ?? '').split(',').map((part) => part.trim());
        if (!count.includes(values.length) || !values.every((value) => /^-?\d+$/.test(value))) {
            throw new RouteTemplateError(
                template,
                `the constraint "${text}" needs ${count.join(' or ')} integer argument(s)`,
            );
        }
        return values.map((value) => BigInt(value));
    };
    switch (name) {
        case 'int':
            return integerBetween(INT32.min, INT32.max);
        case 'long':
            return integerBetween(INT64.min, INT64.max);
        case 'bool':
            return (value) => BOOLEAN.test(value);
        case 'guid':
            return (value) => GUID_FORMATS.some((format) => format.test(value.trim()));
        case 'alpha':
            return (value) => /^[a-z]*$/i.test(value);
        case 'decimal':
            return (value) => DECIMAL.test(value);
        case 'double':
        case 'float':
            return (value) => FLOATING.test(value);
        case 'datetime':
            return isDateTime;
        case 'file':
            return isFileName;
        case 'nonfile':
            return (value) => !isFileName(value);
        case 'required':
            return (value) => value.length > 0;
        case 'min': {
            const [min] = integerArguments([1]);
            return integerBetween(min!, INT64.max);
        }
        case 'max': {
            const [max] = integerArguments([1]);
            return integerBetween(INT64.min, max!);
        }
        case 'range': {
            const [min, max] = integerArguments([2]);
            return integerBetween(min!, max!);
        }
        case 'minlength': {
            const [min] = integerArguments([1]);
            return (value) => value.length >= Number(min);
        }
        case 'maxlength': {
            const [max] = integerArguments([1]);
            return (value) => value.length <= Number(max);
        }
        case 'length': {
            const [first, second] = integerArguments([1, 2]);
            return second === undefined
                ? (value) => value.length === Number(first)
                : (value) => value.length >= Number(first) && value.length <= Number(second);
        }
        case 'regex': {
            // ASP.NET matches regex constraints case-insensitively and unanchored; templates anchor with ^ and $.
            let regex: RegExp;
            try {
                regex = new RegExp(argument ?? '', 'i');
            } catch (error) {
                throw new RouteTemplateError(template, `the constraint "${text}" is not a valid regular expression`, {
                    cause: error,
                });
            }
            return (value) => regex.test(value);
        }
        default:
            throw new RouteTemplateError(template, `unknown route constraint "${name}"`);
    }
}

/** Splits `int:min(1):regex(^a:b$)` at the colons outside parentheses. */
function splitConstraints(text: string): string[] {
    const parts: string[] = [];
    let depth = 0;
    let current = '';
    for (const character of text) {
        if (character === ':' && depth === 0) {
            parts.push(current);
            current = '';
            continue;
        }
        depth += character === '(' ? 1 : character === ')' ? -1 : 0;
        current += character;
    }
    parts.push(current);
    return parts;
}

/**
 * Compiles an ASP.NET-style route template as the Functions host accepts it: literal segments match
 * case-insensitively, `{name}` one segment, `{name?}` an optional last segment, `{*name}` the rest of the path, and
 * inline constraints (`{id:int}`, `{code:length(3)}`, `{slug:regex(^[a-z-]+$)}`) must hold for the route to match.
 * An unknown constraint is an error at start-up, as it is for the host.
 */
export function compileRoute(template: string): RouteMatcher {
    const segments = template
        .replace(/^\/+|\/+$/g, '')
        .split('/')
        .filter(Boolean);
    const parameters: Array<{ name: string; constraints: Constraint[] }> = [];
    let pattern = '';
    for (const segment of segments) {
        const parameter = /^\{(\*)?([A-Za-z_][\w]*)(?::(.+?))?(\?)?\}$/.exec(segment);
        if (!parameter) {
            pattern += `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
            continue;
        }
        parameters.push({
            name: parameter[2]!,
            // Braces inside a constraint are written doubled in a template (`regex(^\\d{{3}}$)`).
            constraints: parameter[3]
                ? splitConstraints(parameter[3].replaceAll('{{', '{').replaceAll('}}', '}')).map((text) =>
                      compileConstraint(template, text),
                  )
                : [],
        });
        if (parameter[1]) {
            pattern += '(?:/(.*))?';
        } else if (parameter[4]) {
            pattern += '(?:/([^/]+))?';
        } else {
            pattern += '/([^/]+)';
        }
    }
    const regex = new RegExp(`^${pattern}/?$`, 'i');
    return {
        template,
        match(path) {
            const found = regex.exec(path.replace(/\/+$/, '') || '/');
            if (!found && !(pattern === '' && (path === '/' || path === ''))) {
                return undefined;
            }
            const params: Record<string, string> = {};
            for (const [index, { name, constraints }] of parameters.entries()) {
                const raw = found?.[index + 1];
                if (raw === undefined) {
                    continue;
                }
                const value = decodeSegment(raw);
                if (!constraints.every((holds) => holds(value))) {
                    return undefined;
                }
                params[name] = value;
            }
            return params;
        },
    };
}

/** Decodes a path segment; malformed percent-encoding stays as sent (as ASP.NET's path decoding leaves it). */
function decodeSegment(value: string): string {
    try {
        return decodeURIComponent(value);
    } catch {
        return value;
    }
}
