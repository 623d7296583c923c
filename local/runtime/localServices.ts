import { isIPv4 } from 'node:net';
import { hostname } from 'node:os';

import type { CosmosClient } from '@azure/cosmos';
import { type EventDataBatch, EventHubProducerClient, RetryMode } from '@azure/event-hubs';
import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusSender } from '@azure/service-bus';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';

import type { Clock } from '../../domain/clock';
import { createLocalCosmosClient, startChangeFeedProcessor } from '../cosmos';
import { publishToLocalEventGrid } from '../eventGrid';
import type { LocalEventHub } from '../eventHubs';
import { parseConnectionString, readConnection } from '../host/appSettings';
import type { BindingServices, TriggerHandle } from '../host/localFunctionsHost';
import type { ScheduleMonitor } from '../host/triggers/timerTrigger';
import type { LocalServiceBusQueue, ReceivedServiceBusMessage } from '../serviceBus';
import { createConnectionInfo, sendSignalRMessages, type SignalROutput } from '../signalR';
import { blobScheduleMonitor, HOSTS_CONTAINER } from './blobScheduleMonitor';

/**
 * The Functions Event Hubs extension's producer retries (Azure.Messaging.EventHubs `EventHubsRetryOptions` defaults:
 * exponential from 0.8 s, at most 1 min apart, 3 retries, 60 s per try), instead of the JS SDK's fixed 30 s delay.
 */
const HOST_EVENT_HUBS_RETRY = {
    mode: RetryMode.Exponential,
    maxRetries: 3,
    retryDelayInMs: 800,
    maxRetryDelayInMs: 60_000,
    timeoutInMs: 60_000,
};

/** Thrown when a connection setting points anywhere but this machine's stand-ins. */
export class LocalConnectionError extends Error {
    constructor(connection: string, reason: string) {
        super(
            `Connection "${connection}" ${reason}. The local runtime hosts its own stand-ins; run "func start" to use Azure resources.`,
        );
        this.name = 'LocalConnectionError';
    }
}

/**
 * How the Service Bus trigger and output binding reach the queue: `amqp` through the local AMQP endpoint with the
 * official @azure/service-bus client, as the Functions host does in Azure; `in-process` by calling the broker
 * directly (same broker state, no sockets). docs/local-runtime.md has both measured.
 */
export type ServiceBusPath = 'amqp' | 'in-process';

export interface LocalServicesOptions {
    settings: Record<string, string>;
    queues: Map<string, LocalServiceBusQueue>;
    /** Default `amqp`. */
    serviceBusPath?: ServiceBusPath;
    eventHubs: Map<string, LocalEventHub>;
    cosmosCa: string;
    clock: Clock;
    /**
     * How the Event Hub output binding reaches the hubs. `amqp` (default): with the official `@azure/event-hubs`
     * producer over the local AMQP endpoint the connection setting names, the path Azure's host takes.
     * `in-process`: straight into the LocalEventHub, for the benchmark that compares the two. Both reach the same
     * hubs (test/local/runtime/localServices.test.ts).
     */
    eventHubPath?: 'amqp' | 'in-process';
    /** Called with each change-feed batch as it reaches the trigger; the status line and benchmarks use it. */
    onChangeFeedBatch?: (documents: unknown[]) => void;
    changeFeedLag?: (lagMs: () => number | undefined) => void;
}

/**
 * The binding services backed by the local stand-ins. Each connection is read from its app setting exactly as the
 * extensions read it, and checked to point at a local stand-in, so a settings mistake fails loudly instead of
 * silently talking to the wrong place.
 */
export class LocalServices implements BindingServices {
    readonly #options: LocalServicesOptions;
    readonly #cosmosClients = new Map<string, CosmosClient>();
    readonly #blobContainers = new Map<string, Promise<ContainerClient>>();
    readonly #emulatorConnections = new Set<string>();
    readonly #eventHubProducers = new Map<string, EventHubProducerClient>();
    readonly #serviceBusClients = new Map<string, ServiceBusClient>();
    readonly #serviceBusSenders = new Map<string, ServiceBusSender>();

    constructor(options: LocalServicesOptions) {
        this.#options = options;
    }

    get serviceBusPath(): ServiceBusPath {
        return this.#options.serviceBusPath ?? 'amqp';
    }

