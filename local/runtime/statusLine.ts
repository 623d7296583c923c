import type { RuntimeSnapshot } from './runtimeMetrics';

/**
 * One line for the terminal: throughput, backlog, failures, windows, change-feed lag, and every name the live counts
 * miss: events the Stream Analytics job dropped (late, early or out of order) and warnings functions logged (an
 * unusable name left out, say), and events the Event Hub's count cap dropped before a consumer group read them; then
 * the error lines functions logged, so an invocation that succeeds but logs an error (the dashboard answering 500)
 * shows too. A failed invocation counts once in `failed invocations` and its error lines count in `errors`.
 */
export function formatStatusLine(snapshot: RuntimeSnapshot): string {
    const failed = Object.values(snapshot.invocations).reduce((sum, c) => sum + c.failed, 0);
    const asa = snapshot.streamAnalytics;
    const dropped = asa
        ? `${asa.droppedEvents} (late ${asa.lateInputEvents}, early ${asa.earlyInputEvents}, out of order ${asa.outOfOrderEvents})`
        : '-';
    const lag = snapshot.changeFeedLagMs === undefined ? '-' : `${(snapshot.changeFeedLagMs / 1000).toFixed(1)}s`;
    return [
        `names/s ${snapshot.namesPerSecond.toFixed(1)}`,
        `names ${snapshot.totalNames}`,
        `queue ${snapshot.queueDepth}`,
        `dead letters ${snapshot.deadLetters}`,
        `windows ${snapshot.windowsEmitted}`,
        `change-feed lag ${lag}`,
        `failed invocations ${failed}`,
        `dropped events ${dropped}`,
        `warnings ${snapshot.problems.warnings}`,
        `errors ${snapshot.problems.errors}`,
        // Only when it happened: the Event Hub's count cap overtook a consumer group (see unreadEventsTrimmed).
        ...(snapshot.unreadEventsTrimmed > 0 ? [`events trimmed unread ${snapshot.unreadEventsTrimmed}`] : []),
    ].join(' | ');
}
