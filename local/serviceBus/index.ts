export { lockTokenToDeliveryTag, serveQueueOverAmqp } from './amqpQueueEndpoint';
export {
    DeadLetterNotFoundError,
    InvalidQueueOptionError,
    MessageLockLostError,
    MessageNotFoundError,
    MessageSizeExceededError,
} from './errors';
export {
    DEAD_LETTER_QUEUE_SUFFIX,
    LocalServiceBusQueue,
    type LocalServiceBusQueueOptions,
    MAX_DELIVERY_COUNT_EXCEEDED,
    type ReceiveMode,
    type SentMessage,
    type SettlementOptions,
    TTL_EXPIRED_EXCEPTION,
} from './localServiceBusQueue';
export type {
    ApplicationProperties,
    ApplicationPropertyValue,
    DeadLetteredServiceBusMessage,
    PeekedServiceBusMessage,
    ReceivedServiceBusMessage,
    ServiceBusMessageState,
    ServiceBusMessageToSend,
} from './messages';
export {
    type PersistedServiceBusEntity,
    type PersistedServiceBusMessage,
    SERVICE_BUS_STATE_COMPONENT,
    type ServiceBusMessageStore,
    SqliteServiceBusMessageStore,
} from './messageStore';
export type {
    ProcessorErrorContext,
    ProcessorPhase,
    QueueProcessorHandle,
    QueueProcessorOptions,
} from './queueProcessor';
