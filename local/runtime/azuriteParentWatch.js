// Preloaded into the Azurite child process (node --require). Azurite is started with an IPC channel to the
// runtime; when the runtime goes away without stopping it (SIGKILL, a crash), the channel closes and Azurite shuts
// down as it does on SIGTERM: it saves its metadata (LokiJS otherwise saves only every 5 s) and exits, instead of
// living on as an orphan that holds the Blob port and the state folder's azurite/ location.
// Azurite's shutdown first closes its HTTP server, which waits for open keep-alive connections to go idle and time
// out (5 s each); with the runtime gone the remaining clients are outsiders, so their connections are closed at
// once and the metadata is saved without that wait. A request cut off that way was never answered.
'use strict';
const http = require('node:http');

if (typeof process.send === 'function') {
    let lifelineLost = false;
    const close = http.Server.prototype.close;
    http.Server.prototype.close = function closeAfterLifelineLoss(...args) {
        const result = close.apply(this, args);
        if (lifelineLost) {
            this.closeAllConnections();
        }
        return result;
    };
    process.once('disconnect', () => {
        lifelineLost = true;
        process.kill(process.pid, 'SIGTERM');
    });
    // Azurite exits when its server closes and nothing else is pending: the lifeline must not hold it open.
    process.channel.unref();
}
