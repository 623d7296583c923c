import { describe, expect, it } from 'vitest';

import { InvalidMessageError } from '../../domain/errors';
import { dequeueNames, nameEvents } from '../../functions/dequeueNames';
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
                generatedAt: message.generatedAt,
            },
            {
                eventId: '7f8b3c1e-2d4a-4b6f-9e0a-1c2d3e4f5a6b:1',
                messageId: message.id,
                name: 'Grace Hopper',
                generatedAt: message.generatedAt,
            },
            {
                eventId: '7f8b3c1e-2d4a-4b6f-9e0a-1c2d3e4f5a6b:2',
                messageId: message.id,
                name: 'Alan Turing',
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
        ['a name of the wrong type', { ...message, names: [42] }, 'field "names.0" must be a string (got 42)'],
        ['oversized', { ...message, names: Array(501).fill('Ada') }, 'field "names" must hold at most 500 names'],
    ])('throws a typed error for %s, sets no output and logs why', (_case, body, reason) => {
        const { context, logs } = createTestContext({ triggerMetadata });
        expect(() => dequeueNames(body, context)).toThrow(InvalidMessageError);
        expect(() => dequeueNames(body, context)).toThrow(`Invalid message: ${reason}`);
        expect(context.extraOutputs.get(nameEvents)).toBeUndefined();
        expect(logs[0]!.level).toBe('error');
        expect(logs[0]!.message).toContain('Rejected message m-1 (delivery 1):');
        expect(logs[0]!.message).toContain(reason);
    });
});
