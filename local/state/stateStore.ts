import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';
import type { ZodType } from 'zod';

import { type Clock, systemClock } from '../../domain/clock';
import { StateCorruptError, StateLockedError, StateVersionError } from './errors';

/** The database inside a state folder. */
export const STATE_DATABASE_FILE = 'namestream.db';
/** Who holds the folder (pid, start time), written after the lock is taken; only for the "in use" message. */
const OWNER_FILE = 'owner.json';
/** SQLite's application_id for namestream state files ("NMST"), so a foreign database is refused, not migrated. */
const APPLICATION_ID = 0x4e4d5354;

/**
 * One schema step of a stand-in's tables. Steps run in version order, each in its own transaction, and the
 * component's version is recorded in the same transaction, so a kill mid-migration leaves the previous version.
 */
export interface StateMigration {
    /** 1, 2, 3...: consecutive per component. */
    readonly version: number;
    readonly description: string;
    readonly up: (database: Database.Database) => void;
}

/**
 * A stand-in's share of the state database: its tables and their migrations. Versions are kept per component,
 * so stand-ins evolve their tables independently (the Service Bus, Event Hubs and Cosmos DB stand-ins each own
 * one: messages by sequence number with delivery count and lock state; partition logs by sequence number and
 * offset plus checkpoints; documents with _ts, _etag and change order plus leases).
 */
export interface StateComponent {
    readonly name: string;
    readonly migrations: readonly StateMigration[];
}

/**
 * How much a commit waits for the disk. NORMAL (the default): in WAL mode SQLite writes each commit to the WAL
 * before returning and fsyncs at checkpoints, so a killed process loses nothing committed; a power loss or OS
 * crash can roll back the commits since the last checkpoint, never corrupt the file. FULL also fsyncs the WAL on
 * every commit, surviving power loss at the cost of one fsync per transaction.
 * Source: https://www.sqlite.org/pragma.html#pragma_synchronous and https://www.sqlite.org/wal.html
 */
export type SynchronousLevel = 'NORMAL' | 'FULL';

export interface OpenStateStoreOptions {
    /** The state folder; created if missing. */
    directory: string;
    /** The stand-ins' tables, migrated to their newest version at open. */
    components?: readonly StateComponent[];
    synchronous?: SynchronousLevel;
    clock?: Clock;
}

/** Small JSON records by key within one scope: checkpoints, leases, job progress, schedule status. */
export interface RecordTable<T> {
    get(key: string): T | undefined;
    put(key: string, value: T): void;
    /** True when there was a record to delete. */
    delete(key: string): boolean;
    /** Every record of the scope, ordered by key. */
    entries(): Array<[string, T]>;
}

/** The built-in component: generic records for state too small to deserve its own table. */
const RECORDS_COMPONENT: StateComponent = {
    name: 'records',
    migrations: [
        {
            version: 1,
            description: 'records (scope, key) -> JSON value',
            up: (database) =>
                database.exec(`CREATE TABLE records (
                    scope TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL CHECK (json_valid(value)),
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (scope, key)
                ) WITHOUT ROWID`),
        },
    ],
};

/**
 * The local runtime's state on disk: one SQLite database (through better-sqlite3) in the state folder.
 *
 * - Exclusive: the database is opened in EXCLUSIVE locking mode and locked at open, so a second runtime on the
 *   same folder gets StateLockedError. The lock is SQLite's own POSIX file lock, which the OS releases when the
 *   holder exits in any way (SIGKILL included): a crash never leaves the folder stuck.
 * - Durable: WAL journal with the chosen synchronous level (see SynchronousLevel); SQLite discards a WAL frame
 *   torn by a kill (frames are checksummed) and recovers the rest at the next open.
 * - Checked: a file SQLite cannot read, or that fails `PRAGMA quick_check`, is refused with StateCorruptError
 *   naming it; a schema newer than this code knows, with StateVersionError.
 *
 * Calls are synchronous (better-sqlite3): a commit returns once SQLite has written it.
 */
export class StateStore {
    readonly directory: string;
    readonly databaseFile: string;
    readonly #database: Database.Database;
    readonly #clock: Clock;
    #closed = false;

    private constructor(directory: string, databaseFile: string, database: Database.Database, clock: Clock) {
        this.directory = directory;
        this.databaseFile = databaseFile;
        this.#database = database;
        this.#clock = clock;
    }

