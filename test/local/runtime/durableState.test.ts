import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, describe, expect, it } from 'vitest';

import type { Clock } from '../../../domain/clock';
import { type LocalRuntime, startLocalRuntime } from '../../../local/runtime/localRuntime';
import { StateLockedError } from '../../../local/state';

const repoRoot = path.resolve(__dirname, '../../..');
/** Once a minute: the host monitors a schedule like this (it does not monitor sub-minute ones). */
const MINUTELY = { GENERATE_NAMES_SCHEDULE: '0 * * * * *' };
const STATUS_BLOB = 'timers/namestream-local/Host.Functions.generateNames/status';

describe('local runtime state on disk', () => {
    const cleanups: Array<() => Promise<void> | void> = [];
    // An app root holding only links to the built app: anything the runtime writes under the app would show.
    const appRoot = mkdtempSync(path.join(tmpdir(), 'linked-app-'));
    const linked = ['dist', 'host.json', 'local.settings.sample.json', 'package.json'];
    for (const entry of linked) {
        symlinkSync(path.join(repoRoot, entry), path.join(appRoot, entry));
    }
    cleanups.push(() => rmSync(appRoot, { recursive: true, force: true }));
    afterAll(async () => {
        for (const cleanup of cleanups.reverse()) {
            await cleanup();
        }
    });

    it('keeps blobs, queued messages and the timer status across a restart, so a missed occurrence runs as past due', async () => {
        const stateDirectory = mkdtempSync(path.join(tmpdir(), 'durable-state-'));
        cleanups.push(() => rmSync(stateDirectory, { recursive: true, force: true }));
        // The first run lives three minutes in the past (the local Cosmos DB's certificate is issued at its clock's
        // now, so the clock may lag the real time but not lead it); the second runs at the real time.
        let shiftMs = -3 * 60_000;
        const clock: Clock = { now: () => new Date(Date.now() + shiftMs) };
        const logs: string[] = [];
        const start = () =>
            startLocalRuntime({
                appRoot,
                ephemeralPorts: true,
                stateDirectory,
                settings: MINUTELY,
                clock,
                log: (line) => logs.push(line),
            });
        let runtime: LocalRuntime | undefined = await start();
        cleanups.push(() => runtime?.stop());
        const startedAt = clock.now();

        // A second runtime on the same folder is refused before it touches anything.
        await expect(start()).rejects.toThrow(StateLockedError);

        const blobs = (rt: LocalRuntime) => BlobServiceClient.fromConnectionString(rt.azurite.connectionString);
        await blobs(runtime).getContainerClient('raw-names').createIfNotExists();
        await blobs(runtime).getContainerClient('raw-names').getBlockBlobClient('kept.json').upload('{"a":1}', 7);
        // The queue is on the state database too (a scheduled message, so the trigger leaves it alone).
        const tomorrow = new Date(startedAt.getTime() + 86_400_000);
        const scheduled = runtime.queues
            .get('newnames-queue')!
            .send({ body: '{"names":["Ada"]}', messageId: 'kept', scheduledEnqueueTimeUtc: tomorrow });
        // The trigger records its status as it starts, as the host's listener does: not necessarily before start returns.
        const statusBlob = blobs(runtime).getContainerClient('azure-webjobs-hosts').getBlockBlobClient(STATUS_BLOB);
        await waitForAsync(() => statusBlob.exists(), 20_000);
        const status = JSON.parse((await statusBlob.downloadToBuffer()).toString()) as { Next: string };
        const nextMinute = new Date(Math.floor(startedAt.getTime() / 60_000) * 60_000 + 60_000);
        expect(new Date(status.Next).getTime()).toBeGreaterThanOrEqual(nextMinute.getTime());
        // The hub the runtime builds keeps its log on the folder (the store's own tests cover the details).
        const [sent] = runtime.eventHubs.get('names')!.send([{ body: { kept: true } }], { partitionId: '3' });
        await runtime.stop();
        runtime = undefined;

        // Three minutes of downtime: the recorded next occurrence has passed.
        shiftMs = 0;
        logs.length = 0;
        runtime = await start();
        // The Stream Analytics job resumes from its recorded progress (the first run's time), not from now.
        expect(runtime.streamAnalytics.outputStartTimes.letterCountsOutput).toBeLessThan(Date.now() - 60_000);
        await waitFor(() => logs.some((line) => line.includes('Timer is past due')), 20_000);
        expect(logs.filter((line) => line.includes('Timer is past due'))).toEqual([
            '[generateNames] warning: Timer is past due: the previous schedule was missed (host restart or long invocation).',
        ]);
        const kept = blobs(runtime).getContainerClient('raw-names').getBlockBlobClient('kept.json');
        expect((await kept.downloadToBuffer()).toString()).toBe('{"a":1}');
        expect(runtime.eventHubs.get('names')!.read('3', sent!.sequenceNumber, 1)).toEqual([sent]);
        const queue = runtime.queues.get('newnames-queue')!;
        expect(queue.peek(scheduled.sequenceNumber, 1)).toEqual([
            expect.objectContaining({ messageId: 'kept', state: 'scheduled', scheduledEnqueueTimeUtc: tomorrow }),
        ]);
        expect(
            queue.send({ body: '{"names":["Bo"]}', scheduledEnqueueTimeUtc: tomorrow }).sequenceNumber,
        ).toBeGreaterThan(scheduled.sequenceNumber);
        await runtime.stop();
        runtime = undefined;
        expect(readdirSync(stateDirectory).sort()).toEqual(['azurite', 'namestream.db']);
        expect(readdirSync(appRoot).sort()).toEqual(linked);
    });

    it('with no state folder (--in-memory) writes nothing under the app', async () => {
        const logs: string[] = [];
        const runtime = await startLocalRuntime({
            appRoot,
            ephemeralPorts: true,
            settings: MINUTELY,
            log: (line) => logs.push(line),
        });
        cleanups.push(() => runtime.stop());
        expect(runtime.state).toBeUndefined();
        const container = BlobServiceClient.fromConnectionString(runtime.azurite.connectionString).getContainerClient(
            'raw-names',
        );
        await container.createIfNotExists();
        await container.getBlockBlobClient('gone.json').upload('{}', 2);
        await runtime.stop();
        expect(readdirSync(appRoot).sort()).toEqual(linked);
    });
});

async function waitForAsync(predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; !(await predicate());) {
        if (Date.now() > deadline) {
            throw new Error(`condition not met within ${timeoutMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; !predicate();) {
        if (Date.now() > deadline) {
            throw new Error(`condition not met within ${timeoutMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}
