import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Clock } from '../../domain/clock';
import { AccessTokenRejectedError, verifyAccessToken } from './accessToken';
import { restAudiences, serviceBases } from './audiences';
import { bearerToken, BodyTooLargeError, readBody, sendEmpty, sendJson } from './httpUtil';
import { invocationFrame } from './hubProtocol';
import type { HubRegistry } from './hubRegistry';
import { matchRestRoute, type RestOperation, type RestRoute } from './restRoutes';
import type { SignalRCounters } from './signalRStats';

/** The service refuses REST bodies over 1 MB (signalr-reference-data-plane-rest-api.md). */
const MAX_BODY_BYTES = 1024 * 1024;
const HUB_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

export interface RestApiOptions {
    registry: HubRegistry;
    counters: SignalRCounters;
    accessKey: string;
    clock: Clock;
    port: () => number;
}

interface PayloadMessage {
    target: string;
    arguments: unknown[];
}

class BadRequest extends Error {}

/** Serves the data-plane REST API (v1 and 2022-06-01) with AccessKey JWT auth. */
export class RestApiHandler {
    constructor(private readonly options: RestApiOptions) {}

    async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
        const route = matchRestRoute(request.method ?? 'GET', url.pathname);
        if (!route)
            return sendJson(response, 404, {
                code: 'NotFound',
                message: `No API at ${request.method} ${url.pathname}`,
            });
        this.options.counters.restRequests += 1;
        if (route.family === '2022-06-01' && !url.searchParams.get('api-version')) {
            return sendJson(response, 400, {
                code: 'BadRequest',
                message: 'The api-version query parameter is required.',
            });
        }
        if (route.operation.kind !== 'health') {
            if (!HUB_NAME.test(route.operation.hub)) {
                return sendJson(response, 400, {
                    code: 'BadRequest',
                    message: `Hub name ${JSON.stringify(route.operation.hub)} must start with a letter and contain only letters, digits or underscore.`,
                });
            }
            const rejected = await this.authenticate(request, url);
            if (rejected) {
                this.options.counters.unauthorizedRequests += 1;
                return sendJson(response, 401, { code: 'Unauthorized', message: rejected });
            }
        }
        try {
            await this.execute(route, request, response, url);
        } catch (error: unknown) {
            if (error instanceof BodyTooLargeError) {
                return sendJson(response, 413, { code: 'PayloadTooLarge', message: error.message });
            }
            if (error instanceof BadRequest)
                return sendJson(response, 400, { code: 'BadRequest', message: error.message });
            throw error;
        }
    }

    private async authenticate(request: IncomingMessage, url: URL): Promise<string | undefined> {
        try {
            const audiences = restAudiences(serviceBases(request.headers.host, this.options.port()), url.pathname);
            await verifyAccessToken(
                bearerToken(request, url),
                this.options.accessKey,
                audiences,
                this.options.clock.now(),
            );
            return undefined;
        } catch (error: unknown) {
            if (error instanceof AccessTokenRejectedError) return error.message;
            throw error;
        }
    }

    private async execute(
        route: RestRoute,
        request: IncomingMessage,
        response: ServerResponse,
        url: URL,
    ): Promise<void> {
        const { registry, counters } = this.options;
        const op: RestOperation = route.operation;
        // v1 answers 202 to every write; 2022-06-01 answers 202 to sends and 200 to membership changes.
        const done = (current: number): void => sendEmpty(response, route.family === 'v1' ? 202 : current);
        const exists = (found: boolean): void => sendEmpty(response, found ? 200 : 404);
        const excluded = new Set(url.searchParams.getAll('excluded'));
        switch (op.kind) {
            case 'health':
                return sendEmpty(response, 200);
            case 'broadcast': {
                const message = await readPayload(request);
                counters.messagesDelivered += registry.broadcast(
                    op.hub,
                    invocationFrame(message.target, message.arguments),
                    excluded,
                );
                return done(202);
            }
            case 'sendToUser': {
                const message = await readPayload(request);
                counters.messagesDelivered += registry.sendToUser(
                    op.hub,
                    op.user,
                    invocationFrame(message.target, message.arguments),
                );
                return done(202);
            }
            case 'sendToGroup': {
                const message = await readPayload(request);
                counters.messagesDelivered += registry.sendToGroup(
                    op.hub,
                    op.group,
                    invocationFrame(message.target, message.arguments),
                    excluded,
                );
                return done(202);
            }
            case 'sendToConnection': {
                const message = await readPayload(request);
                counters.messagesDelivered += registry.sendToConnection(
                    op.hub,
                    op.connectionId,
                    invocationFrame(message.target, message.arguments),
                );
                return done(202);
            }
            case 'addUserToGroup':
                registry.addUserToGroup(op.hub, op.group, op.user);
                return done(200);
            case 'removeUserFromGroup':
                registry.removeUserFromGroup(op.hub, op.group, op.user);
                return done(200);
            case 'removeUserFromAllGroups':
                registry.removeUserFromAllGroups(op.hub, op.user);
                return done(200);
            case 'userInGroup':
                return exists(registry.userInGroup(op.hub, op.group, op.user));
            case 'addConnectionToGroup':
                if (!registry.addConnectionToGroup(op.hub, op.group, op.connectionId)) return sendEmpty(response, 404);
                return done(200);
            case 'removeConnectionFromGroup':
                registry.removeConnectionFromGroup(op.hub, op.group, op.connectionId);
                return done(200);
            case 'removeConnectionFromAllGroups':
                registry.removeConnectionFromAllGroups(op.hub, op.connectionId);
                return done(200);
            case 'closeConnection': {
                const reason = url.searchParams.get('reason') ?? undefined;
                registry.connection(op.hub, op.connectionId)?.close(reason, false);
                return done(200);
            }
            case 'connectionExists':
                return exists(registry.connection(op.hub, op.connectionId) !== undefined);
            case 'userExists':
                return exists(registry.userExists(op.hub, op.user));
            case 'groupExists':
                return exists(registry.groupExists(op.hub, op.group));
        }
    }
}

async function readPayload(request: IncomingMessage): Promise<PayloadMessage> {
    const text = await readBody(request, MAX_BODY_BYTES);
    let body: unknown;
    try {
        body = JSON.parse(text);
    } catch {
        throw new BadRequest(`The body is not JSON (got ${JSON.stringify(text.slice(0, 120))})`);
    }
    if (typeof body !== 'object' || body === null) throw new BadRequest('The body must be a JSON object.');
    const { target, arguments: args } = body as { target?: unknown; arguments?: unknown };
    if (typeof target !== 'string' || target === '') {
        throw new BadRequest(`"target" must be a non-empty string (got ${JSON.stringify(target) ?? 'undefined'})`);
    }
    if (args !== undefined && args !== null && !Array.isArray(args)) {
        throw new BadRequest(`"arguments" must be an array (got ${JSON.stringify(args)})`);
    }
    return { target, arguments: Array.isArray(args) ? (args as unknown[]) : [] };
}
