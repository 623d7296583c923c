import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NEVER_OCCURRED } from '../../../local/host/triggers/timerTrigger';
import { type RunningAzurite, startAzurite } from '../../../local/runtime/azurite';
import { blobScheduleMonitor, HOSTS_CONTAINER } from '../../../local/runtime/blobScheduleMonitor';

describe('blobScheduleMonitor', () => {
    let azurite: RunningAzurite;
    let container: ContainerClient;

    beforeAll(async () => {
        azurite = await startAzurite({ port: 0 });
        container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
            HOSTS_CONTAINER,
        );
    });
    afterAll(() => azurite.close());

    it('keeps the status in the blob the host uses, and reads "never recorded" before the first write', async () => {
        const monitor = blobScheduleMonitor(container, 'my-host', 'Host.Functions.generateNames');
        await expect(monitor.getStatus()).resolves.toBeNull();
        const status = {
            Last: NEVER_OCCURRED,
            Next: '2026-01-01T00:01:00.000Z',
            LastUpdated: '2026-01-01T00:00:03.000Z',
        };
        await monitor.updateStatus(status);
        await monitor.updateStatus({ ...status, Last: '2026-01-01T00:01:00.000Z' });
        const blob = container.getBlockBlobClient('timers/my-host/Host.Functions.generateNames/status');
        expect(JSON.parse((await blob.downloadToBuffer()).toString())).toEqual({
            ...status,
            Last: '2026-01-01T00:01:00.000Z',
        });
        // A status the host wrote in .NET's round-trip form reads as the same instants.
        const hostWritten = JSON.stringify({
            Last: '2026-01-01T00:01:00+00:00',
            Next: '2026-01-01T00:02:00+00:00',
            LastUpdated: '2026-01-01T00:01:00+00:00',
        });
        await blob.upload(hostWritten, hostWritten.length);
        await expect(monitor.getStatus()).resolves.toEqual({
            Last: '2026-01-01T00:01:00.000Z',
            Next: '2026-01-01T00:02:00.000Z',
            LastUpdated: '2026-01-01T00:01:00.000Z',
        });
    });

    it('names the blob when its content is not a status', async () => {
        const monitor = blobScheduleMonitor(container, 'my-host', 'Host.Functions.broken');
        await container.createIfNotExists();
        await container.getBlockBlobClient('timers/my-host/Host.Functions.broken/status').upload('{"Last":3}', 10);
        await expect(monitor.getStatus()).rejects.toThrow(
            'Timer status blob azure-webjobs-hosts/timers/my-host/Host.Functions.broken/status is not { Last, Next, LastUpdated } (got "{\\"Last\\":3}")',
        );
    });
});
