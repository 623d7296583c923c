// Preloaded into the Azurite child process (node --require) to remove costs that capped the pipeline's blob
// writes. None changes what Azurite answers while its files are intact (fix 7 no longer reads back, so it no longer
// notices an extent file made unreadable right after the write, which the page cache hid anyway).
//
// 1. Azurite keeps blob metadata in LokiJS and looks a blob up with findOne({ accountName, containerName, name,
//    snapshot }). LokiJS serves a multi-key query from the binary index of the FIRST key only, and every blob
//    shares one accountName, so each write scanned every blob ever written: uploads slowed down linearly as
//    raw-names filled up. Putting the selective indexed key (`name`, `blobName`) first lets the index do the
//    work. Results are identical: the query is the same conjunction.
// 2. To dispatch a request Azurite matches a path against the URI template of every operation it knows (about
//    a hundred), compiling each template again for every request: a fifth of Azurite's CPU at 700 uploads/s. A
//    compiled template is immutable and the templates are a fixed set from Azurite's API specification, so the
//    compiled ones are kept by template text. The path it matches is one of three dispatch patterns ("/",
//    "/container", "/container/blob"), so each template's match results are kept too (bounded, in case a path
//    is ever a real one); Azurite only reads them, and each caller gets its own copy anyway.
// 3. LokiJS keeps a sorted binary index per indexed key and splices every insert into each. Azurite indexes the
//    blobs collection on accountName, containerName, name and snapshot. snapshot holds one value for every base
//    blob and containerName a handful, so each of those two indices is one long run of equal keys and every insert
//    moved most of the array: write cost grew with the number of blobs ever written. No Azurite query leads with
//    either (they lead with accountName, or with name after fix 1), so no lookup uses them and no result order
//    comes from them: they are dropped. The accountName index costs the same but stays: List Blobs sorts by name
//    only, and the order of a blob's snapshots (oldest first, as in Azure) comes from that index.
// 4. Even with fix 2, dispatching walks all ~70 operation specifications per request (10 % of Azurite's CPU).
//    The walk reads only the method, the X-HTTP-Method header, the dispatch pattern and the required query and
//    header parameters of the specifications (their values where a specification constrains them, their
//    presence otherwise), so the operation it picks is kept by exactly those inputs and looked up next time.
// 5. Deleting a blob removes it with findAndRemove, which removes through a result set, and LokiJS's batch removal
//    rebuilds every binary index with a full sort (Collection.removeBatchByPositions, which prefers a rebuild to
//    adaptive updates for any batch): each delete sorted every blob twice, and its count and findAndRemove queries
//    scanned every blob (they filter through a result set, which fix 1 did not reorder): 12 ms a delete at 8,000
//    blobs, so the lifecycle sweep deleted fewer blobs a second than the pipeline wrote. A batch of one document goes
//    through LokiJS's own single-document removal instead, which updates each index in place (adaptive binary
//    indices, on in Azurite's collections), as it does for Azurite's other removals. The collection's data and
//    index contents afterwards are the same; only the order among equal index keys can differ, as it already does
//    between adaptive inserts (newest first) and a rebuild (oldest first).
// 6. With --location, Azurite appends each blob's content to an extent file and calls fdatasync on it before it
//    answers (FSExtentStore.streamPipe): one flush to the disk per upload, about 700 a second at the pipeline's
//    capacity, each waiting behind every other write the disk has queued. What that flush guarantees is an order:
//    the metadata that makes a blob exist is LokiJS's, kept in memory and saved every 5 s (fix 9: or longer; writeFile to a temporary
//    file, then rename; no fsync), so any saved metadata names only content already on the disk, and after a power
//    loss a blob is whole or absent (a killed process loses nothing either way: the content is in the page cache).
//    The same order costs one flush per save instead of one per upload: the flush per upload is skipped
//    (streamPipe is given no descriptor, its own way of not flushing), each extent file an upload completed in is
//    remembered, and a save of LokiJS's file adapter flushes those files before it writes the metadata it was
//    handed. That metadata was serialized before the save was called, so it names only uploads that had completed,
//    and so were remembered, by then. Saves are chained, so a save never writes before the flushes of the saves
//    started before it. The content is written exactly as before (docs/local-runtime.md, "Fsync policy", measures
//    the capacity this gave back).
// 7. Block blob upload (BlockBlobHandler.upload), Put Block (stageBlock) and Append Block with a Content-MD5
//    (AppendBlobHandler.appendBlock) write the body with FSExtentStore.appendExtent and then read it back from the
//    extent file (readExtent: a read stream, so an open, a read and a close, and a uuid for the read queue) only to
//    compute the MD5 they store or check the client's against: about 12 % of Azurite's main thread at 700 uploads/s.
//    Each passes readExtent the very object appendExtent returned (`persistency`, `extent`), synchronously once the
//    append resolves. So the bytes an append wrote are kept, and the first readExtent of the chunk it returned, in the
//    same turn of the event loop, is served from them: a stream body's bytes are the Buffers streamPipe handed to the
//    extent file's write stream (seen by a 'data' listener of our own, added just before streamPipe's, so both see
//    every chunk), a Buffer body is its own bytes, and they are kept only if they add up to the count the append
//    reports. The MD5 is therefore computed over exactly the bytes written. Not kept: more than 4 MiB in one append
//    (Azurite reads it back as before), and a chunk read with another id, offset or count. A chunk not read in the
//    turn its append resolved (Put Page, Append Block without an MD5, a size mismatch) is forgotten at the next turn
//    (setImmediate), and a served one at once, so no chunk that blob metadata keeps holds its bytes; every later read
//    (a download) reads the file as before. Put Page (uploadPages) reads nothing back and gains nothing.
// 8. Azurite's uuid is 3.4.0, whose lib/rng.js calls crypto.randomBytes(16) for every id (three per upload: the
//    request's context id and the append and read queues' operation ids): randomFillSync was 4.5 % of Azurite's main
//    thread. uuid 8 pools instead (its dist/rng.js fills a 256-byte pool with randomFillSync and hands out 16-byte
//    slices); this does the same with a 4 KiB pool when uuid 3's lib/rng.js loads (matched by its resolved file and
//    its package's major version). The contract is uuid 3's: each call returns a new 16-byte Buffer of
//    cryptographically strong random bytes that no other call returns; v4 sets the version and variant bits in it. A
//    pool is never refilled in place: a used-up pool is dropped and a new one allocated, so a Buffer handed out is
//    never written again.
// 9. LokiJS's autosave (on in Azurite, every 5 s) serializes the whole database on Azurite's only thread and writes it:
//    the cost grows with the blobs held (docs/local-runtime.md, "Fsync policy", measures it), and while it runs every
//    upload waits. At a fixed 5 s a save of about 1 s (50,000 blobs, bench/azuriteMetadataSave.bench.ts) takes a fifth of Azurite's time, and at the
//    7 days of blobs `npm start` keeps (300,000) a save takes about 10 s, longer than the interval. The autosave timer
//    is rearmed after each save instead: a save that took d ms (serialize, fix 6's flushes, write and rename, as the
//    save's own callback sees it) is followed by max(autosaveInterval, SAVE_SPACING_FACTOR x d) ms without one, so
//    saving takes at most 1 / (1 + SAVE_SPACING_FACTOR) = 5 % of Azurite's time, and the spacing is exactly LokiJS's
//    5 s while a save takes under 263 ms. Every save still happens in order (a due save that finds nothing changed
//    waits one interval and looks again; one that finds changes saves them all); only the spacing grows. close()
//    disables the timer and saves a changed database as before, so a stop or the parent's death
//    (azuriteParentWatch.js) still saves everything; what a power loss or a kill of Azurite alone can lose grows to
//    the spacing (docs/local-runtime.md, "Fsync policy").
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const { Readable } = require('node:stream');
const { performance } = require('node:perf_hooks');
const SELECTIVE_KEYS = ['name', 'blobName'];

