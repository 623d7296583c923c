import { describe, expect, it } from 'vitest';

import { fixedClock } from '../../../domain/clock';
import { createNewNamesMessage, parseNamesPerMessage } from '../../../domain/messages/createNewNamesMessage';
import { parseNewNamesMessage } from '../../../domain/messages/newNamesMessage';
import { createRandomSource } from '../../../domain/random';

describe('createNewNamesMessage', () => {
    it('builds a valid message from the clock, the seed and the id source', () => {
        const message = createNewNamesMessage({
            clock: fixedClock('2026-11-22T06:00:00.000Z'),
            random: createRandomSource(42),
            newId: () => '00000000-0000-4000-8000-000000000001',
        });
        expect(message).toEqual({
            id: '00000000-0000-4000-8000-000000000001',
            generatedAt: '2026-11-22T06:00:00.000Z',
            names: createNewNamesMessage({
                clock: fixedClock('2026-11-22T06:00:00.000Z'),
                random: createRandomSource(42),
                newId: () => 'x',
            }).names,
        });
        expect(parseNewNamesMessage(message)).toEqual(message);
    });

    it('puts 4 to 10 names in a message by default, covering the whole range', () => {
        const random = createRandomSource(5);
        const sizes = new Set<number>();
        for (let i = 0; i < 500; i++) {
            sizes.add(createNewNamesMessage({ clock: fixedClock('2026-01-01T00:00:00Z'), random }).names.length);
        }
        expect([...sizes].sort((a, b) => a - b)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    });

    it('honours a fixed count', () => {
        const message = createNewNamesMessage({
            clock: fixedClock('2026-01-01T00:00:00Z'),
            random: createRandomSource(5),
            namesPerMessage: { min: 100, max: 100 },
        });
        expect(message.names).toHaveLength(100);
    });
});

describe('parseNamesPerMessage', () => {
    it.each([
        [undefined, { min: 4, max: 10 }],
        ['', { min: 4, max: 10 }],
        ['7', { min: 7, max: 7 }],
        ['2-5', { min: 2, max: 5 }],
        [' 100 - 100 ', { min: 100, max: 100 }],
    ])('reads %j', (setting, expected) => {
        expect(parseNamesPerMessage(setting)).toEqual(expected);
    });

    it.each(['0', '5-2', '501', 'ten', '1-'])('rejects %j naming the setting', (setting) => {
        expect(() => parseNamesPerMessage(setting)).toThrow(
            `Invalid app setting "NAMES_PER_MESSAGE": must be a count or a range "min-max" within 1-500 (got ${JSON.stringify(setting)})`,
        );
    });
});