    timerScheduleMonitor(timerName: string): ScheduleMonitor {
        // The host keeps its timer status in AzureWebJobsStorage under its host id (AzureFunctionsWebHost__hostid
        // when set, as in Azure; else a fixed local id).
        const storage = BlobServiceClient.fromConnectionString(this.#options.settings.AzureWebJobsStorage ?? '');
        if (!isLoopback(new URL(storage.url).hostname)) {
            throw new LocalConnectionError('AzureWebJobsStorage', `must point at Azurite (got ${storage.url})`);
        }
        const hostId = this.#options.settings.AzureFunctionsWebHost__hostid ?? 'namestream-local';
        return blobScheduleMonitor(storage.getContainerClient(HOSTS_CONTAINER), hostId, timerName);
    }

    startServiceBusQueueTrigger(options: Parameters<BindingServices['startServiceBusQueueTrigger']>[0]): TriggerHandle {
        const queue = this.#queue(options.connection, options.queueName);
        if (this.serviceBusPath === 'amqp') {
            return this.#startSdkTrigger(options);
        }
        return queue.startProcessor({
            maxConcurrentCalls: options.maxConcurrentCalls,
            maxAutoLockRenewalDurationMs: options.maxAutoLockRenewalDurationMs,
            handler: (message) =>
                options.handler({
                    body: triggerBody(message.body, message.contentType),
                    metadata: triggerMetadata(message),
                }),
            onError: (error) => options.onError(error),
        });
    }

    async startCosmosDBTrigger(
        options: Parameters<BindingServices['startCosmosDBTrigger']>[0],
    ): Promise<TriggerHandle> {
        const client = this.#cosmos(options.connection);
        const leaseClient = this.#cosmos(options.leaseConnection);
        const leases = leaseClient.database(options.leaseDatabaseName).container(options.leaseContainerName);
        try {
            await leases.read();
        } catch {
            if (!options.createLeaseContainerIfNotExists) {
                throw new Error(
                    `Lease container "${options.leaseContainerName}" in database "${options.leaseDatabaseName}" does not exist and createLeaseContainerIfNotExists is false`,
                );
            }
            await leaseClient
                .database(options.leaseDatabaseName)
                .containers.createIfNotExists({ id: options.leaseContainerName, partitionKey: { paths: ['/id'] } });
        }
        const handle = await startChangeFeedProcessor({
            client,
            databaseName: options.databaseName,
            containerName: options.containerName,
            leaseDatabaseName: options.leaseDatabaseName,
            leaseContainerName: options.leaseContainerName,
            leaseContainerPrefix: options.leaseContainerPrefix,
            instanceName: `${hostname()}-${process.pid}`,
            feedPollDelayMs: options.feedPollDelayMs,
            ...(options.maxItemsPerInvocation !== undefined
                ? { maxItemsPerInvocation: options.maxItemsPerInvocation }
                : {}),
            startFromBeginning: options.startFromBeginning,
            ...(options.startFromTime ? { startFromTime: options.startFromTime } : {}),
            ...(options.retry ? { retry: options.retry } : {}),
            handler: async (documents) => {
                this.#options.onChangeFeedBatch?.(documents);
                await options.handler(documents);
            },
            onError: options.onError,
            clock: this.#options.clock,
        });
        this.#options.changeFeedLag?.(() => handle.lagMs());
        return handle;
    }

    async sendToServiceBusQueue(
        connection: string,
        queueName: string,
        messages: Array<string | Buffer>,
    ): Promise<void> {
        const queue = this.#queue(connection, queueName);
        if (this.serviceBusPath === 'amqp') {
            // Strings go out as their UTF-8 bytes in one data section, as the extension writes them.
            await this.#serviceBusSender(connection, queueName).sendMessages(
                messages.map((body) => ({
                    body: typeof body === 'string' ? Buffer.from(body) : body,
                    contentType: typeof body === 'string' ? 'application/json' : 'application/octet-stream',
                })),
            );
            return;
        }
        // One batch, resolved once committed: with a state folder, in the queue's group commit of this turn.
        await queue.sendBatchAsync(
            messages.map((body) => ({
                body,
                contentType: typeof body === 'string' ? 'application/json' : 'application/octet-stream',
            })),
        );
    }

