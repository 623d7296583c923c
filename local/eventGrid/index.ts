export type { PublishedCloudEvent } from './cloudEventBatch';
export { InvalidCloudEventsError, parseCloudEventBatch } from './cloudEventBatch';
export type {
    DeadLetterRecord,
    LocalEventGridTopic,
    LocalEventGridTopicOptions,
    RecentEvent,
    SubscriptionSettings,
    SubscriptionState,
} from './localEventGridTopic';
export { startLocalEventGridTopic } from './localEventGridTopic';
export type { PublishOptions } from './publish';
export { EventGridPublishError, publishToLocalEventGrid } from './publish';
export type { DeliveryOutcome, StatusMinimumDelaysMs } from './retryPolicy';
export { DEFAULT_RETRY_SCHEDULE_MS, DEFAULT_STATUS_MINIMUM_DELAYS_MS } from './retryPolicy';
export type { DeadLetterPayload, DeadLetterReason, DeliveryRecord } from './subscriptionDelivery';
export { EVENT_GRID_ORIGIN } from './webhookValidation';
