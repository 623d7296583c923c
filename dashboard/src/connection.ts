import {
    type HubConnection,
    HubConnectionBuilder,
    HubConnectionState,
    type IRetryPolicy,
    LogLevel,
} from '@microsoft/signalr';

import type { WindowUpdate } from '../../domain/letterCounts/windowUpdate';
import { parseBackfillBody, pickWindowUpdates } from './windowUpdates';

/** The SignalR method the broadcast function sends on (functions/broadcastLetterCounts.ts). */
export const NEW_LETTER_DATA_TARGET = 'newFirstLetterData';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export type UpdateSource = 'live' | 'backfill';

export interface DashboardConnectionOptions {
    /** Base URL of the functions: `/api` makes the client POST `/api/negotiate`, same origin, no CORS. */
    apiBase: string;
    /** How many windows to ask the backfill for. */
    backfillWindows: number;
    /** Delays between attempts, ms; the last one repeats for ever, as a dashboard should never give up. */
    retryDelaysMs: readonly number[];
    onState(state: ConnectionState, detail?: string): void;
    onWindows(updates: WindowUpdate[], source: UpdateSource): void;
    fetch?: typeof fetch;
    setTimeout?: (callback: () => void, ms: number) => unknown;
}

export interface DashboardConnection {
    readonly hub: HubConnection;
    stop(): Promise<void>;
}

/**
 * Connects to the hub through `negotiate` and keeps connected. Live messages are subscribed before the first start,
 * and a backfill from `/api/letter-counts` follows every (re)connect, so windows broadcast while the page was away
 * still arrive; the store's merge makes the overlap between the two harmless.
 */
export function startDashboardConnection(options: DashboardConnectionOptions): DashboardConnection {
    const fetchFn = options.fetch ?? fetch.bind(globalThis);
    const wait = options.setTimeout ?? ((callback, ms) => setTimeout(callback, ms));
    const delayFor = (attempt: number) =>
        options.retryDelaysMs[Math.min(attempt, options.retryDelaysMs.length - 1)] ?? 5_000;
    const retryPolicy: IRetryPolicy = {
        nextRetryDelayInMilliseconds: (context) => delayFor(context.previousRetryCount),
    };
    const hub = new HubConnectionBuilder()
        .withUrl(options.apiBase)
        .withAutomaticReconnect(retryPolicy)
        .configureLogging(LogLevel.Warning)
        .build();
    let stopped = false;

    hub.on(NEW_LETTER_DATA_TARGET, (...args: unknown[]) => {
        const updates = pickWindowUpdates(args);
        if (updates.length > 0) {
            options.onWindows(updates, 'live');
        }
    });
    hub.onreconnecting((error) => options.onState('reconnecting', error?.message));
    hub.onreconnected(() => {
        options.onState('connected');
        void backfill();
    });
    // Automatic reconnect covers drops after a successful start only; a close after it gave up, or a failed first
    // start, is retried here so the page recovers from a long outage without a reload.
    hub.onclose((error) => {
        if (!stopped) {
            options.onState('disconnected', error?.message);
            start(0);
        }
    });

    async function backfill(attempt = 0): Promise<void> {
        try {
            const response = await fetchFn(`${options.apiBase}/letter-counts?windows=${options.backfillWindows}`, {
                cache: 'no-store',
                headers: { Accept: 'application/json' },
            });
            if (!response.ok) {
                throw new Error(`GET letter-counts answered ${response.status}`);
            }
            options.onWindows(parseBackfillBody(await response.json()), 'backfill');
        } catch (error) {
            if (!stopped && attempt < 3) {
                wait(() => void backfill(attempt + 1), delayFor(attempt + 1));
            } else {
                options.onState(
                    hub.state === HubConnectionState.Connected ? 'connected' : 'disconnected',
                    String(error),
                );
            }
        }
    }

    function start(attempt: number): void {
        if (stopped) {
            return;
        }
        options.onState(attempt === 0 ? 'connecting' : 'reconnecting');
        hub.start().then(
            () => {
                options.onState('connected');
                void backfill();
            },
            (error: unknown) => {
                options.onState('reconnecting', error instanceof Error ? error.message : String(error));
                wait(() => start(attempt + 1), delayFor(attempt + 1));
            },
        );
    }

    start(0);
    return {
        hub,
        stop: async () => {
            stopped = true;
            await hub.stop();
        },
    };
}