function reorder(query) {
    if (!query || typeof query !== 'object' || Array.isArray(query)) {
        return query;
    }
    const keys = Object.keys(query);
    const first = SELECTIVE_KEYS.find((key) => keys.includes(key));
    if (!first || keys[0] === first || keys.some((key) => key.startsWith('$'))) {
        return query;
    }
    const reordered = { [first]: query[first] };
    for (const key of keys) {
        if (key !== first) {
            reordered[key] = query[key];
        }
    }
    return reordered;
}

const MATCHES_KEPT_PER_TEMPLATE = 64;
const BLOBS_COLLECTION = '$BLOBS_COLLECTION$';
const UNSELECTIVE_BLOB_INDICES = ['containerName', 'snapshot'];

function dropUnselectiveIndices(collection) {
    if (collection && collection.name === BLOBS_COLLECTION && !collection.__namestreamIndicesDropped) {
        for (const key of UNSELECTIVE_BLOB_INDICES) {
            delete collection.binaryIndices[key];
        }
        collection.__namestreamIndicesDropped = true;
    }
    return collection;
}

function memoizeTemplates(UriTemplate) {
    const compiled = new Map();
    function memoizedUriTemplate(template) {
        let uriTemplate = compiled.get(template);
        if (!uriTemplate) {
            uriTemplate = new UriTemplate(template);
            memoizeMatches(uriTemplate);
            compiled.set(template, uriTemplate);
        }
        return uriTemplate;
    }
    memoizedUriTemplate.prototype = UriTemplate.prototype;
    return memoizedUriTemplate;
}

