/**
 * Under which letter a name is counted: the rule of the name contract (domain/names/personName.ts), kept free of
 * dependencies so the dashboard bundle can share it.
 */

/** The 26 letter buckets, A to Z. */
export const LETTERS: readonly string[] = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('');

/**
 * The one bucket for a name whose first character has no A to Z base letter ("Øyvind", "李雷", "Ωmega", "🎉 Ana").
 * Lower case so it can never be mistaken for a letter; a Cosmos DB id may hold it (ids must not hold / \ ? #).
 */
export const OTHER_BUCKET = 'other';

/** Every bucket a name can be counted under, in the order the dashboard shows them: A to Z, then the other one. */
export const BUCKETS: readonly string[] = [...LETTERS, OTHER_BUCKET];

/**
 * The bucket a usable name is counted under: its first non-whitespace character, decomposed with Unicode
 * compatibility decomposition (NFKD, https://unicode.org/reports/tr15/), is counted under the Latin letter the
 * decomposition starts with when that is A to Z in either case ("Álvarez" -> A, "Zoë" -> Z, "Ｊun" (full-width) ->
 * J, "ǅ..." -> D), and under OTHER_BUCKET otherwise (letters without a decomposition to A-Z such as "Ø", "Ł", "ß",
 * other scripts, digits, punctuation, emoji). Defined for every string; for a blank one it answers OTHER_BUCKET.
 */
export function bucketOf(name: string): string {
    const first = name.trimStart().codePointAt(0);
    if (first === undefined) {
        return OTHER_BUCKET;
    }
    const base = String.fromCodePoint(first).normalize('NFKD').codePointAt(0)!;
    if ((base >= 0x41 && base <= 0x5a) || (base >= 0x61 && base <= 0x7a)) {
        return String.fromCodePoint(base).toUpperCase();
    }
    return OTHER_BUCKET;
}
