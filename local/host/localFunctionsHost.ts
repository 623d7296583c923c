import { randomUUID } from 'node:crypto';

import type { Clock } from '../../domain/clock';
import {
    bindingDataFromPayload,
    BindingResolutionError,
    parameterizeSqlQuery,
    resolveAppSettingExpressions,
    resolveBindingExpressions,
} from './appSettings';
import type { BindingDefinition, FunctionApp, FunctionDefinition } from './functionApp';
import type { HostOptions } from './hostJson';
import { FunctionInvoker, type LogSink } from './invoker';
import {
    type ExtraHandler,
    type HttpHost,
    type RpcHttpRequest,
    type RpcHttpResponse,
    startHttpHost,
} from './triggers/httpTrigger';
import { NcrontabSchedule, type ScheduleMonitor, startTimerTrigger } from './triggers/timerTrigger';

/** A running trigger listener. */
export interface TriggerHandle {
    stop(): Promise<void>;
}

/** A Service Bus message as the trigger hands it over, with what the host puts in trigger metadata. */
export interface ServiceBusDelivery {
    body: string | Buffer;
    metadata: Record<string, unknown>;
}

/**
 * What the host needs from the services around it. The local runtime implements it with the stand-ins; a binding
 * type without an implementation here fails at start-up, naming the function and the binding.
 */
export interface BindingServices {
    /**
     * Where monitored timers keep their schedule status (the host's StorageScheduleMonitor), by the host's timer
     * name. Without it, timers keep their status in memory.
     */
    timerScheduleMonitor?(timerName: string): ScheduleMonitor;
    startServiceBusQueueTrigger(options: {
        connection: string;
        queueName: string;
        maxConcurrentCalls: number;
        maxAutoLockRenewalDurationMs: number;
        handler: (delivery: ServiceBusDelivery) => Promise<void>;
        onError: (error: unknown) => void;
    }): TriggerHandle;
    startCosmosDBTrigger(options: {
        connection: string;
        databaseName: string;
        containerName: string;
        leaseConnection: string;
        leaseDatabaseName: string;
        leaseContainerName: string;
        leaseContainerPrefix: string;
        createLeaseContainerIfNotExists: boolean;
        feedPollDelayMs: number;
        maxItemsPerInvocation?: number;
        startFromBeginning: boolean;
        startFromTime?: Date;
        retry?: { maxRetryCount: number; delayMs: number };
        handler: (documents: unknown[]) => Promise<void>;
        onError: (error: unknown) => void;
    }): Promise<TriggerHandle>;
    sendToServiceBusQueue(connection: string, queueName: string, messages: Array<string | Buffer>): Promise<void>;
    sendToEventHub(connection: string, eventHubName: string, events: unknown[]): Promise<void>;
    writeBlob(connection: string, blobPath: string, content: string | Buffer): Promise<void>;
    queryCosmos(
        connection: string,
        query: {
            databaseName: string;
            containerName: string;
            sqlQuery: string;
            parameters: Array<{ name: string; value: string }>;
        },
    ): Promise<unknown[]>;
    readCosmosItem(
        connection: string,
        item: { databaseName: string; containerName: string; id: string; partitionKey: string },
    ): Promise<unknown>;
    signalRConnectionInfo(connectionSetting: string, options: { hubName: string; userId?: string }): Promise<unknown>;
    sendSignalRMessages(connectionSetting: string, hubName: string, messages: unknown[]): Promise<void>;
    publishEventGridEvents(connection: string, events: unknown[]): Promise<void>;
    /** The Cosmos DB output binding: upserts each document, as the extension's collector does one by one. */
    upsertCosmosItems(
        connection: string,
        target: { databaseName: string; containerName: string },
        documents: unknown[],
    ): Promise<void>;
}

export interface LocalFunctionsHostOptions {
    app: FunctionApp;
    settings: Record<string, string>;
    hostOptions: HostOptions;
    services: BindingServices;
    clock: Clock;
    http: {
        port: number;
        host: string;
        corsOrigins: string[];
        corsCredentials: boolean;
        extraHandlers?: ExtraHandler[];
    };
    log: (line: { level: string; functionName: string; message: string }) => void;
    /** Called after every invocation; the status line and benchmarks count with it. */
    onInvocation?: (functionName: string, outcome: 'succeeded' | 'failed', durationMs: number) => void;
    /** Functions to leave unstarted (by name), like the host's `AzureWebJobs.<name>.Disabled` setting. */
    disabled?: ReadonlySet<string>;
}

