import type { IncomingMessage, ServerResponse } from 'node:http';

import type Account from '@vercel/cosmosdb-server/lib/account';
import type Collection from '@vercel/cosmosdb-server/lib/account/collection';
import type Collections from '@vercel/cosmosdb-server/lib/account/collections';
import type Database from '@vercel/cosmosdb-server/lib/account/database';
import type Databases from '@vercel/cosmosdb-server/lib/account/databases';
import type Documents from '@vercel/cosmosdb-server/lib/account/documents';
import type Item from '@vercel/cosmosdb-server/lib/account/item';
import type ItemObject from '@vercel/cosmosdb-server/lib/account/item-object';
import Items from '@vercel/cosmosdb-server/lib/account/items';
import * as documentOperations from '@vercel/cosmosdb-server/lib/handler/_document-operations';
import readJson from '@vercel/cosmosdb-server/lib/json';
import type SqliteDatabase from 'better-sqlite3';

import { type StateComponent, StateCorruptError, type StateStore } from '../state';
import { raiseSequence } from './changeSequence';
import { installServerRoute, type RouteHandler } from './serverRoutes';

/**
 * The Cosmos DB stand-in's tables. Bodies are the server's own stored JSON, system properties included (`_rid`,
 * `_self`, `_etag`, `_ts`, `_lsn`), so a loaded resource is byte for byte the one written. Databases and containers
 * are rowid tables written with INSERT OR REPLACE, so rowid order is the order of their last write, which is the
 * order the server's maps hold them in (its replace deletes and re-inserts). `*_rid_count` is the server's counter
 * behind the `_rid`s of the children (containers of a database, documents of a container), so a resource created after
 * a restart never takes the `_rid` of one created, and maybe deleted, before it. `cosmos_counters` holds
 * `database_rid_count` and `deleted_lsn`, the highest `_lsn` of any deleted document (see attachCosmosState).
 */
export const COSMOS_STATE_COMPONENT: StateComponent = {
    name: 'cosmos',
    migrations: [
        {
            version: 1,
            description: 'databases, containers and documents with their system properties; rid and lsn counters',
            up: (database) =>
                database.exec(`
                    CREATE TABLE cosmos_databases (
                        rid TEXT PRIMARY KEY,
                        body TEXT NOT NULL CHECK (json_valid(body)),
                        container_rid_count INTEGER NOT NULL
                    );
                    CREATE TABLE cosmos_containers (
                        rid TEXT PRIMARY KEY,
                        database_rid TEXT NOT NULL,
                        body TEXT NOT NULL CHECK (json_valid(body)),
                        document_rid_count INTEGER NOT NULL
                    );
                    CREATE INDEX cosmos_containers_by_database ON cosmos_containers (database_rid);
                    CREATE TABLE cosmos_documents (
                        container_rid TEXT NOT NULL,
                        rid TEXT NOT NULL,
                        lsn INTEGER NOT NULL,
                        body TEXT NOT NULL CHECK (json_valid(body)),
                        PRIMARY KEY (container_rid, rid)
                    ) WITHOUT ROWID;
                    CREATE TABLE cosmos_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;`),
        },
    ],
};

/** What attachCosmosState put back into the account. */
export interface CosmosStateLoad {
    databases: number;
    containers: number;
    documents: number;
    /** The highest `_lsn` stored or deleted; new writes are numbered after it. */
    highestLsn: number;
}

type AnyItems = Items<Item, Item>;

/** The undo steps of the transactional batch being written (latest last), or undefined outside a batch. */
interface BatchJournal {
    undo: (() => void)[] | undefined;
}

/** Per account with a state: runs a transactional batch's operations in one transaction (see installBatchRoute). */
const batchRunners = new WeakMap<Account, <T>(work: () => T) => T>();

/** What one store of the server (databases, containers of a database, documents of a container) reports. */
interface WriteThrough {
    /** After the server stored `stored` (create, or the insert half of a replace). */
    onSet(items: AnyItems, stored: ItemObject): void;
    /** Before the server deletes `existing`; never called for the delete half of a replace. */
    onDelete(items: AnyItems, existing: ItemObject): void;
}

