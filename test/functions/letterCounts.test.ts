import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';

import { letterCounts, recentLetterCounts } from '../../functions/letterCounts';
import { createTestContext } from '../support/invocation';
import { letterCountDoc } from '../support/letterCounts';

const doc = letterCountDoc;

// What the input binding returns: newest first.
const documents = [
    doc('2026-11-22T06:01:30Z', 'B', 2),
    doc('2026-11-22T06:01:00Z', 'A', 5),
    doc('2026-11-22T06:01:00Z', 'C', 1),
    doc('2026-11-22T06:00:30Z', 'D', 4),
];

function call(url: string, docs: unknown = documents) {
    const { context, logs } = createTestContext();
    context.extraInputs.set(recentLetterCounts, docs);
    return { response: letterCounts(new HttpRequest({ method: 'GET', url }), context), logs };
}

describe('letterCounts', () => {
    it('returns the latest N windows, oldest first', () => {
        expect(call('http://localhost/api/letter-counts?windows=2').response).toEqual({
            jsonBody: {
                windows: [
                    {
                        windowStart: '2026-11-22T06:00:30.000Z',
                        windowEnd: '2026-11-22T06:01:00.000Z',
                        counts: [
                            { letter: 'A', count: 5 },
                            { letter: 'C', count: 1 },
                        ],
                    },
                    {
                        windowStart: '2026-11-22T06:01:00.000Z',
                        windowEnd: '2026-11-22T06:01:30.000Z',
                        counts: [{ letter: 'B', count: 2 }],
                    },
                ],
            },
            headers: { 'Cache-Control': 'no-store' },
        });
    });

    it('defaults to 20 windows, returning all there are', () => {
        const body = call('http://localhost/api/letter-counts').response.jsonBody as { windows: unknown[] };
        expect(body.windows).toHaveLength(3);
    });

    it('returns an empty list when nothing is stored yet', () => {
        expect(call('http://localhost/api/letter-counts', []).response.jsonBody).toEqual({ windows: [] });
    });

    it.each([
        ['windows=0', 'Invalid request: parameter "windows" must be a whole number from 1 to 60 (got "0")'],
        ['windows=61', 'Invalid request: parameter "windows" must be a whole number from 1 to 60 (got "61")'],
        ['windows=ten', 'Invalid request: parameter "windows" must be a whole number from 1 to 60 (got "ten")'],
        ['windows=1&windows=2', 'Invalid request: parameter "windows" must be given at most once (got ["1","2"])'],
    ])('answers 400 naming the problem for %s', (query, error) => {
        expect(call(`http://localhost/api/letter-counts?${query}`).response).toEqual({
            status: 400,
            jsonBody: { error },
        });
    });

    it('leaves out and logs a document that breaks the contract', () => {
        const { response, logs } = call('http://localhost/api/letter-counts?windows=1', [
            doc('2026-11-22T06:00:30Z', 'D', 4),
            { ...doc('2026-11-22T06:00:30Z', 'E', 4), count: -1 },
        ]);
        expect((response.jsonBody as { windows: unknown[] }).windows).toHaveLength(1);
        expect(logs).toEqual([
            {
                level: 'warning',
                message:
                    'Left out a letter-count document: Invalid message: field "count" must not be negative (got -1)',
            },
        ]);
    });
});
