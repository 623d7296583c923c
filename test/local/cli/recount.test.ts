import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runRecount } from '../../../local/cli/recount';
import type { HttpHost } from '../../../local/host/triggers/httpTrigger';
import type { ManagedRuntime } from '../../../local/runtime/managementApi';
import type { RecountRequest } from '../../../local/runtime/recount';
import { startManagementHost } from '../../support/managementHost';

describe('runRecount', () => {
    let host: HttpHost;
    const requests: RecountRequest[] = [];
    const runtime = {
        recount: (request: RecountRequest) => {
            requests.push(request);
            return Promise.resolve({
                from: '2026-11-22T04:00:00.000Z',
                to: '2026-11-22T06:00:00.000Z',
                messagesCounted: 3,
                documents: 4,
                corrected: [{ id: '1795327230-A', windowEnd: '2026-11-22T06:00:30.0000000Z', letter: 'A', count: 7 }],
                rejectedMessages: ['Invalid message: field "id" must be a UUID (got "x")'],
            });
        },
    } as unknown as ManagedRuntime;
    const run = async (...argv: string[]) => {
        const lines: string[] = [];
        const code = await runRecount(['--url', `${host.url}/`, ...argv], (line) => lines.push(line));
        return { code, lines };
    };

    beforeAll(async () => {
        host = await startManagementHost(() => runtime);
    });
    afterAll(async () => {
        await host.close();
    });

    it('recounts the windows of the last 2 hours by default and prints what it corrected', async () => {
        requests.length = 0;
        expect(await run()).toEqual({
            code: 0,
            lines: [
                'Recounted windows ending after 2026-11-22T04:00:00.000Z up to 2026-11-22T06:00:00.000Z: 3 message(s), 4 document(s), 1 corrected',
                '  1795327230-A = 7',
                '  skipped a raw-names blob: Invalid message: field "id" must be a UUID (got "x")',
            ],
        });
        // The default --until is the function's settle margin: never the still-open window nor one the job has not emitted.
        expect(requests).toEqual([{ sinceMs: 7_200_000, untilMs: 120_000 }]);
    });

    it('passes --since and --until as durations', async () => {
        requests.length = 0;
        expect((await run('--since', '90m', '--until', '30s')).code).toBe(0);
        expect(requests).toEqual([{ sinceMs: 5_400_000, untilMs: 30_000 }]);
    });

    it.each([
        [['--since', 'two hours'], '--since must be a duration such as 90s, 30m, 2h or 1d (got "two hours")'],
        [['--until', '5 min'], '--until must be a duration such as 90s, 30m, 2h or 1d (got "5 min")'],
        [['--since', '0s'], '--since must be a positive duration (got "0s")'],
        [
            ['--since', '5m', '--until', '1h'],
            '--since must be longer than --until: windows that ended between --since and --until ago are recounted (got --since "5m" --until "1h")',
        ],
    ])('refuses %j without calling the runtime', async (argv, message) => {
        requests.length = 0;
        expect(await run(...argv)).toEqual({ code: 2, lines: [message] });
        expect(requests).toEqual([]);
    });

    it('names an unknown option and shows the usage', async () => {
        const { code, lines } = await run('--window', '3');
        expect(code).toBe(2);
        expect(lines[0]).toMatch(
            /^Unknown option '--window'.*Usage: npm run recount -- --since 2h \[--until 5m, default 120s\] \[--url <url>\]$/,
        );
    });

    it.each([['--help'], ['-h']])('prints the usage for %s without calling the runtime', async (flag) => {
        requests.length = 0;
        expect(await run(flag)).toEqual({
            code: 0,
            lines: ['Usage: npm run recount -- --since 2h [--until 5m, default 120s] [--url <url>]'],
        });
        expect(requests).toEqual([]);
    });

    it('says when the runtime is not running', async () => {
        const lines: string[] = [];
        expect(await runRecount(['--url', 'http://127.0.0.1:1'], (line) => lines.push(line))).toBe(1);
        expect(lines[0]).toMatch(
            /^Cannot reach the local runtime at http:\/\/127\.0\.0\.1:1 .*Is "npm start" running \(--services-only serves no \/_local API\)\?$/,
        );
    });
});
