import path from 'node:path';
import { parseArgs } from 'node:util';

import { NamestreamError } from '../../domain/errors';
import { DEFAULT_STATE_FOLDER, resetStateFolder, StateLockedError } from '../state';
import { findAppRoot } from './appRoot';

const RESET_STATE_USAGE = `Usage: npm run reset-state -- [--state-dir <folder>]
  --state-dir <folder>  the folder to empty (default ${DEFAULT_STATE_FOLDER}, relative to the app)`;

/**
 * `npm run reset-state [-- --state-dir <folder>]`: empties the state folder `npm start` keeps (default
 * .local/state). Refuses while a runtime uses the folder; removes only what the runtime writes there.
 */
export function runResetState(
    argv: readonly string[],
    appRoot: string,
    print: (line: string) => void,
    // npm runs scripts in the package root; INIT_CWD is where the user ran it (as in parseStartArguments).
    cwd = process.env.INIT_CWD ?? process.cwd(),
): void {
    let values: { 'state-dir'?: string; help?: boolean };
    try {
        ({ values } = parseArgs({
            args: [...argv],
            options: { 'state-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
            strict: true,
        }));
    } catch (error) {
        throw new TypeError(`${(error as Error).message}\n${RESET_STATE_USAGE}`);
    }
    if (values.help === true) {
        print(RESET_STATE_USAGE);
        return;
    }
    // An empty value (`--state-dir "$DIR"` with DIR unset) is refused, not read as "the default": it would empty
    // the default folder the user did not name (as parseStartArguments refuses it for npm start).
    if (values['state-dir'] === '') {
        throw new TypeError(`--state-dir needs a folder (got "")\n${RESET_STATE_USAGE}`);
    }
    const folder =
        values['state-dir'] !== undefined
            ? path.resolve(cwd, values['state-dir'])
            : path.join(appRoot, DEFAULT_STATE_FOLDER);
    let result: { removed: string[]; kept: string[] };
    try {
        result = resetStateFolder(folder);
    } catch (error) {
        // The lock's own advice is npm start's (another folder, --in-memory); here only stopping the holder helps.
        if (error instanceof StateLockedError) {
            throw new StateLockedError(
                error.directory,
                error.owner,
                'Stop it first (Ctrl-C where it runs), then run npm run reset-state again.',
            );
        }
        throw error;
    }
    const { removed, kept } = result;
    if (removed.length === 0) {
        print(`Nothing to reset: ${folder} holds no namestream state.`);
    } else {
        print(`Reset ${folder}: removed ${removed.join(', ')}.`);
    }
    if (kept.length > 0) {
        print(`Left alone (not namestream's): ${kept.join(', ')}.`);
    }
}

if (require.main === module) {
    try {
        runResetState(process.argv.slice(2), findAppRoot(), (line) => console.log(line));
    } catch (error) {
        console.error(error instanceof NamestreamError || error instanceof TypeError ? error.message : error);
        process.exit(1);
    }
}
