import { describe, expect, it, vi } from 'vitest';

import { LocalEventHub } from '../../../local/eventHubs';
import { RuntimeMetrics } from '../../../local/runtime/runtimeMetrics';
import { formatStatusLine } from '../../../local/runtime/statusLine';
import { LocalServiceBusQueue } from '../../../local/serviceBus';

function setUp() {
    let nowMs = Date.parse('2025-01-01T00:00:00Z');
    const clock = { now: () => new Date(nowMs) };
    const hub = new LocalEventHub({ name: 'names', partitionCount: 2, clock });
    const queue = new LocalServiceBusQueue({ name: 'newnames-queue', clock });
    const metrics = new RuntimeMetrics({
        queues: new Map([['newnames-queue', queue]]),
        eventHubs: new Map([['names', hub]]),
        clock,
    });
    const sendNames = (count: number) =>
        hub.send(Array.from({ length: count }, (_, i) => ({ body: { name: `N${i}` } })));
    return { metrics, hub, queue, sendNames, advance: (ms: number) => (nowMs += ms) };
}

describe('RuntimeMetrics', () => {
    it('starts from zero', () => {
        expect(setUp().metrics.snapshot()).toEqual({
            namesPerSecond: 0,
            totalNames: 0,
            queueDepth: 0,
            deadLetters: 0,
            windowsEmitted: 0,
            changeFeedLagMs: undefined,
            invocations: {},
            streamAnalytics: undefined,
            unreadEventsTrimmed: 0,
            problems: { byFunction: {}, warnings: 0, errors: 0, recent: [] },
        });
    });

    it('sums the events the Event Hub count cap dropped before a subscribed group read them', async () => {
        const clock = { now: () => new Date('2025-01-01T00:00:00Z') };
        const hub = new LocalEventHub({ name: 'names', partitionCount: 1, clock, maxRetainedEventsPerPartition: 2 });
        const metrics = new RuntimeMetrics({ queues: new Map(), eventHubs: new Map([['names', hub]]), clock });
        let release: () => void = () => undefined;
        hub.createConsumerGroup('stream-analytics');
        const subscription = hub.subscribe('stream-analytics', {
            startPosition: 'earliest',
            maxBatchSize: 1,
            handler: () => new Promise<void>((resolve) => (release = resolve)),
        });
        const warned = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
        try {
            hub.send([{ body: 0 }]);
            await new Promise((resolve) => setImmediate(resolve)); // the group holds event 0 in its handler
            hub.send([{ body: 1 }, { body: 2 }, { body: 3 }, { body: 4 }]); // drops 1 and 2, unread
            expect(metrics.snapshot().unreadEventsTrimmed).toBe(2);
            expect(formatStatusLine(metrics.snapshot())).toMatch(
                / \| warnings 0 \| errors 0 \| events trimmed unread 2$/,
            );
            expect(warned).toHaveBeenCalledTimes(1);
        } finally {
            warned.mockRestore();
            release();
            await subscription.close();
        }
    });

    it('keeps the warnings and errors functions log, the newest twenty with their text', () => {
        const { metrics, advance } = setUp();
        metrics.recordFunctionLog('dequeueNames', 'information', 'Fanned out message m: 3 names');
        for (let i = 0; i < 21; i += 1) {
            metrics.recordFunctionLog('dequeueNames', 'warning', `Left out an unusable name ${i}`);
            advance(1_000);
        }
        metrics.recordFunctionLog('broadcastLetterCounts', 'error', 'boom');
        const { problems } = metrics.snapshot();
        expect(problems.byFunction).toEqual({ dequeueNames: 21, broadcastLetterCounts: 1 });
        expect([problems.warnings, problems.errors]).toEqual([21, 1]);
        expect(problems.recent).toHaveLength(20);
        expect(problems.recent[0]).toEqual({
            at: '2025-01-01T00:00:02.000Z',
            functionName: 'dequeueNames',
            level: 'warning',
            message: 'Left out an unusable name 2',
        });
        expect(problems.recent.at(-1)).toEqual({
            at: '2025-01-01T00:00:21.000Z',
            functionName: 'broadcastLetterCounts',
            level: 'error',
            message: 'boom',
        });
    });

    it('counts a failed invocation as failed and its error lines as errors, not as warnings', () => {
        const { metrics } = setUp();
        for (let i = 0; i < 10; i += 1) {
            // What the host reports for one failed delivery: the function's own error line, then the host's.
            metrics.recordFunctionLog('storeLetterCounts', 'error', `Could not store window ${i}`);
            metrics.recordFunctionLog('storeLetterCounts', 'error', `Error: Could not store window ${i}`);
            metrics.recordInvocation('storeLetterCounts', 'failed');
        }
        metrics.recordFunctionLog('dequeueNames', 'warning', 'Left out an unusable name');
        metrics.recordFunctionLog('dequeueNames', 'warning', 'Left out an unusable name');
        const line = formatStatusLine(metrics.snapshot());
        expect(line).toContain(' | failed invocations 10 | ');
        expect(line).toMatch(/ \| warnings 2 \| errors 20$/);
    });

    it('shows the error lines of invocations that succeeded, such as a dashboard answering 500', () => {
        const { metrics } = setUp();
        metrics.recordFunctionLog('dashboard', 'error', 'Cannot serve the dashboard: ENOENT');
        metrics.recordInvocation('dashboard', 'succeeded');
        metrics.recordFunctionLog('dashboard', 'critical', 'Out of memory');
        metrics.recordInvocation('dashboard', 'succeeded');
        expect(formatStatusLine(metrics.snapshot())).toMatch(
            / \| failed invocations 0 \| .* \| warnings 0 \| errors 2$/,
        );
    });

    it("shows the Stream Analytics job's late, early, out-of-order and dropped events", () => {
        const { metrics } = setUp();
        metrics.setStreamAnalyticsMetrics(() => ({
            inputEvents: 10,
            deserializationErrors: 0,
            invalidTimestampEvents: 1,
            lateInputEvents: 3,
            earlyInputEvents: 1,
            outOfOrderEvents: 2,
            droppedEvents: 6,
            adjustedEvents: 0,
            outputRows: 4,
        }));
        expect(metrics.snapshot().streamAnalytics).toEqual({
            inputEvents: 10,
            lateInputEvents: 3,
            earlyInputEvents: 1,
            outOfOrderEvents: 2,
            droppedEvents: 6,
            adjustedEvents: 0,
            deserializationErrors: 0,
            invalidTimestampEvents: 1,
        });
    });

    it('computes names per second over about five seconds, however often and by whom it is asked', () => {
        const { metrics, sendNames, advance } = setUp();
        sendNames(4);
        expect(metrics.snapshot()).toMatchObject({ namesPerSecond: 0, totalNames: 4 });
        sendNames(10);
        advance(1_000);
        expect(metrics.snapshot()).toMatchObject({ namesPerSecond: 10, totalNames: 14 });
        // A second caller 100 ms later (say /_local/status beside the status line) sees the same rate, not zero.
        advance(100);
        expect(metrics.snapshot().namesPerSecond).toBeCloseTo(10 / 1.1, 6);
        advance(4_900);
        sendNames(6);
        // The baseline moved to the newest sample at least five seconds old (t = 1 s, 14 names).
        expect(metrics.snapshot()).toMatchObject({ namesPerSecond: 6 / 5, totalNames: 20 });
        advance(10_000);
        expect(metrics.snapshot()).toMatchObject({ namesPerSecond: 0, totalNames: 20 });
    });

    it('counts active and locked messages as queue depth, and dead letters apart', () => {
        const { metrics, queue } = setUp();
        for (const body of ['a', 'b', 'c']) {
            queue.send({ body });
        }
        const [locked, dead] = queue.receive(2);
        queue.deadLetter(dead!.lockToken, { reason: 'r', description: 'd' });
        expect(locked).toBeDefined();
        expect(metrics.snapshot()).toMatchObject({ queueDepth: 2, deadLetters: 1 });
    });

    it('counts distinct windows from output rows, ignoring rows without a window end', () => {
        const { metrics } = setUp();
        metrics.recordWindowRows([
            { windowEnd: '2025-01-01T00:00:30Z', letter: 'A' },
            { windowEnd: '2025-01-01T00:00:30.000Z', letter: 'B' },
            { windowEnd: '2025-01-01T00:01:00Z', letter: 'A' },
            { letter: 'C' },
        ]);
        expect(metrics.snapshot().windowsEmitted).toBe(2);
    });

    it('records window latency once per document id, from window end to arrival', () => {
        const { metrics, advance } = setUp();
        advance(31_500);
        metrics.recordChangeFeedBatch([
            { id: 'w1-A', windowEnd: '2025-01-01T00:00:30Z' },
            { id: 'w1-B', windowEnd: '2025-01-01T00:00:30Z' },
            { id: 42, windowEnd: '2025-01-01T00:00:30Z' },
            { id: 'no-end' },
        ]);
        advance(1_000);
        metrics.recordChangeFeedBatch([
            { id: 'w1-A', windowEnd: '2025-01-01T00:00:30Z' },
            { id: 'w2-A', windowEnd: '2025-01-01T00:01:00Z' },
        ]);
        expect(metrics.windowLatenciesMs).toEqual([1_500, 1_500, -27_500]);
    });

    it('counts invocation outcomes per function and reports the change-feed lag it is given', () => {
        const { metrics } = setUp();
        metrics.recordInvocation('dequeueNames', 'succeeded');
        metrics.recordInvocation('dequeueNames', 'succeeded');
        metrics.recordInvocation('dequeueNames', 'failed');
        metrics.recordInvocation('generateNames', 'succeeded');
        metrics.setChangeFeedLag(() => 1_234);
        const snapshot = metrics.snapshot();
        expect({ invocations: snapshot.invocations, lag: snapshot.changeFeedLagMs }).toEqual({
            invocations: { dequeueNames: { succeeded: 2, failed: 1 }, generateNames: { succeeded: 1, failed: 0 } },
            lag: 1_234,
        });
        // A snapshot is a copy: later invocations do not change it.
        metrics.recordInvocation('dequeueNames', 'failed');
        expect(snapshot.invocations.dequeueNames).toEqual({ succeeded: 2, failed: 1 });
    });
});

