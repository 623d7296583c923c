export { AccessTokenRejectedError, signAccessToken, verifyAccessToken } from './accessToken';
export type {
    ConnectionInfoOptions,
    SendSignalRMessagesOptions,
    SignalRConnectionInfo,
    SignalRGroupAction,
    SignalRMessage,
    SignalROutput,
} from './bindings';
export { createConnectionInfo, InvalidSignalROutputError, sendSignalRMessages, SignalRRestError } from './bindings';
export type { SignalRConnectionString } from './connectionString';
export { InvalidSignalRConnectionStringError, maskAccessKey, parseSignalRConnectionString } from './connectionString';
export type { LocalSignalR, LocalSignalROptions, LocalSignalRStats } from './localSignalR';
export { EMULATOR_ACCESS_KEY, startLocalSignalR } from './localSignalR';