    /**
     * Opens (creating if needed) the state folder's database, takes its lock and migrates every component.
     * @throws StateLockedError when another process holds the folder
     * @throws StateCorruptError when the database is unreadable or fails its integrity check
     * @throws StateVersionError when a component's schema is newer than its migrations
     */
    static open(options: OpenStateStoreOptions): StateStore {
        const directory = path.resolve(options.directory);
        // Owner-only: the database holds the Cosmos DB server's private key. A folder that already exists keeps its
        // mode (it may be one the user chose and shares); the files in it are made 0600 below, which is what counts.
        mkdirSync(directory, { recursive: true, mode: 0o700 });
        const file = path.join(directory, STATE_DATABASE_FILE);
        restrictToOwner(file);
        const database = lockDatabase(file, directory);
        try {
            // Taken: from here on no other process can read or write the file until this one exits.
            database.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
            // Waits inside this process only (a checkpoint racing a write); other processes are locked out.
            database.pragma('busy_timeout = 5000');
            checkIntegrity(database, file);
            migrate(database, file, [RECORDS_COMPONENT, ...(options.components ?? [])]);
        } catch (error) {
            database.close();
            throw error;
        }
        writeFileSync(
            path.join(directory, OWNER_FILE),
            JSON.stringify({ pid: process.pid, startedAt: (options.clock ?? systemClock).now().toISOString() }),
            { mode: 0o600 },
        );
        return new StateStore(directory, file, database, options.clock ?? systemClock);
    }

    /**
     * Checks that no other process holds the state folder, as open() does (same lock, same StateLockedError), and
     * releases the lock at once: `npm start` asks this before its build, so a second start on a folder in use is
     * refused in a second instead of after rebuilding dist/ under the running one. Creates nothing: a folder without
     * a database is free. Not a reservation: open() takes the lock for real (and may still be refused) later.
     * @throws StateLockedError when another process holds the folder
     * @throws StateCorruptError when the database is not one SQLite (or namestream) can use
     */
    static probeLock(directory: string): void {
        const folder = path.resolve(directory);
        const file = path.join(folder, STATE_DATABASE_FILE);
        if (!existsSync(file)) {
            return;
        }
        lockDatabase(file, folder).close();
    }

    /** The database, for a component's own prepared statements on the tables its migrations created. */
    get database(): Database.Database {
        this.#assertOpen();
        return this.#database;
    }

    /** Runs `work` in one transaction: all of its writes commit together or none does (it rolls back on throw). */
    transaction<T>(work: () => T): T {
        this.#assertOpen();
        return this.#database.transaction(work)();
    }

    /**
     * The records of one scope, checked against `schema` when read: a record that no longer matches is reported
     * as a StateCorruptError naming the file, scope and key rather than handed on.
     */
    records<T>(scope: string, schema: ZodType<T>): RecordTable<T> {
        const database = this.database;
        const select = database.prepare<[string, string], { value: string }>(
            'SELECT value FROM records WHERE scope = ? AND key = ?',
        );
        const selectAll = database.prepare<[string], { key: string; value: string }>(
            'SELECT key, value FROM records WHERE scope = ? ORDER BY key',
        );
        const upsert = database.prepare<[string, string, string, number]>(
            `INSERT INTO records (scope, key, value, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        );
        const remove = database.prepare<[string, string]>('DELETE FROM records WHERE scope = ? AND key = ?');
        const decode = (key: string, text: string): T => {
            const parsed = schema.safeParse(JSON.parse(text));
            if (!parsed.success) {
                throw new StateCorruptError(
                    this.databaseFile,
                    `record ${JSON.stringify(key)} in ${JSON.stringify(scope)} does not match its schema ` +
                        `(${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')})`,
                );
            }
            return parsed.data;
        };
        return {
            get: (key) => {
                this.#assertOpen();
                const row = select.get(scope, key);
                return row ? decode(key, row.value) : undefined;
            },
            put: (key, value) => {
                this.#assertOpen();
                upsert.run(scope, key, JSON.stringify(value), this.#clock.now().getTime());
            },
            delete: (key) => {
                this.#assertOpen();
                return remove.run(scope, key).changes > 0;
            },
            entries: () => {
                this.#assertOpen();
                return selectAll.all(scope).map((row) => [row.key, decode(row.key, row.value)]);
            },
        };
    }

    /** Checkpoints the WAL into the database and releases the lock. Idempotent. */
    close(): void {
        if (this.#closed) {
            return;
        }
        this.#closed = true;
        rmSync(path.join(this.directory, OWNER_FILE), { force: true });
        this.#database.close();
    }

    #assertOpen(): void {
        if (this.#closed) {
            throw new Error(`The state store ${this.databaseFile} is closed`);
        }
    }
}

