import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The app's root folder (the one with package.json) above `from`: the CLIs run both from source (`tsx local/cli/...`,
 * as the npm scripts do) and compiled (`node dist/local/cli/...`), one folder level apart, so the root is found
 * rather than counted up from __dirname.
 * @throws Error when no folder above `from` holds a package.json
 */
export function findAppRoot(from: string = __dirname): string {
    for (let directory = path.resolve(from); ; directory = path.dirname(directory)) {
        if (existsSync(path.join(directory, 'package.json'))) {
            return directory;
        }
        if (path.dirname(directory) === directory) {
            throw new Error(`No package.json in ${from} or any folder above it`);
        }
    }
}
