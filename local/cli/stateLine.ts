import path from 'node:path';

import { DEFAULT_STATE_FOLDER } from '../state/stateFolder';

/**
 * The banner's "State" line: where the state folder is, and the exact command that empties it.
 *
 * - The folder is shown relative to `cwd` (where the user ran npm: INIT_CWD) when it lies inside it, else in full:
 *   "../../tmp/x" says less than "/tmp/x".
 * - The reset command names the folder unless it is the app's default one, since `npm run reset-state` alone
 *   empties only the default folder; a name the shell would split or expand is single-quoted.
 *
 * @param stateDirectory absolute path of the state folder; undefined with --in-memory
 * @param appRoot absolute path of the app (the default folder is relative to it)
 * @param cwd absolute path the user ran npm from
 */
export function formatStateLine(stateDirectory: string | undefined, appRoot: string, cwd: string): string {
    if (stateDirectory === undefined) {
        return 'in memory (--in-memory)';
    }
    const relative = path.relative(cwd, stateDirectory);
    const shown =
        relative === '' ? '.' : relative.startsWith('..') || path.isAbsolute(relative) ? stateDirectory : relative;
    const isDefault = path.resolve(appRoot, DEFAULT_STATE_FOLDER) === path.resolve(stateDirectory);
    // Single quotes keep every character as typed in a POSIX shell ($, spaces, backslashes); a quote ends and reopens.
    const folderArgument = /^[\w./-]+$/.test(shown) ? shown : `'${shown.replaceAll("'", "'\\''")}'`;
    const reset = isDefault ? 'npm run reset-state' : `npm run reset-state -- --state-dir ${folderArgument}`;
    return `${shown} (empty it: ${reset})`;
}
