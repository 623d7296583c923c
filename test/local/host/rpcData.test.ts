import { describe, expect, it } from 'vitest';

import { fromTypedData, toTypedData } from '../../../local/host/rpcData';

describe('toTypedData', () => {
    it('encodes each kind of value as the host does, text that is certainly not JSON as JSON text', () => {
        expect([
            toTypedData('plain'),
            toTypedData(' 12 '),
            toTypedData('012'),
            toTypedData('{"a":1}'),
            toTypedData('nope'),
            toTypedData(''),
            toTypedData(Buffer.from('ab')),
            toTypedData(3),
            toTypedData(2.5),
            toTypedData(new Date('2025-01-01T00:00:00Z')),
            toTypedData({ a: [1] }),
            toTypedData(null),
        ]).toEqual([
            { json: '"plain"' },
            { string: ' 12 ' },
            { json: '"012"' },
            { string: '{"a":1}' },
            // Starts like null: the library's own JSON.parse decides (and keeps the text).
            { string: 'nope' },
            { json: '""' },
            { bytes: Buffer.from('ab') },
            { int: 3 },
            { double: 2.5 },
            { json: '"2025-01-01T00:00:00.000Z"' },
            { json: '{"a":[1]}' },
            { json: 'null' },
        ]);
    });
});

describe('fromTypedData', () => {
    it('decodes what the library returns, text staying text', () => {
        expect([
            fromTypedData({ string: '{"a":1}' }),
            fromTypedData({ json: '{"a":1}' }),
            fromTypedData({ bytes: new Uint8Array([1, 2]) }),
            fromTypedData({ int: 0 }),
            fromTypedData({ double: 1.5 }),
            fromTypedData({ http: { statusCode: '200' } }),
            fromTypedData({}),
            fromTypedData(null),
            fromTypedData(undefined),
        ]).toEqual([
            '{"a":1}',
            { a: 1 },
            Buffer.from([1, 2]),
            0,
            1.5,
            { statusCode: '200' },
            undefined,
            undefined,
            undefined,
        ]);
    });

    it('prefers a set field over null ones', () => {
        expect(fromTypedData({ string: null, json: null, int: 7 })).toBe(7);
    });
});
