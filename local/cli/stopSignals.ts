/**
 * The signals that stop `npm start` cleanly: SIGINT (Ctrl-C), SIGTERM (kill, a supervisor) and SIGHUP (the terminal
 * closed; on Windows, the console window closed, after which Windows ends the process about 10 s later:
 * https://nodejs.org/api/process.html#signal-events).
 */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export type StopSignal = (typeof STOP_SIGNALS)[number];

/** What onStopSignals listens on: `process`, or a stand-in in tests. */
export interface SignalSource {
    on(event: StopSignal, listener: () => void): unknown;
}

/** Calls stop with the signal's name on each of STOP_SIGNALS (stop itself ignores repeats). */
export function onStopSignals(source: SignalSource, stop: (signal: StopSignal) => void): void {
    for (const signal of STOP_SIGNALS) {
        source.on(signal, () => stop(signal));
    }
}
