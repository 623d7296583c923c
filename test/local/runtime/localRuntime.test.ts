import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { ChangeFeedStartFrom } from '@azure/cosmos';
import { EventHubProducerClient } from '@azure/event-hubs';
import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';

import { createLocalCosmosClient } from '../../../local/cosmos';
import {
    formatEventOrderingReport,
    sharedAmqpPort,
    startLocalRuntime,
    withWindowSeconds,
} from '../../../local/runtime/localRuntime';
import { letterCountsQueryPath } from '../../../local/streamAnalytics';

describe('withWindowSeconds', () => {
    it('leaves the query as it is without a window size', () => {
        expect(withWindowSeconds('anything', undefined)).toBe('anything');
    });

    it('rewrites every 30-second tumbling window, whatever the case and spacing', () => {
        expect(withWindowSeconds('GROUP BY TumblingWindow(second, 30) UNION tumblingwindow( SECOND ,30 )', 2)).toBe(
            'GROUP BY TumblingWindow(second, 2) UNION TumblingWindow(second, 2)',
        );
    });

    it('refuses a query without a 30-second tumbling window', () => {
        expect(() => withWindowSeconds('GROUP BY TumblingWindow(second, 10)', 2)).toThrow(
            'windowSeconds: the query has no TumblingWindow(second, 30) to shorten',
        );
    });

    it("shortens the project's own query", () => {
        const query = readFileSync(letterCountsQueryPath(), 'utf8');
        const shortened = withWindowSeconds(query, 2);
        expect(shortened).not.toBe(query);
        expect(shortened).toContain('TumblingWindow(second, 2)');
        expect(shortened).not.toMatch(/TumblingWindow\(\s*second\s*,\s*30\s*\)/i);
    });
});

describe('formatEventOrderingReport', () => {
    it('says how many events were dropped, why, and how to get their names counted', () => {
        expect(
            formatEventOrderingReport({
                lateInputEvents: 5,
                earlyInputEvents: 0,
                outOfOrderEvents: 2,
                droppedEvents: 7,
                adjustedEvents: 0,
            }),
        ).toBe(
            '[stream analytics] warning: 5 late, 0 early, 2 out of order input events; 7 dropped: their names are missing from the live counts until a recount (npm run recount -- --since 2h) derives those windows again from the raw-names blobs',
        );
    });

    it('says where adjusted events were counted', () => {
        expect(
            formatEventOrderingReport({
                lateInputEvents: 1,
                earlyInputEvents: 0,
                outOfOrderEvents: 0,
                droppedEvents: 0,
                adjustedEvents: 1,
            }),
        ).toBe(
            '[stream analytics] warning: 1 late, 0 early, 0 out of order input events; 1 adjusted: counted in a later window than the one they were generated in',
        );
    });
});

describe('startLocalRuntime({ servicesOnly: true }), as npm start -- --services-only runs it', () => {
    it('serves the stand-ins to the official clients without starting the functions', async () => {
        const runtime = await startLocalRuntime({
            appRoot: path.resolve(__dirname, '..', '..', '..'),
            ephemeralPorts: true,
            servicesOnly: true,
            log: () => undefined,
        });
        const producer = new EventHubProducerClient(runtime.settings.EventHubConnection!, 'names', {
            retryOptions: { maxRetries: 0, timeoutInMs: 5_000 },
        });
        const cosmos = createLocalCosmosClient(runtime.settings.CosmosDBConnection!, { ca: runtime.cosmos.ca });
        try {
            expect(runtime.urls.functions).toBe('');
            expect(runtime.host.httpUrl).toBeUndefined();
            await producer.sendBatch([{ body: { name: 'Ada' } }]);
            expect(runtime.eventHubs.get('names')!.stats().totalEnqueuedEvents).toBe(1);
            const feed = cosmos
                .database('namestream')
                .container('letter-counts')
                .items.getChangeFeedIterator({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() });
            expect((await feed.readNext()).statusCode).toBe(304);
        } finally {
            await producer.close();
            cosmos.dispose();
            await runtime.stop();
        }
    }, 60_000);
});

describe('startLocalRuntime with a state folder', () => {
    it('deletes raw-names blobs older than the retention at start, as the storage lifecycle rule does', async () => {
        const directory = mkdtempSync(path.join(tmpdir(), 'runtime-blob-retention-'));
        try {
            // A blob left by an earlier run (which also makes the state folder's Cosmos DB certificate, valid from
            // now); the next run's clock then stands eight days later.
            const earlier = await startLocalRuntime({
                appRoot: path.resolve(__dirname, '..', '..', '..'),
                ephemeralPorts: true,
                servicesOnly: true,
                stateDirectory: directory,
                log: () => undefined,
            });
            try {
                const earlierRaw = BlobServiceClient.fromConnectionString(
                    earlier.settings.AzureWebJobsStorage!,
                ).getContainerClient('raw-names');
                await earlierRaw.createIfNotExists();
                await earlierRaw.getBlockBlobClient('old.json').upload('{}', 2);
            } finally {
                await earlier.stop();
            }
            const lines: string[] = [];
            const runtime = await startLocalRuntime({
                appRoot: path.resolve(__dirname, '..', '..', '..'),
                ephemeralPorts: true,
                servicesOnly: true,
                stateDirectory: directory,
                clock: { now: () => new Date(Date.now() + 8 * 24 * 60 * 60_000) },
                log: (line) => lines.push(line),
            });
            try {
                for (let tries = 0; tries < 100 && !lines.some((l) => l.startsWith('[blob lifecycle]')); tries++) {
                    await sleep(50);
                }
                expect(lines.filter((l) => l.startsWith('[blob lifecycle]'))).toEqual([
                    '[blob lifecycle] expire-raw-names: deleted 1 blob last modified more than 7 days ago (raw-names/old.json)',
                ]);
                const raw = BlobServiceClient.fromConnectionString(runtime.settings.AzureWebJobsStorage!);
                expect(await raw.getContainerClient('raw-names').getBlockBlobClient('old.json').exists()).toBe(false);
            } finally {
                await runtime.stop();
            }
        } finally {
            rmSync(directory, { recursive: true, force: true });
        }
    }, 60_000);
});

