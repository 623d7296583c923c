import { readFileSync } from 'node:fs';
import path from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { z } from 'zod';

import { type Clock, systemClock } from '../../domain/clock';
import { rawNamesContainer } from '../../functions/shared/rawNamesBlobs';
import { type AmqpServer, startAmqpServer } from '../amqp';
import {
    COSMOS_STATE_COMPONENT,
    ensureCosmosResources,
    type LocalCosmos,
    startLocalCosmos,
    startTtlSweeper,
} from '../cosmos';
import { createLocalCosmosClient } from '../cosmos';
import { type LocalEventGridTopic, startLocalEventGridTopic, type SubscriptionSettings } from '../eventGrid';
import { EVENT_HUBS_STATE_COMPONENT, LocalEventHub, SqliteEventHubStore } from '../eventHubs';
import { serveEventHubsOverAmqp } from '../eventHubs/amqp/eventHubsAmqpEndpoint';
import { loadLocalSettings, parseConnectionString } from '../host/appSettings';
import { type FunctionApp, loadFunctionApp } from '../host/functionApp';
import { loadHostOptions } from '../host/hostJson';
import { LocalFunctionsHost } from '../host/localFunctionsHost';
import type { ExtraHandler } from '../host/triggers/httpTrigger';
import {
    LocalServiceBusQueue,
    serveQueueOverAmqp,
    SERVICE_BUS_STATE_COMPONENT,
    SqliteServiceBusMessageStore,
} from '../serviceBus';
import { type LocalSignalR, startLocalSignalR } from '../signalR';
import { stateLayout, StateStore } from '../state';
import { letterCountsJobSettings, letterCountsQueryPath } from '../streamAnalytics';
import { type RunningAzurite, startAzurite } from './azurite';
import { type BlobLifecycleSweeper, startBlobLifecycleSweeper } from './blobLifecycleSweeper';
import { waitForLeftoverProcess } from './leftoverProcess';
import { localInfrastructure } from './localInfrastructure';
import { LocalServices, type ServiceBusPath } from './localServices';
import { recountLocally, type RecountReport, type RecountRequest } from './recount';
import { checkRetentionOverrides, type RetentionOverrides } from './retentionOverrides';
import { RuntimeMetrics } from './runtimeMetrics';
import {
    type EventOrderingReport,
    startStreamAnalyticsRunner,
    STREAM_ANALYTICS_PROGRESS_SCOPE,
    type StreamAnalyticsRunner,
    streamJobProgressSchema,
} from './streamAnalyticsRunner';

