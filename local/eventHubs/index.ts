export { EventTooLargeError, InvalidEventHubArgumentError } from './errors';
export type { EncodedEvent, EventHubSnapshot, EventHubStore } from './eventHubStore';
export type { EventDataToSend, PartitionProperties, ReceivedEventData, SendOptions } from './events';
export {
    type Checkpoint,
    DEFAULT_CONSUMER_GROUP,
    type EventHubStats,
    type EventHubSubscription,
    LocalEventHub,
    type LocalEventHubOptions,
    type PartitionStats,
    type StartPosition,
    type SubscribeOptions,
} from './localEventHub';
export { partitionIndexForKey } from './partitionKeyHash';
export type { PartitionErrorContext } from './partitionPump';
export { EVENT_HUBS_STATE_COMPONENT, SqliteEventHubStore } from './sqliteEventHubStore';
