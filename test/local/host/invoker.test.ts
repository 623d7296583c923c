import path from 'node:path';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { loadFunctionApp } from '../../../local/host/functionApp';
import { FunctionInvoker, type InvocationLog } from '../../../local/host/invoker';

const app = loadFunctionApp(path.join(__dirname, 'fixtures', 'app'));

describe('FunctionInvoker', () => {
    it("invokes through the library: return value, extra outputs and the handler's logs", async () => {
        const sunk: Array<{ functionName: string; invocationId: string; log: InvocationLog }> = [];
        const invoker = new FunctionInvoker(app, (functionName, invocationId, log) =>
            sunk.push({ functionName, invocationId, log }),
        );
        const result = await invoker.invoke('echo', {
            triggerData: { string: '{"id":"a1","names":["Ada"]}' },
            triggerMetadata: {
                MessageId: 'm-1',
                DeliveryCount: 2,
                EnqueuedTimeUtc: new Date('2025-01-01T00:00:00Z'),
                ApplicationProperties: { Source: 'test', Nested: { InnerKey: 1 } },
            },
            retryContext: { retryCount: 1, maxRetryCount: 3 },
        });
        expect(result.invocationId).toMatch(/^[0-9a-f-]{36}$/);
        expect(result.returnValue).toEqual({
            message: { id: 'a1', names: ['Ada'] },
            // The library camel-cases trigger metadata keys, nested ones too, and JSON-parses text values.
            triggerMetadata: {
                messageId: 'm-1',
                deliveryCount: 2,
                enqueuedTimeUtc: '2025-01-01T00:00:00.000Z',
                applicationProperties: { source: 'test', nested: { innerKey: 1 } },
            },
            retryContext: { retryCount: 1, maxRetryCount: 3 },
        });
        expect(result.outputs).toEqual(new Map([['forwarded', [{ n: 1 }, 'two']]]));
        expect(result.logs).toEqual([
            { level: 'information', category: 'user', message: 'received a1' },
            { level: 'warning', category: 'user', message: 'careful' },
        ]);
        expect(sunk).toEqual(
            result.logs.map((log) => ({ functionName: 'echo', invocationId: result.invocationId, log })),
        );
    });

    it('hands a non-JSON text payload over as text, and gives each invocation its own id', async () => {
        const invoker = new FunctionInvoker(app);
        const first = await invoker.invoke('echo', { triggerData: { string: 'plain text' } });
        const second = await invoker.invoke('echo', { triggerData: { string: 'plain text' } });
        expect(first.returnValue).toEqual({ message: 'plain text', triggerMetadata: {}, retryContext: null });
        expect(first.invocationId).not.toBe(second.invocationId);
    });

    it("hands trigger metadata text over exactly as the library decodes the host's text encoding", async () => {
        const invoker = new FunctionInvoker(app);
        const jsonLike = fc.string({ unit: fc.constantFrom(...'0123456789-+.e {}[]",:truefalsn\t'.split('')) });
        const text = fc.oneof(
            fc.string(),
            jsonLike,
            fc.double().map(String),
            fc.integer().map((n) => ` ${String(n)}\n`),
            fc.uuid(),
            fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
        );
        await fc.assert(
            fc.asyncProperty(text, async (value) => {
                // The trigger payload goes over as { string } as the host sends it: what the library makes of it
                // is what the metadata value must decode to, whichever encoding toTypedData chose.
                const result = await invoker.invoke('echo', {
                    triggerData: { string: value },
                    triggerMetadata: { Value: value },
                });
                const { message, triggerMetadata } = result.returnValue as {
                    message: unknown;
                    triggerMetadata: { value: unknown };
                };
                expect(triggerMetadata.value).toEqual(message);
            }),
            { numRuns: 2000 },
        );
    });

    it("propagates the handler's error", async () => {
        const invoker = new FunctionInvoker(app);
        await expect(invoker.invoke('fail', { triggerData: { json: '{"id":"x"}' } })).rejects.toThrow(
            'handler failed on {"id":"x"}',
        );
    });

    it('names the registered functions when asked for an unknown one', async () => {
        const invoker = new FunctionInvoker(app);
        expect(() => invoker.get('nope')).toThrow('No function named "nope" (registered: echo, fail)');
        await expect(invoker.invoke('nope', { triggerData: { string: '' } })).rejects.toThrow(
            'No function named "nope" (registered: echo, fail)',
        );
    });
});