export interface LocalRuntimeOptions {
    /** The function app's root: package.json, host.json, settings, dist/. */
    appRoot: string;
    /** Overrides on top of local.settings(.sample).json Values, e.g. a fast schedule for tests. */
    settings?: Record<string, string>;
    /** Ports: functions default 7071; 0 everywhere picks free ports (tests). */
    ports?: {
        functions?: number;
        cosmos?: number;
        signalR?: number;
        eventGrid?: number;
        blob?: number;
        /** The AMQP listener; default: the port in ServiceBusConnection's endpoint, else 5672 (as core-amqp picks). */
        serviceBus?: number;
    };
    /**
     * How the functions host's Service Bus trigger and output binding reach the queue: `amqp` (the official SDK
     * over the AMQP endpoint, as the host does in Azure) or `in-process` (direct calls, same broker state). Default:
     * app setting (or environment variable) LOCAL_SERVICEBUS_BINDINGS, else `in-process`, because the SDK path costs throughput (measured in
     * docs/local-runtime.md). The AMQP endpoint serves other clients either way.
     */
    serviceBusPath?: ServiceBusPath;
    /** Use free ports for every service; the settings are rewritten to point at them. */
    ephemeralPorts?: boolean;
    /**
     * The state folder (see docs/local-runtime.md, "State on disk"): locked for this runtime, holding the state
     * database, Azurite's blobs and the Event Grid dead letters. Absent: everything stays in memory.
     */
    stateDirectory?: string;
    /** Overrides for the Stream Analytics job settings (tests shorten the tolerances). */
    jobSettings?: Partial<typeof letterCountsJobSettings>;
    eventHubPartitions?: number;
    /**
     * How the Event Hub output binding sends: `amqp` (the official producer over the AMQP endpoint, as the host does
     * in Azure) or `in-process` (direct calls, same hubs). Default: app setting (or environment variable)
     * LOCAL_EVENTHUB_BINDINGS, else `in-process`, for the same reason as serviceBusPath (measured in
     * docs/local-runtime.md).
     */
    eventHubPath?: ServiceBusPath;
    /**
     * Tumbling window size for tests that cannot wait for 30-second windows: rewrites the query's TumblingWindow
     * and sets LETTER_COUNT_WINDOW_SECONDS to match. The query file itself is never changed.
     */
    windowSeconds?: number;
    eventGridSubscriptions?: SubscriptionSettings[];
    /**
     * Start the stand-ins and the Stream Analytics job but not the functions host, for `func start` to run the
     * functions against them (`npm start -- --services-only`).
     */
    servicesOnly?: boolean;
    /** Functions not to start, by name. */
    disabledFunctions?: string[];
    clock?: Clock;
    log?: (line: string) => void;
    extraHttpHandlers?: ExtraHandler[];
    /**
     * Bench and test knob, never set by `npm start`: shorter retention for the raw-names blobs, the Event Hubs, the
     * letter-count documents and Azurite's extent files, so a run of minutes reaches the steady state production
     * retention reaches after days (the soak in bench/pipeline.bench.ts). See RetentionOverrides.
     * @throws RangeError (from startLocalRuntime) quoting a value that is not a positive integer
     */
    retention?: RetentionOverrides;
    /** Observes every change-feed batch as it reaches the Cosmos DB trigger (tests, benchmarks). */
    onChangeFeedBatch?: (documents: unknown[]) => void;
}

export interface LocalRuntime {
    urls: { functions: string; blob: string; cosmos: string; signalR: string; eventGrid: string };
    settings: Record<string, string>;
    /** The settings file the runtime read. */
    settingsSource: string;
    app: FunctionApp;
    host: LocalFunctionsHost;
    queues: Map<string, LocalServiceBusQueue>;
    /** The AMQP 1.0 listener the Service Bus queues and Event Hubs are served on (official SDK clients connect here). */
    amqp: AmqpServer;
    eventHubs: Map<string, LocalEventHub>;
    cosmos: LocalCosmos;
    azurite: RunningAzurite;
    /** The open state store when the runtime keeps state on disk. */
    state: StateStore | undefined;
    signalR: LocalSignalR;
    eventGrid: LocalEventGridTopic;
    streamAnalytics: StreamAnalyticsRunner;
    /** The raw-names lifecycle rule's sweeper (its last report counts the blobs retained). */
    blobLifecycle: BlobLifecycleSweeper;
    metrics: RuntimeMetrics;
    /** Stops the functions host and starts a new one over the same services, as a host restart does. */
    restartHost(): Promise<void>;
    /** Derives chosen windows again from the raw-names blobs and writes the corrections (`npm run recount`). */
    recount(request: RecountRequest): Promise<RecountReport>;
    stop(): Promise<void>;
}