function memoizeMatches(uriTemplate) {
    const fromUri = uriTemplate.fromUri;
    const matches = new Map();
    uriTemplate.fromUri = function (uri, options) {
        const key = `${options && options.strict ? 'strict' : 'loose'} ${uri}`;
        let match = matches.get(key);
        if (match === undefined && !matches.has(key)) {
            match = fromUri.call(this, uri, options);
            if (matches.size < MATCHES_KEPT_PER_TEMPLATE) {
                matches.set(key, match);
            }
        }
        return match === undefined ? undefined : { ...match };
    };
}

const DISPATCH_MIDDLEWARE = path.join('blob', 'generated', 'middleware', 'dispatch.middleware.js');
const DISPATCH_DECISIONS_KEPT = 1000;

/** The request inputs Azurite's dispatch reads, from its specifications (see isRequestAgainstOperation). */
function dispatchInputs(specifications) {
    const fields = new Map();
    for (const spec of Object.values(specifications)) {
        for (const [kind, parameters] of [
            ['query', spec.queryParameters],
            ['header', spec.headerParameters],
        ]) {
            for (const parameter of parameters || []) {
                const { mapper } = parameter;
                if (!mapper.required) {
                    continue;
                }
                const key = `${kind} ${mapper.serializedName || ''}`;
                const valueMatters = mapper.type.name === 'Enum' || Boolean(mapper.isConstant);
                fields.set(key, {
                    kind,
                    name: mapper.serializedName || '',
                    valueMatters: valueMatters || Boolean(fields.get(key) && fields.get(key).valueMatters),
                });
            }
        }
    }
    return [...fields.values()];
}

/**
 * The dispatch inputs of one request as a key: JSON, so no two different inputs can build the same text. Undefined
 * when an input is not plain text (express parses `comp[]=list` to an array, which Azurite's checks treat
 * differently from the string): such a request is dispatched the slow way and not remembered.
 */
function dispatchKey(req, dispatchPattern, inputs) {
    const method = req.getMethod();
    const xHttpMethod = req.getHeader('X-HTTP-Method');
    if (!isTextOrAbsent(method) || !isTextOrAbsent(xHttpMethod)) {
        return undefined;
    }
    const parts = [method, xHttpMethod === undefined ? null : xHttpMethod, dispatchPattern];
    for (const { kind, name, valueMatters } of inputs) {
        const value = kind === 'query' ? req.getQuery(name) : req.getHeader(name);
        if (!isTextOrAbsent(value)) {
            return undefined;
        }
        parts.push(valueMatters ? (value === undefined ? null : value) : value !== undefined);
    }
    return JSON.stringify(parts);
}

function isTextOrAbsent(value) {
    return value === undefined || typeof value === 'string';
}

function memoizeDispatch(dispatchModule, filename) {
    const dispatch = dispatchModule.default;
    const specifications = require(path.join(path.dirname(filename), '..', 'artifacts', 'specifications')).default;
    const operations = require(path.join(path.dirname(filename), '..', 'artifacts', 'operation')).default;
    const inputs = dispatchInputs(specifications);
    const decisions = new Map();
    dispatchModule.default = function memoizedDispatch(context, req, next, logger) {
        // A request dispatched by its real path (no pattern) could make the keys unbounded: leave it alone.
        if (context.dispatchPattern === undefined) {
            return dispatch(context, req, next, logger);
        }
        const key = dispatchKey(req, context.dispatchPattern, inputs);
        if (key === undefined) {
            return dispatch(context, req, next, logger);
        }
        const operation = decisions.get(key);
        if (operation === undefined) {
            return dispatch(
                context,
                req,
                (error) => {
                    if (!error && context.operation !== undefined && decisions.size < DISPATCH_DECISIONS_KEPT) {
                        decisions.set(key, context.operation);
                    }
                    next(error);
                },
                logger,
            );
        }
        logger.verbose(`DispatchMiddleware: Dispatching request...`, context.contextId);
        context.operation = operation;
        logger.info(`DispatchMiddleware: Operation=${operations[operation]}`, context.contextId);
        return next();
    };
}

