import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { findAppRoot } from '../../../local/cli/appRoot';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

describe('findAppRoot', () => {
    it('finds the folder with package.json from the source tree and from the compiled one', () => {
        expect(findAppRoot(path.join(repoRoot, 'local', 'cli'))).toBe(repoRoot);
        expect(findAppRoot(path.join(repoRoot, 'dist', 'local', 'cli'))).toBe(repoRoot);
        expect(findAppRoot()).toBe(repoRoot);
    });

    it('says where it looked when no folder above holds a package.json', () => {
        expect(() => findAppRoot('/')).toThrow('No package.json in / or any folder above it');
    });
});
