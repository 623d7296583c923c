import type { Timer } from '@azure/functions';
import { describe, expect, it, vi } from 'vitest';

import { fixedClock } from '../../domain/clock';
import { parseNewNamesMessage } from '../../domain/messages/newNamesMessage';
import { createRandomSource } from '../../domain/random';
import { createGenerateNamesHandler, generateNames } from '../../functions/generateNames';
import { createTestContext } from '../support/invocation';

const timer: Timer = {
    isPastDue: false,
    schedule: { adjustForDST: true },
    scheduleStatus: {
        last: '2026-11-22T06:00:00.000Z',
        next: '2026-11-22T06:00:02.000Z',
        lastUpdated: '2026-11-22T06:00:00.000Z',
    },
};

describe('generateNames', () => {
    it('returns one message with a fresh id, the clock time and the seeded names', () => {
        const handler = createGenerateNamesHandler(() => ({
            clock: fixedClock('2026-11-22T06:00:02.000Z'),
            random: createRandomSource(11),
            newId: () => '11111111-1111-4111-8111-111111111111',
        }));
        const { context, logs } = createTestContext();
        const message = handler(timer, context);
        expect(message).toEqual({
            id: '11111111-1111-4111-8111-111111111111',
            generatedAt: '2026-11-22T06:00:02.000Z',
            names: expect.any(Array),
        });
        expect(parseNewNamesMessage(message)).toEqual(message);
        expect(logs).toEqual([
            {
                level: 'information',
                message: `Generated ${message.names.length} names as message 11111111-1111-4111-8111-111111111111`,
            },
        ]);
    });

    it('warns when the timer is past due and still produces the message', () => {
        const handler = createGenerateNamesHandler(() => ({
            clock: fixedClock('2026-11-22T06:00:02.000Z'),
            random: createRandomSource(11),
        }));
        const { context, logs } = createTestContext();
        handler({ ...timer, isPastDue: true }, context);
        expect(logs[0]).toEqual({
            level: 'warning',
            message: 'Timer is past due: the previous schedule was missed (host restart or long invocation).',
        });
    });

    it('uses the settings: NAMES_PER_MESSAGE and NAMES_SEED make the default handler reproducible', async () => {
        process.env.NAMES_PER_MESSAGE = '100';
        process.env.NAMES_SEED = '5';
        const { context } = createTestContext();
        const message = generateNames(timer, context);
        expect(message.names).toHaveLength(100);
        expect(Date.parse(message.generatedAt)).toBeGreaterThan(Date.parse('2026-01-01T00:00:00Z'));
        // A fresh module with the same seed draws the same names.
        vi.resetModules();
        const again = await vi.importActual<typeof import('../../functions/generateNames')>(
            '../../functions/generateNames',
        );
        expect(again.generateNames(timer, context).names).toEqual(message.names);
        delete process.env.NAMES_PER_MESSAGE;
        delete process.env.NAMES_SEED;
    });
});