/**
 * Hosts the registered functions on this machine: starts a listener per trigger, resolves every binding from its
 * declared metadata (`%SETTING%` from app settings, `{expression}` from the trigger payload), invokes through the
 * library's invocation path, and delivers return and extra outputs to the services. It knows binding types, never
 * function names.
 */
export class LocalFunctionsHost {
    readonly #options: LocalFunctionsHostOptions;
    readonly #invoker: FunctionInvoker;
    readonly #triggers: TriggerHandle[] = [];
    readonly #resolvedBindings = new WeakMap<BindingDefinition, Record<string, unknown>>();
    #http: HttpHost | undefined;

    constructor(options: LocalFunctionsHostOptions) {
        this.#options = options;
        const sink: LogSink = (functionName, _invocationId, log) =>
            options.log({ level: log.level, functionName, message: log.message });
        this.#invoker = new FunctionInvoker(options.app, sink);
    }

    get httpUrl(): string | undefined {
        return this.#http?.url;
    }

    get invoker(): FunctionInvoker {
        return this.#invoker;
    }

    async start(): Promise<void> {
        const definitions = [...this.#options.app.functions.values()].map((f) => f.definition);
        // Resolve every binding up front: a missing setting stops start-up, as the host's indexing does.
        for (const definition of definitions) {
            for (const binding of [definition.trigger, ...definition.inputs, ...definition.outputs]) {
                this.#resolveSettings(definition, binding);
            }
        }
        const enabled = definitions.filter((d) => !this.#options.disabled?.has(d.name));
        // Check binding types before listening anywhere, so an unsupported one leaves nothing running.
        enabled.forEach(checkSupported);
        try {
            await this.#startListeners(enabled);
        } catch (error) {
            await this.stop();
            throw error;
        }
    }

    async #startListeners(enabled: FunctionDefinition[]): Promise<void> {
        const httpFunctions = enabled.filter((d) => d.trigger.type === 'httpTrigger');
        this.#http = await startHttpHost({
            port: this.#options.http.port,
            host: this.#options.http.host,
            routePrefix: this.#options.hostOptions.routePrefix,
            corsOrigins: this.#options.http.corsOrigins,
            corsCredentials: this.#options.http.corsCredentials,
            functions: httpFunctions.map((d) => ({
                functionName: d.name,
                route: text(d.trigger.route, d.name),
                methods: (d.trigger.methods as string[] | undefined) ?? [
                    'GET',
                    'POST',
                    'PUT',
                    'PATCH',
                    'DELETE',
                    'HEAD',
                    'OPTIONS',
                ],
            })),
            invoke: (name, request) => this.#invokeHttp(name, request),
            onError: (name, error) => this.#logError(name, error),
            ...(this.#options.http.extraHandlers ? { extraHandlers: this.#options.http.extraHandlers } : {}),
        });
        for (const definition of enabled) {
            if (definition.trigger.type !== 'httpTrigger') {
                this.#triggers.push(await this.#startTrigger(definition));
            }
        }
    }

