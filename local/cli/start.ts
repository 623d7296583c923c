import path from 'node:path';

import { NamestreamError } from '../../domain/errors';
import { type LocalRuntime, startLocalRuntime } from '../runtime/localRuntime';
import { managementApi } from '../runtime/managementApi';
import { formatStatusLine } from '../runtime/statusLine';
import { parseStartArguments, StartArgumentsError } from './startArguments';

/**
 * `npm start`: the whole pipeline on this machine. Ports come from local.settings.json (or the sample); the
 * functions port can be overridden with PORT. State is kept in .local/state unless --state-dir or --in-memory
 * says otherwise (see startArguments.ts). Ctrl-C stops everything.
 */
async function main(): Promise<void> {
    const appRoot = path.resolve(__dirname, '..', '..', '..');
    const { verbose, stateDirectory } = parseStartArguments(process.argv.slice(2), appRoot);
    let runtime: LocalRuntime | undefined = undefined;
    const isTty = process.stdout.isTTY === true;
    const log = (line: string) => {
        if (verbose || /\b(error|warning)\b/.test(line)) {
            if (isTty) {
                process.stdout.write('\r\x1b[2K');
            }
            console.log(line);
        }
    };
    runtime = await startLocalRuntime({
        appRoot,
        ...(process.env.PORT ? { ports: { functions: Number(process.env.PORT) } } : {}),
        log,
        ...(stateDirectory ? { stateDirectory } : {}),
        extraHttpHandlers: [managementApi(() => runtime)],
    });
    const { urls } = runtime;
    console.log(`namestream is running locally (settings: ${runtime.settingsSource})
  Dashboard          ${urls.functions}/
  Functions          ${urls.functions}/api/negotiate, ${urls.functions}/api/letter-counts
  Status             ${urls.functions}/_local/status
  Dead letters       npm run dlq
  Blob (Azurite)     ${urls.blob}
  Cosmos DB          ${urls.cosmos}
  SignalR            ${urls.signalR}
  Event Grid topic   ${urls.eventGrid}
  State              ${stateDirectory ? `${path.relative(process.cwd(), stateDirectory) || '.'} (empty it: npm run reset-state)` : 'in memory (--in-memory)'}
Functions: ${[...runtime.app.functions.keys()].join(', ')}
Press Ctrl-C to stop.`);
    const status = setInterval(
        () => {
            const line = formatStatusLine(runtime.metrics.snapshot());
            if (isTty) {
                process.stdout.write(`\r\x1b[2K${line}`);
            } else {
                console.log(line);
            }
        },
        isTty ? 1000 : 10_000,
    );

    let stopping = false;
    const shutdown = async (signal: string) => {
        if (stopping) {
            return;
        }
        stopping = true;
        clearInterval(status);
        console.log(`\n${signal}: stopping...`);
        await runtime?.stop();
        console.log('Stopped.');
        process.exit(0);
    };
    process.on('SIGINT', () => void shutdown('SIGINT'));
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
    // A known refusal (bad flag, state folder in use or damaged) is its message; anything else, its stack.
    const known = error instanceof NamestreamError || error instanceof StartArgumentsError;
    console.error(error instanceof Error ? (known ? error.message : (error.stack ?? error.message)) : error);
    process.exit(1);
});