/**
 * Creates `file` empty with mode 0600 when it is missing, and sets 0600 on it and on a WAL left beside it, so only
 * the owner can read the state (an older folder's files were 0644). SQLite gives a WAL it creates the database
 * file's mode (findCreateFileMode in SQLite's os_unix.c), so a new WAL is 0600 too. An empty file is a valid new
 * SQLite database.
 */
function restrictToOwner(file: string): void {
    closeSync(openSync(file, 'a', 0o600));
    for (const owned of [file, `${file}-wal`, `${file}-journal`]) {
        if (existsSync(owned)) {
            chmodSync(owned, 0o600);
        }
    }
}

/** Opens `file` in exclusive locking mode and takes the lock now, turning SQLite's errors into typed ones. */
function lockDatabase(file: string, directory: string): Database.Database {
    let database: Database.Database;
    try {
        // timeout 0: a held lock is reported at once instead of waiting for a holder that may run for hours.
        database = new Database(file, { timeout: 0 });
    } catch (error) {
        throw translate(error, file, directory);
    }
    try {
        // Set before the first access, so WAL keeps its index in heap memory (no -shm file) and the file lock,
        // once taken, is held until close: https://www.sqlite.org/pragma.html#pragma_locking_mode
        database.pragma('locking_mode = EXCLUSIVE');
        const mode = database.pragma('journal_mode = WAL', { simple: true });
        if (mode !== 'wal') {
            throw new StateCorruptError(file, `SQLite could not switch it to WAL mode (journal_mode ${String(mode)})`);
        }
        // A write transaction takes the EXCLUSIVE lock, and EXCLUSIVE locking mode keeps it.
        database.exec('BEGIN EXCLUSIVE; COMMIT');
        const applicationId = database.pragma('application_id', { simple: true });
        if (applicationId === 0) {
            database.pragma(`application_id = ${APPLICATION_ID}`);
        } else if (applicationId !== APPLICATION_ID) {
            throw new StateCorruptError(
                file,
                `it is not a namestream state database (application_id ${String(applicationId)})`,
            );
        }
        return database;
    } catch (error) {
        database.close();
        throw translate(error, file, directory);
    }
}

function checkIntegrity(database: Database.Database, file: string): void {
    let rows: Array<{ quick_check: string }>;
    try {
        rows = database.pragma('quick_check') as Array<{ quick_check: string }>;
    } catch (error) {
        throw translate(error, file, path.dirname(file));
    }
    const problems = rows.map((row) => row.quick_check).filter((result) => result !== 'ok');
    if (problems.length > 0) {
        throw new StateCorruptError(file, `SQLite's integrity check reports ${problems.slice(0, 3).join('; ')}`);
    }
}

function migrate(database: Database.Database, file: string, components: readonly StateComponent[]): void {
    database.exec(
        'CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID',
    );
    const current = database.prepare<[string], { version: number }>(
        'SELECT version FROM schema_versions WHERE component = ?',
    );
    const record = database.prepare<[string, number]>(
        `INSERT INTO schema_versions (component, version) VALUES (?, ?)
         ON CONFLICT (component) DO UPDATE SET version = excluded.version`,
    );
    for (const component of components) {
        component.migrations.forEach((migration, index) => {
            if (migration.version !== index + 1) {
                throw new Error(
                    `State component "${component.name}": migration ${index + 1} is numbered ${migration.version}; versions must be 1, 2, 3...`,
                );
            }
        });
        const known = component.migrations.length;
        const version = current.get(component.name)?.version ?? 0;
        if (version > known) {
            throw new StateVersionError(file, component.name, version, known);
        }
        for (const migration of component.migrations.slice(version)) {
            database.transaction(() => {
                migration.up(database);
                record.run(component.name, migration.version);
            })();
        }
    }
}

const CORRUPTION_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_VTAB', 'SQLITE_IOERR_SHORT_READ']);

function translate(error: unknown, file: string, directory: string): unknown {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string') {
        return error;
    }
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
        return new StateLockedError(directory, describeOwner(directory));
    }
    if (CORRUPTION_CODES.has(code) || code.startsWith('SQLITE_CORRUPT')) {
        return new StateCorruptError(file, `${(error as Error).message} (${code})`);
    }
    return error;
}

function describeOwner(directory: string): string | undefined {
    try {
        const owner = JSON.parse(readFileSync(path.join(directory, OWNER_FILE), 'utf8')) as {
            pid?: unknown;
            startedAt?: unknown;
        };
        return `process ${String(owner.pid)}, started ${String(owner.startedAt)}`;
    } catch {
        return undefined;
    }
}
