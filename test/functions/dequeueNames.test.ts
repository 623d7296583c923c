import { readFileSync } from 'node:fs';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { InvalidMessageError } from '../../domain/errors';
import type { NameEvent } from '../../domain/messages/nameEvent';
import { BUCKETS, OTHER_BUCKET } from '../../domain/names/personName';
import { dequeueNames, nameEvents } from '../../functions/dequeueNames';
import {
    compileQuery,
    letterCountsJobSettings,
    letterCountsQueryPath,
    type OutputRow,
} from '../../local/streamAnalytics/index';
import { createTestContext } from '../support/invocation';

const message = {
    id: '7f8b3c1e-2d4a-4b6f-9e0a-1c2d3e4f5a6b',
    generatedAt: '2026-11-22T06:00:01.250Z',
    names: ['Ada Lovelace', 'Grace Hopper', 'Alan Turing'],
};
const triggerMetadata = { messageId: 'm-1', deliveryCount: 1 };

describe('dequeueNames', () => {
    it('sends one event per name with a stable id and returns the raw message for the blob', () => {
        const { context, logs } = createTestContext({ triggerMetadata });
        const blob = dequeueNames(message, context);
        expect(JSON.parse(blob)).toEqual(message);
        expect(context.extraOutputs.get(nameEvents)).toEqual([
            {
                eventId: '7f8b3c1e-2d4a-4b6f-9e0a-1c2d3e4f5a6b:0',
                messageId: message.id,
                name: 'Ada Lovelace',
                letter: 'A',
                generatedAt: message.generatedAt,
            },
            {
                eventId: '7f8b3c1e-2d4a-4b6f-9e0a-1c2d3e4f5a6b:1',
                messageId: message.id,
                name: 'Grace Hopper',
                letter: 'G',
                generatedAt: message.generatedAt,
            },
            {
                eventId: '7f8b3c1e-2d4a-4b6f-9e0a-1c2d3e4f5a6b:2',
                messageId: message.id,
                name: 'Alan Turing',
                letter: 'A',
                generatedAt: message.generatedAt,
            },
        ]);
        expect(logs).toEqual([
            {
                level: 'information',
                message: 'Fanned out message 7f8b3c1e-2d4a-4b6f-9e0a-1c2d3e4f5a6b: 3 names (delivery 1)',
            },
        ]);
    });

    it('counts real names under their base letter and lets the rest of a message flow past an unusable name', () => {
        const { context, logs } = createTestContext({ triggerMetadata });
        const body = {
            id: '3f1c8a52-6d1e-4b7a-9c2e-0a1b2c3d4e5f',
            generatedAt: '2026-11-22T06:00:01.250Z',
            names: ['Anna Smith', 'José Álvarez', 'Zoë Brown', 42, 'Øyvind\u0007', '李雷'],
        };
        const blob = dequeueNames(body, context);
        // The blob keeps the whole message, unusable names included: it is what a recount derives counts from.
        expect(JSON.parse(blob)).toEqual(body);
        const event = (index: number, name: string, letter: string) => ({
            eventId: `${body.id}:${index}`,
            messageId: body.id,
            name,
            letter,
            generatedAt: body.generatedAt,
        });
        expect(context.extraOutputs.get(nameEvents)).toEqual([
            event(0, 'Anna Smith', 'A'),
            event(1, 'José Álvarez', 'J'),
            event(2, 'Zoë Brown', 'Z'),
            event(5, '李雷', OTHER_BUCKET),
        ]);
        expect(logs).toEqual([
            {
                level: 'warning',
                message: `Left out an unusable name of message ${body.id}: Invalid message: field "names.3" must be a string (got 42)`,
            },
            {
                level: 'warning',
                message: `Left out an unusable name of message ${body.id}: Invalid message: field "names.4" must not contain control characters (U+0007 at index 6) (got "Øyvind\\u0007")`,
            },
            {
                level: 'information',
                message: `Fanned out message ${body.id}: 4 names, 2 unusable left out (delivery 1)`,
            },
        ]);
    });

    it('gives a redelivered message the same event ids', () => {
        const first = createTestContext({ triggerMetadata }).context;
        const second = createTestContext({ triggerMetadata: { ...triggerMetadata, deliveryCount: 2 } }).context;
        dequeueNames(message, first);
        dequeueNames(message, second);
        expect(second.extraOutputs.get(nameEvents)).toEqual(first.extraOutputs.get(nameEvents));
    });

    it.each([
        ['non-JSON text', 'hello', 'field "message" must be a JSON object (got "hello")'],
        ['empty names', { ...message, names: [] }, 'field "names" must hold at least one name (got [])'],
        ['oversized', { ...message, names: Array(501).fill('Ada') }, 'field "names" must hold at most 500 names'],
    ])('throws a typed error for %s, sets no output and logs why', (_case, body, reason) => {
        const { context, logs } = createTestContext({ triggerMetadata });
        expect(() => dequeueNames(body, context)).toThrow(InvalidMessageError);
        expect(() => dequeueNames(body, context)).toThrow(`Invalid message: ${reason}`);
        expect(context.extraOutputs.get(nameEvents)).toBeUndefined();
        expect(logs[0]!.level).toBe('error');
        // One line: the reason, without a stack trace repeated at every delivery.
        expect(logs[0]!.message.startsWith(`Rejected message m-1 (delivery 1): Invalid message: ${reason}`)).toBe(true);
        expect(logs[0]!.message).not.toContain('\n');
    });
});

