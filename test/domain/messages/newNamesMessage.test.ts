import { describe, expect, it } from 'vitest';

import { InvalidMessageError } from '../../../domain/errors';
import { parseNewNamesMessage, splitNames } from '../../../domain/messages/newNamesMessage';

const valid = {
    id: '7f8b3c1e-2d4a-4b6f-9e0a-1c2d3e4f5a6b',
    generatedAt: '2026-11-22T06:00:01.250Z',
    names: ['Ada Lovelace', "Miles O'Brien", 'Jean-Luc Picard'],
};

describe('parseNewNamesMessage', () => {
    it('accepts a valid message and returns it unchanged', () => {
        expect(parseNewNamesMessage(valid)).toEqual(valid);
    });

    it('accepts 500 names and offsets other than Z', () => {
        const big = { ...valid, generatedAt: '2026-11-22T07:00:01+01:00', names: Array(500).fill('Ada') };
        expect(parseNewNamesMessage(big)).toEqual(big);
    });

    it.each([
        ['a body that is not JSON', 'not json at all', 'field "message" must be a JSON object (got "not json at all")'],
        ['null', null, 'field "message" must be a JSON object (got null)'],
        ['an array', [valid], 'field "message" must be a JSON object'],
        ['an empty names array', { ...valid, names: [] }, 'field "names" must hold at least one name (got [])'],
        [
            'names that are not an array',
            { ...valid, names: 'Ada' },
            'field "names" must be an array of names (got "Ada")',
        ],
        ['too many names', { ...valid, names: Array(501).fill('Ada') }, 'field "names" must hold at most 500 names'],
        ['an id that is not a UUID', { ...valid, id: 'abc' }, 'field "id" must be a UUID (got "abc")'],
        [
            'a missing id',
            { generatedAt: valid.generatedAt, names: valid.names },
            'field "id" is missing (got undefined)',
        ],
        [
            'a timestamp without a zone',
            { ...valid, generatedAt: '2026-11-22T06:00:01' },
            'field "generatedAt" must be an ISO-8601 timestamp with a UTC offset (got "2026-11-22T06:00:01")',
        ],
        ['an unknown property', { ...valid, extra: 1 }, 'field "extra" is not part of the message (got 1)'],
    ])('rejects %s, naming the field and the value', (_case, body, reason) => {
        expect(() => parseNewNamesMessage(body)).toThrow(InvalidMessageError);
        expect(() => parseNewNamesMessage(body)).toThrow(`Invalid message: ${reason}`);
    });

    it('checks the envelope only: names of any kind pass it, to be checked one by one', () => {
        const mixed = { ...valid, names: ['Ada', 7, '', 'Zoë'] };
        expect(parseNewNamesMessage(mixed)).toEqual(mixed);
    });

    it('truncates a huge value in the error so a dead-letter reason stays readable', () => {
        const error = catchError(() => parseNewNamesMessage({ ...valid, names: Array(501).fill('Ada') }));
        expect(error.message.length).toBeLessThan(250);
        expect(error.message).toMatch(/… \(3007 chars\)\)$/);
        expect(error).toMatchObject({ code: 'InvalidMessage', field: 'names' });
    });
});

function catchError(action: () => unknown): InvalidMessageError {
    try {
        action();
    } catch (error) {
        return error as InvalidMessageError;
    }
    throw new Error('expected an error');
}

describe('splitNames', () => {
    it('keeps every usable name with its index and bucket and reports each unusable one with its field', () => {
        const message = parseNewNamesMessage({
            ...valid,
            names: ['Anna Smith', 'José Álvarez', 7, 'Zoë Brown', 'Ann\u0000', '李雷'],
        });
        const { accepted, rejected } = splitNames(message);
        expect(accepted).toEqual([
            { index: 0, name: 'Anna Smith', bucket: 'A' },
            { index: 1, name: 'José Álvarez', bucket: 'J' },
            { index: 3, name: 'Zoë Brown', bucket: 'Z' },
            { index: 5, name: '李雷', bucket: 'other' },
        ]);
        expect(rejected.map((error) => error.message)).toEqual([
            'Invalid message: field "names.2" must be a string (got 7)',
            'Invalid message: field "names.4" must not contain control characters (U+0000 at index 3) (got "Ann\\u0000")',
        ]);
        expect(rejected.every((error) => error instanceof InvalidMessageError)).toBe(true);
    });
});