/**
 * Keeps the in-process cosmosdb-server's account on the state store: loads what the store holds into `account`, then
 * writes every change through to SQLite synchronously, inside the request that makes it, so the commit precedes the
 * response that acknowledges it.
 *
 * Why hand-written: cosmosdb-server keeps its account in plain in-memory maps and has no persistence or storage
 * interface, and no published library persists it (the Azure Cosmos DB emulator persists, but it is the Docker or
 * Windows image this project exists to avoid). Every change the server makes goes through three methods of its `Items`
 * stores (databases, containers of a database, documents of a container): `_set` (create, and the insert half of
 * replace, which upsert and patch use), `delete`, and `replace` (delete then `_set`). Overriding those on the account's
 * own store instances (not the prototypes, so servers without a state folder are untouched) covers every write path
 * the REST handlers have, batch and TTL sweeps included. Stores created later (a new database's containers, a new
 * container's documents) are hooked as the server creates them, through the parent store's `_newItem`.
 *
 * Positions: documents are loaded without the change sequence's stamping `_set` (changeSequence.ts), so they keep
 * their `_lsn`, and the sequence is raised above the highest `_lsn` stored or ever deleted, so a change-feed etag or
 * lease taken before a restart is followed by exactly the writes made after it.
 *
 * Replacing a container in cosmosdb-server empties it (the new container gets a new document store); the state does
 * the same, so a restart shows what the running server showed.
 * @throws StateCorruptError when a stored row names a database or container that is not stored, or is not JSON
 */
