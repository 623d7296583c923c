import { type ChildProcess, spawn } from 'node:child_process';
import {
    chmodSync,
    closeSync,
    existsSync,
    mkdtempSync,
    openSync,
    readFileSync,
    rmSync,
    statSync,
    truncateSync,
    writeFileSync,
    writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { fixedClock } from '../../../domain/clock';
import {
    type StateComponent,
    StateCorruptError,
    StateLockedError,
    StateStore,
    StateVersionError,
} from '../../../local/state';

const counter = z.object({ n: z.number() });
const folders: string[] = [];
const children: ChildProcess[] = [];
const newFolder = () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'state-store-'));
    folders.push(folder);
    return folder;
};
const fileIn = (folder: string) => path.join(folder, 'namestream.db');

afterEach(() => {
    for (const child of children.splice(0)) {
        child.kill('SIGKILL');
    }
    for (const folder of folders.splice(0)) {
        rmSync(folder, { recursive: true, force: true });
    }
});

/** Starts the holder fixture in a real child process; resolves once it holds the lock. */
function startHolder(folder: string, mode: 'hold' | 'write') {
    const child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(__dirname, 'fixtures', 'stateHolder.ts'), folder, mode],
        { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let output = '';
    let committed = 0;
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once('exit', (_code, signal) => resolve(signal)),
    );
    const waitFor = (predicate: () => boolean) =>
        new Promise<void>((resolve, reject) => {
            const check = () => {
                if (predicate()) {
                    child.stdout.off('data', onData);
                    resolve();
                }
            };
            const onData = (chunk: Buffer) => {
                output += chunk.toString();
                committed = Math.max(committed, ...[...output.matchAll(/committed (\d+)/g)].map((m) => Number(m[1])));
                check();
            };
            child.stdout.on('data', onData);
            child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
            void exited.then(() => reject(new Error(`holder exited early:\n${output}`)));
            check();
        });
    return {
        child,
        ready: waitFor(() => output.includes('locked')),
        commits: (n: number) => waitFor(() => committed >= n),
        committed: () => committed,
        kill: async () => {
            child.kill('SIGKILL');
            return exited;
        },
    };
}

