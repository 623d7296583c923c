import path from 'node:path';
import { parseArgs } from 'node:util';

import { DEFAULT_STATE_FOLDER } from '../state';

export interface StartArguments {
    /** --help or -h: print START_USAGE and start nothing. */
    help: boolean;
    verbose: boolean;
    /** --services-only: the stand-ins without the functions, for `func start`. */
    servicesOnly: boolean;
    /** The state folder, absolute; undefined with --in-memory. */
    stateDirectory: string | undefined;
}

/** A command line `npm start` cannot run with; the message says which argument and why. */
export class StartArgumentsError extends Error {
    constructor(message: string) {
        super(`${message}\n${START_USAGE}`);
        this.name = 'StartArgumentsError';
    }
}

export const START_USAGE = `Usage: npm start -- [--state-dir <folder> | --in-memory] [--services-only] [--verbose] [--help]
  --state-dir <folder>  keep local state in <folder> (default ${DEFAULT_STATE_FOLDER}, relative to the app)
  --in-memory           keep nothing on disk: every stand-in starts empty and forgets on stop
  --services-only       run the stand-ins and the Stream Analytics job without the functions, for func start
  --verbose             print every function log line
  --help, -h            print this and exit`;

/**
 * Reads `npm start`'s flags (node's util.parseArgs, strict: an unknown flag is an error, not ignored).
 * A relative --state-dir is taken from the current directory, as a shell user expects.
 * @param cwd the shell's directory: npm runs scripts in the package root and keeps the directory it was run from in
 *     INIT_CWD (https://docs.npmjs.com/cli/v11/commands/npm-run-script), so `npm start` from a subfolder resolves there
 * @throws StartArgumentsError naming the bad or conflicting argument
 */
export function parseStartArguments(
    argv: readonly string[],
    appRoot: string,
    cwd = process.env.INIT_CWD ?? process.cwd(),
): StartArguments {
    let values: {
        help?: boolean;
        verbose?: boolean;
        'services-only'?: boolean;
        'in-memory'?: boolean;
        'state-dir'?: string;
    };
    try {
        ({ values } = parseArgs({
            args: [...argv],
            options: {
                help: { type: 'boolean', short: 'h' },
                verbose: { type: 'boolean' },
                'services-only': { type: 'boolean' },
                'in-memory': { type: 'boolean' },
                'state-dir': { type: 'string' },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (error) {
        throw new StartArgumentsError((error as Error).message);
    }
    if (values['in-memory'] && values['state-dir'] !== undefined) {
        throw new StartArgumentsError('--in-memory and --state-dir contradict each other: choose one');
    }
    if (values['state-dir'] === '') {
        throw new StartArgumentsError('--state-dir needs a folder (got "")');
    }
    return {
        help: values.help === true,
        verbose: values.verbose === true,
        servicesOnly: values['services-only'] === true,
        stateDirectory: values['in-memory']
            ? undefined
            : values['state-dir'] !== undefined
              ? path.resolve(cwd, values['state-dir'])
              : path.join(appRoot, DEFAULT_STATE_FOLDER),
    };
}
