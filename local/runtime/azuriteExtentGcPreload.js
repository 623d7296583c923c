// Preloaded into the Azurite child process (node --require) only when the runtime is given extent GC settings, a
// bench and test knob (bench/pipeline.bench.ts --soak); `npm start` never loads it.
//
// Azurite writes every blob's content into shared extent files of up to 64 MB (FSExtentStore appends to one of its
// active extents until it reaches DEFAULT_MAX_EXTENT_SIZE, then starts a new one). Deleting a blob frees nothing on
// disk: its bytes go when a mark-and-sweep garbage collection (BlobGCManager) finds the whole extent file referenced
// by no blob, the extent is no longer one being appended to, and it was last written more than
// DEFAULT_EXTENT_GC_PROTECT_TIME_IN_MS (10 min) ago; the collection runs at start and then every
// DEFAULT_GC_INTERVAL_MS (10 min). With production settings the `azurite/` folder therefore levels off at the
// retained blobs plus up to a 64 MB extent per active extent plus 20 minutes of deleted blobs, which a run of
// minutes never reaches. This preload sets those three constants from NAMESTREAM_AZURITE_EXTENT_GC
// ({"gcIntervalMs":…,"gcProtectMs":…,"maxExtentBytes":…}) before Azurite's modules read them: FSExtentStore copies
// the extent size when it loads, BlobGCManager and AllExtentsAsyncIterator read the other two at each use. It
// changes when disk is given back, never what Azurite answers.
'use strict';
const path = require('node:path');

const settings = JSON.parse(process.env.NAMESTREAM_AZURITE_EXTENT_GC ?? 'null');
if (settings !== null) {
    for (const key of ['gcIntervalMs', 'gcProtectMs', 'maxExtentBytes']) {
        if (!Number.isSafeInteger(settings[key]) || settings[key] <= 0) {
            throw new RangeError(
                `NAMESTREAM_AZURITE_EXTENT_GC: ${key} must be a positive integer (got ${String(settings[key])})`,
            );
        }
    }
    const root = path.dirname(require.resolve('azurite/package.json'));
    const common = require(path.join(root, 'dist', 'src', 'common', 'utils', 'constants.js'));
    const blob = require(path.join(root, 'dist', 'src', 'blob', 'utils', 'constants.js'));
    common.DEFAULT_MAX_EXTENT_SIZE = settings.maxExtentBytes;
    common.DEFAULT_EXTENT_GC_PROTECT_TIME_IN_MS = settings.gcProtectMs;
    blob.DEFAULT_GC_INTERVAL_MS = settings.gcIntervalMs;
}
