import { type Clock, systemClock } from '../../domain/clock';
import { NamestreamError, quote } from '../../domain/errors';
import { signAccessToken } from './accessToken';
import { parseSignalRConnectionString, type SignalRConnectionString } from './connectionString';

/** What the `signalRConnectionInfo` input binding yields and a `negotiate` function returns as JSON. */
export interface SignalRConnectionInfo {
    url: string;
    accessToken: string;
}

export interface ConnectionInfoOptions {
    hubName: string;
    userId?: string;
    lifetimeSeconds?: number;
    clock?: Clock;
}

/**
 * Mints client connection info as the input binding does: url `<endpoint>/client/?hub=<hub>` (Port applied) and an
 * HS256 token whose `aud` is the same URL built from Endpoint alone, carrying the user id as `asrs.s.uid`.
 */
export async function createConnectionInfo(
    connectionString: string,
    options: ConnectionInfoOptions,
): Promise<SignalRConnectionInfo> {
    const parsed = parseSignalRConnectionString(connectionString);
    const hub = checkedHubName(options.hubName);
    const accessToken = await signAccessToken({
        audience: `${parsed.audienceEndpoint}/client/?hub=${hub}`,
        accessKey: parsed.accessKey,
        now: (options.clock ?? systemClock).now(),
        lifetimeSeconds: options.lifetimeSeconds ?? 3600,
        claims: options.userId ? { 'asrs.s.uid': options.userId } : {},
    });
    return { url: `${parsed.endpoint}/client/?hub=${hub}`, accessToken };
}

/** A message for the `signalR` output binding. No userId/groupName/connectionId means broadcast. */
export interface SignalRMessage {
    target: string;
    arguments: unknown[];
    userId?: string;
    groupName?: string;
    connectionId?: string;
}

/** A group action for the `signalR` output binding. */
export interface SignalRGroupAction {
    action: 'add' | 'remove';
    userId?: string;
    connectionId?: string;
    groupName: string;
}

export type SignalROutput = SignalRMessage | SignalRGroupAction;

export class InvalidSignalROutputError extends NamestreamError {
    readonly code = 'InvalidSignalROutput';
    constructor(
        readonly value: unknown,
        readonly reason: string,
    ) {
        super(`Invalid SignalR output: ${reason} (got ${quote(value)})`);
        this.name = 'InvalidSignalROutputError';
    }
}

export class SignalRRestError extends NamestreamError {
    readonly code = 'SignalRRest';
    constructor(
        readonly method: string,
        readonly url: string,
        readonly status: number,
        readonly body: string,
    ) {
        super(`SignalR REST ${method} ${url} answered ${status}: ${body.slice(0, 300)}`);
        this.name = 'SignalRRestError';
    }
}

export interface SendSignalRMessagesOptions {
    clock?: Clock;
    /** Token lifetime for each REST call; the Management SDK uses short-lived tokens. */
    tokenLifetimeSeconds?: number;
}

/**
 * Delivers what a function wrote to its `signalR` output binding, in order, through the data-plane REST API
 * (2022-06-01 paths, api-version query, AccessKey JWT per request) - the same calls the Functions extension makes
 * through the Management SDK, so it works against this stand-in and against a real service alike.
 */
export async function sendSignalRMessages(
    connectionString: string,
    hubName: string,
    messages: SignalROutput | readonly SignalROutput[],
    options: SendSignalRMessagesOptions = {},
): Promise<void> {
    const parsed = parseSignalRConnectionString(connectionString);
    const hub = checkedHubName(hubName).toLowerCase();
    const list: readonly unknown[] = Array.isArray(messages) ? messages : [messages];
    for (const item of list) {
        const request = toRestRequest(hub, item);
        await callRest(parsed, request, options);
    }
}

interface RestRequest {
    method: 'POST' | 'PUT' | 'DELETE';
    path: string;
    body?: { target: string; arguments: unknown[] };
}

function toRestRequest(hub: string, item: unknown): RestRequest {
    if (typeof item !== 'object' || item === null) throw new InvalidSignalROutputError(item, 'must be an object');
    const value = item as Record<string, unknown>;
    const userId = optionalString(value, 'userId');
    const groupName = optionalString(value, 'groupName');
    const connectionId = optionalString(value, 'connectionId');
    const base = `/api/hubs/${encodeURIComponent(hub)}`;
    if (value.action !== undefined) {
        if (value.action !== 'add' && value.action !== 'remove') {
            throw new InvalidSignalROutputError(item, 'action must be "add" or "remove"');
        }
        if (!groupName) throw new InvalidSignalROutputError(item, 'a group action needs groupName');
        const method = value.action === 'add' ? 'PUT' : 'DELETE';
        if (userId) {
            return {
                method,
                path: `${base}/users/${encodeURIComponent(userId)}/groups/${encodeURIComponent(groupName)}`,
            };
        }
        if (connectionId) {
            return {
                method,
                path: `${base}/groups/${encodeURIComponent(groupName)}/connections/${encodeURIComponent(connectionId)}`,
            };
        }
        throw new InvalidSignalROutputError(item, 'a group action needs userId or connectionId');
    }
    if (typeof value.target !== 'string' || value.target === '') {
        throw new InvalidSignalROutputError(item, 'target must be a non-empty string');
    }
    if (value.arguments !== undefined && !Array.isArray(value.arguments)) {
        throw new InvalidSignalROutputError(item, 'arguments must be an array');
    }
    const body = { target: value.target, arguments: (value.arguments as unknown[] | undefined) ?? [] };
    // Precedence as in the extension: user, then group, then connection, else everyone.
    if (userId) return { method: 'POST', path: `${base}/users/${encodeURIComponent(userId)}/:send`, body };
    if (groupName) return { method: 'POST', path: `${base}/groups/${encodeURIComponent(groupName)}/:send`, body };
    if (connectionId)
        return { method: 'POST', path: `${base}/connections/${encodeURIComponent(connectionId)}/:send`, body };
    return { method: 'POST', path: `${base}/:send`, body };
}

async function callRest(
    connection: SignalRConnectionString,
    request: RestRequest,
    options: SendSignalRMessagesOptions,
): Promise<void> {
    const url = `${connection.endpoint}${request.path}?api-version=2022-06-01`;
    const token = await signAccessToken({
        audience: `${connection.audienceEndpoint}${request.path}`,
        accessKey: connection.accessKey,
        now: (options.clock ?? systemClock).now(),
        lifetimeSeconds: options.tokenLifetimeSeconds ?? 300,
    });
    const response = await fetch(url, {
        method: request.method,
        headers: {
            authorization: `Bearer ${token}`,
            ...(request.body ? { 'content-type': 'application/json' } : {}),
        },
        ...(request.body ? { body: JSON.stringify(request.body) } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw new SignalRRestError(request.method, url, response.status, text);
}

function optionalString(value: Record<string, unknown>, key: string): string | undefined {
    const field = value[key];
    if (field === undefined || field === null || field === '') return undefined;
    if (typeof field !== 'string') throw new InvalidSignalROutputError(value, `${key} must be a string`);
    return field;
}

function checkedHubName(hubName: string): string {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(hubName)) {
        throw new InvalidSignalROutputError(
            hubName,
            'hub name must start with a letter and contain only letters, digits or underscore',
        );
    }
    return hubName;
}
