import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits for a child process that a killed runtime left behind (its Azurite, which shuts itself down, saving its
 * metadata, when the runtime's IPC channel closes) to exit, so the new one does not share its port or files.
 * `marker` is text its command line holds (its --location), so a recycled pid of an unrelated process is not
 * waited for. It is never sent SIGTERM: it is already shutting down on one, and a second would end it before it
 * saves. Only after `timeoutMs` (default 60 s) is it killed with SIGKILL, which can lose its last seconds of writes.
 */
export async function waitForLeftoverProcess(
    pid: number,
    marker: string,
    options: { timeoutMs?: number; log?: (line: string) => void } = {},
): Promise<'none' | 'exited' | 'killed'> {
    if (!isLeftover(pid, marker)) {
        return 'none';
    }
    options.log?.(`waiting for process ${pid} left by the previous run (${marker}) to finish saving and exit`);
    for (const deadline = Date.now() + (options.timeoutMs ?? 60_000); Date.now() < deadline;) {
        await delay(50);
        if (!isLeftover(pid, marker)) {
            return 'exited';
        }
    }
    options.log?.(`warning: process ${pid} (${marker}) did not exit; killing it, its latest writes may be lost`);
    try {
        process.kill(pid, 'SIGKILL');
    } catch {
        return 'exited';
    }
    while (isLeftover(pid, marker)) {
        await delay(50);
    }
    return 'killed';
}

function isLeftover(pid: number, marker: string): boolean {
    try {
        process.kill(pid, 0);
    } catch {
        return false;
    }
    try {
        // Linux: compare the command line (empty for a process that has exited but not been reaped). Elsewhere a
        // live pid is taken at its word.
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker);
    } catch {
        return true;
    }
}
