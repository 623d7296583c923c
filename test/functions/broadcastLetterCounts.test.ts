import { EventGridDeserializer } from '@azure/eventgrid';
import { describe, expect, it } from 'vitest';

import { broadcastLetterCounts, signalRMessages, windowEvents } from '../../functions/broadcastLetterCounts';
import { createTestContext } from '../support/invocation';
import { letterCountDoc } from '../support/letterCounts';

function doc(windowEnd: string, letter: string, count: number) {
    return { ...letterCountDoc(windowEnd, letter, count), _ts: 1795327231 };
}

describe('broadcastLetterCounts', () => {
    it('broadcasts every document of a batch spanning several windows: one message and one CloudEvent per window', async () => {
        // The public sample sets the output inside a loop and so sends only the last document; all 5 must arrive.
        const batch = [
            doc('2026-11-22T06:00:30.0000000Z', 'A', 3),
            doc('2026-11-22T06:00:30.0000000Z', 'J', 7),
            doc('2026-11-22T06:01:00.0000000Z', 'B', 1),
            doc('2026-11-22T06:01:00.0000000Z', 'M', 2),
            doc('2026-11-22T06:01:30.0000000Z', 'Z', 1),
        ];
        const { context, logs } = createTestContext();
        broadcastLetterCounts(batch, context);

        const windows = [
            {
                windowStart: '2026-11-22T06:00:00.000Z',
                windowEnd: '2026-11-22T06:00:30.000Z',
                counts: [
                    { letter: 'A', count: 3 },
                    { letter: 'J', count: 7 },
                ],
            },
            {
                windowStart: '2026-11-22T06:00:30.000Z',
                windowEnd: '2026-11-22T06:01:00.000Z',
                counts: [
                    { letter: 'B', count: 1 },
                    { letter: 'M', count: 2 },
                ],
            },
            {
                windowStart: '2026-11-22T06:01:00.000Z',
                windowEnd: '2026-11-22T06:01:30.000Z',
                counts: [{ letter: 'Z', count: 1 }],
            },
        ];
        expect(context.extraOutputs.get(signalRMessages)).toEqual(
            windows.map((window) => ({ target: 'newFirstLetterData', arguments: [window] })),
        );
        const events = context.extraOutputs.get(windowEvents) as unknown[];
        expect(events).toEqual(
            windows.map((window) => ({
                specversion: '1.0',
                id: expect.stringMatching(/^\d+-[0-9a-f]{16}$/),
                source: '/namestream/letter-counts',
                type: 'Namestream.LetterCounts.WindowUpdated',
                subject: `/windows/${window.windowEnd}`,
                time: window.windowEnd,
                datacontenttype: 'application/json',
                data: window,
            })),
        );
        // The events are valid CloudEvents 1.0 as the Event Grid SDK reads them.
        const parsed = await new EventGridDeserializer().deserializeCloudEvents(JSON.stringify(events));
        expect(parsed.map((e) => e.subject)).toEqual(windows.map((w) => `/windows/${w.windowEnd}`));
        expect(logs).toEqual([{ level: 'information', message: 'Broadcast 3 window(s) from 5 document(s)' }]);
    });

    it('skips a document that breaks the contract, warns, and still broadcasts the rest', () => {
        const { context, logs } = createTestContext();
        broadcastLetterCounts([doc('2026-11-22T06:00:30Z', 'A', 3), { id: 'x', letter: 'AB' }], context);
        expect(context.extraOutputs.get(signalRMessages)).toEqual([
            {
                target: 'newFirstLetterData',
                arguments: [
                    {
                        windowStart: '2026-11-22T06:00:00.000Z',
                        windowEnd: '2026-11-22T06:00:30.000Z',
                        counts: [{ letter: 'A', count: 3 }],
                    },
                ],
            },
        ]);
        expect(logs).toEqual([
            {
                level: 'warning',
                message:
                    'Skipped a letter-count document: Invalid message: field "id" must look like "<unix seconds>-<A-Z or other>" (got "x")',
            },
            { level: 'information', message: 'Broadcast 1 window(s) from 2 document(s)' },
        ]);
    });

    it('sends nothing for an empty batch', () => {
        const { context } = createTestContext();
        broadcastLetterCounts([], context);
        expect(context.extraOutputs.get(signalRMessages)).toEqual([]);
        expect(context.extraOutputs.get(windowEvents)).toEqual([]);
    });
});
