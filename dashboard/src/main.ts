import type { WindowUpdate } from '../../domain/letterCounts/windowUpdate';
import {
    type ConnectionState,
    type DashboardConnection,
    startDashboardConnection,
    type UpdateSource,
} from './connection';
import { DashboardView } from './render';
import { RenderLog } from './renderLog';
import { WindowStore } from './windowStore';

/** Windows shown in the heatmap and asked for on backfill (the API allows up to 60). */
const WINDOWS_SHOWN = 20;
/** Reconnect quickly at first, then every 10 s for as long as it takes. */
const RETRY_DELAYS_MS = [0, 1_000, 2_000, 5_000, 10_000];

export interface DashboardDiagnostics {
    connection: DashboardConnection;
    store: WindowStore;
    renderLog: RenderLog;
    state(): ConnectionState;
}

declare global {
    interface Window {
        /** Read-only diagnostics for the browser test and for curious people with dev tools open. */
        namestreamDashboard?: DashboardDiagnostics;
    }
}

function startDashboard(doc: Document, now: () => number): DashboardDiagnostics {
    const store = new WindowStore(WINDOWS_SHOWN);
    const view = new DashboardView(doc);
    const renderLog = new RenderLog();
    let state: ConnectionState = 'connecting';
    let lastUpdateMs: number | undefined;
    // Windows changed since the last frame, with how each first arrived; rendered once per animation frame.
    const pending = new Map<string, UpdateSource>();
    let frameRequested = false;

    const renderFrame = () => {
        frameRequested = false;
        view.render({ windows: store.windows(), totals: store.totals() });
        view.renderAge(lastUpdateMs, now());
        const renderedAt = now();
        for (const [windowEnd, source] of pending) {
            renderLog.record(windowEnd, source, renderedAt);
        }
        pending.clear();
    };

    const onWindows = (updates: WindowUpdate[], source: UpdateSource) => {
        const { changed } = store.applyAll(updates);
        if (changed.length === 0) {
            return;
        }
        lastUpdateMs = now();
        const held = new Map(store.windows().map((window) => [window.windowEndMs, window.windowEnd]));
        for (const end of changed) {
            const windowEnd = held.get(end);
            if (windowEnd && !pending.has(windowEnd)) {
                pending.set(windowEnd, source);
            }
        }
        if (!frameRequested) {
            frameRequested = true;
            requestAnimationFrame(renderFrame);
        }
    };

    view.render({ windows: [], totals: store.totals() });
    const connection = startDashboardConnection({
        apiBase: '/api',
        backfillWindows: WINDOWS_SHOWN,
        retryDelaysMs: RETRY_DELAYS_MS,
        onState: (next, detail) => {
            state = next;
            view.renderState(next, detail);
        },
        onWindows,
    });
    setInterval(() => view.renderAge(lastUpdateMs, now()), 1_000);
    return { connection, store, renderLog, state: () => state };
}

window.namestreamDashboard = startDashboard(document, () => Date.now());