    async stop(): Promise<void> {
        await Promise.all(this.#triggers.splice(0).map((t) => t.stop()));
        await this.#http?.close();
        this.#http = undefined;
    }

    /** Invokes a function with a trigger payload and delivers its outputs: the one path every trigger takes. */
    async invoke(
        definition: FunctionDefinition,
        payload: {
            data: unknown;
            typedData?: Record<string, unknown>;
            metadata?: Record<string, unknown>;
            bindingData?: Record<string, unknown>;
        },
    ): Promise<unknown> {
        const started = performance.now();
        // Built on first use: most bindings hold no {expression}, and the payload would be parsed a second time.
        let bindingDataCache: Record<string, unknown> | undefined;
        const bindingData = () =>
            (bindingDataCache ??= {
                ...bindingDataFromPayload(payload.data),
                ...(payload.metadata ?? {}),
                ...(payload.bindingData ?? {}),
            });
        try {
            const inputs: Record<string, unknown> = {};
            for (const binding of definition.inputs) {
                inputs[binding.name] = await this.#readInput(definition, binding, bindingData);
            }
            const result = await this.#invoker.invoke(definition.name, {
                triggerData: (payload.typedData as never) ?? toTriggerData(payload.data),
                ...(payload.metadata ? { triggerMetadata: payload.metadata } : {}),
                inputs,
            });
            for (const binding of definition.outputs) {
                if (binding.type === 'http') {
                    continue;
                }
                const value = binding.name === '$return' ? result.returnValue : result.outputs.get(binding.name);
                if (value !== undefined && value !== null) {
                    await this.#writeOutput(definition, binding, value, bindingData);
                }
            }
            this.#options.onInvocation?.(definition.name, 'succeeded', performance.now() - started);
            return result.returnValue;
        } catch (error) {
            this.#options.onInvocation?.(definition.name, 'failed', performance.now() - started);
            throw error;
        }
    }

    #resolveSettings(definition: FunctionDefinition, binding: BindingDefinition): Record<string, unknown> {
        // App settings do not change while the host runs: resolve each binding once, not on every invocation.
        const cached = this.#resolvedBindings.get(binding);
        if (cached) {
            return cached;
        }
        const resolved: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(binding)) {
            try {
                resolved[key] =
                    typeof value === 'string' ? resolveAppSettingExpressions(value, this.#options.settings) : value;
            } catch (error) {
                throw new BindingResolutionError(
                    `Function "${definition.name}", binding "${binding.name}" property "${key}": ${(error as Error).message}`,
                );
            }
        }
        this.#resolvedBindings.set(binding, resolved);
        return resolved;
    }

    #expressions(text: string, bindingData: () => Record<string, unknown>): string {
        if (!text.includes('{')) {
            return text;
        }
        return resolveBindingExpressions(text, bindingData(), {
            randomGuid: randomUUID,
            now: () => this.#options.clock.now(),
        });
    }

    async #startTrigger(definition: FunctionDefinition): Promise<TriggerHandle> {
        const trigger = this.#resolveSettings(definition, definition.trigger);
        const onError = (error: unknown) => this.#logError(definition.name, error);
        switch (definition.trigger.type) {
            case 'timerTrigger': {
                const schedule = new NcrontabSchedule(text(trigger.schedule));
                // useMonitor defaults to true, and the host turns it off for schedules of under a minute.
                const monitored =
                    trigger.useMonitor !== false && !schedule.firesMoreThanOncePerMinute(this.#options.clock.now());
                // The host's timer name: the declaring type of a script function is "Host.Functions".
                const monitor = monitored
                    ? this.#options.services.timerScheduleMonitor?.(`Host.Functions.${definition.name}`)
                    : undefined;
                return startTimerTrigger({
                    schedule,
                    runOnStartup: trigger.runOnStartup === true,
                    ...(monitor ? { monitor } : {}),
                    now: () => this.#options.clock.now(),
                    invoke: async (timer) => {
                        await this.invoke(definition, { data: timer });
                    },
                    onError,
                });
            }
            case 'serviceBusTrigger':
                return this.#options.services.startServiceBusQueueTrigger({
                    connection: text(trigger.connection),
                    queueName: text(trigger.queueName),
                    maxConcurrentCalls: this.#options.hostOptions.serviceBus.maxConcurrentCalls,
                    maxAutoLockRenewalDurationMs: this.#options.hostOptions.serviceBus.maxAutoLockRenewalDurationMs,
                    handler: async ({ body, metadata }) => {
                        await this.invoke(definition, { data: body, metadata });
                    },
                    onError,
                });
            case 'cosmosDBTrigger': {
                const retry = definition.retry as
                    { maxRetryCount?: number; delayInterval?: { seconds?: number; nanos?: number } } | undefined;
                return this.#options.services.startCosmosDBTrigger({
                    connection: text(trigger.connection),
                    databaseName: text(trigger.databaseName),
                    containerName: text(trigger.containerName),
                    leaseConnection: text(trigger.leaseConnection ?? trigger.connection),
                    leaseDatabaseName: text(trigger.leaseDatabaseName ?? trigger.databaseName),
                    leaseContainerName: text(trigger.leaseContainerName, 'leases'),
                    leaseContainerPrefix: text(trigger.leaseContainerPrefix, ''),
                    createLeaseContainerIfNotExists: trigger.createLeaseContainerIfNotExists === true,
                    feedPollDelayMs: Number(trigger.feedPollDelay ?? 5000),
                    ...(trigger.maxItemsPerInvocation !== undefined
                        ? { maxItemsPerInvocation: Number(trigger.maxItemsPerInvocation) }
                        : {}),
                    startFromBeginning: trigger.startFromBeginning === true,
                    ...(trigger.startFromTime ? { startFromTime: new Date(text(trigger.startFromTime)) } : {}),
                    ...(retry
                        ? {
                              retry: {
                                  maxRetryCount: retry.maxRetryCount ?? 0,
                                  delayMs:
                                      (retry.delayInterval?.seconds ?? 0) * 1000 +
                                      (retry.delayInterval?.nanos ?? 0) / 1e6,
                              },
                          }
                        : {}),
                    handler: async (documents) => {
                        await this.invoke(definition, { data: documents });
                    },
                    onError,
                });
            }
            default:
                throw new BindingResolutionError(
                    `Function "${definition.name}": trigger type "${definition.trigger.type}" is not supported by the local runtime`,
                );
        }
    }

    async #invokeHttp(functionName: string, request: RpcHttpRequest): Promise<RpcHttpResponse | undefined> {
        const definition = this.#invoker.get(functionName).definition;
        // HTTP binding data: route parameters, plus `{Query.name}` and `{Headers.name}` as the host offers them.
        const bindingData: Record<string, unknown> = { ...request.params };
        for (const [name, value] of new URL(request.url).searchParams) {
            bindingData[`query.${name}`] = value;
        }
        for (const [name, value] of Object.entries(request.headers)) {
            bindingData[`headers.${name}`] = value;
        }
        const result = await this.invoke(definition, { data: undefined, typedData: { http: request }, bindingData });
        return result as RpcHttpResponse | undefined;
    }

    async #readInput(
        definition: FunctionDefinition,
        binding: BindingDefinition,
        bindingData: () => Record<string, unknown>,
    ): Promise<unknown> {
        const resolved = this.#resolveSettings(definition, binding);
        switch (binding.type) {
            case 'cosmosDB': {
                const databaseName = this.#expressions(text(resolved.databaseName), bindingData);
                const containerName = this.#expressions(text(resolved.containerName), bindingData);
                if (resolved.id) {
                    return this.#options.services.readCosmosItem(text(resolved.connection), {
                        databaseName,
                        containerName,
                        id: this.#expressions(text(resolved.id), bindingData),
                        partitionKey: this.#expressions(text(resolved.partitionKey ?? resolved.id), bindingData),
                    });
                }
                const { sqlQuery, parameters } = parameterizeSqlQuery(
                    text(resolved.sqlQuery, 'SELECT * FROM c'),
                    (expression) => this.#expressions(`{${expression}}`, bindingData),
                );
                return this.#options.services.queryCosmos(text(resolved.connection), {
                    databaseName,
                    containerName,
                    sqlQuery,
                    parameters,
                });
            }
            case 'signalRConnectionInfo':
                return this.#options.services.signalRConnectionInfo(
                    text(resolved.connectionStringSetting, 'AzureSignalRConnectionString'),
                    {
                        hubName: text(resolved.hubName),
                        ...(resolved.userId ? { userId: this.#expressions(text(resolved.userId), bindingData) } : {}),
                    },
                );
            default:
                throw new BindingResolutionError(unsupported(definition, 'input', binding));
        }
    }

    async #writeOutput(
        definition: FunctionDefinition,
        binding: BindingDefinition,
        value: unknown,
        bindingData: () => Record<string, unknown>,
    ): Promise<void> {
        const resolved = this.#resolveSettings(definition, binding);
        const items = Array.isArray(value) ? value : [value];
        // Every collection output sends one item per element, so an empty array sends nothing and succeeds, as in
        // Azure: the extensions' collectors send per AddAsync (Service Bus, SignalR, Cosmos DB) or flush only what
        // was added (Event Hubs' batches; Event Grid's FlushAsync checks events.Any()), and the host calls AddAsync
        // once per element. A blob is no collection: the binding writes one blob whatever the value (an array is
        // written as its JSON text, azure-webjobs-sdk#2410), so "[]" is written as it is.
        if (items.length === 0 && COLLECTION_OUTPUTS.has(binding.type)) {
            return;
        }
        switch (binding.type) {
            case 'serviceBus':
                // The extension sends one message per array element; objects travel as their JSON text.
                return this.#options.services.sendToServiceBusQueue(
                    text(resolved.connection),
                    this.#expressions(text(resolved.queueName ?? resolved.topicName), bindingData),
                    items.map(toMessageBody),
                );
            case 'eventHub':
                return this.#options.services.sendToEventHub(
                    text(resolved.connection),
                    this.#expressions(text(resolved.eventHubName), bindingData),
                    items,
                );
            case 'blob':
                return this.#options.services.writeBlob(
                    text(resolved.connection, 'AzureWebJobsStorage'),
                    this.#expressions(text(resolved.path), bindingData),
                    Buffer.isBuffer(value) || typeof value === 'string' ? value : JSON.stringify(value),
                );
            case 'signalR':
                return this.#options.services.sendSignalRMessages(
                    text(resolved.connectionStringSetting, 'AzureSignalRConnectionString'),
                    text(resolved.hubName),
                    items,
                );
            case 'eventGrid':
                return this.#options.services.publishEventGridEvents(
                    text(resolved.connection ?? resolved.topicEndpointUri),
                    items,
                );
            case 'cosmosDB':
                return this.#options.services.upsertCosmosItems(
                    text(resolved.connection),
                    {
                        databaseName: this.#expressions(text(resolved.databaseName), bindingData),
                        containerName: this.#expressions(text(resolved.containerName), bindingData),
                    },
                    items,
                );
            default:
                throw new BindingResolutionError(unsupported(definition, 'output', binding));
        }
    }

    #logError(functionName: string, error: unknown): void {
        this.#options.log({
            level: 'error',
            functionName,
            message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
    }
}

