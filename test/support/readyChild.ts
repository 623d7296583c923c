import { type ChildProcess, spawn } from 'node:child_process';

/** A TypeScript fixture running in its own Node process, and the JSON line it printed once it was ready. */
export interface ReadyChild<T> {
    child: ChildProcess;
    /** Resolves when the process has exited, however it ended: with the signal that ended it, null if none did. */
    exited: Promise<NodeJS.Signals | null>;
    /** The first line the fixture wrote to stdout, parsed as JSON (its ports, endpoints...). */
    ready: T;
}

/**
 * Starts `script` with tsx (`node --import tsx script ...args`) and waits for the first line it writes to stdout,
 * the fixtures' "I am up" signal. Rejects with the process's stderr, naming `what`, when it exits before that line,
 * so a crash at start reads as the crash instead of a timeout. Used by the crash tests, which SIGKILL the child.
 * `onSpawn` gets the process as soon as it exists, for a test to kill at teardown even if it never gets up.
 */
export async function startReadyChild<T>(
    script: string,
    args: readonly string[],
    what: string,
    onSpawn: (child: ChildProcess) => void = () => undefined,
): Promise<ReadyChild<T>> {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn(child);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once('exit', (_code, signal) => resolve(signal)),
    );
    const line = await new Promise<string>((resolve, reject) => {
        let output = '';
        let errors = '';
        child.stdout.on('data', (chunk: Buffer) => {
            output += chunk.toString();
            if (output.includes('\n')) resolve(output.trim());
        });
        child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
        void exited.then(() => reject(new Error(`${what} exited before it was up:\n${errors}`)));
    });
    return { child, exited, ready: JSON.parse(line) as T };
}
