import Document from '@vercel/cosmosdb-server/lib/account/document';
import Documents from '@vercel/cosmosdb-server/lib/account/documents';
import { describe, expect, it } from 'vitest';

import { highestSequence, installChangeSequence } from '../../../local/cosmos/changeSequence';

describe('installChangeSequence', () => {
    it('numbers the first write to a store holding documents that already carry _lsn (loaded, not written) after them', () => {
        installChangeSequence();
        const parent = { read: () => ({}) } as unknown as ConstructorParameters<typeof Documents>[0];
        const store = new Documents(parent, ['/pk']);
        // What a durable store would put back after a restart: documents with the positions they were written at.
        store._data.set(
            'loaded',
            new Document({ id: 'loaded', pk: 'p', _rid: 'loaded', _lsn: 1_000_000_000 } as never),
        );

        const first = store._set({ id: 'new', pk: 'p', _rid: 'new' } as never) as unknown as { _lsn: number };
        const second = store._set({ id: 'newer', pk: 'p', _rid: 'newer', _lsn: 3 } as never) as unknown as {
            _lsn: number;
        };

        expect([first._lsn, second._lsn]).toEqual([1_000_000_001, 1_000_000_002]);
    });
});

describe('highestSequence', () => {
    it('is the largest numeric _lsn, 0 when there is none', () => {
        expect(highestSequence([{ _lsn: 4 }, { _lsn: 9 }, { _lsn: 'x' }, {}])).toBe(9);
        expect(highestSequence([])).toBe(0);
    });
});
