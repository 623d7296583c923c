import type { Container, CosmosClient } from '@azure/cosmos';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { Clock } from '../../../../domain/clock';
import type {
    ChangeFeedProcessorHandle,
    ChangeFeedProcessorOptions,
} from '../../../../local/cosmos/changeFeed/changeFeedProcessor';
import { startChangeFeedProcessor } from '../../../../local/cosmos/changeFeed/changeFeedProcessor';
import type { ChangedDocument } from '../../../../local/cosmos/changeFeed/changeFeedReader';
import type { LeaseDocument } from '../../../../local/cosmos/changeFeed/leaseStore';
import { ensureCosmosResources } from '../../../../local/cosmos/cosmosResources';
import { LeaseLostError } from '../../../../local/cosmos/errors';
import { createLocalCosmosClient } from '../../../../local/cosmos/localCosmosClient';
import type { LocalCosmos } from '../../../../local/cosmos/localCosmosServer';
import { startLocalCosmos } from '../../../../local/cosmos/localCosmosServer';

const DATABASE = 'namestream';
const LEASE_TIME = new Date('2030-01-02T03:04:05.000Z');

class ManualClock implements Clock {
    constructor(private instant: Date) {}
    now(): Date {
        return new Date(this.instant);
    }
    set(instant: Date): void {
        this.instant = instant;
    }
}