describe("startLocalRuntime({ retention }), the soak's shortened retention", () => {
    it('expires raw-names blobs, Event Hub events and letter-count documents after the shortened times', async () => {
        const lines: string[] = [];
        const runtime = await startLocalRuntime({
            appRoot: path.resolve(__dirname, '..', '..', '..'),
            ephemeralPorts: true,
            servicesOnly: true,
            retention: {
                rawNamesBlobMs: 1000,
                blobSweepIntervalMs: 250,
                eventHubMs: 1000,
                letterCountsTtlSeconds: 1,
                cosmosTtlSweepIntervalMs: 250,
            },
            log: (line) => lines.push(line),
        });
        const cosmos = createLocalCosmosClient(runtime.settings.CosmosDBConnection!, { ca: runtime.cosmos.ca });
        try {
            const rawNames = BlobServiceClient.fromConnectionString(
                runtime.settings.AzureWebJobsStorage!,
            ).getContainerClient('raw-names');
            await rawNames.createIfNotExists();
            await rawNames.getBlockBlobClient('a.json').upload('{}', 2);
            const hub = runtime.eventHubs.get('names')!;
            hub.send([{ body: { name: 'Ada' } }], { partitionId: '0' });
            const letterCounts = cosmos.database('namestream').container('letter-counts');
            await letterCounts.items.upsert({ id: 'w-A', windowEnd: 'w', letter: 'A', count: 1 });
            // The hub's retention only: the count cap of 50,000 events stays.
            expect([hub.retentionMs, hub.maxRetainedEventsPerPartition]).toEqual([1000, 50_000]);
            expect((await letterCounts.read()).resource?.defaultTtl).toBe(1);

            const gone = async () =>
                !(await rawNames.getBlockBlobClient('a.json').exists()) &&
                hub.getPartitionProperties('0').isEmpty &&
                (await letterCounts.items.readAll().fetchAll()).resources.length === 0;
            let tries = 0;
            while (!(await gone()) && tries++ < 40) {
                await sleep(250);
            }
            expect(await gone()).toBe(true);
            expect(lines.filter((line) => line.startsWith('[blob lifecycle]'))).toEqual([
                '[blob lifecycle] expire-raw-names: deleted 1 blob last modified more than 1000 ms ago (raw-names/a.json)',
            ]);
        } finally {
            cosmos.dispose();
            await runtime.stop();
        }
    }, 60_000);

    it('refuses a value that is not a positive integer before starting anything', async () => {
        await expect(
            startLocalRuntime({
                appRoot: path.resolve(__dirname, '..', '..', '..'),
                ephemeralPorts: true,
                servicesOnly: true,
                retention: { eventHubMs: 0 },
                log: () => undefined,
            }),
        ).rejects.toThrow(new RangeError('retention.eventHubMs must be a positive integer (got 0)'));
    });
});

describe('sharedAmqpPort', () => {
    const emulator = (endpoint: string, keyName = 'RootManageSharedAccessKey', key = 'SAS_KEY_VALUE') =>
        `Endpoint=${endpoint};SharedAccessKeyName=${keyName};SharedAccessKey=${key};UseDevelopmentEmulator=true;`;

    it('is 5672 when the endpoints name no port, and the named port when both name the same one', () => {
        expect(sharedAmqpPort(emulator('sb://127.0.0.1'), emulator('sb://127.0.0.1'))).toBe(5672);
        expect(sharedAmqpPort(emulator('sb://127.0.0.1:5673'), emulator('sb://localhost:5673/'))).toBe(5673);
        expect(sharedAmqpPort(emulator('sb://127.0.0.1:5673'), undefined)).toBe(5673);
        // Different key names are both accepted by the one listener.
        expect(sharedAmqpPort(emulator('sb://127.0.0.1'), emulator('sb://127.0.0.1', 'Other', 'k2'))).toBe(5672);
    });

    it('refuses two ports, or one key name with two keys, instead of rewriting one setting', () => {
        expect(() => sharedAmqpPort(emulator('sb://127.0.0.1'), emulator('sb://127.0.0.1:5673'))).toThrow(
            'ServiceBusConnection and EventHubConnection must name the same local AMQP endpoint (one listener serves both): ports 5672 and 5673 differ. Change one of them in local.settings.json.',
        );
        expect(() =>
            sharedAmqpPort(emulator('sb://127.0.0.1'), emulator('sb://127.0.0.1', 'RootManageSharedAccessKey', 'x')),
        ).toThrow('the key name "RootManageSharedAccessKey" has two different keys');
    });
});
