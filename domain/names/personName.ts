import { z } from 'zod';

export { bucketOf, BUCKETS, LETTERS, OTHER_BUCKET } from './firstLetter';

/**
 * The name contract, written once: what a usable person's name is, and under which letter it is counted. The
 * schema (domain/messages/newNamesMessage.ts), the fan-out (functions/dequeueNames.ts, which puts the bucket on each
 * event), the recount and the dashboard all read it; the Stream Analytics query only groups by the `letter` the
 * event carries, so Azure and the local engine cannot count a name differently.
 */

/** The most Unicode code points a name may hold (a code point, not a UTF-16 unit: "😀" is one). */
export const MAX_NAME_LENGTH = 64;

// Unicode general category Cc: C0 and C1 controls, DEL. Format characters (Cf, e.g. the zero-width joiner inside
// emoji sequences) are allowed: they are part of ordinary text.
const CONTROL_CHARACTER = /\p{Cc}/u;
// In a `u` regular expression a surrogate pair is one code point, so this matches only a lone (unpaired) surrogate.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * A usable person's name: Unicode text (well-formed UTF-16, no lone surrogates), not blank, at most MAX_NAME_LENGTH
 * code points, no control characters. Accents, apostrophes, other scripts and emoji are all usable; each message
 * names the first rule a value breaks.
 */
export const personNameSchema = z.string({ error: 'must be a string' }).check((payload) => {
    const reason = nameProblem(payload.value);
    if (reason !== undefined) {
        payload.issues.push({ code: 'custom', message: reason, input: payload.value });
    }
});

function nameProblem(name: string): string | undefined {
    if (LONE_SURROGATE.test(name)) {
        return 'must be well-formed Unicode text (it holds a lone surrogate)';
    }
    if (name.trim() === '') {
        return 'must not be empty or only whitespace';
    }
    const length = [...name].length;
    if (length > MAX_NAME_LENGTH) {
        return `must be at most ${MAX_NAME_LENGTH} characters (Unicode code points; it has ${length})`;
    }
    const control = CONTROL_CHARACTER.exec(name);
    if (control) {
        const codePoint = control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
        return `must not contain control characters (U+${codePoint} at index ${control.index})`;
    }
    return undefined;
}