// Fix 6: extent files appended to since the last metadata save, and the chain of flushes saves wait for.
const appendedExtents = new Set();
let flushes = Promise.resolve();

/** fdatasync of each file by path, one after another (any descriptor flushes the file's data); a file deleted meanwhile
 * (its blobs deleted and the extent collected) needs none. */
async function flushFiles(files) {
    for (const file of files) {
        let handle;
        try {
            handle = await fs.promises.open(file, 'r');
        } catch (error) {
            if (error.code === 'ENOENT') {
                continue;
            }
            throw error;
        }
        try {
            await handle.datasync();
        } finally {
            await handle.close();
        }
    }
}

// Fix 7: the bytes of appends, kept for the first readExtent of the chunk each returned.
const APPEND_BYTES_KEPT_MAX = 4 * 1024 * 1024;
/** Stream bodies appendExtent was handed, whose bytes streamPipe should capture. */
const bodiesToCapture = new WeakSet();
/** Stream body -> the Buffers streamPipe saw, or undefined once they were more than the bound (or not Buffers). */
const captures = new WeakMap();
/** Chunk appendExtent returned -> { id, offset, count, buffers }, until its first read or the next turn. */
const appendedBytes = new WeakMap();
let unreadChunks = [];

function captureWhilePiped(body) {
    const capture = { buffers: [], bytes: 0 };
    captures.set(body, capture);
    body.on('data', (data) => {
        if (capture.buffers === undefined) {
            return;
        }
        capture.bytes += Buffer.isBuffer(data) ? data.length : Infinity;
        if (capture.bytes > APPEND_BYTES_KEPT_MAX) {
            capture.buffers = undefined;
        } else {
            capture.buffers.push(data);
        }
    });
}

/** Keeps the bytes an append wrote for the chunk it returned, if they are whole, until the next turn at most. */
function keepAppendedBytes(chunk, buffers) {
    if (buffers === undefined || chunk === null || typeof chunk !== 'object' || !(chunk.count > 0)) {
        return;
    }
    const bytes = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    if (bytes !== chunk.count || bytes > APPEND_BYTES_KEPT_MAX) {
        return;
    }
    appendedBytes.set(chunk, { id: chunk.id, offset: chunk.offset, count: chunk.count, buffers });
    unreadChunks.push(chunk);
    if (unreadChunks.length === 1) {
        setImmediate(() => {
            for (const unread of unreadChunks) {
                appendedBytes.delete(unread);
            }
            unreadChunks = [];
        });
    }
}

function patchExtentReadBack(prototype) {
    const appendExtent = prototype.appendExtent;
    prototype.appendExtent = async function (data, contextId) {
        // FSExtentStore wraps a Buffer in a stream itself (`data instanceof Buffer`); a stream is piped as it is.
        const body = data instanceof Buffer || data === null || typeof data !== 'object' ? undefined : data;
        if (body !== undefined) {
            bodiesToCapture.add(body);
        }
        try {
            const chunk = await appendExtent.call(this, data, contextId);
            keepAppendedBytes(
                chunk,
                body === undefined ? (data instanceof Buffer ? [data] : undefined) : captures.get(body)?.buffers,
            );
            return chunk;
        } finally {
            if (body !== undefined) {
                bodiesToCapture.delete(body);
                captures.delete(body);
            }
        }
    };
    const readExtent = prototype.readExtent;
    prototype.readExtent = function (extentChunk, contextId) {
        const kept =
            extentChunk !== null && typeof extentChunk === 'object' ? appendedBytes.get(extentChunk) : undefined;
        if (kept === undefined) {
            return readExtent.call(this, extentChunk, contextId);
        }
        appendedBytes.delete(extentChunk);
        if (extentChunk.id !== kept.id || extentChunk.offset !== kept.offset || extentChunk.count !== kept.count) {
            return readExtent.call(this, extentChunk, contextId);
        }
        return Promise.resolve(Readable.from(kept.buffers, { objectMode: false }));
    };
}

