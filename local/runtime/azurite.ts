import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { StateCorruptError } from '../state/errors';
import { findFreePort } from './freePort';

/** Azurite's well-known development account; public by design (https://learn.microsoft.com/azure/storage/common/storage-use-azurite). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface RunningAzurite {
    blobEndpoint: string;
    /** The Azurite process (benchmarks add its memory to the runtime's). */
    pid: number | undefined;
    connectionString: string;
    close(): Promise<void>;
}

/**
 * When Azurite gives the disk of deleted blobs back (see azuriteExtentGcPreload.js): a bench and test knob, so a run
 * of minutes reaches the `azurite/` folder's steady state. Azurite's own values: 10 min, 10 min, 64 MB.
 */
export interface AzuriteExtentGc {
    /** Between two mark-and-sweep collections of unreferenced extent files, ms. */
    gcIntervalMs: number;
    /** An extent written to more recently than this is never collected, ms (guards uploads still in flight). */
    gcProtectMs: number;
    /** An extent file is closed for appends, and so collectable, once it holds this many bytes. */
    maxExtentBytes: number;
}

/**
 * Starts the real Azurite Blob service as a child process (in memory unless a location is given). The API version
 * check is skipped because the storage SDK pinned for Node 20 may be newer than this Azurite release.
 * @throws RangeError quoting the value when a field of extentGc is not a positive integer
 * @throws StateCorruptError naming the file when Azurite cannot read its metadata at `location`
 * @throws Error quoting Azurite's output when it exits before listening; when this function chose the port and
 *   Azurite found it taken (EADDRINUSE), only after PORT_ATTEMPTS ports
 */
export async function startAzurite(
    options: { port?: number; host?: string; location?: string; extentGc?: AzuriteExtentGc } = {},
): Promise<RunningAzurite> {
    for (const [name, value] of Object.entries(options.extentGc ?? {})) {
        if (!Number.isSafeInteger(value) || value <= 0) {
            throw new RangeError(`Azurite extentGc.${name} must be a positive integer (got ${String(value)})`);
        }
    }
    const host = options.host ?? '127.0.0.1';
    // A free port is found by binding and releasing it, then bound again by Azurite: another process can take it in
    // between (seen once with many processes starting at once). Only a port this function chose is chosen again.
    for (let attempt = 1; ; attempt++) {
        const port = options.port || (await findFreePort(host));
        try {
            return await launchAzurite(options, host, port);
        } catch (error) {
            if (options.port || attempt >= PORT_ATTEMPTS || !(error instanceof PortTakenError)) {
                throw error;
            }
            console.warn(`[azurite] port ${port} was taken before Azurite could bind it; trying another`);
        }
    }
}

/** How many free ports startAzurite tries when Azurite finds the one it was given taken (EADDRINUSE). */
const PORT_ATTEMPTS = 3;

/** Azurite exited at start because its port was taken (its output names EADDRINUSE). */
class PortTakenError extends Error {}

async function launchAzurite(
    options: { location?: string; extentGc?: AzuriteExtentGc },
    host: string,
    port: number,
): Promise<RunningAzurite> {
    const args = [
        '--require',
        preloadPath('azuriteLookupPreload.js'),
        '--require',
        preloadPath('azuriteParentWatch.js'),
        ...(options.extentGc ? ['--require', preloadPath('azuriteExtentGcPreload.js')] : []),
        ...azuriteArguments(host, port, options.location),
    ];
    // The IPC channel is only a lifeline: azuriteParentWatch.js stops Azurite when it closes, saving its metadata.
    // Detached (its own process group), so a kill of the runtime's whole group (`kill -9 -<pgid>`, an IDE's stop
    // button, `timeout -s KILL npm start`) does not take Azurite down with it before it saves the blobs of the last
    // 5 s (LokiJS autosave), which the runtime may already have acknowledged; the lifeline still stops it. Ctrl-C
    // reaches only the runtime, which stops Azurite itself.
    const child: ChildProcess = spawn(process.execPath, args, {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        detached: true,
        ...(options.extentGc
            ? { env: { ...process.env, NAMESTREAM_AZURITE_EXTENT_GC: JSON.stringify(options.extentGc) } }
            : {}),
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
            output += chunk.toString();
            if (output.includes('successfully listens')) {
                resolve();
            }
        };
        child.stdout?.on('data', onData);
        child.stderr?.on('data', onData);
        child.once('exit', (code) =>
            reject(
                damagedMetadata(options.location) ??
                    new (output.includes('EADDRINUSE') ? PortTakenError : Error)(
                        `Azurite exited with code ${String(code)} before listening:\n${output}`,
                    ),
            ),
        );
        child.once('error', reject);
    });
    child.stdout?.removeAllListeners('data');
    child.stderr?.removeAllListeners('data');
    child.removeAllListeners('exit');
    const blobEndpoint = `http://${host}:${port}/${AZURITE_ACCOUNT}`;
    return {
        blobEndpoint,
        pid: child.pid,
        connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
        close: () =>
            new Promise<void>((resolve) => {
                if (child.exitCode !== null) {
                    resolve();
                    return;
                }
                child.once('exit', () => resolve());
                child.kill('SIGTERM');
            }),
    };
}

/**
 * Azurite's executable and flags as the runtime starts it, without the preloads (node --require) that go before them:
 * tests start the same Azurite without the preloads as their reference.
 */
export function azuriteArguments(host: string, port: number, location: string | undefined): string[] {
    return [
        path.join(path.dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js'),
        '--blobHost',
        host,
        '--blobPort',
        String(port),
        '--skipApiVersionCheck',
        '--disableTelemetry',
        '--loose',
        // The access log would cost Azurite a formatted console line per request.
        '--silent',
        ...(location ? ['--location', location] : ['--inMemoryPersistence']),
    ];
}

/**
 * Azurite keeps its metadata in LokiJS JSON files at the top of its location and exits at start on one it cannot
 * parse ("Exit due to unhandled error: Unterminated string in JSON..."), the same way at every start. LokiJS writes
 * them to a temporary file and renames it, so a kill leaves the previous whole file; a power loss before the data
 * reached the disk can still leave one cut short. Named here as the state folder's other damaged files are, with the
 * way out, instead of Azurite's bare parse error.
 */
function damagedMetadata(location: string | undefined): StateCorruptError | undefined {
    if (location === undefined || !existsSync(location)) {
        return undefined;
    }
    for (const entry of readdirSync(location).sort()) {
        if (!/^__azurite_db_.*\.json$/.test(entry)) {
            continue;
        }
        const file = path.join(location, entry);
        try {
            JSON.parse(readFileSync(file, 'utf8'));
        } catch (error) {
            return new StateCorruptError(file, `Azurite cannot read its metadata (${(error as Error).message})`);
        }
    }
    return undefined;
}

/**
 * The preloads are plain JavaScript (they run inside Azurite), so tsc does not copy them to dist/: find one beside
 * this module or in the source tree above the compiled one.
 */
function preloadPath(name: string): string {
    for (let directory = __dirname; ; directory = path.dirname(directory)) {
        for (const candidate of [path.join(directory, name), path.join(directory, 'local', 'runtime', name)]) {
            if (existsSync(candidate)) {
                return candidate;
            }
        }
        if (path.dirname(directory) === directory) {
            throw new Error(`${name} not found above ${__dirname}`);
        }
    }
}
