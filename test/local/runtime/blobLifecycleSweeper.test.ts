import { setTimeout as sleep } from 'node:timers/promises';

import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fixedClock } from '../../../domain/clock';
import { type RunningAzurite, startAzurite } from '../../../local/runtime/azurite';
import { startBlobLifecycleSweeper } from '../../../local/runtime/blobLifecycleSweeper';
import { localInfrastructure } from '../../../local/runtime/localInfrastructure';

const DAY_MS = 24 * 60 * 60_000;

describe('startBlobLifecycleSweeper against Azurite', () => {
    let azurite: RunningAzurite;
    let service: BlobServiceClient;
    const rule = localInfrastructure({}).rawNamesLifecycleRule;

    beforeAll(async () => {
        azurite = await startAzurite({ port: 0 });
        service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    });
    afterAll(() => azurite?.close());

    async function put(container: ContainerClient, name: string): Promise<Date> {
        await container.createIfNotExists();
        const response = await container.getBlockBlobClient(name).upload('{}', 2);
        return response.lastModified!;
    }

    async function names(container: ContainerClient): Promise<string[]> {
        const found: string[] = [];
        for await (const blob of container.listBlobsFlat()) found.push(blob.name);
        return found;
    }

    it("deletes the rule's blobs last modified more than the retention ago, page by page, and keeps the rest", async () => {
        const rawNames = service.getContainerClient('raw-names');
        const hosts = service.getContainerClient('azure-webjobs-hosts');
        // Same name start, other container: `raw-names/` selects the container raw-names only.
        const lookalike = service.getContainerClient('raw-names-archive');
        // On a busy machine the five may straddle a second (Last-Modified has whole seconds): first and last differ.
        const written: Date[] = [];
        for (const name of ['a.json', 'b.json', 'c.json', 'd.json', 'e.json']) {
            written.push(await put(rawNames, name));
        }
        const [oldest, newest] = [written[0]!, written.at(-1)!];
        await put(hosts, 'timers/host/status');
        await put(lookalike, 'a.json');
        const append = rawNames.getAppendBlobClient('log.txt');
        await append.create();
        // Last-Modified has whole seconds: the blob written next is at least a second younger.
        await sleep(1100);
        const young = await put(rawNames, 'young.json');
        expect(young.getTime()).toBeGreaterThan(newest.getTime());

        const lines: string[] = [];
        const days = rule.daysAfterModificationGreaterThan;
        // Exactly the retention for the oldest: "greater than" keeps them all.
        const atRetention = startBlobLifecycleSweeper({
            service,
            rule,
            clock: fixedClock(new Date(oldest.getTime() + days * DAY_MS)),
            log: (line) => lines.push(line),
        });
        const first = await atRetention.sweepOnce();
        await atRetention.stop();
        expect(first).toEqual({ deleted: 0, firstDeleted: undefined, kept: 6, failed: 0 });

        // Half a second past it for the newest old one, still inside it for young.json; two blobs a page.
        const sweeper = startBlobLifecycleSweeper({
            service,
            rule,
            clock: fixedClock(new Date(newest.getTime() + days * DAY_MS + 500)),
            pageSize: 2,
            log: (line) => lines.push(line),
        });
        const report = await sweeper.sweepOnce();
        await sweeper.stop();
        expect(sweeper.lastReport).toBe(report);
        // Counts and the first name only: the report of a sweep deleting a million blobs stays small.
        expect(report).toEqual({ deleted: 5, firstDeleted: 'raw-names/a.json', kept: 1, failed: 0 });
        expect(await names(rawNames)).toEqual(['log.txt', 'young.json']);
        expect(await names(hosts)).toEqual(['timers/host/status']);
        expect(await names(lookalike)).toEqual(['a.json']);
        expect(lines).toEqual([
            `[blob lifecycle] expire-raw-names: deleted 5 blobs last modified more than ${days} days ago (raw-names/a.json and 4 more)`,
        ]);
    });

    it('with maxAgeMs (the soak knob), deletes by that age in milliseconds instead of whole days', async () => {
        const container = service.getContainerClient('raw-names');
        const written = await put(container, 'short-lived.json');
        const lines: string[] = [];
        const sweep = async (nowMs: number) => {
            const sweeper = startBlobLifecycleSweeper({
                service,
                rule,
                maxAgeMs: 1000,
                clock: fixedClock(new Date(nowMs)),
                log: (line) => lines.push(line),
            });
            await sweeper.sweepOnce();
            await sweeper.stop();
            return container.getBlockBlobClient('short-lived.json').exists();
        };
        expect(await sweep(written.getTime() + 1000)).toBe(true);
        expect(await sweep(written.getTime() + 1001)).toBe(false);
        expect(lines.at(-1)).toMatch(
            /^\[blob lifecycle\] expire-raw-names: deleted \d+ blobs? last modified more than 1000 ms ago \(/,
        );
        expect(() =>
            startBlobLifecycleSweeper({ service, rule, maxAgeMs: 0, clock: fixedClock(new Date(0)), log: () => {} }),
        ).toThrow(new RangeError('blob lifecycle sweeper: maxAgeMs must be a positive integer (got 0)'));
    });

    it('logs a failing sweep instead of throwing, and stops', async () => {
        const lines: string[] = [];
        const unreachable = BlobServiceClient.fromConnectionString(azurite.connectionString.replace(/:\d+\//, ':1/'), {
            retryOptions: { maxTries: 1 },
        });
        const sweeper = startBlobLifecycleSweeper({
            service: unreachable,
            rule,
            clock: fixedClock('2026-01-01T00:00:00Z'),
            log: (line) => lines.push(line),
        });
        expect(await sweeper.sweepOnce()).toEqual({ deleted: 0, firstDeleted: undefined, kept: 0, failed: 1 });
        await sweeper.stop();
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^\[blob lifecycle\] expire-raw-names: listing raw-names\/ failed: .*ECONNREFUSED/);
    });
});
