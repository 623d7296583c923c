import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';

import { StateCorruptError, StateVersionError } from './errors';
import { STATE_DATABASE_FILE, StateStore } from './stateStore';

/** Where `npm start` keeps state unless told otherwise: under the app root, in the git-ignored `.local/`. */
export const DEFAULT_STATE_FOLDER = path.join('.local', 'state');

/** The parts of a state folder; nothing else is ever written there, and reset removes only these. */
export function stateLayout(directory: string) {
    return {
        database: path.join(directory, STATE_DATABASE_FILE),
        /** Azurite's own --location: its LokiJS metadata and blob extents. */
        azurite: path.join(directory, 'azurite'),
        /** Event Grid dead-letter blobs' JSON, in the dead-letter container's path layout. */
        eventGridDeadLetters: path.join(directory, 'eventgrid-deadletters'),
    };
}

const OWN_ENTRIES = new Set([
    STATE_DATABASE_FILE,
    `${STATE_DATABASE_FILE}-wal`,
    `${STATE_DATABASE_FILE}-shm`,
    `${STATE_DATABASE_FILE}-journal`,
    'owner.json',
    'azurite',
    'eventgrid-deadletters',
]);

/**
 * Empties a state folder (`npm run reset-state`): takes the folder's lock first, so it refuses (StateLockedError)
 * while a runtime uses it, then removes only what the runtime writes there. A damaged or newer database is removed
 * too: resetting is the way out of both. Returns the entries removed and those left because they are not ours.
 */
export function resetStateFolder(directory: string): { removed: string[]; kept: string[] } {
    const folder = path.resolve(directory);
    if (!existsSync(folder)) {
        return { removed: [], kept: [] };
    }
    let store: StateStore | undefined;
    try {
        store = StateStore.open({ directory: folder });
    } catch (error) {
        if (!(error instanceof StateCorruptError || error instanceof StateVersionError)) {
            throw error;
        }
    }
    const removed: string[] = [];
    const kept: string[] = [];
    const entries = readdirSync(folder).sort();
    try {
        for (const entry of entries) {
            if (!OWN_ENTRIES.has(entry)) {
                kept.push(entry);
            } else if (!entry.startsWith(STATE_DATABASE_FILE) && entry !== 'owner.json') {
                rmSync(path.join(folder, entry), { recursive: true, force: true });
                removed.push(entry);
            }
        }
    } finally {
        store?.close();
    }
    // The database goes last, after the lock that protected the rest is released.
    for (const entry of readdirSync(folder).sort()) {
        if (OWN_ENTRIES.has(entry)) {
            rmSync(path.join(folder, entry), { recursive: true, force: true });
            if (!removed.includes(entry)) {
                removed.push(entry);
            }
        }
    }
    if (kept.length === 0) {
        rmdirSync(folder);
    }
    return { removed: removed.sort(), kept };
}