    async sendToEventHub(connection: string, eventHubName: string, events: unknown[]): Promise<void> {
        this.#checkEmulatorConnection(connection);
        const hub = this.#options.eventHubs.get(eventHubName);
        if (!hub) {
            throw new Error(`Event Hub "${eventHubName}" does not exist in the local namespace`);
        }
        if (this.#options.eventHubPath === 'in-process') {
            // The extension serialises each item: strings as they are, objects as JSON text. Resolves once stored
            // (committed, when the hub keeps state on disk), as the service acknowledges a send.
            await hub.sendAsync(events.map((body) => ({ body: typeof body === 'string' ? tryParseJson(body) : body })));
            return;
        }
        // As the extension does: each item's bytes (a string as UTF-8, anything else as its JSON text) in one data
        // section, an invocation's events in as few batches as the size limit allows, each batch on one partition.
        const producer = this.#eventHubProducer(connection, eventHubName);
        let batch = await producer.createBatch();
        for (const item of events) {
            const event = {
                body: Buffer.isBuffer(item)
                    ? item
                    : Buffer.from(typeof item === 'string' ? item : JSON.stringify(item)),
            };
            if (batch.tryAdd(event)) continue;
            if (batch.count === 0) {
                throw new Error(
                    `Event of ${event.body.length} bytes exceeds the Event Hub "${eventHubName}" limit of ${batch.maxSizeInBytes} bytes`,
                );
            }
            await sendOrExplain(producer, batch, eventHubName);
            batch = await producer.createBatch();
            if (!batch.tryAdd(event)) {
                throw new Error(
                    `Event of ${event.body.length} bytes exceeds the Event Hub "${eventHubName}" limit of ${batch.maxSizeInBytes} bytes`,
                );
            }
        }
        if (batch.count > 0) await sendOrExplain(producer, batch, eventHubName);
    }

    async writeBlob(connection: string, blobPath: string, content: string | Buffer): Promise<void> {
        const slash = blobPath.indexOf('/');
        if (slash <= 0) {
            throw new Error(`Blob path "${blobPath}" must be "<container>/<blob name>"`);
        }
        const container = await this.#blobContainer(connection, blobPath.slice(0, slash));
        const blob = container.getBlockBlobClient(blobPath.slice(slash + 1));
        await blob.upload(content, Buffer.byteLength(content), {
            blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
        });
    }

    async queryCosmos(
        connection: string,
        query: {
            databaseName: string;
            containerName: string;
            sqlQuery: string;
            parameters: Array<{ name: string; value: string }>;
        },
    ): Promise<unknown[]> {
        const container = this.#cosmos(connection).database(query.databaseName).container(query.containerName);
        const { resources } = await container.items
            .query({ query: query.sqlQuery, parameters: query.parameters })
            .fetchAll();
        return resources as unknown[];
    }

    async readCosmosItem(
        connection: string,
        item: { databaseName: string; containerName: string; id: string; partitionKey: string },
    ): Promise<unknown> {
        const container = this.#cosmos(connection).database(item.databaseName).container(item.containerName);
        const response = await container.item(item.id, item.partitionKey).read<Record<string, unknown>>();
        return response.resource ?? null;
    }

