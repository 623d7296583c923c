import type { RuntimeSnapshot } from './runtimeMetrics';

/** One line for the terminal: throughput, backlog, failures, windows and change-feed lag. */
export function formatStatusLine(snapshot: RuntimeSnapshot): string {
    const failed = Object.values(snapshot.invocations).reduce((sum, c) => sum + c.failed, 0);
    const lag = snapshot.changeFeedLagMs === undefined ? '-' : `${(snapshot.changeFeedLagMs / 1000).toFixed(1)}s`;
    return [
        `names/s ${snapshot.namesPerSecond.toFixed(1)}`,
        `names ${snapshot.totalNames}`,
        `queue ${snapshot.queueDepth}`,
        `dead letters ${snapshot.deadLetters}`,
        `windows ${snapshot.windowsEmitted}`,
        `change-feed lag ${lag}`,
        `failed invocations ${failed}`,
    ].join(' | ');
}
