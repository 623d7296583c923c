import { describe, expect, it } from 'vitest';

import {
    correctionsTo,
    parseDuration,
    recountWindows,
    toStreamAnalyticsTime,
} from '../../../domain/letterCounts/recount';

const message = (id: string, generatedAt: string, names: unknown[]) => ({ id, generatedAt, names });
const ID1 = '3f1c8a52-6d1e-4b7a-9c2e-0a1b2c3d4e51';
const ID2 = '3f1c8a52-6d1e-4b7a-9c2e-0a1b2c3d4e52';
const ID3 = '3f1c8a52-6d1e-4b7a-9c2e-0a1b2c3d4e53';
const range = { from: new Date('2026-11-22T06:00:00Z'), to: new Date('2026-11-22T06:01:00Z') };

describe('recountWindows', () => {
    it('counts the usable names of each window under their letters, with the ids Stream Analytics writes', () => {
        const result = recountWindows(
            [
                message(ID1, '2026-11-22T06:00:11.250Z', ['Anna Smith', 'José Álvarez', 'Zoë Brown', 7, '李雷']),
                message(ID2, '2026-11-22T06:00:30Z', ['Álvaro']), // on the edge: the window ending at :30
                message(ID3, '2026-11-22T06:00:45Z', ['Bob', 'bea']),
            ],
            range,
            30,
        );
        expect(result).toEqual({
            documents: [
                { id: '1795327230-A', windowEnd: '2026-11-22T06:00:30.0000000Z', letter: 'A', count: 2 },
                { id: '1795327230-J', windowEnd: '2026-11-22T06:00:30.0000000Z', letter: 'J', count: 1 },
                { id: '1795327230-Z', windowEnd: '2026-11-22T06:00:30.0000000Z', letter: 'Z', count: 1 },
                { id: '1795327230-other', windowEnd: '2026-11-22T06:00:30.0000000Z', letter: 'other', count: 1 },
                { id: '1795327260-B', windowEnd: '2026-11-22T06:01:00.0000000Z', letter: 'B', count: 2 },
            ],
            rejectedMessages: [],
            messagesCounted: 3,
        });
    });

    it('leaves out windows outside the range: ending at or before from, or after to', () => {
        const { documents, messagesCounted } = recountWindows(
            [
                message(ID1, '2026-11-22T06:00:00Z', ['Ann']), // window ends 06:00:00 = from: excluded
                message(ID2, '2026-11-22T06:01:00.001Z', ['Bob']), // window ends 06:01:30: after to
                message(ID3, '2026-11-22T06:00:00.001Z', ['Cy']), // window ends 06:00:30: in
            ],
            range,
            30,
        );
        expect(documents.map((d) => d.id)).toEqual(['1795327230-C']);
        expect(messagesCounted).toBe(1);
    });

    it('reports a blob that is not a valid message and counts the others', () => {
        const { documents, rejectedMessages } = recountWindows(
            ['not json', message('x', '2026-11-22T06:00:10Z', ['Ann']), message(ID1, '2026-11-22T06:00:10Z', ['Ann'])],
            range,
            30,
        );
        expect(rejectedMessages.map((error) => error.message)).toEqual([
            'Invalid message: field "message" must be a JSON object (got "not json")',
            'Invalid message: field "id" must be a UUID (got "x")',
        ]);
        expect(documents).toEqual([
            { id: '1795327230-A', windowEnd: '2026-11-22T06:00:30.0000000Z', letter: 'A', count: 1 },
        ]);
    });

    it('counts a name once even if its message is read twice', () => {
        const twice = message(ID1, '2026-11-22T06:00:10Z', ['Ann', 'Amy']);
        expect(recountWindows([twice, twice], range, 30).documents).toEqual([
            { id: '1795327230-A', windowEnd: '2026-11-22T06:00:30.0000000Z', letter: 'A', count: 2 },
        ]);
    });
});

describe('correctionsTo', () => {
    it('keeps only the documents that are missing or whose count differs', () => {
        const doc = (id: string, count: number) => ({ id, windowEnd: 'w', letter: 'A', count });
        expect(
            correctionsTo(
                [doc('1-A', 3), doc('1-B', 2), doc('1-C', 1)],
                [{ id: '1-A', count: 3 }, { id: '1-B', count: 1 }, null, 'junk'],
            ),
        ).toEqual([doc('1-B', 2), doc('1-C', 1)]);
    });
});

describe('toStreamAnalyticsTime and parseDuration', () => {
    it("formats an instant as the job's System.Timestamp()", () => {
        expect(toStreamAnalyticsTime(new Date('2026-11-22T06:00:30.125Z'))).toBe('2026-11-22T06:00:30.1250000Z');
    });

    it.each([
        ['90s', 90_000],
        ['30m', 1_800_000],
        ['2h', 7_200_000],
        ['1d', 86_400_000],
        [' 2H ', 7_200_000],
        ['2', undefined],
        ['1.5h', undefined],
        ['-1h', undefined],
        ['2 hours', undefined],
    ])('reads %j as %s ms', (text, ms) => {
        expect(parseDuration(text)).toBe(ms);
    });
});