export function attachCosmosState(account: Account, store: StateStore): CosmosStateLoad {
    const db = store.database;
    const statements = {
        putDatabase: db.prepare<[string, string, number]>(
            'INSERT OR REPLACE INTO cosmos_databases (rid, body, container_rid_count) VALUES (?, ?, ?)',
        ),
        setContainerCount: db.prepare<[number, string]>(
            'UPDATE cosmos_databases SET container_rid_count = ? WHERE rid = ?',
        ),
        deleteDatabase: db.prepare<[string]>('DELETE FROM cosmos_databases WHERE rid = ?'),
        putContainer: db.prepare<[string, string, string, number]>(
            'INSERT OR REPLACE INTO cosmos_containers (rid, database_rid, body, document_rid_count) VALUES (?, ?, ?, ?)',
        ),
        setDocumentCount: db.prepare<[number, string]>(
            'UPDATE cosmos_containers SET document_rid_count = ? WHERE rid = ?',
        ),
        deleteContainer: db.prepare<[string]>('DELETE FROM cosmos_containers WHERE rid = ?'),
        deleteContainersOf: db.prepare<[string]>('DELETE FROM cosmos_containers WHERE database_rid = ?'),
        putDocument: db.prepare<[string, string, number, string]>(
            'INSERT OR REPLACE INTO cosmos_documents (container_rid, rid, lsn, body) VALUES (?, ?, ?, ?)',
        ),
        deleteDocument: db.prepare<[string, string]>(
            'DELETE FROM cosmos_documents WHERE container_rid = ? AND rid = ?',
        ),
        deleteDocumentsOf: db.prepare<[string]>('DELETE FROM cosmos_documents WHERE container_rid = ?'),
        deleteDocumentsOfDatabase: db.prepare<[string]>(
            'DELETE FROM cosmos_documents WHERE container_rid IN (SELECT rid FROM cosmos_containers WHERE database_rid = ?)',
        ),
        highestLsnOf: db.prepare<[string], { lsn: number | null }>(
            'SELECT max(lsn) AS lsn FROM cosmos_documents WHERE container_rid = ?',
        ),
        highestLsnOfDatabase: db.prepare<[string], { lsn: number | null }>(
            `SELECT max(lsn) AS lsn FROM cosmos_documents
             WHERE container_rid IN (SELECT rid FROM cosmos_containers WHERE database_rid = ?)`,
        ),
        getCounter: db.prepare<[string], { value: number }>('SELECT value FROM cosmos_counters WHERE name = ?'),
        setCounter: db.prepare<[string, number]>(
            `INSERT INTO cosmos_counters (name, value) VALUES (?, ?)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
        ),
        raiseCounter: db.prepare<[string, number]>(
            `INSERT INTO cosmos_counters (name, value) VALUES (?, ?)
             ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`,
        ),
    };
    const journal: BatchJournal = { undo: undefined };
    // A batch in one transaction: its writes' own transactions become savepoints inside it. If one of them throws
    // (the disk refused it; that operation already undid itself in memory), SQLite rolls the whole batch back and the
    // journal undoes the earlier operations in memory, latest first, so memory and disk stay equal.
    const batchTransaction = db.transaction((work: () => unknown) => work());
    batchRunners.set(account, <T>(work: () => T): T => {
        journal.undo = [];
        try {
            return batchTransaction(work) as T;
        } catch (error) {
            for (const undo of journal.undo.reverse()) undo();
            throw error;
        } finally {
            journal.undo = undefined;
        }
    });
    installBatchRoute();
    const keepDeletedLsn = (lsn: number | null | undefined) => {
        if (typeof lsn === 'number') statements.raiseCounter.run('deleted_lsn', lsn);
    };

    const documentsWriteThrough: WriteThrough = {
        onSet: (items, stored) => {
            const containerRid = parentRid(items);
            const lsn = typeof stored._lsn === 'number' ? stored._lsn : 0;
            statements.putDocument.run(containerRid, stored._rid, lsn, JSON.stringify(stored));
            if (countChanged(items)) statements.setDocumentCount.run(items._ridCount, containerRid);
        },
        onDelete: (items, existing) => {
            statements.deleteDocument.run(parentRid(items), existing._rid);
            keepDeletedLsn(existing._lsn as number | undefined);
        },
    };
    const containersWriteThrough: WriteThrough = {
        onSet: (items, stored) => {
            const databaseRid = parentRid(items);
            const collection = items._data.get(stored._rid) as Collection;
            // A replaced container starts empty in the server (a new document store): drop the old documents too.
            keepDeletedLsn(statements.highestLsnOf.get(stored._rid)?.lsn);
            statements.deleteDocumentsOf.run(stored._rid);
            statements.putContainer.run(
                stored._rid,
                databaseRid,
                JSON.stringify(stored),
                collection.documents._ridCount,
            );
            if (countChanged(items)) statements.setContainerCount.run(items._ridCount, databaseRid);
        },
        onDelete: (_items, existing) => {
            keepDeletedLsn(statements.highestLsnOf.get(existing._rid)?.lsn);
            statements.deleteDocumentsOf.run(existing._rid);
            statements.deleteContainer.run(existing._rid);
        },
    };
    const databasesWriteThrough: WriteThrough = {
        onSet: (items, stored) => {
            const database = items._data.get(stored._rid) as Database;
            statements.putDatabase.run(stored._rid, JSON.stringify(stored), database.collections._ridCount);
            if (countChanged(items)) statements.setCounter.run('database_rid_count', items._ridCount);
        },
        onDelete: (_items, existing) => {
            keepDeletedLsn(statements.highestLsnOfDatabase.get(existing._rid)?.lsn);
            statements.deleteDocumentsOfDatabase.run(existing._rid);
            statements.deleteContainersOf.run(existing._rid);
            statements.deleteDatabase.run(existing._rid);
        },
    };

    const hookDocuments = (documents: Documents) => writeThrough(documents, documentsWriteThrough, db, journal);
    const hookCollections = (collections: Collections) => {
        writeThrough(collections, containersWriteThrough, db, journal);
        hookNewItems(collections, (collection: Collection) => hookDocuments(collection.documents));
    };
    const databases: Databases = account.databases;
    writeThrough(databases, databasesWriteThrough, db, journal);
    hookNewItems(databases, (database: Database) => hookCollections(database.collections));

    return store.transaction(() => load(account, store, statements.getCounter));
}

/** Whether the store's `_rid` counter moved since it was last written (only creates move it). */
const persistedCounts = new WeakMap<AnyItems, number>();
function countChanged(items: AnyItems): boolean {
    if (persistedCounts.get(items) === items._ridCount) return false;
    persistedCounts.set(items, items._ridCount);
    return true;
}

function parentRid(items: AnyItems): string {
    const parent = items._parent.read() as ItemObject | null | undefined;
    if (!parent) throw new Error('cosmosdb-server store has no parent resource');
    return parent._rid;
}

/** Overrides `_set`, `delete` and `replace` on one store instance; the prototype's methods do the work. */
function writeThrough(
    items: AnyItems,
    hooks: WriteThrough,
    database: SqliteDatabase.Database,
    journal: BatchJournal,
): void {
    const prototype = Object.getPrototypeOf(items) as AnyItems;
    // One transaction per change: a row and the counter it moves commit together.
    const onSet = database.transaction((stored: ItemObject) => hooks.onSet(items, stored));
    const onDelete = database.transaction((existing: ItemObject) => hooks.onDelete(items, existing));
    // While a replace runs: the version it replaces, to put back if the new one cannot be written.
    let replaced: { version: ItemObject | undefined } | undefined;
    items._set = function persistSet(this: AnyItems, data: ItemObject): ItemObject {
        // The server first, so the stored body carries what it adds (the change sequence's `_lsn`).
        const previous = replaced?.version;
        const stored = prototype._set.call(this, data);
        try {
            onSet(stored);
        } catch (error) {
            // The disk refused it (full, read-only): undo it in memory too, so the request's 500 is the whole truth
            // and the server never shows a change a restart would not have. The base class's methods, not these.
            Items.prototype.delete.call(this, stored._rid, this._getPartition(stored));
            if (previous) Items.prototype._set.call(this, previous);
            throw error;
        }
        journal.undo?.push(() => {
            Items.prototype.delete.call(this, stored._rid, this._getPartition(stored));
            if (previous) Items.prototype._set.call(this, previous);
        });
        return stored;
    };
    items.delete = function persistDelete(this: AnyItems, idOrRid: string, partition: unknown): void {
        const existing = this._item('/id', idOrRid, partition).read() as ItemObject | null | undefined;
        // The disk first: if it fails, the server still holds the resource, as the client is told.
        if (existing && !replaced) onDelete(existing);
        prototype.delete.call(this, idOrRid, partition);
        if (existing && !replaced) journal.undo?.push(() => Items.prototype._set.call(this, existing));
    };
    items.replace = function persistReplace(this: AnyItems, data: ItemObject, original: ItemObject): ItemObject {
        // Replace deletes the old version and sets the new one under the same `_rid`: one row, overwritten by onSet.
        const current = this._item('/id', data.id, this._getPartition(data)).read() as ItemObject | null | undefined;
        replaced = { version: current ?? undefined };
        try {
            return prototype.replace.call(this, data, original);
        } finally {
            replaced = undefined;
        }
    };
}

const batchRouteInstalled = Symbol.for('namestream.cosmos.batchRoute');

function isTrueHeader(req: IncomingMessage, name: string): boolean {
    const value = req.headers[name];
    return (Array.isArray(value) ? value : [value]).some((one) => one?.toLowerCase() === 'true');
}

/**
 * Serves a transactional batch (`POST .../docs` with `x-ms-cosmos-is-batch-request`) for an account with a state in
 * one SQLite transaction. Why not a wrapper around the library's handler: it awaits the request body and then applies
 * the operations, so no synchronous scope can enclose them from outside; this handler reads the body the same way and
 * runs the same loop over the library's own operations (handler/_document-operations: status codes, 424 after a
 * failure unless continue-on-error, as handler/batch-documents.js does) inside the account's batch transaction.
 * Accounts without a state, and every other request, go to the library's router (put in front of it with
 * installServerRoute, like installChangeFeedRoute). Like the library, operations before a failed one stay applied
 * (it has no atomic rollback).
 */
function installBatchRoute(): void {
    installServerRoute(batchRouteInstalled, (next) => (req) => {
        const routed = next(req);
        if (routed === undefined || req.method !== 'POST' || !isTrueHeader(req, 'x-ms-cosmos-is-batch-request')) {
            return routed;
        }
        if (isTrueHeader(req, 'x-ms-documentdb-isquery') || isTrueHeader(req, 'x-ms-documentdb-is-upsert')) {
            return routed;
        }
        return [routed[0], (account, request, res, params) => serveBatch(account, request, res, params, routed[1])];
    });
}

async function serveBatch(
    account: Account,
    req: IncomingMessage,
    res: ServerResponse,
    params: Record<string, string>,
    library: RouteHandler,
): Promise<unknown> {
    const runBatch = batchRunners.get(account);
    if (runBatch === undefined) return library(account, req, res, params);
    const body = (await readJson(req)) as unknown;
    const continueOnError = isTrueHeader(req, 'x-ms-cosmos-batch-continue-on-error');
    const collection = account.database(params.dbId ?? '').collection(params.collId ?? '');
    if (!collection.read()) {
        res.statusCode = 404;
        return {};
    }
    if (!Array.isArray(body)) {
        res.statusCode = 400;
        return { message: 'Invalid request body' };
    }
    const operations: Record<string, (collection: Collection, input: never) => { statusCode: number; body?: unknown }> =
        {
            Create: documentOperations.createOperation,
            Upsert: documentOperations.upsertOperation,
            Read: documentOperations.readOperation,
            Delete: documentOperations.deleteOperation,
            Replace: documentOperations.replaceOperation,
        };
    const unsupported = (body as { operationType?: unknown }[]).find(
        (input) => operations[String(input?.operationType)] === undefined,
    );
    if (unsupported !== undefined) {
        res.statusCode = 400;
        return { message: `Operation type '${String(unsupported?.operationType)}' is not supported in Batch.` };
    }
    return runBatch(() => {
        let failed = false;
        return (body as { operationType: string }[]).map((input) => {
            if (failed && !continueOnError) return { statusCode: 424, requestCharge: 0 };
            const result = operations[input.operationType]!(collection, input as never);
            failed = result.statusCode >= 400;
            return failed
                ? { statusCode: result.statusCode, requestCharge: 0 }
                : {
                      statusCode: result.statusCode,
                      requestCharge: 1,
                      eTag: (result.body as { _etag?: string } | undefined)?._etag,
                      resourceBody: result.body,
                  };
        });
    });
}

/** Calls `hook` with every child resource the store creates from data (lookups of missing ids create empty ones). */
function hookNewItems<I extends Item>(items: { _newItem(data?: ItemObject | null): I }, hook: (item: I) => void): void {
    const prototype = Object.getPrototypeOf(items) as { _newItem(data?: ItemObject | null): I };
    items._newItem = function hookedNewItem(data?: ItemObject | null): I {
        const item = prototype._newItem.call(this, data);
        if (data) hook(item);
        return item;
    };
}

function load(
    account: Account,
    store: StateStore,
    getCounter: { get(name: string): { value: number } | undefined },
): CosmosStateLoad {
    const db = store.database;
    const parse = (table: string, rid: string, body: string): ItemObject => {
        try {
            return JSON.parse(body) as ItemObject;
        } catch (error) {
            throw new StateCorruptError(
                store.databaseFile,
                `${table} row ${JSON.stringify(rid)} is not JSON (${String(error)})`,
            );
        }
    };
    // The base class's _set: it indexes and stores without the overrides above (nothing to write back) and without
    // the change sequence's stamping (the documents keep their _lsn).
    const insert = (items: object, data: ItemObject) => Items.prototype._set.call(items as AnyItems, data);

    const databaseRows = db
        .prepare<[], { rid: string; body: string; container_rid_count: number }>(
            'SELECT rid, body, container_rid_count FROM cosmos_databases ORDER BY rowid',
        )
        .all();
    for (const row of databaseRows) {
        insert(account.databases, parse('cosmos_databases', row.rid, row.body));
        const database = account.databases._data.get(row.rid)!;
        database.collections._ridCount = row.container_rid_count;
    }
    account.databases._ridCount = getCounter.get('database_rid_count')?.value ?? databaseRows.length;

    const containers = new Map<string, Documents>();
    const containerRows = db
        .prepare<[], { rid: string; database_rid: string; body: string; document_rid_count: number }>(
            'SELECT rid, database_rid, body, document_rid_count FROM cosmos_containers ORDER BY rowid',
        )
        .all();
    for (const row of containerRows) {
        const database = account.databases._data.get(row.database_rid);
        if (!database) {
            throw new StateCorruptError(
                store.databaseFile,
                `container ${JSON.stringify(row.rid)} belongs to database ${JSON.stringify(row.database_rid)}, which is not stored`,
            );
        }
        insert(database.collections, parse('cosmos_containers', row.rid, row.body));
        const collection = database.collections._data.get(row.rid)!;
        collection.documents._ridCount = row.document_rid_count;
        containers.set(row.rid, collection.documents);
    }

    let documents = 0;
    let highestLsn = getCounter.get('deleted_lsn')?.value ?? 0;
    const documentRows = db
        .prepare<[], { container_rid: string; rid: string; lsn: number; body: string }>(
            // _lsn order is the order the server's map held them in: every write (re)inserts with the next _lsn.
            'SELECT container_rid, rid, lsn, body FROM cosmos_documents ORDER BY lsn',
        )
        .iterate();
    for (const row of documentRows) {
        const container = containers.get(row.container_rid);
        if (!container) {
            throw new StateCorruptError(
                store.databaseFile,
                `document ${JSON.stringify(row.rid)} belongs to container ${JSON.stringify(row.container_rid)}, which is not stored`,
            );
        }
        insert(container, parse('cosmos_documents', row.rid, row.body));
        documents += 1;
        highestLsn = Math.max(highestLsn, row.lsn);
    }
    raiseSequence(highestLsn);
    return { databases: databaseRows.length, containers: containerRows.length, documents, highestLsn };
}
