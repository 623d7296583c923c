import { describe, expect, it } from 'vitest';

import { InvalidMessageError } from '../../../domain/errors';
import { bucketOf, BUCKETS, OTHER_BUCKET, personNameSchema } from '../../../domain/names/personName';
import { parseOrThrow } from '../../../domain/schema';

describe('bucketOf', () => {
    it.each([
        ['Anna Smith', 'A'],
        ['anna', 'A'],
        ['José Álvarez', 'J'],
        ['Álvaro', 'A'],
        ['Zoë Brown', 'Z'],
        ['Émile', 'E'],
        ['Ñuño', 'N'],
        ['Çelik', 'C'],
        ['Şahin', 'S'],
        ['Ōtani', 'O'],
        ['İlkay', 'I'],
        ["O'Brien", 'O'],
        ['  Ada', 'A'],
        ['Ｊun', 'J'], // full-width J decomposes (NFKD) to J
        ['ǅemal', 'D'], // the Dž digraph decomposes to D + ž
        ['Øyvind', OTHER_BUCKET], // Ø has no decomposition
        ['Łukasz', OTHER_BUCKET],
        ['ßtraße', OTHER_BUCKET],
        ['Æsa', OTHER_BUCKET],
        ['李雷', OTHER_BUCKET],
        ['Ωmega', OTHER_BUCKET],
        ['Алёна', OTHER_BUCKET],
        ['🎉 Ana', OTHER_BUCKET],
        ["'Ulu", OTHER_BUCKET],
        ['9lives', OTHER_BUCKET],
        ['\u0301Anna', OTHER_BUCKET], // a combining mark first has no base letter
    ])('counts %j under %s', (name, bucket) => {
        expect(bucketOf(name)).toBe(bucket);
    });

    it('has 27 buckets: A to Z, then other', () => {
        expect(BUCKETS.join('')).toBe(`ABCDEFGHIJKLMNOPQRSTUVWXYZ${OTHER_BUCKET}`);
    });
});

describe('personNameSchema', () => {
    const check = (value: unknown) => parseOrThrow(personNameSchema, value, 'names.2');

    it.each([
        'Anna Smith',
        'José Álvarez',
        'Zoë Brown',
        "Miles O'Brien",
        '李雷',
        '👩‍👩‍👧 Family',
        '9lives',
        'A'.repeat(64),
    ])('accepts %j', (name) => {
        expect(check(name)).toBe(name);
    });

    it('counts its length in code points: 64 emoji are one name, 65 are too long', () => {
        expect(check('😀'.repeat(64))).toBe('😀'.repeat(64));
        expect(() => check('😀'.repeat(65))).toThrow(
            'field "names.2" must be at most 64 characters (Unicode code points; it has 65)',
        );
    });

    it.each([
        [7, 'field "names.2" must be a string (got 7)'],
        [null, 'field "names.2" must be a string (got null)'],
        ['', 'field "names.2" must not be empty or only whitespace (got "")'],
        [' \t ', 'field "names.2" must not be empty or only whitespace (got " \\t ")'],
        ['   ', 'field "names.2" must not be empty or only whitespace (got "   ")'],
        ['Ann\u0000a', 'field "names.2" must not contain control characters (U+0000 at index 3) (got "Ann\\u0000a")'],
        ['Bob\u007f', 'field "names.2" must not contain control characters (U+007F at index 3) (got "Bob\u007f")'],
        ['Eve\u0085', 'field "names.2" must not contain control characters (U+0085 at index 3) (got "Eve\u0085")'],
        ['Ann\nSmith', 'field "names.2" must not contain control characters (U+000A at index 3) (got "Ann\\nSmith")'],
        [
            'Ann\ud800',
            'field "names.2" must be well-formed Unicode text (it holds a lone surrogate) (got "Ann\\ud800")',
        ],
    ])('rejects %j with one reason that holds for it', (value, reason) => {
        expect(() => check(value)).toThrow(InvalidMessageError);
        expect(() => check(value)).toThrow(`Invalid message: ${reason}`);
    });
});