/**
 * Starts the whole pipeline on this machine: the stand-ins (Azurite, Cosmos DB, Service Bus, Event Hubs, SignalR,
 * Event Grid), the resources infra/ would provision, the Stream Analytics job running infra/letter-counts.asaql,
 * and the functions host serving the app's registered functions.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
    const appRoot = path.resolve(options.appRoot);
    const clock = options.clock ?? systemClock;
    const log = options.log ?? ((line: string) => console.log(line));
    const retention = checkRetentionOverrides(options.retention ?? {});
    const loaded = loadLocalSettings(appRoot);
    const settings: Record<string, string> = {
        ...loaded.values,
        ...options.settings,
        ...(options.windowSeconds ? { LETTER_COUNT_WINDOW_SECONDS: String(options.windowSeconds) } : {}),
    };
    const ephemeral = options.ephemeralPorts === true;
    const portOf = (url: string | undefined, fallback: number) =>
        url ? Number(new URL(url).port) || fallback : fallback;
    const stoppers: Array<() => Promise<void>> = [];
    const stopAll = async () => {
        for (const stop of stoppers.splice(0).reverse()) {
            await stop().catch((error: unknown) => log(`shutdown: ${String(error)}`));
        }
    };

    try {
        // First: the lock keeps a second runtime off this folder before anything in it is touched.
        const state = options.stateDirectory
            ? StateStore.open({
                  directory: options.stateDirectory,
                  clock,
                  components: [SERVICE_BUS_STATE_COMPONENT, EVENT_HUBS_STATE_COMPONENT, COSMOS_STATE_COMPONENT],
              })
            : undefined;
        const layout = state ? stateLayout(state.directory) : undefined;
        if (state) {
            stoppers.push(() => Promise.resolve(state.close()));
        }
        const azuriteProcess = state?.records('processes', z.object({ pid: z.number().int().positive() }));
        const leftover = azuriteProcess?.get('azurite');
        if (leftover && layout) {
            // A runtime killed a moment ago leaves its Azurite saving its metadata before it exits.
            await waitForLeftoverProcess(leftover.pid, layout.azurite, { log });
        }
        const storage = parseConnectionString(settings.AzureWebJobsStorage ?? '');
        const azurite = await startAzurite({
            port: ephemeral ? 0 : (options.ports?.blob ?? portOf(storage.get('blobendpoint'), 10000)),
            ...(layout ? { location: layout.azurite } : {}),
            ...(retention.azuriteExtentGc ? { extentGc: retention.azuriteExtentGc } : {}),
        });
        if (azurite.pid !== undefined) {
            azuriteProcess?.put('azurite', { pid: azurite.pid });
        }
        stoppers.push(async () => {
            await azurite.close();
            azuriteProcess?.delete('azurite');
        });
        settings.AzureWebJobsStorage = azurite.connectionString;

        const cosmosSetting = parseConnectionString(settings.CosmosDBConnection ?? '').get('accountendpoint');
        const cosmos = await startLocalCosmos({
            port: ephemeral ? 0 : (options.ports?.cosmos ?? portOf(cosmosSetting, 8081)),
            clock,
            ...(state ? { state } : {}),
        });
        stoppers.push(() => cosmos.close());
        settings.CosmosDBConnection = cosmos.connectionString;

        const signalRSetting = parseConnectionString(settings.AzureSignalRConnectionString ?? '');
        const signalR = await startLocalSignalR({
            port: ephemeral ? 0 : (options.ports?.signalR ?? Number(signalRSetting.get('port') ?? 8888)),
            ...(signalRSetting.get('accesskey') ? { accessKey: signalRSetting.get('accesskey')! } : {}),
            clock,
        });
        stoppers.push(() => signalR.close());
        settings.AzureSignalRConnectionString = signalR.connectionString;

        const eventGrid = await startLocalEventGridTopic({
            port: ephemeral
                ? 0
                : (options.ports?.eventGrid ?? portOf(settings.EventGridConnection__topicEndpointUri, 7072)),
            subscriptions: options.eventGridSubscriptions ?? parseSubscriptions(settings.LOCAL_EVENTGRID_SUBSCRIPTIONS),
            ...(layout ? { deadLetterDir: layout.eventGridDeadLetters } : {}),
            clock,
        });
        stoppers.push(() => eventGrid.close());
        settings.EventGridConnection__topicEndpointUri = eventGrid.topicEndpoint;

        const infrastructure = withRetention(localInfrastructure(settings), retention);
        const serviceBusStore = state ? new SqliteServiceBusMessageStore(state) : undefined;
        const queues = new Map(
            infrastructure.serviceBusQueues.map((queue) => [
                queue.name,
                new LocalServiceBusQueue({ ...queue, store: serviceBusStore, clock }),
            ]),
        );
        stoppers.push(() => Promise.resolve(queues.forEach((queue) => queue.close())));
        const serviceBusSetting = parseConnectionString(settings.ServiceBusConnection ?? '');
        const keyName = serviceBusSetting.get('sharedaccesskeyname') ?? 'RootManageSharedAccessKey';
        const key = serviceBusSetting.get('sharedaccesskey') ?? 'SAS_KEY_VALUE';
        const amqpPort = sharedAmqpPort(settings.ServiceBusConnection, settings.EventHubConnection);
        const amqp = await startAmqpServer({
            port: ephemeral ? 0 : (options.ports?.serviceBus ?? amqpPort),
            // Event Hubs clients connect to the same listener: accept the keys of both connection strings.
            sharedAccessKeys: {
                ...sharedAccessKeysOf([settings.EventHubConnection]),
                [keyName]: key,
            },
            clock,
            log: (line) => {
                if (!line.includes('listening on')) {
                    log(line);
                }
            },
        });
        stoppers.push(() => amqp.close());
        queues.forEach((queue) => serveQueueOverAmqp(amqp, queue));
        settings.ServiceBusConnection = `Endpoint=sb://127.0.0.1:${amqp.port};SharedAccessKeyName=${keyName};SharedAccessKey=${key};UseDevelopmentEmulator=true;`;
        // The Event Hubs endpoint shares the listener (addresses do not collide: queues vs hub paths).
        settings.EventHubConnection = emulatorConnectionString(
            parseConnectionString(settings.EventHubConnection ?? ''),
            amqp.port,
        );
        const eventHubs = new Map(
            infrastructure.eventHubs.map((hub) => [
                hub.name,
                new LocalEventHub({
                    ...hub,
                    partitionCount: options.eventHubPartitions ?? hub.partitionCount,
                    clock,
                    ...(state ? { store: new SqliteEventHubStore(state, hub.name) } : {}),
                }),
            ]),
        );
        // Before the state store closes, after everything that reads or checkpoints the hubs has stopped.
        stoppers.push(() => Promise.resolve(eventHubs.forEach((hub) => hub.close())));
        const eventHubsEndpoint = serveEventHubsOverAmqp(amqp, eventHubs, { clock });
        stoppers.push(() => Promise.resolve(eventHubsEndpoint.close()));
        const cosmosClient = createLocalCosmosClient(cosmos.connectionString, { ca: cosmos.ca });
        await ensureCosmosResources(cosmosClient, infrastructure.cosmos);
        const lettersContainer = cosmosClient
            .database(infrastructure.cosmos.databaseName)
            .container(infrastructure.cosmos.containers[0]!.id);
        const ttl = startTtlSweeper({
            client: cosmosClient,
            databaseName: infrastructure.cosmos.databaseName,
            containerName: infrastructure.cosmos.containers[0]!.id,
            intervalMs: retention.cosmosTtlSweepIntervalMs ?? 60_000,
            clock,
            onError: (error) => log(`ttl sweeper: ${String(error)}`),
        });
        stoppers.push(() => ttl.stop());
        // Azure's lifecycle rule for raw-names blobs, on Azurite (docs/local-runtime.md, "State on disk").
        const blobLifecycle = startBlobLifecycleSweeper({
            service: BlobServiceClient.fromConnectionString(azurite.connectionString),
            rule: infrastructure.rawNamesLifecycleRule,
            ...(retention.rawNamesBlobMs !== undefined ? { maxAgeMs: retention.rawNamesBlobMs } : {}),
            ...(retention.blobSweepIntervalMs !== undefined ? { intervalMs: retention.blobSweepIntervalMs } : {}),
            clock,
            log,
        });
        stoppers.push(() => blobLifecycle.stop());

        const metrics = new RuntimeMetrics({ queues, eventHubs, clock });
        const streamAnalytics = startStreamAnalyticsRunner({
            queryText: withWindowSeconds(readFileSync(letterCountsQueryPath(), 'utf8'), options.windowSeconds),
            jobSettings: { ...letterCountsJobSettings, ...options.jobSettings },
            inputs: {
                namesInput: {
                    hub: eventHubs.get(infrastructure.eventHubs[0]!.name)!,
                    consumerGroup: infrastructure.streamAnalyticsConsumerGroup,
                },
            },
            outputs: {
                letterCountsOutput: async (rows) => {
                    // Compatibility level 1.2: insert-or-replace by document id.
                    await Promise.all(rows.map((row) => lettersContainer.items.upsert(row)));
                },
            },
            clock,
            onError: (error) => log(`[stream analytics] output failed, retrying: ${String(error)}`),
            onOutput: (_alias, rows) => metrics.recordWindowRows(rows),
            onEventOrdering: (report) => log(formatEventOrderingReport(report)),
            onWarning: (message) => log(`[stream analytics] warning: ${message}`),
            // On disk, the job restarts from its last output time (docs/local-runtime.md, "State on disk").
            ...(state
                ? {
                      progress: {
                          records: state.records(STREAM_ANALYTICS_PROGRESS_SCOPE, streamJobProgressSchema),
                          jobName: 'letter-counts',
                      },
                  }
                : {}),
        });
        stoppers.push(() => streamAnalytics.stop());
        if (streamAnalytics.replayedEvents > 0) {
            log(
                `[stream analytics] resumed: output from ${new Date(streamAnalytics.outputStartTimes.letterCountsOutput ?? NaN).toISOString()}, ` +
                    `${streamAnalytics.replayedEvents} events reread to rebuild the windows open then`,
            );
        }
        metrics.setStreamAnalyticsMetrics(() => streamAnalytics.job.metrics());

        // App settings are environment variables to function code, in Azure and under func start alike.
        const previousEnv = new Map(Object.keys(settings).map((key) => [key, process.env[key]]));
        Object.assign(process.env, settings);
        stoppers.push(() => {
            for (const [key, value] of previousEnv) {
                if (value === undefined) {
                    delete process.env[key];
                } else {
                    process.env[key] = value;
                }
            }
            return Promise.resolve();
        });

        const app = loadFunctionApp(appRoot);
        const hostOptions = loadHostOptions(appRoot, 2);
        const services = new LocalServices({
            settings,
            queues,
            serviceBusPath:
                options.serviceBusPath ??
                bindingPathSetting(
                    'LOCAL_SERVICEBUS_BINDINGS',
                    settings.LOCAL_SERVICEBUS_BINDINGS ?? process.env.LOCAL_SERVICEBUS_BINDINGS,
                ),
            eventHubs,
            cosmosCa: cosmos.ca,
            clock,
            eventHubPath:
                options.eventHubPath ??
                bindingPathSetting(
                    'LOCAL_EVENTHUB_BINDINGS',
                    settings.LOCAL_EVENTHUB_BINDINGS ?? process.env.LOCAL_EVENTHUB_BINDINGS,
                ),
            onChangeFeedBatch: (documents) => {
                metrics.recordChangeFeedBatch(documents);
                options.onChangeFeedBatch?.(documents);
            },
            changeFeedLag: (lag) => metrics.setChangeFeedLag(lag),
        });
        stoppers.push(() => services.close());
        const createHost = () =>
            new LocalFunctionsHost({
                app,
                settings,
                hostOptions,
                services,
                clock,
                http: {
                    host: '127.0.0.1',
                    port: ephemeral ? 0 : (options.ports?.functions ?? loaded.host.LocalHttpPort ?? 7071),
                    corsOrigins: (loaded.host.CORS ?? '')
                        .split(',')
                        .map((o) => o.trim())
                        .filter(Boolean),
                    corsCredentials: loaded.host.CORSCredentials === true,
                    extraHandlers: options.extraHttpHandlers ?? [],
                },
                log: ({ level, functionName, message }) => {
                    metrics.recordFunctionLog(functionName, level, message);
                    log(`[${functionName}] ${level}: ${message}`);
                },
                onInvocation: (name, outcome) => metrics.recordInvocation(name, outcome),
                disabled: new Set(options.disabledFunctions ?? []),
            });
        let host = createHost();
        if (options.servicesOnly !== true) {
            await host.start();
            stoppers.push(() => host.stop());
        }

        const runtime: LocalRuntime = {
            urls: {
                functions: host.httpUrl ?? '',
                blob: azurite.blobEndpoint,
                cosmos: cosmos.endpoint,
                signalR: signalR.endpoint,
                eventGrid: eventGrid.topicEndpoint,
            },
            settings,
            settingsSource: path.relative(appRoot, loaded.source),
            app,
            get host() {
                return host;
            },
            queues,
            amqp,
            eventHubs,
            cosmos,
            azurite,
            state,
            signalR,
            eventGrid,
            streamAnalytics,
            blobLifecycle,
            metrics,
            recount: (request) =>
                recountLocally(request, {
                    blobs: rawNamesContainer(settings),
                    letterCounts: lettersContainer,
                    clock,
                    windowSeconds: options.windowSeconds ?? Number(settings.LETTER_COUNT_WINDOW_SECONDS ?? 30),
                }),
            async restartHost() {
                await host.stop();
                host = createHost();
                await host.start();
                runtime.urls.functions = host.httpUrl!;
            },
            stop: stopAll,
        };
        return runtime;
    } catch (error) {
        await stopAll();
        throw error;
    }
}

/** What infra/ provisions, with the Event Hubs' retention and the letter-counts container's TTL overridden. */
function withRetention(
    infrastructure: ReturnType<typeof localInfrastructure>,
    retention: RetentionOverrides,
): ReturnType<typeof localInfrastructure> {
    const letterCounts = infrastructure.cosmos.containers[0]!.id;
    return {
        ...infrastructure,
        eventHubs: infrastructure.eventHubs.map((hub) => ({
            ...hub,
            retentionMs: retention.eventHubMs ?? hub.retentionMs,
        })),
        cosmos: {
            ...infrastructure.cosmos,
            containers: infrastructure.cosmos.containers.map((container) =>
                container.id === letterCounts && retention.letterCountsTtlSeconds !== undefined
                    ? { ...container, defaultTtlSeconds: retention.letterCountsTtlSeconds }
                    : container,
            ),
        },
    };
}

