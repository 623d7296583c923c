import path from 'node:path';
import { parseArgs } from 'node:util';

import { NamestreamError } from '../../domain/errors';
import { DEFAULT_STATE_FOLDER, resetStateFolder } from '../state';

/**
 * `npm run reset-state [-- --state-dir <folder>]`: empties the state folder `npm start` keeps (default
 * .local/state). Refuses while a runtime uses the folder; removes only what the runtime writes there.
 */
export function runResetState(argv: readonly string[], appRoot: string, print: (line: string) => void): void {
    const { values } = parseArgs({ args: [...argv], options: { 'state-dir': { type: 'string' } }, strict: true });
    const folder = values['state-dir'] ? path.resolve(values['state-dir']) : path.join(appRoot, DEFAULT_STATE_FOLDER);
    const { removed, kept } = resetStateFolder(folder);
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
        runResetState(process.argv.slice(2), path.resolve(__dirname, '..', '..', '..'), (line) => console.log(line));
    } catch (error) {
        console.error(error instanceof NamestreamError || error instanceof TypeError ? error.message : error);
        process.exit(1);
    }
}
