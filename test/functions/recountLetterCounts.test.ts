import type { Timer } from '@azure/functions';
import { afterEach, describe, expect, it } from 'vitest';

import { fixedClock } from '../../domain/clock';
import {
    correctedLetterCounts,
    createRecountHandler,
    readLookbackMinutes,
    scheduledRange,
    storedLetterCounts,
} from '../../functions/recountLetterCounts';
import { createTestContext } from '../support/invocation';

const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: {} as never };
const NOW = '2026-11-22T06:10:00Z';
const ID1 = '3f1c8a52-6d1e-4b7a-9c2e-0a1b2c3d4e51';
const ID2 = '3f1c8a52-6d1e-4b7a-9c2e-0a1b2c3d4e52';

describe('recountLetterCounts', () => {
    afterEach(() => {
        delete process.env.RECOUNT_LOOKBACK_MINUTES;
    });

    function run(rawMessages: unknown[], stored: unknown[]) {
        const sinceAsked: Date[] = [];
        const handler = createRecountHandler(() => ({
            clock: fixedClock(NOW),
            readRawMessages: (since) => {
                sinceAsked.push(since);
                return Promise.resolve(rawMessages);
            },
        }));
        const { context, logs } = createTestContext();
        context.extraInputs.set(storedLetterCounts, stored);
        return { done: handler(timer, context), context, logs, sinceAsked };
    }

    it('writes through the Cosmos DB output only the documents the blobs say are wrong or missing', async () => {
        const { done, context, logs, sinceAsked } = run(
            [
                // Three names in the window ending 06:00:30; Stream Analytics dropped one A as late.
                { id: ID1, generatedAt: '2026-11-22T06:00:10Z', names: ['Ann', 'Amy', 'Bob'] },
                // A name in a window that ended 1 minute ago: not settled yet, left to the job.
                { id: ID2, generatedAt: '2026-11-22T06:08:50Z', names: ['Cy'] },
            ],
            [
                { id: '1795327230-A', windowEnd: '2026-11-22T06:00:30.0000000Z', letter: 'A', count: 1 },
                { id: '1795327230-B', windowEnd: '2026-11-22T06:00:30.0000000Z', letter: 'B', count: 1 },
            ],
        );
        await done;
        expect(context.extraOutputs.get(correctedLetterCounts)).toEqual([
            { id: '1795327230-A', windowEnd: '2026-11-22T06:00:30.0000000Z', letter: 'A', count: 2 },
        ]);
        // 20 minutes before the settle time (06:08), less a window and 5 minutes of clock skew.
        expect(sinceAsked).toEqual([new Date('2026-11-22T05:42:30Z')]);
        expect(logs).toEqual([
            { level: 'warning', message: 'Recount corrected 1 letter-count document(s): 1795327230-A=2' },
            {
                level: 'information',
                message:
                    'Recounted windows ending after 2026-11-22T05:48:00.000Z up to 2026-11-22T06:08:00.000Z: 1 message(s), 2 document(s), 1 corrected',
            },
        ]);
    });

    it('sets no output when every window is right', async () => {
        const { done, context } = run(
            [{ id: ID1, generatedAt: '2026-11-22T06:00:10Z', names: ['Ann'] }],
            [{ id: '1795327230-A', windowEnd: '2026-11-22T06:00:30.0000000Z', letter: 'A', count: 1 }],
        );
        await done;
        expect(context.extraOutputs.get(correctedLetterCounts)).toBeUndefined();
    });

    it('warns about a blob that is not a valid message and still corrects the rest', async () => {
        const { done, context, logs } = run(
            ['{oops', { id: ID1, generatedAt: '2026-11-22T06:00:10Z', names: ['Ann'] }],
            [],
        );
        await done;
        expect(context.extraOutputs.get(correctedLetterCounts)).toHaveLength(1);
        expect(logs[0]).toEqual({
            level: 'warning',
            message:
                'Recount skipped a raw-names blob that is not a valid message: Invalid message: field "message" must be a JSON object (got "{oops")',
        });
    });

    it('reads RECOUNT_LOOKBACK_MINUTES, refusing a value that is not a whole number of minutes in range', () => {
        expect(readLookbackMinutes({})).toBe(20);
        expect(readLookbackMinutes({ RECOUNT_LOOKBACK_MINUTES: '28' })).toBe(28);
        expect(() => readLookbackMinutes({ RECOUNT_LOOKBACK_MINUTES: '0' })).toThrow(
            'Invalid app setting "RECOUNT_LOOKBACK_MINUTES": must be a whole number of minutes from 1 to 28: the stored documents the recount compares with cover the newest 60 windows of 30 s, and its range ends 2 minutes before now (got "0")',
        );
        // Beyond what the stored-documents input returns every older window would count as a correction and be
        // rewritten unchanged, so a raised lookback fails loudly instead; longer windows allow a longer lookback.
        expect(() => readLookbackMinutes({ RECOUNT_LOOKBACK_MINUTES: '180' })).toThrow(
            'Invalid app setting "RECOUNT_LOOKBACK_MINUTES": must be a whole number of minutes from 1 to 28: the stored documents the recount compares with cover the newest 60 windows of 30 s, and its range ends 2 minutes before now (got "180")',
        );
        expect(readLookbackMinutes({ RECOUNT_LOOKBACK_MINUTES: '180', LETTER_COUNT_WINDOW_SECONDS: '300' })).toBe(180);
        expect(scheduledRange(new Date(NOW), 60)).toEqual({
            from: new Date('2026-11-22T05:08:00Z'),
            to: new Date('2026-11-22T06:08:00Z'),
        });
    });
});