const SUPPORTED_TRIGGERS = new Set(['httpTrigger', 'timerTrigger', 'serviceBusTrigger', 'cosmosDBTrigger']);
const SUPPORTED_INPUTS = new Set(['cosmosDB', 'signalRConnectionInfo']);
const SUPPORTED_OUTPUTS = new Set(['http', 'serviceBus', 'eventHub', 'blob', 'signalR', 'eventGrid', 'cosmosDB']);
const COLLECTION_OUTPUTS = new Set(['serviceBus', 'eventHub', 'signalR', 'eventGrid', 'cosmosDB']);

function checkSupported(definition: FunctionDefinition): void {
    if (!SUPPORTED_TRIGGERS.has(definition.trigger.type)) {
        throw new BindingResolutionError(
            `Function "${definition.name}": trigger type "${definition.trigger.type}" is not supported by the local runtime`,
        );
    }
    const input = definition.inputs.find((binding) => !SUPPORTED_INPUTS.has(binding.type));
    if (input) {
        throw new BindingResolutionError(unsupported(definition, 'input', input));
    }
    const output = definition.outputs.find((binding) => !SUPPORTED_OUTPUTS.has(binding.type));
    if (output) {
        throw new BindingResolutionError(unsupported(definition, 'output', output));
    }
}

function unsupported(
    definition: FunctionDefinition,
    direction: 'input' | 'output',
    binding: BindingDefinition,
): string {
    return `Function "${definition.name}": ${direction} binding "${binding.name}" type "${binding.type}" is not supported by the local runtime`;
}

function toTriggerData(data: unknown): Record<string, unknown> {
    if (typeof data === 'string') {
        return { string: data };
    }
    if (Buffer.isBuffer(data)) {
        return { bytes: data };
    }
    return { json: JSON.stringify(data) };
}

function toMessageBody(item: unknown): string | Buffer {
    return typeof item === 'string' || Buffer.isBuffer(item) ? item : JSON.stringify(item);
}

/** A resolved binding property as text; binding metadata is JSON, so anything else is a declaration mistake. */
function text(value: unknown, fallback?: string): string {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        return String(value);
    }
    if ((value === undefined || value === null) && fallback !== undefined) {
        return fallback;
    }
    throw new BindingResolutionError(`Expected a text binding property, got ${JSON.stringify(value)}`);
}
