import path from 'node:path';

import { describe, expect, it, vi } from 'vitest';

import { parseStartArguments, START_USAGE, StartArgumentsError } from '../../../local/cli/startArguments';

const appRoot = '/apps/namestream';

describe('parseStartArguments', () => {
    it('keeps state in .local/state under the app by default', () => {
        expect(parseStartArguments([], appRoot, '/elsewhere')).toEqual({
            help: false,
            verbose: false,
            servicesOnly: false,
            stateDirectory: path.join(appRoot, '.local', 'state'),
        });
    });

    it('takes --state-dir relative to the current directory, and --verbose', () => {
        expect(parseStartArguments(['--state-dir', 'runs/one', '--verbose'], appRoot, '/home/me')).toEqual({
            help: false,
            verbose: true,
            servicesOnly: false,
            stateDirectory: '/home/me/runs/one',
        });
        expect(parseStartArguments(['--state-dir=/var/ns'], appRoot, '/home/me').stateDirectory).toBe('/var/ns');
    });

    it('takes a relative --state-dir from the folder npm was run in (INIT_CWD), not the package root', () => {
        vi.stubEnv('INIT_CWD', '/home/me/sub');
        try {
            expect(parseStartArguments(['--state-dir', 'state'], appRoot).stateDirectory).toBe('/home/me/sub/state');
        } finally {
            vi.unstubAllEnvs();
        }
    });

    it('keeps nothing on disk with --in-memory', () => {
        expect(parseStartArguments(['--in-memory'], appRoot)).toEqual({
            help: false,
            verbose: false,
            servicesOnly: false,
            stateDirectory: undefined,
        });
    });

    it('runs the stand-ins without the functions with --services-only, state kept as usual', () => {
        expect(parseStartArguments(['--services-only'], appRoot, '/elsewhere')).toEqual({
            help: false,
            verbose: false,
            servicesOnly: true,
            stateDirectory: path.join(appRoot, '.local', 'state'),
        });
    });

    it.each([['--help'], ['-h'], ['--verbose', '--help']])('asks for the usage with %j', (...argv) => {
        expect(parseStartArguments(argv, appRoot, '/elsewhere')).toEqual({
            help: true,
            verbose: argv.includes('--verbose'),
            servicesOnly: false,
            stateDirectory: path.join(appRoot, '.local', 'state'),
        });
    });

    it('lists --help in the usage', () => {
        expect(START_USAGE.split('\n')[0]).toBe(
            'Usage: npm start -- [--state-dir <folder> | --in-memory] [--services-only] [--verbose] [--help]',
        );
        expect(START_USAGE).toContain('\n  --help, -h            print this and exit');
    });

    it.each([
        [['--in-memory', '--state-dir', 'x'], '--in-memory and --state-dir contradict each other: choose one'],
        [['--state-dir', ''], '--state-dir needs a folder (got "")'],
        [['--state-dir'], "Option '--state-dir <value>' argument missing"],
        [['--in-memroy'], "Unknown option '--in-memroy'"],
        [['extra'], "Unexpected argument 'extra'"],
    ])('refuses %j with the usage', (argv, reason) => {
        let error: unknown;
        try {
            parseStartArguments(argv, appRoot);
        } catch (caught) {
            error = caught;
        }
        expect(error).toBeInstanceOf(StartArgumentsError);
        expect((error as Error).message).toMatch(new RegExp(`^${escape(reason)}.*\\n${escape(START_USAGE)}$`, 's'));
    });
});

function escape(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