// Fix 8: uuid 3's rng, pooled.
const RANDOM_POOL_BYTES = 4096;
const UUID3_RNG = path.join('uuid', 'lib', 'rng.js');
let randomPool = Buffer.alloc(0);
let randomPoolOffset = 0;

function pooledRng() {
    if (randomPoolOffset + 16 > randomPool.length) {
        randomPool = crypto.randomFillSync(Buffer.allocUnsafeSlow(RANDOM_POOL_BYTES));
        randomPoolOffset = 0;
    }
    randomPoolOffset += 16;
    return randomPool.subarray(randomPoolOffset - 16, randomPoolOffset);
}

/** Resolved rng.js files -> whether each is uuid 3's. */
const uuid3Rngs = new Map();

function isUuid3Rng(request, parent, isMain) {
    const base = path.basename(request);
    if (base !== 'rng' && base !== 'rng.js') {
        return false;
    }
    const filename = Module._resolveFilename(request, parent, isMain);
    let isUuid3 = uuid3Rngs.get(filename);
    if (isUuid3 === undefined) {
        isUuid3 = false;
        if (filename.endsWith(path.sep + UUID3_RNG)) {
            const manifest = JSON.parse(
                fs.readFileSync(path.join(path.dirname(filename), '..', 'package.json'), 'utf8'),
            );
            isUuid3 = manifest.name === 'uuid' && /^3\./.test(manifest.version);
        }
        uuid3Rngs.set(filename, isUuid3);
    }
    return isUuid3;
}

// Fix 9: a save that took d ms is followed by at least SAVE_SPACING_FACTOR x d ms without one (at most 5 % saving).
const SAVE_SPACING_FACTOR = 19;
// The last save's duration per database, in ms; kept off the database, whose own fields LokiJS saves.
const lastSaveMs = new WeakMap();

/** LokiJS's autosave interval (its default when unset), in ms. */
function autosaveInterval(db) {
    return typeof db.autosaveInterval === 'number' && db.autosaveInterval > 0 ? db.autosaveInterval : 5000;
}

/** The wait after the database's last save (none yet: LokiJS's interval), in ms. */
function autosaveDelay(db) {
    return Math.max(autosaveInterval(db), SAVE_SPACING_FACTOR * (lastSaveMs.get(db) ?? 0));
}

/**
 * LokiJS's autosave interval as a chain of timeouts: each runs LokiJS's own check (dirty and not ignoring autosave)
 * and save, and the next is armed once the save has ended, by its duration. A timer disabled meanwhile (close) is
 * not rearmed: autosaveDisable clears the handle.
 */
function scheduleAutosave(db, callback, delay = autosaveDelay(db)) {
    const handle = setTimeout(() => {
        if (db.autosaveHandle !== handle) {
            return;
        }
        if (!db.autosaveDirty() || db.ignoreAutosave) {
            // Nothing saved, so nothing to space out: looked at again after LokiJS's interval.
            scheduleAutosave(db, callback, autosaveInterval(db));
            return;
        }
        db.saveDatabase((error) => {
            if (db.autosaveHandle === handle) {
                scheduleAutosave(db, callback);
            }
            if (typeof callback === 'function') {
                callback(error);
            }
        });
    }, delay);
    db.autosaveHandle = handle;
}

