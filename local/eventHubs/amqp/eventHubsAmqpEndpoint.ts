import type { EventContext, Receiver, Sender } from 'rhea';
import { types } from 'rhea';

import { type Clock, systemClock } from '../../../domain/clock';
import {
    AmqpError,
    type AmqpLinkContext,
    type AmqpManagementRequest,
    type AmqpManagementResponse,
    type AmqpServer,
    entityNotFound,
    notImplemented,
    transferredMessages,
} from '../../amqp';
import { EventTooLargeError } from '../errors';
import type { EventDataToSend, ReceivedEventData } from '../events';
import type { LocalEventHub } from '../localEventHub';
import { eventFromMessage, messageFromEvent, partitionKeyOf } from './eventMessages';
import { parseEventPositionFilter } from './eventPositionFilter';

/** Azure's limit of receivers without an owner level per partition and consumer group (event-hubs-quotas). */
export const MAX_NON_EPOCH_RECEIVERS = 5;
const EPOCH_PROPERTY = 'com.microsoft:epoch';
const RUNTIME_METRIC_CAPABILITY = 'com.microsoft:enable-receiver-runtime-metric';
const IDEMPOTENT_PRODUCER_CAPABILITY = 'com.microsoft:idempotent-producer';
/** Most events sent in one go to a receiver before yielding to other work; credit bounds it too. */
const MAX_EVENTS_PER_PUMP = 256;

export interface EventHubsAmqpOptions {
    /** Stamps `runtime_info_retrieval_time_utc` on receivers that track the last enqueued event. */
    clock?: Clock;
}

export interface EventHubsAmqpEndpoint {
    /** Stops routing to the hubs; open links stay until their connections close. */
    close(): void;
}

interface ActiveReceiver {
    readonly link: Sender;
    readonly epoch: number | undefined;
}

/**
 * Serves the in-process Event Hubs over the shared AMQP server, so the official `@azure/event-hubs` clients reach
 * the same hubs (one broker state) that in-process producers and consumers use. Wire facts and their sources:
 * ../shared/reference/wire-protocols.md §4.
 *
 * - `$management` READ: hub properties (`com.microsoft:eventhub`) and partition properties (`com.microsoft:partition`).
 * - Send: links on `<hub>` (round robin, or the hash of the `x-opt-partition-key` annotation, as in-process sends) and
 *   `<hub>/Partitions/<id>`; single events and the SDK's batches (message format 0x80013700). A transfer is stored
 *   all or nothing; an event, or a batch, over the hub's size limit is rejected with `amqp:link:message-size-exceeded`
 *   (the SDK's MessageTooLargeError). The limit is announced as the link's max-message-size.
 * - Receive: links on `<hub>/ConsumerGroups/<group>/Partitions/<id>` from the position the selector filter names, as
 *   credit allows, with the annotations the SDK reads; the runtime-metric delivery annotations when asked for.
 * - Owner level (`com.microsoft:epoch`): a receiver with an owner level at least as high as every other on that
 *   partition and group detaches them with `amqp:link:stolen` (the SDK's ReceiverDisconnectedError); a lower one,
 *   or one without an owner level while an owner-level receiver is attached, is refused with the same condition;
 *   more than five receivers without an owner level are refused with `amqp:resource-limit-exceeded`.
 * - Refused, not left hanging: unknown hubs and consumer groups (`amqp:not-found`, the SDK's
 *   MessagingEntityNotFoundError), unknown partitions (`com.microsoft:argument-out-of-range`), idempotent publishing
 *   and other management operations (`amqp:not-implemented`).
 */
export function serveEventHubsOverAmqp(
    server: AmqpServer,
    hubs: ReadonlyMap<string, LocalEventHub>,
    { clock = systemClock }: EventHubsAmqpOptions = {},
): EventHubsAmqpEndpoint {
    const byName = new Map([...hubs.values()].map((hub) => [hub.name.toLowerCase(), hub]));
    const receivers = new Map<string, Set<ActiveReceiver>>();
    const unregister = [
        server.registerEntity('$management', {
            onManagementRequest: (request) => readProperties(byName, request),
        }),
        ...[...byName.values()].map((hub) =>
            server.registerEntity(hub.name, {
                onReceiverLinkOpened: (link, context) => acceptSends(hub, link, context),
                onSenderLinkOpened: (link, context) => deliverEvents(hub, link, context, receivers, clock),
                // Each transfer is accepted once stored, or rejected with the reason (size, partition).
                settlesDeliveries: true,
            }),
        ),
    ];
    return { close: () => unregister.forEach((undo) => undo()) };
}

