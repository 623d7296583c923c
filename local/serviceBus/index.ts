export {
    DeadLetterNotFoundError,
    InvalidQueueOptionError,
    MessageLockLostError,
    MessageSizeExceededError,
} from './errors';
export {
    LocalServiceBusQueue,
    type LocalServiceBusQueueOptions,
    MAX_DELIVERY_COUNT_EXCEEDED,
    type SentMessage,
    TTL_EXPIRED_EXCEPTION,
} from './localServiceBusQueue';
export type {
    ApplicationProperties,
    ApplicationPropertyValue,
    DeadLetteredServiceBusMessage,
    ReceivedServiceBusMessage,
    ServiceBusMessageToSend,
} from './messages';
export type {
    ProcessorErrorContext,
    ProcessorPhase,
    QueueProcessorHandle,
    QueueProcessorOptions,
} from './queueProcessor';
