import { describe, expect, it } from 'vitest';

import { formatStateLine } from '../../../local/cli/stateLine';

describe('formatStateLine', () => {
    const appRoot = '/home/ana/namestream';

    it('shows the default folder relative to where npm ran, with the plain reset command', () => {
        expect(formatStateLine('/home/ana/namestream/.local/state', appRoot, appRoot)).toBe(
            '.local/state (empty it: npm run reset-state)',
        );
    });

    it('names another folder inside the working folder in the reset command, relative as the user would type it', () => {
        expect(formatStateLine('/home/ana/namestream/docs/mystate', appRoot, '/home/ana/namestream/docs')).toBe(
            'mystate (empty it: npm run reset-state -- --state-dir mystate)',
        );
    });

    it('shows a folder outside the working folder in full instead of climbing with ../..', () => {
        expect(formatStateLine('/tmp/ns-try', appRoot, appRoot)).toBe(
            '/tmp/ns-try (empty it: npm run reset-state -- --state-dir /tmp/ns-try)',
        );
    });

    it('single-quotes a folder whose name the shell would split or expand, accents and all', () => {
        expect(formatStateLine('/tmp/état local', appRoot, appRoot)).toBe(
            "/tmp/état local (empty it: npm run reset-state -- --state-dir '/tmp/état local')",
        );
        expect(formatStateLine("/tmp/ana's $HOME", appRoot, appRoot)).toBe(
            "/tmp/ana's $HOME (empty it: npm run reset-state -- --state-dir '/tmp/ana'\\''s $HOME')",
        );
    });

    it('says "." for the working folder itself and "in memory" with --in-memory', () => {
        expect(formatStateLine('/srv/state', appRoot, '/srv/state')).toBe(
            '. (empty it: npm run reset-state -- --state-dir .)',
        );
        expect(formatStateLine(undefined, appRoot, appRoot)).toBe('in memory (--in-memory)');
    });
});
