import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { NamestreamError } from '../../domain/errors';
import { type LocalRuntime, startLocalRuntime } from '../runtime/localRuntime';
import { managementApi } from '../runtime/managementApi';
import { formatStatusLine } from '../runtime/statusLine';
import { findAppRoot } from './appRoot';
import { describePortInUse } from './portInUse';
import { parseStartArguments, START_USAGE, StartArgumentsError } from './startArguments';
import { formatStateLine } from './stateLine';
import { onStopSignals } from './stopSignals';

/**
 * `npm start`: the whole pipeline on this machine. Ports come from local.settings.json (or the sample); the functions
 * port can be overridden with PORT. State is kept in .local/state unless --state-dir or --in-memory says otherwise
 * (see startArguments.ts). Ctrl-C, SIGTERM or closing the terminal (SIGHUP) stops everything (stopSignals.ts).
 * `npm start -- --services-only` starts everything but the functions (Azurite, the Service Bus and Event Hubs
 * endpoints, Cosmos DB, SignalR, Event Grid and the Stream Analytics job), for `func start` to run them; it writes the
 * Cosmos DB CA certificate to `.local/cosmos-ca.pem` (kept in the state folder and reused while valid, so it is
 * trusted once; new at every start with --in-memory).
 */
async function main(): Promise<void> {
    const appRoot = findAppRoot();
    const { help, verbose, servicesOnly, stateDirectory } = parseStartArguments(process.argv.slice(2), appRoot);
    if (help) {
        console.log(START_USAGE);
        return;
    }
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
        servicesOnly,
    });
    const { urls } = runtime;
    if (servicesOnly) {
        const caPath = path.join(appRoot, '.local', 'cosmos-ca.pem');
        mkdirSync(path.dirname(caPath), { recursive: true });
        writeFileSync(caPath, runtime.cosmos.ca);
        console.log(`namestream services are running locally, without the functions (settings: ${runtime.settingsSource})
  Blob (Azurite)     ${urls.blob}
  Cosmos DB          ${urls.cosmos} (CA certificate: ${path.relative(appRoot, caPath)}, ${caLifetime(runtime)})
  SignalR            ${urls.signalR}
  Event Grid topic   ${urls.eventGrid}
  Service Bus and Event Hubs (AMQP)  amqp://127.0.0.1:${runtime.amqp.port}
  State              ${formatStateLine(stateDirectory, findAppRoot(), process.env.INIT_CWD ?? process.cwd())}
Run the functions with "func start" and the same local.settings.json (see README.md, "func start").
Nothing serves /_local/* in this mode: npm run dlq and npm run recount need a full npm start.
Press Ctrl-C to stop.`);
    } else {
        printEndpoints(runtime, stateDirectory);
    }

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
    onStopSignals(process, (signal) => void shutdown(signal));
}

function printEndpoints(runtime: LocalRuntime, stateDirectory: string | undefined): void {
    const { urls } = runtime;
    console.log(`namestream is running locally (settings: ${runtime.settingsSource})
  Dashboard          ${urls.functions}/
  Functions          ${urls.functions}/api/negotiate, ${urls.functions}/api/letter-counts
  Status             ${urls.functions}/_local/status
  Dead letters       npm run dlq
  Service Bus (AMQP) amqp://127.0.0.1:${runtime.amqp.port}  (ServiceBusConnection in the settings; official SDKs)
  Blob (Azurite)     ${urls.blob}
  Cosmos DB          ${urls.cosmos}
  SignalR            ${urls.signalR}
  Event Grid topic   ${urls.eventGrid}
  Event Hubs (AMQP)  amqp://127.0.0.1:${runtime.amqp.port}  (EventHubConnection in the settings; official SDKs)
  State              ${formatStateLine(stateDirectory, findAppRoot(), process.env.INIT_CWD ?? process.cwd())}
Functions: ${[...runtime.app.functions.keys()].join(', ')}
Press Ctrl-C to stop.`);
}

main().catch((error: unknown) => {
    // A known refusal (bad flag, state folder in use or damaged, a port taken) is one line; anything else, its stack.
    const known = error instanceof NamestreamError || error instanceof StartArgumentsError;
    const portInUse = describePortInUse(error);
    console.error(
        portInUse ?? (error instanceof Error ? (known ? error.message : (error.stack ?? error.message)) : error),
    );
    process.exit(1);
});

/** How long the CA printed for `func start` lasts, and whether it must be trusted (again) now. */
function caLifetime(runtime: LocalRuntime): string {
    const { cosmos, state } = runtime;
    if (!state) {
        return 'new at every start with --in-memory: trust it again after each start';
    }
    const until = cosmos.caExpiresAt.toISOString().slice(0, 10);
    return cosmos.caGenerated
        ? `NEW, kept in the state folder until ${until}: trust it once (see README.md, "func start")`
        : `kept in the state folder until ${until}, as trusted before`;
}