function readProperties(
    hubs: ReadonlyMap<string, LocalEventHub>,
    { operation, applicationProperties }: AmqpManagementRequest,
): AmqpManagementResponse {
    if (operation !== 'READ') {
        throw notImplemented(`The Event Hubs management operation ${JSON.stringify(operation)}`);
    }
    const name = typeof applicationProperties.name === 'string' ? applicationProperties.name : '';
    const hub = hubs.get(name.toLowerCase());
    if (hub === undefined) throw entityNotFound(name);
    const type = applicationProperties.type;
    if (type === 'com.microsoft:eventhub') {
        return {
            statusCode: 200,
            body: {
                name: hub.name,
                created_at: hub.createdAt,
                partition_count: hub.partitionIds.length,
                partition_ids: [...hub.partitionIds],
            },
        };
    }
    if (type === 'com.microsoft:partition') {
        const partitionId = typeof applicationProperties.partition === 'string' ? applicationProperties.partition : '';
        requirePartition(hub, partitionId);
        const properties = hub.getPartitionProperties(partitionId);
        return {
            statusCode: 200,
            body: {
                name: hub.name,
                partition: partitionId,
                begin_sequence_number: types.wrap_long(properties.beginningSequenceNumber),
                last_enqueued_sequence_number: types.wrap_long(properties.lastEnqueuedSequenceNumber),
                last_enqueued_offset: properties.lastEnqueuedOffset,
                last_enqueued_time_utc: properties.lastEnqueuedOnUtc,
                is_partition_empty: properties.isEmpty,
            },
        };
    }
    throw new AmqpError(
        'com.microsoft:argument-error',
        `READ of type ${JSON.stringify(type)} is not an Event Hubs management request (com.microsoft:eventhub or com.microsoft:partition)`,
        400,
    );
}

/** The client's sender: events arrive on `link`. */
function acceptSends(hub: LocalEventHub, link: Receiver, context: AmqpLinkContext): void {
    let partitionId: string | undefined;
    if (context.subPath !== '') {
        const match = /^partitions\/([^/]+)$/i.exec(context.subPath);
        if (match?.[1] === undefined) throw entityNotFound(context.address);
        partitionId = match[1];
        requirePartition(hub, partitionId);
    }
    if (capabilitiesOf(link, 'desired_capabilities').includes(IDEMPOTENT_PRODUCER_CAPABILITY)) {
        throw notImplemented('Idempotent publishing (enableIdempotentRetries)');
    }
    localAttach(link).max_message_size = hub.maxEventBytes;
    link.on('message', (event: EventContext & { format?: number }) => {
        const delivery = event.delivery;
        const refuse = (error: unknown): void => {
            const condition =
                error instanceof EventTooLargeError
                    ? 'amqp:link:message-size-exceeded'
                    : error instanceof AmqpError
                      ? error.condition
                      : 'amqp:internal-error';
            delivery?.reject({ condition, description: error instanceof Error ? error.message : String(error) });
        };
        try {
            const messages = transferredMessages(event);
            const events: EventDataToSend[] = messages.map((message) => eventFromMessage(message));
            const batchBytes = events.reduce((sum, sent) => sum + (sent.amqp?.encodedBytes ?? 0), 0);
            if (batchBytes > hub.maxEventBytes) {
                throw new EventTooLargeError(hub.name, batchBytes, hub.maxEventBytes);
            }
            const partitionKey = messages[0] === undefined ? undefined : partitionKeyOf(messages[0]);
            // Accepted once stored: a durable hub commits first (with the other sends of this turn).
            hub.sendAsync(events, {
                ...(partitionId !== undefined ? { partitionId } : {}),
                ...(partitionId === undefined && partitionKey !== undefined ? { partitionKey } : {}),
            }).then(() => delivery?.accept(), refuse);
        } catch (error) {
            refuse(error);
        }
    });
}

