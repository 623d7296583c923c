import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { runResetState } from '../../../local/cli/resetState';
import { StateLockedError, StateStore } from '../../../local/state';

describe('npm run reset-state', () => {
    const roots: string[] = [];
    const newRoot = () => {
        const root = mkdtempSync(path.join(tmpdir(), 'reset-state-'));
        roots.push(root);
        return root;
    };
    afterEach(() => roots.splice(0).forEach((root) => rmSync(root, { recursive: true, force: true })));

    /** A state folder as a stopped runtime leaves it. */
    function populate(folder: string) {
        StateStore.open({ directory: folder }).close();
        mkdirSync(path.join(folder, 'azurite', '__blobstorage__'), { recursive: true });
        writeFileSync(path.join(folder, 'azurite', '__azurite_db_blob__.json'), '{}');
        mkdirSync(path.join(folder, 'eventgrid-deadletters', 'LOCAL-TOPIC'), { recursive: true });
    }

    it('empties the default folder under the app and removes it', () => {
        const appRoot = newRoot();
        const folder = path.join(appRoot, '.local', 'state');
        populate(folder);
        const lines: string[] = [];
        runResetState([], appRoot, (line) => lines.push(line));
        expect(lines).toEqual([`Reset ${folder}: removed azurite, eventgrid-deadletters, namestream.db.`]);
        expect(readdirSync(path.join(appRoot, '.local'))).toEqual([]);
        runResetState([], appRoot, (line) => lines.push(line));
        expect(lines[1]).toBe(`Nothing to reset: ${folder} holds no namestream state.`);
    });

    it('removes only its own entries from a --state-dir that holds other files', () => {
        const folder = path.join(newRoot(), 'mine');
        populate(folder);
        writeFileSync(path.join(folder, 'notes.txt'), 'keep me');
        const lines: string[] = [];
        runResetState(['--state-dir', folder], '/unused', (line) => lines.push(line));
        expect(lines).toEqual([
            `Reset ${folder}: removed azurite, eventgrid-deadletters, namestream.db.`,
            "Left alone (not namestream's): notes.txt.",
        ]);
        expect(readdirSync(folder)).toEqual(['notes.txt']);
    });

    it('takes a relative --state-dir from the folder npm was run in', () => {
        const shellFolder = newRoot();
        const folder = path.join(shellFolder, 'runs', 'one');
        populate(folder);
        const lines: string[] = [];
        runResetState(['--state-dir', 'runs/one'], '/unused', (line) => lines.push(line), shellFolder);
        expect(lines).toEqual([`Reset ${folder}: removed azurite, eventgrid-deadletters, namestream.db.`]);
    });

    it('refuses an empty --state-dir (an unset shell variable) and leaves the default folder alone', () => {
        const appRoot = newRoot();
        const folder = path.join(appRoot, '.local', 'state');
        populate(folder);
        const usage = [
            'Usage: npm run reset-state -- [--state-dir <folder>]',
            '  --state-dir <folder>  the folder to empty (default .local/state, relative to the app)',
        ].join('\n');
        expect(() => runResetState(['--state-dir', ''], appRoot, () => undefined, appRoot)).toThrow(
            new TypeError(`--state-dir needs a folder (got "")\n${usage}`),
        );
        expect(readdirSync(folder).sort()).toEqual(['azurite', 'eventgrid-deadletters', 'namestream.db']);
    });

    it('refuses while a runtime holds the folder, and removes nothing', () => {
        const folder = path.join(newRoot(), 'busy');
        populate(folder);
        const store = StateStore.open({ directory: folder });
        try {
            let error: unknown;
            try {
                runResetState(['--state-dir', folder], '/unused', () => undefined);
            } catch (caught) {
                error = caught;
            }
            expect(error).toBeInstanceOf(StateLockedError);
            expect((error as Error).message).toMatch(
                new RegExp(
                    `^The state folder "${folder}" is in use by another namestream process \\(process ${process.pid}, started [^)]+\\)\\. ` +
                        'Stop it first \\(Ctrl-C where it runs\\), then run npm run reset-state again\\.$',
                ),
            );
            expect(readdirSync(folder).sort()).toEqual([
                'azurite',
                'eventgrid-deadletters',
                'namestream.db',
                'namestream.db-wal',
                'owner.json',
            ]);
        } finally {
            store.close();
        }
    });

    it('removes a damaged database, which is the way out of a refused start', () => {
        const folder = path.join(newRoot(), 'damaged');
        mkdirSync(folder);
        writeFileSync(path.join(folder, 'namestream.db'), 'torn');
        const lines: string[] = [];
        runResetState(['--state-dir', folder], '/unused', (line) => lines.push(line));
        expect(lines).toEqual([`Reset ${folder}: removed namestream.db.`]);
        expect(() => readdirSync(folder)).toThrow('ENOENT');
    });

    it('prints its usage with --help, and with it the reason for an unknown option', () => {
        const usage = [
            'Usage: npm run reset-state -- [--state-dir <folder>]',
            '  --state-dir <folder>  the folder to empty (default .local/state, relative to the app)',
        ].join('\n');
        const lines: string[] = [];
        runResetState(['--help'], '/unused', (line) => lines.push(line));
        runResetState(['-h'], '/unused', (line) => lines.push(line));
        expect(lines).toEqual([usage, usage]);
        expect(() => runResetState(['--stat-dir', 'x'], '/unused', () => undefined)).toThrow(
            new TypeError(`Unknown option '--stat-dir'\n${usage}`),
        );
    });
});