/** LOCAL_SERVICEBUS_BINDINGS / LOCAL_EVENTHUB_BINDINGS: `amqp` or `in-process` (the default). */
function bindingPathSetting(name: string, value: string | undefined): ServiceBusPath {
    if (value === undefined || value === '') {
        return 'in-process';
    }
    if (value !== 'amqp' && value !== 'in-process') {
        throw new Error(`${name} must be "amqp" or "in-process" (got ${JSON.stringify(value)})`);
    }
    return value;
}

/** core-amqp's rule: the digits after the endpoint's last colon, else 5672 for an emulator string (wire-protocols §1.2). */
function amqpPortOf(endpoint: string | undefined): number {
    const port = /:(\d+)\/?$/.exec(endpoint ?? '')?.[1];
    return port === undefined ? 5672 : Number(port);
}

/** The Service Bus and Event Hubs connection settings ask for two AMQP endpoints the one local listener cannot be. */
export class AmqpEndpointSettingsError extends Error {
    constructor(reason: string) {
        super(
            `ServiceBusConnection and EventHubConnection must name the same local AMQP endpoint (one listener serves both): ${reason}. Change one of them in local.settings.json.`,
        );
        this.name = 'AmqpEndpointSettingsError';
    }
}

/**
 * The port of the one AMQP listener that serves Service Bus and Event Hubs, from the two emulator connection strings
 * (5672 where an endpoint names none, as @azure/core-amqp does for UseDevelopmentEmulator=true). Refuses settings the
 * listener could not honour instead of silently rewriting one of them: different ports, or one key name with two
 * different keys (the $cbs check would then refuse one side's tokens).
 * @throws AmqpEndpointSettingsError quoting both values
 */