describe('StateStore', () => {
    it('keeps records across a close and reopen, with WAL and the chosen synchronous level', () => {
        const folder = newFolder();
        const first = StateStore.open({ directory: folder, clock: fixedClock('2026-01-01T00:00:00Z') });
        expect(first.database.pragma('journal_mode', { simple: true })).toBe('wal');
        expect(first.database.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
        const table = first.records('timers', counter);
        table.put('b', { n: 2 });
        table.put('a', { n: 1 });
        table.put('a', { n: 3 });
        expect(table.delete('missing')).toBe(false);
        first.close();

        const second = StateStore.open({ directory: folder, synchronous: 'FULL' });
        expect(second.database.pragma('synchronous', { simple: true })).toBe(2); // FULL
        expect(second.records('timers', counter).entries()).toEqual([
            ['a', { n: 3 }],
            ['b', { n: 2 }],
        ]);
        expect(second.records('other', counter).get('a')).toBeUndefined();
        second.close();
    });

    it('creates the folder 0700 and the database and its WAL 0600, and tightens an older 0644 database', () => {
        const folder = path.join(newFolder(), 'state');
        const modeOf = (file: string) => statSync(file).mode & 0o777;
        const first = StateStore.open({ directory: folder });
        first.records('timers', counter).put('a', { n: 1 });
        expect([modeOf(folder), modeOf(fileIn(folder)), modeOf(`${fileIn(folder)}-wal`)]).toEqual([
            0o700, 0o600, 0o600,
        ]);
        first.close();

        chmodSync(fileIn(folder), 0o644);
        const second = StateStore.open({ directory: folder });
        expect(modeOf(fileIn(folder))).toBe(0o600);
        expect(second.records('timers', counter).get('a')).toEqual({ n: 1 });
        second.close();
    });

    it('runs each component migration once, in order, and records the version', () => {
        const folder = newFolder();
        const ran: string[] = [];
        const v1: StateComponent = {
            name: 'queue',
            migrations: [
                {
                    version: 1,
                    description: 'messages',
                    up: (db) => {
                        ran.push('queue 1');
                        db.exec('CREATE TABLE queue_messages (sequence_number INTEGER PRIMARY KEY, body BLOB)');
                    },
                },
            ],
        };
        StateStore.open({ directory: folder, components: [v1] }).close();
        const v2: StateComponent = {
            name: 'queue',
            migrations: [
                ...v1.migrations,
                {
                    version: 2,
                    description: 'delivery count',
                    up: (db) => {
                        ran.push('queue 2');
                        db.exec('ALTER TABLE queue_messages ADD COLUMN delivery_count INTEGER NOT NULL DEFAULT 0');
                    },
                },
            ],
        };
        const store = StateStore.open({ directory: folder, components: [v2] });
        expect(ran).toEqual(['queue 1', 'queue 2']);
        expect(
            store.database.prepare('SELECT component, version FROM schema_versions ORDER BY component').all(),
        ).toEqual([
            { component: 'queue', version: 2 },
            { component: 'records', version: 1 },
        ]);
        store.transaction(() => {
            store.database.prepare('INSERT INTO queue_messages (sequence_number, body) VALUES (1, ?)').run('x');
        });
        expect(() =>
            store.transaction(() => {
                store.database.prepare('INSERT INTO queue_messages (sequence_number, body) VALUES (2, ?)').run('y');
                throw new Error('rolled back');
            }),
        ).toThrow('rolled back');
        expect(store.database.prepare('SELECT sequence_number FROM queue_messages').pluck().all()).toEqual([1]);
        store.close();

        // Opening with the older code must refuse the newer file rather than use tables it does not understand.
        expect(() => StateStore.open({ directory: folder, components: [v1] })).toThrow(
            new StateVersionError(fileIn(folder), 'queue', 2, 1),
        );
        expect(new StateVersionError(fileIn(folder), 'queue', 2, 1).message).toBe(
            `The state file "${fileIn(folder)}" holds "queue" schema version 2, newer than version 1 this namestream ` +
                'knows. Use the newer namestream, or run "npm run reset-state" to start with empty state.',
        );
    });

    it('refuses a file that is not a database, naming it', () => {
        const folder = newFolder();
        writeFileSync(fileIn(folder), 'this is not SQLite, it is a text file that happens to have the name');
        expect(() => StateStore.open({ directory: folder })).toThrow(
            `The state file "${fileIn(folder)}" is damaged and was not used: file is not a database (SQLITE_NOTADB). ` +
                'Move it aside to keep it for inspection, or run "npm run reset-state" to start with empty state.',
        );
    });

    it('refuses a database whose pages were overwritten, naming it', () => {
        const folder = newFolder();
        const store = StateStore.open({ directory: folder });
        const table = store.records('bulk', counter);
        store.transaction(() => {
            for (let n = 0; n < 3000; n += 1) table.put(`key-${n}`, { n });
        });
        store.close();
        const size = statSync(fileIn(folder)).size;
        expect(size).toBeGreaterThan(16 * 4096);
        // Scribble over the middle pages, as a disk or a stray writer would.
        const fd = openSync(fileIn(folder), 'r+');
        writeSync(fd, Buffer.alloc(4 * 4096, 0x5a), 0, 4 * 4096, 8 * 4096);
        closeSync(fd);

        let error: unknown;
        try {
            StateStore.open({ directory: folder }).close();
        } catch (caught) {
            error = caught;
        }
        expect(error).toBeInstanceOf(StateCorruptError);
        expect((error as StateCorruptError).file).toBe(fileIn(folder));
        expect((error as Error).message).toMatch(
            new RegExp(`^The state file "${escape(fileIn(folder))}" is damaged and was not used: .+\\. Move it aside`),
        );
    });

    it('refuses a second opener on the same folder while the holder lives, naming the holder', async () => {
        const folder = newFolder();
        const holder = startHolder(folder, 'hold');
        await holder.ready;
        const owner = JSON.parse(readFileSync(path.join(folder, 'owner.json'), 'utf8')) as { startedAt: string };
        expect(() => StateStore.open({ directory: folder })).toThrow(
            new StateLockedError(folder, `process ${holder.child.pid}, started ${owner.startedAt}`),
        );
        // npm start's check before its build: the same refusal, through the same lock.
        expect(() => StateStore.probeLock(folder)).toThrow(
            new StateLockedError(folder, `process ${holder.child.pid}, started ${owner.startedAt}`),
        );
        expect(new StateLockedError(folder, 'process 7').message).toBe(
            `The state folder "${folder}" is in use by another namestream process (process 7). Stop it first, ` +
                'start with --state-dir <another folder>, or use --in-memory.',
        );
        expect(await holder.kill()).toBe('SIGKILL');
        // The OS dropped the dead holder's file lock: the folder is free at once, not stuck.
        StateStore.probeLock(folder);
        StateStore.open({ directory: folder }).close();
    });

    it('probes a free folder without keeping its lock, and creates nothing where there is no state', () => {
        const folder = newFolder();
        const missing = path.join(folder, 'not-yet');
        StateStore.probeLock(missing);
        expect(existsSync(missing)).toBe(false);
        StateStore.open({ directory: folder }).close();
        StateStore.probeLock(folder);
        // Released: the real open after the probe takes the lock.
        StateStore.open({ directory: folder }).close();
    });

    it('keeps every commit a SIGKILLed writer reported, and recovers a WAL torn at kill time', async () => {
        const folder = newFolder();
        const writer = startHolder(folder, 'write');
        await writer.commits(300);
        await writer.kill();
        const reported = writer.committed();

        const copy = newFolder();
        for (const name of ['namestream.db', 'namestream.db-wal']) {
            writeFileSync(path.join(copy, name), readFileSync(path.join(folder, name)));
        }
        // The database file as the kill left it, without its WAL (opening a store checkpoints on close).
        const fileOnly = newFolder();
        writeFileSync(path.join(fileOnly, 'namestream.db'), readFileSync(path.join(folder, 'namestream.db')));
        const numbers = (directory: string) => {
            const store = StateStore.open({ directory });
            const values = store
                .records('test', counter)
                .entries()
                .map(([, value]) => value.n);
            store.close();
            return values;
        };
        const survived = numbers(folder);
        expect(survived.length).toBeGreaterThanOrEqual(reported);
        expect(survived).toEqual(Array.from({ length: survived.length }, (_, i) => i + 1));

        // Tear the last WAL frame, as a kill in the middle of its write would: SQLite drops that transaction
        // (its checksum fails) and keeps every one before it.
        const wal = path.join(copy, 'namestream.db-wal');
        const walEnd = currentWalEnd(readFileSync(wal));
        truncateSync(wal, walEnd.end - 100);
        const recovered = numbers(copy);
        expect(recovered.length).toBeGreaterThanOrEqual(reported - 1);
        expect(recovered).toEqual(survived.slice(0, recovered.length));
        // The torn transaction is lost, unless the kill came right after an automatic checkpoint had already copied
        // it into the database file (then the WAL holds nothing the file lacks, and no tear can lose it), or in the
        // middle of writing a transaction's frames (then the torn frame was never committed, and the last commit
        // frame before it is intact).
        const checkpointed = numbers(fileOnly).length;
        const tearLosesNothing = checkpointed === survived.length || !walEnd.lastFrameCommits;
        expect(recovered.length).toBe(tearLosesNothing ? survived.length : survived.length - 1);
    });
});

/**
 * Where the current WAL's frames end, and whether the last of them commits. After a checkpoint SQLite writes the WAL again from its start under new salts
 * and leaves older frames beyond them (https://www.sqlite.org/fileformat.html#the_write_ahead_log): tearing the
 * file's end would then cut only those stale frames, and nothing would be lost.
 */
function currentWalEnd(wal: Buffer): { end: number; lastFrameCommits: boolean } {
    const pageSize = wal.readUInt32BE(8);
    const [salt1, salt2] = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
    let end = 32;
    let lastFrameCommits = false;
    while (
        end + 24 + pageSize <= wal.length &&
        wal.readUInt32BE(end + 8) === salt1 &&
        wal.readUInt32BE(end + 12) === salt2
    ) {
        // Frame header bytes 4-7: the database size after a commit frame, 0 for the other frames of a transaction.
        lastFrameCommits = wal.readUInt32BE(end + 4) !== 0;
        end += 24 + pageSize;
    }
    return { end, lastFrameCommits };
}

function escape(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