/** The client's receiver: the server sends events on `link`. */
function deliverEvents(
    hub: LocalEventHub,
    link: Sender,
    context: AmqpLinkContext,
    receivers: Map<string, Set<ActiveReceiver>>,
    clock: Clock,
): void {
    const match = /^consumergroups\/([^/]+)\/partitions\/([^/]+)$/i.exec(context.subPath);
    if (match?.[1] === undefined || match[2] === undefined) throw entityNotFound(context.address);
    const consumerGroup = hub.consumerGroups().find((group) => group.toLowerCase() === match[1]!.toLowerCase());
    if (consumerGroup === undefined) throw entityNotFound(`${hub.name}/ConsumerGroups/${match[1]}`);
    const partitionId = match[2];
    requirePartition(hub, partitionId);
    const position = parseEventPositionFilter(link.source?.filter);
    const epochValue = (link.properties as Record<string, unknown> | undefined)?.[EPOCH_PROPERTY];
    const epoch = typeof epochValue === 'number' ? epochValue : undefined;
    const key = `${hub.name}/${consumerGroup}/${partitionId}`.toLowerCase();
    const active = receivers.get(key) ?? new Set<ActiveReceiver>();
    receivers.set(key, active);
    admitReceiver(active, { link, epoch }, link.name);
    localAttach(link).max_message_size = hub.maxEventBytes;

    const withRuntimeMetrics = capabilitiesOf(link, 'desired_capabilities').includes(RUNTIME_METRIC_CAPABILITY);
    let next = hub.seek(partitionId, position);
    let unsubscribe: () => void = () => undefined;
    const pump = (): void => {
        if (!link.is_open()) {
            unsubscribe();
            return;
        }
        while (link.sendable()) {
            const credit = (link as unknown as { credit: number }).credit;
            let batch: ReceivedEventData[];
            try {
                batch = hub.read(partitionId, next, Math.min(credit, MAX_EVENTS_PER_PUMP));
            } catch (error) {
                // A durable hub whose store cannot give an event back (StateCorruptError, naming the file and the
                // event): the receiver gets the error as the service's internal error, rather than the events being
                // skipped or this handler throwing into the connection's event loop.
                unsubscribe();
                link.close({
                    condition: 'amqp:internal-error',
                    description: error instanceof Error ? error.message : String(error),
                });
                return;
            }
            if (batch.length === 0) return;
            for (const stored of batch) {
                if (!link.sendable()) return;
                link.send(withRuntimeMetrics ? withMetrics(hub, stored, clock) : messageFromEvent(stored));
                next = stored.sequenceNumber + 1;
            }
        }
    };
    unsubscribe = hub.onEventsAppended(partitionId, pump);
    link.on('sendable', pump);
    link.on('sender_close', () => {
        unsubscribe();
        for (const receiver of active) if (receiver.link === link) active.delete(receiver);
    });
}

/** Applies the owner-level rules (wire-protocols.md §4.3) to a new receiver, detaching those it displaces. */
function admitReceiver(active: Set<ActiveReceiver>, candidate: ActiveReceiver, name: string): void {
    for (const receiver of active) if (!receiver.link.is_open()) active.delete(receiver);
    const epochs = [...active].map((receiver) => receiver.epoch).filter((epoch) => epoch !== undefined);
    const highest = epochs.length === 0 ? undefined : Math.max(...epochs);
    if (candidate.epoch === undefined) {
        if (highest !== undefined) {
            throw new AmqpError(
                'amqp:link:stolen',
                `Receiver '${name}' cannot be created without an owner level: a receiver with epoch '${highest}' already exists on this partition and consumer group.`,
                410,
            );
        }
        if (active.size >= MAX_NON_EPOCH_RECEIVERS) {
            throw new AmqpError(
                'amqp:resource-limit-exceeded',
                `Exceeded the maximum number of allowed receivers per partition in a consumer group which is ${MAX_NON_EPOCH_RECEIVERS}.`,
                403,
            );
        }
    } else if (highest !== undefined && candidate.epoch < highest) {
        throw new AmqpError(
            'amqp:link:stolen',
            `Receiver '${name}' with epoch '${candidate.epoch}' cannot be created: a receiver with a higher epoch '${highest}' already exists. Create receivers with increasing epoch values.`,
            410,
        );
    } else {
        for (const receiver of active) {
            receiver.link.close({
                condition: 'amqp:link:stolen',
                description: `New receiver '${name}' with higher epoch of '${candidate.epoch}' is created hence current receiver '${receiver.link.name}' with epoch '${receiver.epoch ?? 'none'}' is getting disconnected.`,
            });
            active.delete(receiver);
        }
    }
    active.add(candidate);
}

function withMetrics(hub: LocalEventHub, stored: ReceivedEventData, clock: Clock): ReturnType<typeof messageFromEvent> {
    const message = messageFromEvent(stored);
    const properties = hub.getPartitionProperties(stored.partitionId);
    message.delivery_annotations = {
        last_enqueued_sequence_number: types.wrap_long(properties.lastEnqueuedSequenceNumber),
        last_enqueued_offset: properties.lastEnqueuedOffset,
        last_enqueued_time_utc: properties.lastEnqueuedOnUtc,
        runtime_info_retrieval_time_utc: clock.now(),
    };
    return message;
}

function requirePartition(hub: LocalEventHub, partitionId: string): void {
    if (!hub.partitionIds.includes(partitionId)) {
        throw new AmqpError(
            'com.microsoft:argument-out-of-range',
            `The specified partition ${JSON.stringify(partitionId)} is invalid for an EventHub partition sender or receiver. It should be between 0 and ${hub.partitionIds.length - 1}.`,
            400,
        );
    }
}

function localAttach(link: Sender | Receiver): Record<string, unknown> {
    return (link as unknown as { local: { attach: Record<string, unknown> } }).local.attach;
}

function capabilitiesOf(link: Sender | Receiver, field: 'desired_capabilities'): string[] {
    const value = (link as unknown as Record<string, unknown>)[field];
    if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
    return typeof value === 'string' ? [value] : [];
}
