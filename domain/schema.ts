import type { z } from 'zod';

import { InvalidMessageError } from './errors';

/**
 * Validates `input` against `schema`, or throws an InvalidMessageError naming the first bad field and quoting the
 * value found there, so the reason recorded with a retried or dead-lettered message points straight at the problem.
 */
export function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, rootName: string): T {
    const result = schema.safeParse(input);
    if (result.success) {
        return result.data;
    }
    const issue = result.error.issues[0];
    // An unknown property is reported on its parent; name the property itself.
    const path = [...(issue?.path ?? []), ...(issue?.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [])];
    const field = path.length > 0 ? path.map(String).join('.') : rootName;
    const value = valueAt(input, path);
    const missing = issue?.code === 'invalid_type' && value === undefined && path.length > 0;
    return fail(field, value, missing ? 'is missing' : (issue?.message ?? 'is invalid'));
}

function fail(field: string, value: unknown, reason: string): never {
    throw new InvalidMessageError(field, value, lowerFirst(reason));
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
    let current: unknown = input;
    for (const key of path) {
        if (current === null || typeof current !== 'object') {
            return undefined;
        }
        current = (current as Record<PropertyKey, unknown>)[key];
    }
    return current;
}

function lowerFirst(text: string): string {
    return text.length > 0 ? text[0]!.toLowerCase() + text.slice(1) : text;
}