    async signalRConnectionInfo(
        connectionSetting: string,
        options: { hubName: string; userId?: string },
    ): Promise<unknown> {
        return createConnectionInfo(this.#signalRConnectionString(connectionSetting), {
            hubName: options.hubName,
            ...(options.userId ? { userId: options.userId } : {}),
            clock: this.#options.clock,
        });
    }

    async sendSignalRMessages(connectionSetting: string, hubName: string, messages: unknown[]): Promise<void> {
        await sendSignalRMessages(
            this.#signalRConnectionString(connectionSetting),
            hubName,
            messages as SignalROutput[],
            {
                clock: this.#options.clock,
            },
        );
    }

    async publishEventGridEvents(connection: string, events: unknown[]): Promise<void> {
        const { section } = readConnection(connection, this.#options.settings);
        const endpoint = section.topicEndpointUri ?? this.#options.settings[connection];
        if (!endpoint || !isLoopback(new URL(endpoint).hostname)) {
            throw new LocalConnectionError(
                connection,
                `needs "${connection}__topicEndpointUri" pointing at the local topic (got ${JSON.stringify(endpoint)})`,
            );
        }
        await publishToLocalEventGrid(endpoint, events as Array<Record<string, unknown>>);
    }

    async upsertCosmosItems(
        connection: string,
        target: { databaseName: string; containerName: string },
        documents: unknown[],
    ): Promise<void> {
        const container = this.#cosmos(connection).database(target.databaseName).container(target.containerName);
        for (const document of documents) {
            await container.items.upsert(document as Record<string, unknown>);
        }
    }

    /** Closes the Service Bus and Event Hubs clients; the services are unusable afterwards. */
    async close(): Promise<void> {
        const clients: Array<{ close(): Promise<void> }> = [
            ...this.#serviceBusClients.values(),
            ...this.#eventHubProducers.values(),
        ];
        this.#serviceBusClients.clear();
        this.#serviceBusSenders.clear();
        this.#eventHubProducers.clear();
        await Promise.all(clients.map((client) => client.close()));
    }

    /**
     * The trigger as the Functions host runs it over AMQP: a peek-lock receiver with auto-completion, auto lock
     * renewal and maxConcurrentCalls; a handler that throws abandons the message (the SDK's streaming receiver
     * does both, as the extension's processor does).
     */
    #startSdkTrigger(options: Parameters<BindingServices['startServiceBusQueueTrigger']>[0]): TriggerHandle {
        const receiver = this.#serviceBusClient(options.connection).createReceiver(options.queueName, {
            receiveMode: 'peekLock',
            maxAutoLockRenewalDurationInMs: options.maxAutoLockRenewalDurationMs,
            skipParsingBodyAsJson: true,
        });
        const inFlight = new Set<Promise<void>>();
        let stopping = false;
        const subscription = receiver.subscribe(
            {
                processMessage: (message) => {
                    const run = options.handler({ body: sdkBody(message), metadata: sdkTriggerMetadata(message) });
                    inFlight.add(run);
                    return run.finally(() => inFlight.delete(run));
                },
                processError: ({ error }) => {
                    // Links closing under a stop are not the function's errors.
                    if (!stopping) {
                        options.onError(error);
                    }
                    return Promise.resolve();
                },
            },
            { maxConcurrentCalls: options.maxConcurrentCalls, autoCompleteMessages: true },
        );
        return {
            async stop() {
                stopping = true;
                await subscription.close();
                // Handlers still running settle through $management once the link is gone, as the SDK does.
                await Promise.allSettled([...inFlight]);
                await receiver.close();
            },
        };
    }

    #serviceBusClient(connection: string): ServiceBusClient {
        let client = this.#serviceBusClients.get(connection);
        if (!client) {
            const { value } = readConnection(connection, this.#options.settings);
            client = new ServiceBusClient(value ?? '');
            this.#serviceBusClients.set(connection, client);
        }
        return client;
    }

    #serviceBusSender(connection: string, queueName: string): ServiceBusSender {
        const key = `${connection}/${queueName}`;
        let sender = this.#serviceBusSenders.get(key);
        if (!sender) {
            sender = this.#serviceBusClient(connection).createSender(queueName);
            this.#serviceBusSenders.set(key, sender);
        }
        return sender;
    }

    #queue(connection: string, queueName: string): LocalServiceBusQueue {
        this.#checkEmulatorConnection(connection);
        const queue = this.#options.queues.get(queueName);
        if (!queue) {
            throw new Error(`Service Bus queue "${queueName}" does not exist in the local namespace`);
        }
        return queue;
    }

    #checkEmulatorConnection(connection: string): void {
        // Settings do not change while the runtime runs: one check per connection, not one per send.
        if (this.#emulatorConnections.has(connection)) {
            return;
        }
        const { value } = readConnection(connection, this.#options.settings);
        const parts = parseConnectionString(value ?? '');
        if (parts.get('usedevelopmentemulator')?.toLowerCase() !== 'true') {
            throw new LocalConnectionError(
                connection,
                'is not an emulator connection string (UseDevelopmentEmulator=true)',
            );
        }
        this.#emulatorConnections.add(connection);
    }

    #eventHubProducer(connection: string, eventHubName: string): EventHubProducerClient {
        const key = `${connection}\n${eventHubName}`;
        let producer = this.#eventHubProducers.get(key);
        if (!producer) {
            const { value } = readConnection(connection, this.#options.settings);
            producer = new EventHubProducerClient(value ?? '', eventHubName, { retryOptions: HOST_EVENT_HUBS_RETRY });
            this.#eventHubProducers.set(key, producer);
        }
        return producer;
    }

    #cosmos(connection: string): CosmosClient {
        let client = this.#cosmosClients.get(connection);
        if (!client) {
            const { value } = readConnection(connection, this.#options.settings);
            const endpoint = parseConnectionString(value ?? '').get('accountendpoint') ?? '';
            if (!endpoint || !isLoopback(new URL(endpoint).hostname)) {
                throw new LocalConnectionError(
                    connection,
                    `must be a connection string to the local Cosmos DB (got endpoint ${JSON.stringify(endpoint)})`,
                );
            }
            client = createLocalCosmosClient(value!, { ca: this.#options.cosmosCa });
            this.#cosmosClients.set(connection, client);
        }
        return client;
    }

    #blobContainer(connection: string, containerName: string): Promise<ContainerClient> {
        const key = `${connection}/${containerName}`;
        let container = this.#blobContainers.get(key);
        if (!container) {
            const value = readConnection(connection, this.#options.settings).value ?? '';
            const service = BlobServiceClient.fromConnectionString(value);
            if (!isLoopback(new URL(service.url).hostname)) {
                throw new LocalConnectionError(connection, `must point at Azurite (got ${service.url})`);
            }
            const client = service.getContainerClient(containerName);
            // The blob output binding creates a missing container, as it does in Azure.
            container = client.createIfNotExists().then(() => client);
            container.catch(() => this.#blobContainers.delete(key));
            this.#blobContainers.set(key, container);
        }
        return container;
    }

    #signalRConnectionString(setting: string): string {
        const { value } = readConnection(setting, this.#options.settings);
        if (!value) {
            throw new LocalConnectionError(setting, 'must be a SignalR connection string to the local service');
        }
        return value;
    }
}

/** The Service Bus trigger metadata the host supplies, in its PascalCase. */
/**
 * Sends one batch; when the producer gives up after its retries it throws an AggregateError with an empty message,
 * so the invocation's log would not say why. Rethrows with the attempts and the last attempt's reason.
 */
async function sendOrExplain(
    producer: EventHubProducerClient,
    batch: EventDataBatch,
    eventHubName: string,
): Promise<void> {
    try {
        await producer.sendBatch(batch);
    } catch (error) {
        if (error instanceof AggregateError && error.errors.length > 0) {
            const last: unknown = error.errors[error.errors.length - 1];
            const reason = last instanceof Error ? last.message : String(last);
            throw new Error(
                `Sending to Event Hub "${eventHubName}" failed after ${error.errors.length} attempts: ${reason}`,
                {
                    cause: error,
                },
            );
        }
        throw error;
    }
}

function triggerMetadata(message: ReceivedServiceBusMessage): Record<string, unknown> {
    return {
        MessageId: message.messageId,
        DeliveryCount: message.deliveryCount,
        SequenceNumber: message.sequenceNumber,
        EnqueuedTimeUtc: message.enqueuedTimeUtc.toISOString(),
        ExpiresAtUtc: message.expiresAtUtc.toISOString(),
        LockedUntilUtc: message.lockedUntilUtc.toISOString(),
        LockToken: message.lockToken,
        ContentType: message.contentType ?? null,
        ApplicationProperties: message.applicationProperties,
    };
}

/** The extension hands text to a string parameter and bytes to a binary one; the output binding marks which. */
function sdkBody(message: ServiceBusReceivedMessage): string | Buffer {
    const body = message.body as unknown;
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body) ?? '');
    return triggerBody(bytes, message.contentType);
}

