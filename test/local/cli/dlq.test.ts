import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { fixedClock } from '../../../domain/clock';
import { runDlq } from '../../../local/cli/dlq';
import type { LocalEventGridTopic } from '../../../local/eventGrid';
import { startLocalEventGridTopic } from '../../../local/eventGrid';
import type { LocalEventHub } from '../../../local/eventHubs';
import { type HttpHost, startHttpHost } from '../../../local/host/triggers/httpTrigger';
import type { ManagedRuntime } from '../../../local/runtime/managementApi';
import { RuntimeMetrics } from '../../../local/runtime/runtimeMetrics';
import { LocalServiceBusQueue } from '../../../local/serviceBus';
import { startManagementHost } from '../../support/managementHost';

const clock = fixedClock('2025-01-01T00:00:00Z');

const usage = [
    'Usage: npm run dlq -- [list | resubmit [seq] | purge [seq]] [--queue <name>] [--url <url>]',
    '  list (the default)  the dead-lettered messages with their reason',
    '  resubmit [seq]      send one (by sequence number) or all back to the queue',
    '  purge [seq]         delete one or all',
].join('\n');

describe('runDlq', () => {
    let host: HttpHost;
    let eventGrid: LocalEventGridTopic;
    let runtime: ManagedRuntime;
    let queue: LocalServiceBusQueue;
    let lines: string[];
    const run = (...argv: string[]) => runDlq(['--url', `${host.url}/`, ...argv], (line) => lines.push(line));

    beforeAll(async () => {
        eventGrid = await startLocalEventGridTopic({ port: 0, clock });
        host = await startManagementHost(() => runtime);
    });
    afterAll(async () => {
        await host.close();
        await eventGrid.close();
    });
    beforeEach(() => {
        lines = [];
        queue = new LocalServiceBusQueue({ name: 'newnames-queue', clock });
        const queues = new Map([
            ['newnames-queue', queue],
            ['other', new LocalServiceBusQueue({ name: 'other', clock })],
        ]);
        runtime = {
            urls: { functions: host.url, blob: '', cosmos: '', signalR: '', eventGrid: '' },
            metrics: new RuntimeMetrics({ queues, eventHubs: new Map<string, LocalEventHub>(), clock }),
            eventGrid,
            queues,
            recount: () => Promise.reject(new Error('not used here')),
        };
    });

    function deadLetter(target: LocalServiceBusQueue, body: string): void {
        target.send({ body, messageId: `m-${target.deadLetterMessageCount}` });
        const [received] = target.receive(1);
        target.deadLetter(received!.lockToken, { reason: 'ValidationFailed', description: 'names must be an array' });
    }

    it('lists the dead letters of newnames-queue with their reasons, long bodies cut', async () => {
        deadLetter(queue, '{"id":"a"}');
        deadLetter(queue, 'x'.repeat(250));
        expect(await run()).toBe(0);
        expect(lines).toEqual([
            '2 dead-lettered message(s) in newnames-queue',
            '#1 m-0  ValidationFailed: names must be an array  (deliveries 1, dead-lettered 2025-01-01T00:00:00.000Z)\n    body: {"id":"a"}',
            `#2 m-1  ValidationFailed: names must be an array  (deliveries 1, dead-lettered 2025-01-01T00:00:00.000Z)\n    body: ${'x'.repeat(200)}… (250 chars)`,
        ]);
    });

    it('reads another queue with --queue', async () => {
        expect(await run('list', '--queue', 'other')).toBe(0);
        expect(lines).toEqual(['0 dead-lettered message(s) in other']);
    });

    it('resubmits one by sequence number, or all', async () => {
        deadLetter(queue, 'a');
        deadLetter(queue, 'b');
        expect(await run('resubmit', '1')).toBe(0);
        expect(await run('resubmit')).toBe(0);
        expect(lines).toEqual([
            'Resubmitted 1 message(s) to newnames-queue',
            'Resubmitted 1 message(s) to newnames-queue',
        ]);
        expect(queue.activeMessageCount).toBe(2);
    });

    it('purges one by sequence number, or all', async () => {
        deadLetter(queue, 'a');
        deadLetter(queue, 'b');
        deadLetter(queue, 'c');
        expect(await run('purge', '2')).toBe(0);
        expect(await run('purge')).toBe(0);
        expect(lines).toEqual([
            'Purged 1 message(s) from the dead-letter queue of newnames-queue',
            'Purged 2 message(s) from the dead-letter queue of newnames-queue',
        ]);
    });

    it('exits 1 with the runtime error for an unknown queue or sequence number', async () => {
        expect(await run('--queue', 'nope')).toBe(1);
        expect(await run('purge', '42')).toBe(1);
        expect(lines).toEqual([
            'Error 404: No queue "nope" (queues: newnames-queue, other)',
            'Error 404: No message with sequence number 42 in the dead-letter queue of "newnames-queue"',
        ]);
    });

    it('exits 2 for usage mistakes without calling the runtime', async () => {
        expect(await runDlq(['resubmit', 'abc'], (line) => lines.push(line))).toBe(2);
        expect(await runDlq(['frobnicate'], (line) => lines.push(line))).toBe(2);
        expect(await runDlq(['--queue'], (line) => lines.push(line))).toBe(2);
        expect(await runDlq(['--bogus'], (line) => lines.push(line))).toBe(2);
        expect(lines).toEqual([
            'Sequence number must be a whole number (got "abc")',
            'Unknown command "frobnicate": use list, resubmit [seq] or purge [seq]',
            `Option '--queue <value>' argument missing\n${usage}`,
            `Unknown option '--bogus'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- "--bogus"\n${usage}`,
        ]);
    });

    it('prints the usage for --help and -h without calling the runtime', async () => {
        expect(await runDlq(['--help'], (line) => lines.push(line))).toBe(0);
        expect(await runDlq(['resubmit', '-h'], (line) => lines.push(line))).toBe(0);
        expect(lines).toEqual([usage, usage]);
    });

    it('exits 1 when something other than the local runtime answers', async () => {
        const other = await startHttpHost({
            port: 0,
            host: '127.0.0.1',
            routePrefix: 'api',
            functions: [],
            corsOrigins: [],
            corsCredentials: false,
            invoke: () => Promise.resolve(undefined),
            onError: () => undefined,
        });
        try {
            expect(await runDlq(['--url', other.url], (line) => lines.push(line))).toBe(1);
        } finally {
            await other.close();
        }
        expect(lines).toEqual([
            `Error 404: ${other.url} did not answer as the local runtime does (is it "npm start"?)`,
        ]);
    });

    it('exits 1 and says to start the runtime when nothing listens', async () => {
        const closed = createServer();
        await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
        const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
        await new Promise((resolve) => closed.close(resolve));
        expect(await runDlq(['--url', url], (line) => lines.push(line))).toBe(1);
        expect(lines).toEqual([
            `Cannot reach the local runtime at ${url} (fetch failed). Is "npm start" running (--services-only serves no /_local API)?`,
        ]);
    });
});