describe('formatStatusLine', () => {
    it('prints every figure on one line, failures summed over functions', () => {
        expect(
            formatStatusLine({
                namesPerSecond: 12.345,
                totalNames: 1_000,
                queueDepth: 3,
                deadLetters: 1,
                windowsEmitted: 7,
                changeFeedLagMs: 1_250,
                invocations: { a: { succeeded: 5, failed: 2 }, b: { succeeded: 1, failed: 1 } },
                streamAnalytics: {
                    inputEvents: 100,
                    lateInputEvents: 4,
                    earlyInputEvents: 1,
                    outOfOrderEvents: 2,
                    droppedEvents: 7,
                    adjustedEvents: 0,
                    deserializationErrors: 0,
                    invalidTimestampEvents: 0,
                },
                unreadEventsTrimmed: 0,
                problems: { byFunction: { dequeueNames: 2, letterCounts: 1 }, warnings: 3, errors: 4, recent: [] },
            }),
        ).toBe(
            'names/s 12.3 | names 1000 | queue 3 | dead letters 1 | windows 7 | change-feed lag 1.3s | failed invocations 3 | dropped events 7 (late 4, early 1, out of order 2) | warnings 3 | errors 4',
        );
    });

    it('shows a dash before the change feed has polled', () => {
        expect(
            formatStatusLine({
                namesPerSecond: 0,
                totalNames: 0,
                queueDepth: 0,
                deadLetters: 0,
                windowsEmitted: 0,
                changeFeedLagMs: undefined,
                invocations: {},
                streamAnalytics: undefined,
                unreadEventsTrimmed: 0,
                problems: { byFunction: {}, warnings: 0, errors: 0, recent: [] },
            }),
        ).toBe(
            'names/s 0.0 | names 0 | queue 0 | dead letters 0 | windows 0 | change-feed lag - | failed invocations 0 | dropped events - | warnings 0 | errors 0',
        );
    });
});
