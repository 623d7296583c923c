import { readFileSync } from 'node:fs';
import path from 'node:path';

import { z } from 'zod';

import { type Clock, systemClock } from '../../domain/clock';
import { ensureCosmosResources, type LocalCosmos, startLocalCosmos, startTtlSweeper } from '../cosmos';
import { createLocalCosmosClient } from '../cosmos';
import { type LocalEventGridTopic, startLocalEventGridTopic, type SubscriptionSettings } from '../eventGrid';
import { LocalEventHub } from '../eventHubs';
import { loadLocalSettings, parseConnectionString } from '../host/appSettings';
import { type FunctionApp, loadFunctionApp } from '../host/functionApp';
import { loadHostOptions } from '../host/hostJson';
import { LocalFunctionsHost } from '../host/localFunctionsHost';
import type { ExtraHandler } from '../host/triggers/httpTrigger';
import { LocalServiceBusQueue } from '../serviceBus';
import { type LocalSignalR, startLocalSignalR } from '../signalR';
import { stateLayout, StateStore } from '../state';
import { letterCountsJobSettings, letterCountsQueryPath } from '../streamAnalytics';
import { type RunningAzurite, startAzurite } from './azurite';
import { waitForLeftoverProcess } from './leftoverProcess';
import { localInfrastructure } from './localInfrastructure';
import { LocalServices } from './localServices';
import { RuntimeMetrics } from './runtimeMetrics';
import { startStreamAnalyticsRunner, type StreamAnalyticsRunner } from './streamAnalyticsRunner';

export interface LocalRuntimeOptions {
    /** The function app's root: package.json, host.json, settings, dist/. */
    appRoot: string;
    /** Overrides on top of local.settings(.sample).json Values, e.g. a fast schedule for tests. */
    settings?: Record<string, string>;
    /** Ports: functions default 7071; 0 everywhere picks free ports (tests). */
    ports?: { functions?: number; cosmos?: number; signalR?: number; eventGrid?: number; blob?: number };
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
     * Tumbling window size for tests that cannot wait for 30-second windows: rewrites the query's TumblingWindow
     * and sets LETTER_COUNT_WINDOW_SECONDS to match. The query file itself is never changed.
     */
    windowSeconds?: number;
    eventGridSubscriptions?: SubscriptionSettings[];
    /** Functions not to start, by name. */
    disabledFunctions?: string[];
    clock?: Clock;
    log?: (line: string) => void;
    extraHttpHandlers?: ExtraHandler[];
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
    eventHubs: Map<string, LocalEventHub>;
    cosmos: LocalCosmos;
    azurite: RunningAzurite;
    /** The open state store when the runtime keeps state on disk. */
    state: StateStore | undefined;
    signalR: LocalSignalR;
    eventGrid: LocalEventGridTopic;
    streamAnalytics: StreamAnalyticsRunner;
    metrics: RuntimeMetrics;
    /** Stops the functions host and starts a new one over the same services, as a host restart does. */
    restartHost(): Promise<void>;
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
            ? StateStore.open({ directory: options.stateDirectory, clock })
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

        const infrastructure = localInfrastructure(settings);
        const queues = new Map(
            infrastructure.serviceBusQueues.map((queue) => [queue.name, new LocalServiceBusQueue({ ...queue, clock })]),
        );
        stoppers.push(() => Promise.resolve(queues.forEach((queue) => queue.close())));
        const eventHubs = new Map(
            infrastructure.eventHubs.map((hub) => [
                hub.name,
                new LocalEventHub({ ...hub, partitionCount: options.eventHubPartitions ?? hub.partitionCount, clock }),
            ]),
        );
        const cosmosClient = createLocalCosmosClient(cosmos.connectionString, { ca: cosmos.ca });
        await ensureCosmosResources(cosmosClient, infrastructure.cosmos);
        const lettersContainer = cosmosClient
            .database(infrastructure.cosmos.databaseName)
            .container(infrastructure.cosmos.containers[0]!.id);
        const ttl = startTtlSweeper({
            client: cosmosClient,
            databaseName: infrastructure.cosmos.databaseName,
            containerName: infrastructure.cosmos.containers[0]!.id,
            intervalMs: 60_000,
            clock,
            onError: (error) => log(`ttl sweeper: ${String(error)}`),
        });
        stoppers.push(() => ttl.stop());

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
        });
        stoppers.push(() => streamAnalytics.stop());

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
            eventHubs,
            cosmosCa: cosmos.ca,
            clock,
            onChangeFeedBatch: (documents) => {
                metrics.recordChangeFeedBatch(documents);
                options.onChangeFeedBatch?.(documents);
            },
            changeFeedLag: (lag) => metrics.setChangeFeedLag(lag),
        });
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
                log: ({ level, functionName, message }) => log(`[${functionName}] ${level}: ${message}`),
                onInvocation: (name, outcome) => metrics.recordInvocation(name, outcome),
                disabled: new Set(options.disabledFunctions ?? []),
            });
        let host = createHost();
        await host.start();
        stoppers.push(() => host.stop());

        const runtime: LocalRuntime = {
            urls: {
                functions: host.httpUrl!,
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
            eventHubs,
            cosmos,
            azurite,
            state,
            signalR,
            eventGrid,
            streamAnalytics,
            metrics,
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