export function sharedAmqpPort(serviceBus: string | undefined, eventHub: string | undefined): number {
    const serviceBusParts = parseConnectionString(serviceBus ?? '');
    const eventHubParts = parseConnectionString(eventHub ?? '');
    const serviceBusPort = amqpPortOf(serviceBusParts.get('endpoint'));
    if (eventHub === undefined || eventHub === '') {
        return serviceBusPort;
    }
    const eventHubPort = amqpPortOf(eventHubParts.get('endpoint'));
    if (eventHubPort !== serviceBusPort) {
        throw new AmqpEndpointSettingsError(`ports ${serviceBusPort} and ${eventHubPort} differ`);
    }
    const name = serviceBusParts.get('sharedaccesskeyname');
    if (
        name !== undefined &&
        name === eventHubParts.get('sharedaccesskeyname') &&
        serviceBusParts.get('sharedaccesskey') !== eventHubParts.get('sharedaccesskey')
    ) {
        throw new AmqpEndpointSettingsError(`the key name "${name}" has two different keys`);
    }
    return serviceBusPort;
}

/** SharedAccessKeyName → SharedAccessKey of the emulator connection strings, for $cbs put-token. */
function sharedAccessKeysOf(connectionStrings: Array<string | undefined>): Record<string, string> {
    const keys: Record<string, string> = {};
    for (const text of connectionStrings) {
        const parts = parseConnectionString(text ?? '');
        const name = parts.get('sharedaccesskeyname');
        const key = parts.get('sharedaccesskey');
        if (name !== undefined && key !== undefined) keys[name] = key;
    }
    return keys;
}