/** Waits for an asynchronous outcome; fails with the last observed value instead of hanging. */
async function eventually<T>(observe: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await observe();
        if (done(value)) return value;
        if (Date.now() > deadline) throw new Error(`condition not met; last value ${JSON.stringify(value)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
}

/** Waits, as eventually does, until `list` (the batches or calls a handler recorded) holds exactly `count` entries. */
function untilLength(list: readonly unknown[], count: number): Promise<number> {
    return eventually(
        () => list.length,
        (n) => n === count,
    );
}

/** The user part of each delivered document, batch by batch. */
function summary(batches: ChangedDocument[][]): { id: unknown; version: unknown }[][] {
    return batches.map((batch) => batch.map((document) => ({ id: document.id, version: document.version })));
}

describe('startChangeFeedProcessor', () => {
    let cosmos: LocalCosmos;
    let client: CosmosClient;
    let containerName: string;
    let monitored: Container;
    let leases: Container;
    let clock: ManualClock;
    let handles: ChangeFeedProcessorHandle[];
    let containerCount = 0;

    beforeAll(async () => {
        cosmos = await startLocalCosmos({ port: 0 });
        client = createLocalCosmosClient(cosmos.connectionString, { ca: cosmos.ca });
        await ensureCosmosResources(client, {
            databaseName: DATABASE,
            containers: [{ id: 'leases', partitionKeyPath: '/id' }],
        });
        leases = client.database(DATABASE).container('leases');
    });

    afterAll(async () => {
        client.dispose();
        await cosmos.close();
    });

    beforeEach(async () => {
        containerCount += 1;
        containerName = `monitored-${containerCount}`;
        await ensureCosmosResources(client, {
            databaseName: DATABASE,
            containers: [{ id: containerName, partitionKeyPath: '/pk' }],
        });
        monitored = client.database(DATABASE).container(containerName);
        clock = new ManualClock(LEASE_TIME);
        handles = [];
    });

    afterEach(async () => {
        await Promise.all(handles.map((handle) => handle.stop()));
    });

    async function write(id: string, version: number): Promise<void> {
        await monitored.items.upsert({ id, pk: 'p', version });
    }

    function leaseId(prefix = ''): string {
        return `${prefix}127.0.0.1_${DATABASE}_${containerName}..0`;
    }

    async function readLease(prefix = ''): Promise<LeaseDocument | undefined> {
        const { resource } = await leases.item(leaseId(prefix), leaseId(prefix)).read<LeaseDocument>();
        return resource;
    }

    async function start(
        overrides: Partial<ChangeFeedProcessorOptions> & Pick<ChangeFeedProcessorOptions, 'handler'>,
    ): Promise<ChangeFeedProcessorHandle> {
        const handle = await startChangeFeedProcessor({
            client,
            databaseName: DATABASE,
            containerName,
            instanceName: 'instance-1',
            feedPollDelayMs: 10,
            clock,
            onError: () => {},
            ...overrides,
        });
        handles.push(handle);
        return handle;
    }

    function recorder(): { batches: ChangedDocument[][]; handler: (documents: ChangedDocument[]) => Promise<void> } {
        const batches: ChangedDocument[][] = [];
        return {
            batches,
            handler: (documents) => {
                batches.push(documents);
                return Promise.resolve();
            },
        };
    }

    it('delivers each changed item once at its latest version, in modification order, in batches of maxItemsPerInvocation', async () => {
        await write('a', 1);
        await write('b', 1);
        await write('a', 2);
        await write('c', 1);
        await write('a', 3);
        await write('d', 1);
        const { batches, handler } = recorder();
        await start({ handler, startFromBeginning: true, maxItemsPerInvocation: 2 });

        await eventually(
            () => batches.flat().length,
            (n) => n >= 4,
        );
        expect(summary(batches)).toEqual([
            [
                { id: 'b', version: 1 },
                { id: 'c', version: 1 },
            ],
            [
                { id: 'a', version: 3 },
                { id: 'd', version: 1 },
            ],
        ]);
    });

    it('delivers documents with their system properties, including _lsn, _ts and _etag', async () => {
        await write('a', 1);
        const { batches, handler } = recorder();
        await start({ handler, startFromBeginning: true });

        await untilLength(batches, 1);
        const { resource: stored } = await monitored.item('a', 'p').read<ChangedDocument>();
        expect(batches[0]).toEqual([stored]);
        expect(stored).toMatchObject({ _lsn: expect.any(Number), _ts: expect.any(Number), _etag: expect.any(String) });
    });

    it('delivers creates and updates made while running, and never deletes', async () => {
        await write('old', 1);
        const { batches, handler } = recorder();
        await start({ handler, startFromBeginning: true });
        await untilLength(batches, 1);

        await monitored.item('old', 'p').delete();
        await write('new', 1);
        await untilLength(batches, 2);
        await write('new', 2);
        await untilLength(batches, 3);

        expect(summary(batches)).toEqual([
            [{ id: 'old', version: 1 }],
            [{ id: 'new', version: 1 }],
            [{ id: 'new', version: 2 }],
        ]);
    });

    it('starts from now when startFromBeginning is false', async () => {
        await write('before', 1);
        const { batches, handler } = recorder();
        await start({ handler });
        await write('after', 1);

        await untilLength(batches, 1);
        expect(summary(batches)).toEqual([[{ id: 'after', version: 1 }]]);
    });

    it('starts from startFromTime for a new lease', async () => {
        await write('x', 1);
        await write('y', 1);
        const fromPast = recorder();
        await start({ handler: fromPast.handler, startFromTime: new Date('2000-01-01T00:00:00Z') });
        await untilLength(fromPast.batches, 1);
        expect(summary(fromPast.batches)).toEqual([
            [
                { id: 'x', version: 1 },
                { id: 'y', version: 1 },
            ],
        ]);

        const fromFuture = recorder();
        await start({
            handler: fromFuture.handler,
            leaseContainerPrefix: 'future-',
            startFromTime: new Date(Date.now() + 3_600_000),
        });
        await write('z', 1);
        await untilLength(fromFuture.batches, 1);
        expect(summary(fromFuture.batches)).toEqual([[{ id: 'z', version: 1 }]]);
    });

    it('keeps the continuation in a lease document shaped like the SDK v3 EPK lease', async () => {
        await write('a', 1);
        const { batches, handler } = recorder();
        const handle = await start({ handler, startFromBeginning: true, leaseContainerPrefix: 'dashboard-' });
        await untilLength(batches, 1);
        const deliveredLsn = batches[0]![0]!._lsn;
        const whileRunning = await eventually(
            () => readLease('dashboard-'),
            (lease) => lease?.ContinuationToken === `"${deliveredLsn}"`,
        );
        expect(whileRunning).toEqual({
            id: `dashboard-127.0.0.1_${DATABASE}_${containerName}..0`,
            version: 1,
            LeaseToken: '0',
            FeedRange: { Range: { min: '', max: 'FF' } },
            Owner: 'instance-1',
            ContinuationToken: `"${deliveredLsn}"`,
            timestamp: LEASE_TIME.toISOString(),
            properties: {},
            _etag: expect.any(String),
            _rid: expect.any(String),
            _self: expect.any(String),
            _ts: expect.any(Number),
            _lsn: expect.any(Number),
        });

        await handle.stop();
        expect(await readLease('dashboard-')).toMatchObject({ Owner: null, ContinuationToken: `"${deliveredLsn}"` });
    });

    it('resumes after stop and start from the lease, without loss or duplicates, ignoring start options', async () => {
        await write('a', 1);
        await write('b', 1);
        const first = recorder();
        const handle = await start({ handler: first.handler, startFromBeginning: true });
        await untilLength(first.batches, 1);
        await handle.stop();

        await write('c', 1);
        await write('a', 2);
        const second = recorder();
        await start({ handler: second.handler, startFromBeginning: true, instanceName: 'instance-2' });
        await eventually(
            () => second.batches.flat().length,
            (n) => n >= 2,
        );

        expect(summary(first.batches)).toEqual([
            [
                { id: 'a', version: 1 },
                { id: 'b', version: 1 },
            ],
        ]);
        expect(summary(second.batches)).toEqual([
            [
                { id: 'c', version: 1 },
                { id: 'a', version: 2 },
            ],
        ]);
        expect(await readLease()).toMatchObject({ Owner: 'instance-2' });
    });

    it('without a retry policy, reports a failed invocation and checkpoints past it, as the Functions trigger does', async () => {
        await write('a', 1);
        const errors: unknown[] = [];
        const calls: ChangedDocument[][] = [];
        const failure = new Error('handler failed');
        await start({
            startFromBeginning: true,
            onError: (error) => errors.push(error),
            handler: (documents) => {
                calls.push(documents);
                return calls.length === 1 ? Promise.reject(failure) : Promise.resolve();
            },
        });
        await untilLength(calls, 1);
        const failedLsn = calls[0]![0]!._lsn;
        await eventually(
            () => readLease(),
            (lease) => lease?.ContinuationToken === `"${failedLsn}"`,
        );
        await write('b', 1);
        await untilLength(calls, 2);

        expect(summary(calls)).toEqual([[{ id: 'a', version: 1 }], [{ id: 'b', version: 1 }]]);
        expect(errors).toEqual([failure]);
        expect(calls[1]![0]!._lsn).toBeGreaterThan(failedLsn);
    });

    it('with a retry policy, redelivers the same batch until the handler succeeds, then moves on', async () => {
        await write('a', 1);
        const calls: ChangedDocument[][] = [];
        const errors: unknown[] = [];
        await start({
            startFromBeginning: true,
            retry: { maxRetryCount: 3, delayMs: 5 },
            onError: (error) => errors.push(error),
            handler: (documents) => {
                calls.push(documents);
                return calls.length <= 2 ? Promise.reject(new Error(`attempt ${calls.length}`)) : Promise.resolve();
            },
        });
        await untilLength(calls, 3);
        await write('b', 1);
        await untilLength(calls, 4);

        expect(summary(calls)).toEqual([
            [{ id: 'a', version: 1 }],
            [{ id: 'a', version: 1 }],
            [{ id: 'a', version: 1 }],
            [{ id: 'b', version: 1 }],
        ]);
        expect(errors).toEqual([new Error('attempt 1'), new Error('attempt 2')]);
    });

    it('with a retry policy, checkpoints past the batch once maxRetryCount retries have failed', async () => {
        await write('a', 1);
        const calls: ChangedDocument[][] = [];
        await start({
            startFromBeginning: true,
            retry: { maxRetryCount: 1, delayMs: 5 },
            handler: (documents) => {
                calls.push(documents);
                return documents[0]!.id === 'a' ? Promise.reject(new Error('always fails')) : Promise.resolve();
            },
        });
        await untilLength(calls, 2);
        await write('b', 1);
        await untilLength(calls, 3);

        expect(summary(calls)).toEqual([
            [{ id: 'a', version: 1 }],
            [{ id: 'a', version: 1 }],
            [{ id: 'b', version: 1 }],
        ]);
    });

    it('redelivers a handled batch whose checkpoint was never written (at-least-once)', async () => {
        await write('a', 1);
        await write('b', 1);
        const errors: unknown[] = [];
        const first: ChangedDocument[][] = [];
        // The handler finishes, but before the checkpoint another instance takes the lease: the crash window.
        await start({
            startFromBeginning: true,
            onError: (error) => errors.push(error),
            handler: async (documents) => {
                first.push(documents);
                const lease = (await readLease())!;
                await leases.item(lease.id, lease.id).replace({ ...lease, Owner: 'instance-2' });
            },
        });
        await untilLength(errors, 1);
        expect(errors).toEqual([new LeaseLostError(leaseId(), 'instance-1')]);
        expect((errors[0] as Error).message).toBe(
            `Lease "${leaseId()}" was lost by owner "instance-1": its document changed or vanished before the checkpoint`,
        );

        const second = recorder();
        await start({ handler: second.handler, instanceName: 'instance-2' });
        await untilLength(second.batches, 1);
        expect(summary(first)).toEqual(summary(second.batches));
        expect(summary(second.batches)).toEqual([
            [
                { id: 'a', version: 1 },
                { id: 'b', version: 1 },
            ],
        ]);
    });

    it('stop waits for the batch in flight and checkpoints it', async () => {
        await write('a', 1);
        let release: () => void = () => {};
        const entered: ChangedDocument[][] = [];
        const handle = await start({
            startFromBeginning: true,
            handler: (documents) => {
                entered.push(documents);
                return new Promise<void>((resolve) => (release = resolve));
            },
        });
        await untilLength(entered, 1);
        const stopped = handle.stop();
        release();
        await stopped;
        expect(await readLease()).toMatchObject({ Owner: null, ContinuationToken: `"${entered[0]![0]!._lsn}"` });
    });

    it('reports lag as now minus the _ts of the oldest undelivered change, and 0 once caught up', async () => {
        await write('a', 1);
        let release: () => void = () => {};
        const entered: ChangedDocument[][] = [];
        const handle = await start({
            startFromBeginning: true,
            handler: (documents) => {
                entered.push(documents);
                return new Promise<void>((resolve) => (release = resolve));
            },
        });
        await untilLength(entered, 1);
        clock.set(new Date((entered[0]![0]!._ts + 7) * 1000));
        expect(handle.lagMs()).toBe(7000);

        release();
        await eventually(
            () => handle.lagMs(),
            (lag) => lag === 0,
        );
    });

    it('rejects invalid options with the bad value', async () => {
        const handler = (): Promise<void> => Promise.resolve();
        await expect(start({ handler, maxItemsPerInvocation: 0 })).rejects.toThrow(
            'Invalid option "maxItemsPerInvocation": must be a positive integer (got 0)',
        );
        await expect(start({ handler, feedPollDelayMs: -1 })).rejects.toThrow(
            'Invalid option "feedPollDelayMs": must be a non-negative number (got -1)',
        );
        await expect(start({ handler, retry: { maxRetryCount: -2, delayMs: 0 } })).rejects.toThrow(
            'Invalid option "retry.maxRetryCount": must be an integer >= -1 (got -2)',
        );
        await expect(
            start({ handler, startFromBeginning: true, startFromTime: new Date('2024-01-01T00:00:00Z') }),
        ).rejects.toThrow(
            'Invalid option "startFromTime": cannot be combined with startFromBeginning (got "2024-01-01T00:00:00.000Z")',
        );
    });
});
