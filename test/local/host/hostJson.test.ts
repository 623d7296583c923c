import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { loadHostOptions, parseTimeSpan } from '../../../local/host/hostJson';

describe('parseTimeSpan', () => {
    it.each([
        ['00:00:00', 0],
        ['00:05:00', 300_000],
        ['01:02:03', 3_723_000],
        ['1:00:00', 3_600_000],
        ['2.00:00:01', 172_801_000],
        ['00:00:01.5', 1500],
        ['00:00:00.001', 1],
        [' 00:00:10 ', 10_000],
    ])('reads "%s" as %d ms', (text, expected) => {
        expect(parseTimeSpan(text)).toBe(expected);
    });

    it.each(['', '5', '00:05', '00:5:00', 'PT5M', '-00:05:00', '00:00:00.'])('rejects "%s"', (text) => {
        expect(() => parseTimeSpan(text)).toThrow(`Invalid TimeSpan "${text}": expected hh:mm:ss`);
    });

    it.each([
        ['24:00:00', 24 * 86_400_000],
        ['25:01:02', 25 * 86_400_000 + 3_600_000 + 120_000],
        ['100:00:00', 100 * 86_400_000],
    ])('reads "%s" as TimeSpan.Parse does, its first field as days (%d ms)', (text, expected) => {
        expect(parseTimeSpan(text)).toBe(expected);
    });

    it.each([
        ['00:60:00', 'minutes must be 0-59 (got 60)'],
        ['1.00:00:75', 'seconds must be 0-59 (got 75)'],
        ['1.24:00:00', 'hours must be 0-23 (got 24)'],
        ['25:30:00', 'hours must be 0-23 (got 30)'],
        ['24:00:00.5', 'hours must be 0-23 (got 24)'],
    ])('rejects "%s" (%s) instead of carrying the excess over', (text, reason) => {
        expect(() => parseTimeSpan(text)).toThrow(`Invalid TimeSpan "${text}": ${reason}`);
    });
});

describe('loadHostOptions', () => {
    const directories: string[] = [];
    const appWithHostJson = (hostJson: unknown) => {
        const directory = mkdtempSync(path.join(tmpdir(), 'namestream-hostjson-'));
        directories.push(directory);
        writeFileSync(path.join(directory, 'host.json'), JSON.stringify(hostJson));
        return directory;
    };
    afterEach(() => {
        for (const directory of directories.splice(0)) {
            rmSync(directory, { recursive: true, force: true });
        }
    });

    it("uses the extension's defaults when host.json omits serviceBus and http", () => {
        expect(loadHostOptions(appWithHostJson({ version: '2.0' }), 4)).toEqual({
            routePrefix: 'api',
            serviceBus: { maxConcurrentCalls: 64, maxAutoLockRenewalDurationMs: 300_000, autoCompleteMessages: true },
        });
    });

    it('reads the route prefix, the Service Bus options and the function timeout', () => {
        const root = appWithHostJson({
            version: '2.0',
            functionTimeout: '00:10:00',
            extensions: {
                http: { routePrefix: '' },
                serviceBus: {
                    maxConcurrentCalls: 3,
                    maxAutoLockRenewalDuration: '00:00:30',
                    autoCompleteMessages: false,
                },
            },
        });
        expect(loadHostOptions(root, 2)).toEqual({
            routePrefix: '',
            serviceBus: { maxConcurrentCalls: 3, maxAutoLockRenewalDurationMs: 30_000, autoCompleteMessages: false },
            functionTimeoutMs: 600_000,
        });
    });

    it("reads the project's own host.json", () => {
        expect(loadHostOptions(path.resolve(__dirname, '../../..'), 2).routePrefix).toBe('api');
    });
});