/** The emulator connection string pointing at the listener's actual port (ephemeral in tests). */
function emulatorConnectionString(parts: Map<string, string>, port: number): string {
    const keyName = parts.get('sharedaccesskeyname') ?? 'RootManageSharedAccessKey';
    const key = parts.get('sharedaccesskey') ?? 'SAS_KEY_VALUE';
    return `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=${keyName};SharedAccessKey=${key};UseDevelopmentEmulator=true;`;
}

function parseSubscriptions(text: string | undefined): SubscriptionSettings[] {
    if (!text?.trim()) {
        return [];
    }
    // "name=url;name=url": webhook subscribers for the local Event Grid topic.
    return text
        .split(';')
        .filter(Boolean)
        .map((entry) => {
            const [name, endpointUrl] = entry.split('=');
            if (!name || !endpointUrl) {
                throw new Error(
                    `LOCAL_EVENTGRID_SUBSCRIPTIONS entry ${JSON.stringify(entry)} must be "name=https://endpoint"`,
                );
            }
            return { name: name.trim(), endpointUrl: endpointUrl.trim() };
        });
}

export function withWindowSeconds(query: string, windowSeconds: number | undefined): string {
    if (windowSeconds === undefined) {
        return query;
    }
    const pattern = /TumblingWindow\(\s*second\s*,\s*30\s*\)/gi;
    if (!pattern.test(query)) {
        throw new Error('windowSeconds: the query has no TumblingWindow(second, 30) to shorten');
    }
    return query.replace(pattern, `TumblingWindow(second, ${windowSeconds})`);
}

/** The log line for events the job's event-ordering policy caught; "warning" so `npm start` always prints it. */
export function formatEventOrderingReport(report: EventOrderingReport): string {
    const kinds = [
        `${report.lateInputEvents} late`,
        `${report.earlyInputEvents} early`,
        `${report.outOfOrderEvents} out of order`,
    ].join(', ');
    const outcome =
        report.droppedEvents > 0
            ? `${report.droppedEvents} dropped: their names are missing from the live counts until a recount ` +
              '(npm run recount -- --since 2h) derives those windows again from the raw-names blobs'
            : `${report.adjustedEvents} adjusted: counted in a later window than the one they were generated in`;
    return `[stream analytics] warning: ${kinds} input events; ${outcome}`;
}
