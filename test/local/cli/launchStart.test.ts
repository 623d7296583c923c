import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { checkStart, superviseRuntime } from '../../../local/cli/launchStart';
import { START_USAGE } from '../../../local/cli/startArguments';
import { StateLockedError, StateStore } from '../../../local/state';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

describe("npm start's checks before the build", () => {
    const roots: string[] = [];
    const stores: StateStore[] = [];
    const newRoot = () => {
        const root = mkdtempSync(path.join(tmpdir(), 'launch-start-'));
        roots.push(root);
        return root;
    };
    afterEach(() => {
        stores.splice(0).forEach((store) => store.close());
        roots.splice(0).forEach((root) => rmSync(root, { recursive: true, force: true }));
    });

    function run(argv: string[], appRoot: string, cwd?: string) {
        const out: string[] = [];
        const err: string[] = [];
        const code = checkStart(
            argv,
            appRoot,
            (line) => out.push(line),
            (line) => err.push(line),
            cwd,
        );
        return { code, out, err };
    }

    it('prints the usage for --help and -h, and ends there', () => {
        expect(run(['--help'], '/unused')).toEqual({ code: 0, out: [START_USAGE], err: [] });
        expect(run(['--in-memory', '-h'], '/unused')).toEqual({ code: 0, out: [START_USAGE], err: [] });
    });

    it('refuses a bad flag with the message npm start gives', () => {
        expect(run(['--bogus'], '/unused')).toEqual({
            code: 1,
            out: [],
            err: [`Unknown option '--bogus'\n${START_USAGE}`],
        });
    });

    it('refuses a state folder another process holds, default or --state-dir relative to the shell folder', () => {
        const appRoot = newRoot();
        const defaultFolder = path.join(appRoot, '.local', 'state');
        const other = path.join(appRoot, 'runs', 'one');
        stores.push(StateStore.open({ directory: defaultFolder }), StateStore.open({ directory: other }));
        const owner = `process ${process.pid}, started`;
        for (const [argv, folder] of [
            [[], defaultFolder],
            [['--state-dir', 'runs/one', '--services-only'], other],
        ] as Array<[string[], string]>) {
            const { code, out, err } = run(argv, appRoot, appRoot);
            expect({ code, out }).toEqual({ code: 1, out: [] });
            expect(err).toHaveLength(1);
            expect(err[0]).toMatch(
                new RegExp(
                    `^The state folder "${folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" is in use by another namestream process \\(${owner} [^)]+\\)\\. Stop it first, start with --state-dir <another folder>, or use --in-memory\\.$`,
                ),
            );
            expect(err[0]).toBe(new StateLockedError(folder, err[0]!.match(/\((process [^)]+)\)/)![1]).message);
        }
    });

    it('goes on to the build for a free folder, a folder not made yet, and --in-memory', () => {
        const appRoot = newRoot();
        StateStore.open({ directory: path.join(appRoot, 'free') }).close();
        expect(run(['--state-dir', path.join(appRoot, 'free')], appRoot)).toEqual({
            code: undefined,
            out: [],
            err: [],
        });
        expect(run([], appRoot)).toEqual({ code: undefined, out: [], err: [] });
        expect(run(['--in-memory', '--verbose'], appRoot)).toEqual({ code: undefined, out: [], err: [] });
    });

    it('npm start on a folder in use is refused before the build starts', async () => {
        const folder = path.join(newRoot(), 'state');
        stores.push(StateStore.open({ directory: folder }));
        // detached: its own process group, so a start that wrongly goes on to build can be stopped whole.
        const child = spawn('npm', ['start', '--', '--state-dir', folder], { cwd: repoRoot, detached: true });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 20_000);
        const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
        clearTimeout(timer);
        expect(output).not.toContain('> namestream@0.1.0 build');
        expect(output).toContain(
            `The state folder "${folder}" is in use by another namestream process (process ${process.pid}`,
        );
        expect(code).toBe(1);
    }, 30_000);
});

describe("npm start's launcher as the runtime's parent", () => {
    /** A runtime child and the launcher's process as stand-ins that record what superviseRuntime does to them. */
    function supervise(platform: NodeJS.Platform) {
        const calls: string[] = [];
        const runtime = Object.assign(new EventEmitter(), {
            kill: (signal: NodeJS.Signals) => calls.push(`runtime.kill ${signal}`) > 0,
        });
        const launcher = Object.assign(new EventEmitter(), {
            pid: 4242,
            kill: (pid: number, signal: NodeJS.Signals) => calls.push(`launcher.kill ${pid} ${signal}`),
            exit: (code: number) => void calls.push(`launcher.exit ${code}`),
        });
        superviseRuntime(runtime, launcher, platform, (line) => calls.push(`error: ${line}`));
        return { calls, runtime, launcher };
    }

    it('passes SIGINT, SIGTERM and SIGHUP on to the runtime on POSIX, and exits with its code', () => {
        const { calls, runtime, launcher } = supervise('linux');
        for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
            launcher.emit(signal);
        }
        runtime.emit('exit', 0, null);
        expect(calls).toEqual([
            'runtime.kill SIGINT',
            'runtime.kill SIGTERM',
            'runtime.kill SIGHUP',
            'launcher.exit 0',
        ]);
    });

    it('on Windows passes on only SIGTERM (kill ends the process outright; Ctrl-C reaches the runtime itself)', () => {
        const { calls, runtime, launcher } = supervise('win32');
        for (const signal of ['SIGINT', 'SIGHUP', 'SIGTERM']) {
            launcher.emit(signal);
        }
        // The launcher still listens for SIGINT and SIGHUP, so node's default does not end it before the runtime.
        expect([launcher.listenerCount('SIGINT'), launcher.listenerCount('SIGHUP')]).toEqual([1, 1]);
        runtime.emit('exit', 3, null);
        expect(calls).toEqual(['runtime.kill SIGTERM', 'launcher.exit 3']);
    });

    it('ends by the signal that ended the runtime, with its own listeners removed', () => {
        const { calls, runtime, launcher } = supervise('linux');
        runtime.emit('exit', null, 'SIGTERM');
        expect(calls).toEqual(['launcher.kill 4242 SIGTERM']);
        expect(['SIGINT', 'SIGTERM', 'SIGHUP'].map((signal) => launcher.listenerCount(signal))).toEqual([0, 0, 0]);
    });

    it('reports a runtime that cannot be started in one line and exits 1', () => {
        const { calls, runtime } = supervise('linux');
        runtime.emit('error', new Error('spawn /usr/bin/node EACCES'));
        expect(calls).toEqual([
            'error: npm start: the runtime process failed: spawn /usr/bin/node EACCES',
            'launcher.exit 1',
        ]);
    });
});
