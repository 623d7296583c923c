import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits for a child process that a killed runtime left behind (its Azurite, which stops itself when the runtime's
 * IPC channel closes) to exit, so the new one does not share its port or files. `marker` is text its command line
 * holds (its --location), so a recycled pid of an unrelated process is not waited for. After `timeoutMs` the
 * leftover is sent SIGTERM, then SIGKILL; returns what it took.
 */
export async function waitForLeftoverProcess(
    pid: number,
    marker: string,
    options: { timeoutMs?: number; log?: (line: string) => void } = {},
): Promise<'none' | 'exited' | 'terminated' | 'killed'> {
    if (!isLeftover(pid, marker)) {
        return 'none';
    }
    options.log?.(`waiting for process ${pid} left by the previous run (${marker}) to exit`);
    const timeoutMs = options.timeoutMs ?? 10_000;
    for (const [outcome, signal] of [
        ['exited', undefined],
        ['terminated', 'SIGTERM'],
        ['killed', 'SIGKILL'],
    ] as const) {
        if (signal) {
            try {
                process.kill(pid, signal);
            } catch {
                return outcome;
            }
        }
        for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
            if (!isLeftover(pid, marker)) {
                return outcome;
            }
            await delay(50);
        }
    }
    throw new Error(`Process ${pid} (${marker}) left by the previous run did not exit, even after SIGKILL`);
}

function isLeftover(pid: number, marker: string): boolean {
    try {
        process.kill(pid, 0);
    } catch {
        return false;
    }
    try {
        // Linux: compare the command line. Elsewhere a live pid is taken at its word.
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker);
    } catch {
        return true;
    }
}
