import { isIPv4 } from 'node:net';
import { hostname } from 'node:os';

import type { CosmosClient } from '@azure/cosmos';
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

/** Thrown when a connection setting points anywhere but this machine's stand-ins. */
export class LocalConnectionError extends Error {
    constructor(connection: string, reason: string) {
        super(
            `Connection "${connection}" ${reason}. The local runtime hosts its own stand-ins; run "func start" to use Azure resources.`,
        );
        this.name = 'LocalConnectionError';
    }
}

export interface LocalServicesOptions {
    settings: Record<string, string>;
    queues: Map<string, LocalServiceBusQueue>;
    eventHubs: Map<string, LocalEventHub>;
    cosmosCa: string;
    clock: Clock;
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

    constructor(options: LocalServicesOptions) {
        this.#options = options;
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
        return queue.startProcessor({
            maxConcurrentCalls: options.maxConcurrentCalls,
            maxAutoLockRenewalDurationMs: options.maxAutoLockRenewalDurationMs,
            handler: (message) => options.handler({ body: message.body, metadata: triggerMetadata(message) }),
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
        for (const body of messages) {
            queue.send({
                body,
                contentType: typeof body === 'string' ? 'application/json' : 'application/octet-stream',
            });
        }
        return Promise.resolve();
    }

    async sendToEventHub(connection: string, eventHubName: string, events: unknown[]): Promise<void> {
        this.#checkEmulatorConnection(connection);
        const hub = this.#options.eventHubs.get(eventHubName);
        if (!hub) {
            throw new Error(`Event Hub "${eventHubName}" does not exist in the local namespace`);
        }
        // The extension serialises each item: strings as they are, objects as JSON text.
        hub.send(events.map((body) => ({ body: typeof body === 'string' ? tryParseJson(body) : body })));
        return Promise.resolve();
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
