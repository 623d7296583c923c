// Preloaded into the Azurite child process (node --require). Azurite is started with an IPC channel to the
// runtime; when the runtime goes away without stopping it (SIGKILL, a crash), the channel closes and Azurite shuts
// down as it does on SIGTERM: it saves its metadata (LokiJS otherwise saves only every 5 s) and exits, instead of
// living on as an orphan that holds the Blob port and the state folder's azurite/ location.
'use strict';
if (typeof process.send === 'function') {
    process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
    // Azurite exits when its server closes and nothing else is pending: the lifeline must not hold it open.
    process.channel.unref();
}