const load = Module._load;
let memoizedUriTemplate;
Module._load = function (request, parent, isMain) {
    const exported = load.apply(this, [request, parent, isMain]);
    if (request === 'lokijs' && exported && exported.Collection && !exported.Collection.prototype.__namestreamPatched) {
        const { prototype } = exported.Collection;
        const findOne = prototype.findOne;
        const find = prototype.find;
        prototype.findOne = function (query) {
            return findOne.call(this, reorder(query));
        };
        prototype.find = function (query) {
            return find.call(this, reorder(query));
        };
        // count and findAndRemove filter through a result set, not find: reorder their queries too (fix 1).
        const count = prototype.count;
        const findAndRemove = prototype.findAndRemove;
        prototype.count = function (query) {
            return count.call(this, reorder(query));
        };
        prototype.findAndRemove = function (query) {
            return findAndRemove.call(this, reorder(query));
        };
        const removeBatchByPositions = prototype.removeBatchByPositions;
        prototype.removeBatchByPositions = function (positions) {
            const doc = positions.length === 1 && this.adaptiveBinaryIndices ? this.data[positions[0]] : undefined;
            if (doc === undefined) {
                return removeBatchByPositions.call(this, positions);
            }
            // Fix 5: one document, removed the way LokiJS removes a single document.
            this.remove(doc);
            return undefined;
        };
        prototype.__namestreamPatched = true;
        const fileAdapter = exported.LokiFsAdapter.prototype;
        const saveDatabase = fileAdapter.saveDatabase;
        // Fix 6: the extent files named by the metadata being saved reach the disk before the metadata does.
        fileAdapter.saveDatabase = function (dbname, dbstring, callback) {
            const files = [...appendedExtents];
            appendedExtents.clear();
            const flushed = flushes.then(() => flushFiles(files));
            flushes = flushed.catch(() => undefined);
            flushed.then(
                () => saveDatabase.call(this, dbname, dbstring, callback),
                (error) => {
                    // Not flushed: remembered again for the next save, and this save reports the failure.
                    files.forEach((file) => appendedExtents.add(file));
                    callback(error);
                },
            );
        };
        // Fix 9: every save's duration is kept, and the autosave timer waits in proportion to the last one.
        const saveDatabaseInternal = exported.prototype.saveDatabaseInternal;
        exported.prototype.saveDatabaseInternal = function (callback) {
            const started = performance.now();
            return saveDatabaseInternal.call(this, (error) => {
                lastSaveMs.set(this, performance.now() - started);
                if (typeof callback === 'function') {
                    callback(error);
                } else if (error) {
                    // What LokiJS does when a save without a callback fails.
                    throw error;
                }
            });
        };
        exported.prototype.autosaveEnable = function (options, callback) {
            // One chain of timers: an enable without a disable first would leave the armed one running.
            this.autosaveDisable();
            this.autosave = true;
            scheduleAutosave(this, callback);
        };
        exported.prototype.autosaveDisable = function () {
            if (this.autosaveHandle !== undefined && this.autosaveHandle !== null) {
                clearTimeout(this.autosaveHandle);
                this.autosaveHandle = null;
            }
        };
        // A new database creates the collection, one loaded from --location disk storage finds it.
        const { addCollection, getCollection } = exported.prototype;
        exported.prototype.addCollection = function (...args) {
            return dropUnselectiveIndices(addCollection.apply(this, args));
        };
        exported.prototype.getCollection = function (...args) {
            return dropUnselectiveIndices(getCollection.apply(this, args));
        };
    }
    if (request.endsWith('dispatch.middleware') && exported && typeof exported.default === 'function') {
        const filename = Module._resolveFilename(request, parent, isMain);
        if (filename.endsWith(DISPATCH_MIDDLEWARE) && !exported.__namestreamPatched) {
            memoizeDispatch(exported, filename);
            exported.__namestreamPatched = true;
        }
    }
    if (
        request.endsWith('persistence/FSExtentStore') &&
        exported &&
        typeof exported.default === 'function' &&
        !exported.default.prototype.__namestreamPatched
    ) {
        const { prototype } = exported.default;
        const streamPipe = prototype.streamPipe;
        // Fix 6: streamPipe flushes the extent file only when it is given the file descriptor.
        prototype.streamPipe = function (rs, ws, fd, contextId) {
            if (bodiesToCapture.has(rs)) {
                // Fix 7: before streamPipe's own listener, so this one sees every chunk it writes.
                bodiesToCapture.delete(rs);
                captureWhilePiped(rs);
            }
            const extent = this.activeWriteExtents?.find((candidate) => candidate.fd === fd);
            if (typeof fd !== 'number' || extent === undefined) {
                // Not an append this fix knows how to defer: flushed as Azurite would.
                return streamPipe.call(this, rs, ws, fd, contextId);
            }
            const file = this.generateExtentPath(extent.locationId, extent.id);
            return streamPipe.call(this, rs, ws, undefined, contextId).then((count) => {
                // Remembered before the caller records the upload in LokiJS, so before any save can serialize it.
                appendedExtents.add(file);
                return count;
            });
        };
        patchExtentReadBack(prototype);
        prototype.__namestreamPatched = true;
    }
    if (typeof exported === 'function' && isUuid3Rng(request, parent, isMain)) {
        return pooledRng;
    }
    if (request === 'uri-templates' && typeof exported === 'function') {
        memoizedUriTemplate ??= memoizeTemplates(exported);
        return memoizedUriTemplate;
    }
    return exported;
};
