import { asInteger, asString, type Fail, isRecord } from './functions';
import { typeName, type Value } from './values';

/**
 * Array, record, input-metadata and type functions:
 * https://learn.microsoft.com/stream-analytics-query/array-functions-stream-analytics,
 * https://learn.microsoft.com/stream-analytics-query/record-functions-azure-stream-analytics,
 * https://learn.microsoft.com/stream-analytics-query/getmetadatapropertyvalue. NULL gives NULL.
 */

/** GetArrayElement(array, index): the element at the 0-based index; NULL outside the array (inferred). */
export function getArrayElement(fail: Fail, array: Value, index: Value): Value {
    if (array === null || index === null) {
        return null;
    }
    if (!Array.isArray(array)) {
        return fail(array, `GetArrayElement needs an array, not a ${typeName(array)}`);
    }
    const at = asInteger(index, 'GetArrayElement index', fail);
    return at >= 0 && at < array.length ? (array[at] as Value) : null;
}

/** GetArrayLength(array): bigint. */
export function getArrayLength(fail: Fail, array: Value): Value {
    if (array === null) {
        return null;
    }
    return Array.isArray(array) ? array.length : fail(array, `GetArrayLength needs an array, not a ${typeName(array)}`);
}

/**
 * The rows GetArrayElements yields for CROSS/OUTER APPLY: `{ArrayIndex, ArrayValue}` per element, 0-based; NULL
 * gives no rows (R:getarrayelements accepts NULL). Anything but an array or NULL is a runtime error.
 */
export function arrayElements(fail: Fail, array: Value): { ArrayIndex: number; ArrayValue: Value }[] {
    if (array === null) {
        return [];
    }
    if (!Array.isArray(array)) {
        return fail(array, `GetArrayElements needs an array, not a ${typeName(array)}`);
    }
    return (array as readonly Value[]).map((value, index) => ({ ArrayIndex: index, ArrayValue: value }));
}

/** The rows GetRecordProperties yields for APPLY: `{PropertyName, PropertyValue}` in the record's field order. */
export function recordProperties(fail: Fail, record: Value): { PropertyName: string; PropertyValue: Value }[] {
    if (record === null) {
        return [];
    }
    if (!isRecord(record)) {
        return fail(record, `GetRecordProperties needs a record, not a ${typeName(record)}`);
    }
    return Object.entries(record).map(([name, value]) => ({ PropertyName: name, PropertyValue: value }));
}

/**
 * GetRecordPropertyValue(record, name): the property named at run time; `"[my][Field]"`-style bracketed names
 * address a property whose name has special characters (R:getrecordpropertyvalue). The name is matched exactly,
 * then ignoring case, like column names; a missing property is NULL (inferred).
 */
export function getRecordPropertyValue(fail: Fail, record: Value, name: Value): Value {
    if (record === null || name === null) {
        return null;
    }
    if (!isRecord(record)) {
        return fail(record, `GetRecordPropertyValue needs a record, not a ${typeName(record)}`);
    }
    const key = unbracket(asString(name, 'GetRecordPropertyValue name', fail));
    return propertyOf(record, key);
}

function unbracket(name: string): string {
    return /^\[.*\]$/s.test(name) ? name.slice(1, -1).replace(/\]\]/g, ']') : name;
}

function propertyOf(record: { readonly [key: string]: Value }, key: string): Value {
    if (Object.hasOwn(record, key)) {
        return record[key]!;
    }
    const upper = key.toUpperCase();
    for (const candidate of Object.keys(record)) {
        if (candidate.toUpperCase() === upper) {
            return record[candidate]!;
        }
    }
    return null;
}

/**
 * GetType(value): the Stream Analytics type name. Numbers are JavaScript doubles here, so an integral value reads
 * as bigint and any other as float (see docs/stream-analytics.md, "Not emulated"). NULL gives NULL (undocumented).
 */
export function getType(_fail: Fail, value: Value): Value {
    return value === null ? null : typeName(value);
}

/** JSON_PARSE(text): the record a JSON object string holds; anything else, or invalid JSON, gives NULL (R:json-parse). */
export function jsonParse(_fail: Fail, text: Value): Value {
    if (typeof text !== 'string') {
        return null;
    }
    try {
        const parsed = JSON.parse(text) as unknown;
        return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Value) : null;
    } catch {
        return null;
    }
}

/**
 * GetMetadataPropertyValue(input, path) over the metadata record of one Event Hubs event (rows.ts builds it):
 * `'EventHub'` (the whole record), `'[EventHub].[EventEnqueuedUtcTime]'` and the other EventHub properties,
 * `'[User].[name]'` / `'User'` (application properties), `'EventId'`. Brackets are optional; names match ignoring
 * case; a property the event does not carry is NULL.
 */
export function metadataPropertyValue(fail: Fail, metadata: Value, path: Value): Value {
    if (metadata === null || path === null || !isRecord(metadata)) {
        return null;
    }
    const text = asString(path, 'GetMetadataPropertyValue path', fail);
    const segments = text.match(/\[[^\]]*\]|[^.[\]]+/g) ?? [];
    let value: Value = metadata;
    for (const segment of segments) {
        if (!isRecord(value)) {
            return null;
        }
        value = propertyOf(value, unbracket(segment));
    }
    return segments.length === 0 ? null : value;
}
