// Preloaded into the Azurite child process (node --require). Azurite keeps blob metadata in LokiJS and looks a
// blob up with findOne({ accountName, containerName, name, snapshot }). LokiJS serves a multi-key query from the
// binary index of the FIRST key only, and every blob shares one accountName, so each write scanned every blob
// ever written: uploads slowed down linearly as raw-names filled up. Putting the selective indexed key (`name`,
// `blobName`) first lets the index do the work. Results are identical: the query is the same conjunction.
'use strict';
const Module = require('node:module');
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

const load = Module._load;
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
        prototype.__namestreamPatched = true;
    }
    return exported;
};
