export type {
    ChangeFeedProcessorHandle,
    ChangeFeedProcessorOptions,
    ChangeFeedRetryPolicy,
} from './changeFeed/changeFeedProcessor';
export { startChangeFeedProcessor } from './changeFeed/changeFeedProcessor';
export type { ChangedDocument } from './changeFeed/changeFeedReader';
export type { LeaseDocument } from './changeFeed/leaseStore';
export { leaseIdFor } from './changeFeed/leaseStore';
export type { ContainerDefinition, CosmosResources } from './cosmosResources';
export { ensureCosmosResources } from './cosmosResources';
export { COSMOS_STATE_COMPONENT, type CosmosStateLoad } from './cosmosState';
export { EMULATOR_ACCOUNT_KEY, parseConnectionString, toConnectionString } from './emulatorAccount';
export { InvalidCosmosConnectionStringError, InvalidCosmosOptionError, LeaseLostError } from './errors';
export type { LocalCosmosClientOptions } from './localCosmosClient';
export { createLocalCosmosClient } from './localCosmosClient';
export type { LocalCosmos, LocalCosmosOptions } from './localCosmosServer';
export { startLocalCosmos } from './localCosmosServer';
export type { TtlSweeper, TtlSweeperOptions } from './ttlSweeper';
export { effectiveTtlSeconds, startTtlSweeper } from './ttlSweeper';