/** Any value a names array may hold: real names, arbitrary Unicode (lone surrogates and controls included), junk. */
const nameValue = fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 70 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
    {
        weight: 2,
        arbitrary: fc.constantFrom('Anna Smith', 'José Álvarez', 'Zoë Brown', 'Øyvind', '李雷', '🎉 Ana', ' ', 'Ann\n'),
    },
    {
        weight: 1,
        arbitrary: fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u)) }),
    },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.object()) },
);

/** The contract's definition of a usable name, restated independently of the zod schema. */
function usable(value: unknown): value is string {
    return (
        typeof value === 'string' &&
        !/[\uD800-\uDFFF]/u.test(value) &&
        value.trim() !== '' &&
        [...value].length <= 64 &&
        !/\p{Cc}/u.test(value)
    );
}

/** Runs events through the production query on the local engine and returns its rows. */
async function countWithQuery(events: readonly NameEvent[]): Promise<OutputRow[]> {
    const plan = compileQuery(readFileSync(letterCountsQueryPath(), 'utf8'), {
        inputs: { namesInput: { partitionIds: ['0'] } },
        outputs: ['letterCountsOutput'],
        jobSettings: letterCountsJobSettings,
    });
    let now = Date.parse('2026-11-22T06:00:02Z');
    const rows: OutputRow[] = [];
    const job = plan.createJob({
        clock: { now: () => new Date(now) },
        sink: (_alias, batch) => {
            rows.push(...batch);
            return Promise.resolve();
        },
    });
    job.push(
        'namesInput',
        '0',
        events.map((body) => ({ enqueuedTime: new Date(now), body })),
    );
    now += 3_600_000;
    job.advance();
    await job.flush();
    return rows;
}

describe('the name contract through the fan-out and the query', () => {
    it('counts every usable name exactly once, under exactly one letter, and reports every other one', async () => {
        await fc.assert(
            fc.asyncProperty(fc.array(nameValue, { minLength: 1, maxLength: 40 }), async (names) => {
                const body = { id: '3f1c8a52-6d1e-4b7a-9c2e-0a1b2c3d4e5f', generatedAt: '2026-11-22T06:00:01Z', names };
                const { context, logs } = createTestContext({ triggerMetadata });
                dequeueNames(body, context);
                const events = context.extraOutputs.get(nameEvents) as NameEvent[];
                const usableIndexes = names.flatMap((value, index) => (usable(value) ? [index] : []));
                // One event per usable name, carrying the name itself; one warning per unusable name.
                expect(events.map((event) => event.eventId)).toEqual(
                    usableIndexes.map((index) => `${body.id}:${index}`),
                );
                expect(events.map((event) => event.name)).toEqual(usableIndexes.map((index) => names[index]));
                expect(logs.filter((log) => log.level === 'warning')).toHaveLength(names.length - usableIndexes.length);
                // Each event's letter is a bucket, and the one its first character decomposes to.
                for (const event of events) {
                    const base = [...event.name.trimStart()][0]!.normalize('NFKD')[0]!;
                    expect(event.letter).toBe(/[A-Za-z]/.test(base) ? base.toUpperCase() : OTHER_BUCKET);
                }
                // The query counts each of them once, under that letter, and nothing else.
                const rows = await countWithQuery(events);
                const expected = new Map<string, number>();
                for (const event of events) {
                    expected.set(event.letter, (expected.get(event.letter) ?? 0) + 1);
                }
                expect(new Map(rows.map((row) => [row.letter as string, row.count as number]))).toEqual(expected);
                expect(rows.every((row) => BUCKETS.includes(row.letter as string))).toBe(true);
                expect(rows.reduce((sum, row) => sum + (row.count as number), 0)).toBe(usableIndexes.length);
            }),
            { numRuns: 200 },
        );
    });
});
