import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

import { NamestreamError } from '../../domain/errors';
import { StateStore } from '../state';
import { findAppRoot } from './appRoot';
import { parseStartArguments, START_USAGE, StartArgumentsError } from './startArguments';
import { STOP_SIGNALS, type StopSignal } from './stopSignals';

/**
 * What `npm start` checks before it builds, from the sources (tsx) so nothing needs building first: a bad flag,
 * --help, and a state folder another `npm start` holds are answered in about a second, and the build (which
 * rewrites dist/ and the dashboard bundle) never runs under a running instance. The lock is checked as the runtime
 * takes it (StateStore.probeLock) and refused with the same message; the runtime still takes it for real after the
 * build, so a start that wins the race in between is refused there, as before.
 * @returns the exit status when `npm start` ends here (0 after --help, 1 after a refusal), or undefined to go on
 */
export function checkStart(
    argv: readonly string[],
    appRoot: string,
    print: (line: string) => void,
    printError: (line: string) => void,
    cwd?: string,
): number | undefined {
    try {
        const { help, stateDirectory } = parseStartArguments(argv, appRoot, cwd);
        if (help) {
            print(START_USAGE);
            return 0;
        }
        if (stateDirectory !== undefined) {
            StateStore.probeLock(stateDirectory);
        }
        return undefined;
    } catch (error) {
        if (error instanceof StartArgumentsError || error instanceof NamestreamError) {
            printError(error.message);
            return 1;
        }
        throw error;
    }
}

/**
 * `npm start` = this: the checks above, then `npm run build`, then the compiled runtime (dist/local/cli/start.js)
 * with the same arguments. npm appends a script's arguments to its last command only, so one process has to see them
 * before the build and hand them on; it stays as the runtime's parent, passing on the signals npm or a supervisor
 * sends it (not on Windows, see superviseRuntime) and exiting as the runtime exits.
 */
function main(): void {
    const argv = process.argv.slice(2);
    const appRoot = findAppRoot();
    const code = checkStart(
        argv,
        appRoot,
        (line) => console.log(line),
        (line) => console.error(line),
    );
    if (code !== undefined) {
        process.exit(code);
    }
    // The npm that runs this script (npm_execpath), so the build uses the same npm and node.
    const npm = process.env.npm_execpath;
    const build = npm
        ? spawnSync(process.execPath, [npm, 'run', 'build'], { cwd: appRoot, stdio: 'inherit' })
        : spawnSync('npm', ['run', 'build'], { cwd: appRoot, stdio: 'inherit', shell: process.platform === 'win32' });
    if (build.status !== 0) {
        process.exit(build.status ?? 1);
    }
    const runtime = spawn(process.execPath, [path.join(appRoot, 'dist', 'local', 'cli', 'start.js'), ...argv], {
        stdio: 'inherit',
    });
    superviseRuntime(runtime, process, process.platform, (line) => console.error(line));
}

/** The runtime child as superviseRuntime uses it: a ChildProcess, or a stand-in in tests. */
export interface RuntimeChild {
    kill(signal: NodeJS.Signals): boolean;
    on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
    on(event: 'error', listener: (error: Error) => void): unknown;
}

/** The launcher's own process as superviseRuntime uses it: `process`, or a stand-in in tests. */
export interface LauncherProcess {
    readonly pid: number;
    on(event: StopSignal, listener: () => void): unknown;
    removeAllListeners(event: StopSignal): unknown;
    kill(pid: number, signal: NodeJS.Signals): unknown;
    exit(code: number): void;
}

/**
 * Keeps the launcher alive as the runtime's parent until the runtime exits, then exits as it did (same code, or the
 * same signal). Stop signals the launcher receives are passed on to the runtime on POSIX. On Windows only SIGTERM is:
 * there `subprocess.kill` ends the process outright whatever the signal
 * (https://nodejs.org/api/child_process.html#subprocesskillsignal), which would cut the runtime's clean stop short,
 * while Ctrl-C and closing the console already reach every process attached to the console, the runtime included;
 * the launcher only waits for it. A runtime that cannot be started (or signalled) is reported in one line, exit 1.
 * @param platform process.platform; a parameter so both behaviours are tested on any machine
 */
export function superviseRuntime(
    runtime: RuntimeChild,
    launcher: LauncherProcess,
    platform: NodeJS.Platform,
    printError: (line: string) => void,
): void {
    for (const signal of STOP_SIGNALS) {
        const relay = platform !== 'win32' || signal === 'SIGTERM';
        // A listener even when not relaying: without one, node's default for the signal would end the launcher first.
        launcher.on(signal, () => {
            if (relay) {
                runtime.kill(signal);
            }
        });
    }
    runtime.on('error', (error) => {
        printError(`npm start: the runtime process failed: ${error.message}`);
        launcher.exit(1);
    });
    runtime.on('exit', (exitCode, signal) => {
        if (signal) {
            for (const name of STOP_SIGNALS) {
                launcher.removeAllListeners(name);
            }
            launcher.kill(launcher.pid, signal);
        } else {
            launcher.exit(exitCode ?? 1);
        }
    });
}

if (require.main === module) {
    main();
}
