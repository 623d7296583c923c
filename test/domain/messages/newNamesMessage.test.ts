import { describe, expect, it } from 'vitest';

import { InvalidMessageError } from '../../../domain/errors';
import { parseNewNamesMessage } from '../../../domain/messages/newNamesMessage';

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
        ['a name of the wrong type', { ...valid, names: ['Ada', 7] }, 'field "names.1" must be a string (got 7)'],
        [
            'a name that does not start with a letter',
            { ...valid, names: ['9lives'] },
            'field "names.0" must start with a letter A to Z and contain only letters, spaces, periods, apostrophes and hyphens (got "9lives")',
        ],
        ['an overlong name', { ...valid, names: ['A'.repeat(65)] }, 'field "names.0" must be at most 64 characters'],
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