/**
 * The same rule for the in-process path: a message that came in over AMQP keeps its data section as bytes (an
 * official SDK sender encodes an object body as its JSON text there), and only octet-stream stays binary. Handing
 * the bytes on as they are made every such message fail dequeueNames ("field id is missing") ten times and land in
 * the dead-letter queue, while the same message over the SDK trigger went through.
 */
function triggerBody(body: string | Buffer, contentType: string | undefined): string | Buffer {
    return Buffer.isBuffer(body) && contentType !== 'application/octet-stream' ? body.toString('utf8') : body;
}

/**
 * The same metadata as the in-process path, read from the SDK's message. The JS SDK reports the AMQP header's
 * zero-based delivery count; the .NET extension (and so the host's DeliveryCount) adds one.
 */
function sdkTriggerMetadata(message: ServiceBusReceivedMessage): Record<string, unknown> {
    return {
        MessageId: message.messageId,
        DeliveryCount: (message.deliveryCount ?? 0) + 1,
        SequenceNumber: message.sequenceNumber?.toNumber(),
        EnqueuedTimeUtc: message.enqueuedTimeUtc?.toISOString(),
        ExpiresAtUtc: message.expiresAtUtc?.toISOString(),
        LockedUntilUtc: message.lockedUntilUtc?.toISOString(),
        LockToken: message.lockToken,
        ContentType: message.contentType ?? null,
        ApplicationProperties: message.applicationProperties ?? {},
    };
}

function isLoopback(host: string): boolean {
    // Only an IPv4 address is in 127.0.0.0/8: a name such as 127.example.com is not.
    return host === 'localhost' || host === '::1' || host === '[::1]' || (isIPv4(host) && host.startsWith('127.'));
}

function tryParseJson(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}
