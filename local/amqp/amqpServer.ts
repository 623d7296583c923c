import type { AddressInfo, Server, Socket } from 'node:net';

import {
    type Connection,
    create_container,
    type EventContext,
    type Message,
    message as rheaMessage,
    type Receiver,
    type Sender,
} from 'rhea';

import { type Clock, systemClock } from '../../domain/clock';
import { AmqpError, entityNotFound, notImplemented, unauthorized } from './errors';
import { coversPath, type SasClaim, validateSasToken } from './sasToken';

/** Standard-tier Service Bus and Event Hubs limit (protocol guide; emulator quotas): announced on every link. */
export const DEFAULT_MAX_MESSAGE_SIZE_BYTES = 262_144;
/** Message format of an Azure batched transfer: one data section per encoded message (SB SDK `messageSender.ts`). */
export const BATCH_MESSAGE_FORMAT = 0x80013700;

export interface AmqpServerOptions {
    /** Defaults to 127.0.0.1: the stand-ins are for this machine. */
    host?: string;
    /** 0 picks a free port (tests). */
    port: number;
    /** Shared access key name → key; put-token accepts SAS tokens signed with these. */
    sharedAccessKeys: Readonly<Record<string, string>>;
    /** Announced in every attach as max-message-size; the SDKs size batches by it. */
    maxMessageSizeBytes?: number;
    /** Lets CBS tokens expire on a test clock. */
    clock?: Clock;
    /** The container id in the Open frame. */
    containerId?: string;
    log?: (line: string) => void;
}

/** What a handler learns about a link the client attached. */
export interface AmqpLinkContext {
    /** The address as the client sent it, e.g. `newnames-queue/$DeadLetterQueue`. */
    readonly address: string;
    /** The registered address that matched, as registered. */
    readonly entity: string;
    /** What follows the entity in the address (without the slash), '' when the address is the entity itself. */
    readonly subPath: string;
    readonly connection: Connection;
}

export interface AmqpManagementRequest {
    readonly entity: string;
    /** For `<entity>/<sub>/$management`, the `<sub>` part (e.g. `$DeadLetterQueue`); '' otherwise. */
    readonly subPath: string;
    readonly operation: string;
    readonly applicationProperties: Readonly<Record<string, unknown>>;
    readonly body: unknown;
    readonly message: Message;
    readonly connection: Connection;
}

export interface AmqpManagementResponse {
    /** 200 OK, 204 no content, ... */
    readonly statusCode: number;
    readonly statusDescription?: string;
    /** Extra application properties besides the status keys. */
    readonly applicationProperties?: Record<string, unknown>;
    /** Sent as an amqp-value section; wrap longs with rhea `types.wrap_long`. */
    readonly body?: unknown;
}

export interface AmqpEntityHandlers {
    /**
     * The client attached a receiver, so the server sends on `link`. The link is already opened (source, target and
     * settle modes echoed, max-message-size set) and its attach reply is written after this returns. Throw an
     * AmqpError to refuse the link with that condition.
     */
    onSenderLinkOpened?: (link: Sender, context: AmqpLinkContext) => void;
    /** The client attached a sender, so the server receives on `link` (listen for `message` on the link itself). */
    onReceiverLinkOpened?: (link: Receiver, context: AmqpLinkContext) => void;
    /**
     * False (default): the server accepts every incoming transfer after the entity's `message` listeners ran, so they
     * must not settle. True: the entity settles each delivery itself (`context.delivery.accept()`, or `.reject(error)`
     * to fail that send).
     */
    settlesDeliveries?: boolean;
    /** A request on `<entity>/$management`; an AmqpError becomes a reply with its status and condition. */
    onManagementRequest?: (request: AmqpManagementRequest) => AmqpManagementResponse | Promise<AmqpManagementResponse>;
}

export interface AmqpServer {
    readonly host: string;
    readonly port: number;
    readonly maxMessageSizeBytes: number;
    /** Routes links on `address` and `address/...` (case-insensitive) to the handlers; returns the unregister. */
    registerEntity(address: string, handlers: AmqpEntityHandlers): () => void;
    /** Open client connections. */
    readonly connectionCount: number;
    /** Closes every connection (with `amqp:connection:forced`) and stops listening. */
    close(): Promise<void>;
}

interface RegisteredEntity {
    readonly address: string;
    readonly handlers: AmqpEntityHandlers;
}

interface ConnectionState {
    readonly claims: SasClaim[];
    /** Server senders a reply can go to, by link name and by the client's target address (wire-protocols §2.3). */
    readonly replyLinks: Map<string, Sender>;
}

type RequestNode = { kind: 'cbs' } | { kind: 'management'; entity: RegisteredEntity; subPath: string };

const MANAGEMENT_NODE = '$management';
const CBS_NODE = '$cbs';

/**
 * Starts an AMQP 1.0 listener for the Service Bus and Event Hubs stand-ins. See index.ts for the contract.
 *
 * rhea does the protocol (frames, SASL ANONYMOUS as core-amqp negotiates it, flow control, heartbeats); this adds
 * what Azure layers on top and no library provides: claims-based authorization on `$cbs`, the request/response
 * pattern of `$cbs` and `$management`, and routing links to entities by address.
 */
export async function startAmqpServer(options: AmqpServerOptions): Promise<AmqpServer> {
    const host = options.host ?? '127.0.0.1';
    const clock = options.clock ?? systemClock;
    const log = options.log ?? (() => undefined);
    const maxMessageSizeBytes = options.maxMessageSizeBytes ?? DEFAULT_MAX_MESSAGE_SIZE_BYTES;
    const entities = new Map<string, RegisteredEntity>();
    const connections = new Map<Connection, ConnectionState>();
    const sockets = new Set<Socket>();
    const container = create_container({ id: options.containerId ?? 'namestream-local-amqp' });

    const stateOf = (connection: Connection): ConnectionState => {
        let state = connections.get(connection);
        if (state === undefined) {
            state = { claims: [], replyLinks: new Map() };
            connections.set(connection, state);
        }
        return state;
    };

    /** The longest registered address that is `address` or a parent path of it. */
    const resolve = (address: string): { entity: RegisteredEntity; subPath: string } | undefined => {
        const segments = address.split('/');
        for (let length = segments.length; length > 0; length--) {
            const entity = entities.get(segments.slice(0, length).join('/').toLowerCase());
            if (entity !== undefined) {
                return { entity, subPath: segments.slice(length).join('/') };
            }
        }
        return undefined;
    };

    const requestNodeOf = (address: string): RequestNode | undefined => {
        if (address === CBS_NODE) {
            return { kind: 'cbs' };
        }
        if (address.toLowerCase() === MANAGEMENT_NODE) {
            const entity = entities.get(MANAGEMENT_NODE);
            if (entity === undefined) {
                throw entityNotFound(address);
            }
            return { kind: 'management', entity, subPath: '' };
        }
        if (address.toLowerCase().endsWith(`/${MANAGEMENT_NODE}`)) {
            const owner = resolve(address.slice(0, -MANAGEMENT_NODE.length - 1));
            if (owner === undefined) {
                throw entityNotFound(address);
            }
            return { kind: 'management', entity: owner.entity, subPath: owner.subPath };
        }
        return undefined;
    };

    const authorize = (connection: Connection, address: string): void => {
        const path = address.toLowerCase();
        const nowMs = clock.now().getTime();
        const claims = stateOf(connection).claims;
        // Event Hubs clients put a token for `<hub>/$management` and then attach to the bare `$management` node.
        const covers =
            path === MANAGEMENT_NODE
                ? (claim: SasClaim) => claim.path === '' || claim.path.endsWith(`/${MANAGEMENT_NODE}`)
                : (claim: SasClaim) => coversPath(claim.path, path);
        if (!claims.some((claim) => claim.expiresAtMs > nowMs && covers(claim))) {
            throw unauthorized(`no valid token for ${JSON.stringify(address)}: put one on $cbs first`);
        }
    };

    const refuse = (link: Sender | Receiver, error: unknown): void => {
        const amqp = error instanceof AmqpError ? error : new AmqpError('amqp:internal-error', String(error));
        log(`[amqp] refused link ${link.name}: ${amqp.condition} ${amqp.message}`);
        link.close({ condition: amqp.condition, description: amqp.message });
    };

    const onLinkOpen = (link: Sender | Receiver, role: 'sender' | 'receiver'): void => {
        // The SDKs read source, target, settle modes and max-message-size from the server's attach (wire-protocols
        // §2.1), so echo what the client asked for.
        const attach = (link as unknown as { local: { attach: Record<string, unknown> } }).local.attach;
        if (link.source) {
            link.set_source(link.source);
        }
        if (link.target) {
            link.set_target(link.target);
        }
        attach.snd_settle_mode = link.snd_settle_mode;
        attach.rcv_settle_mode = link.rcv_settle_mode;
        attach.max_message_size = maxMessageSizeBytes;
        const terminus = role === 'sender' ? link.source : link.target;
        const address = terminus?.address;
        try {
            if (typeof address !== 'string' || address === '') {
                // rhea cannot unwrap a transaction coordinator target, so it arrives as null: that is the only way
                // an SDK attaches without an address.
                throw notImplemented('Transactions (a coordinator link or a link without an address)');
            }
            const node = requestNodeOf(address);
            if (node !== undefined) {
                openRequestNodeLink(link, role, node, address);
                return;
            }
            const owner = resolve(address);
            if (owner === undefined) {
                throw entityNotFound(address);
            }
            authorize(link.connection, address);
            const context: AmqpLinkContext = {
                address,
                entity: owner.entity.address,
                subPath: owner.subPath,
                connection: link.connection,
            };
            if (role === 'sender') {
                const handler = owner.entity.handlers.onSenderLinkOpened;
                if (handler === undefined) {
                    throw notImplemented(`Receiving from ${JSON.stringify(address)}`);
                }
                handler(link as Sender, context);
            } else {
                const handler = owner.entity.handlers.onReceiverLinkOpened;
                if (handler === undefined) {
                    throw notImplemented(`Sending to ${JSON.stringify(address)}`);
                }
                handler(link as Receiver, context);
                if (owner.entity.handlers.settlesDeliveries !== true) {
                    link.on('message', (messageContext: EventContext) => messageContext.delivery?.accept());
                }
            }
        } catch (error) {
            refuse(link, error);
        }
    };

    const openRequestNodeLink = (
        link: Sender | Receiver,
        role: 'sender' | 'receiver',
        node: RequestNode,
        address: string,
    ): void => {
        if (node.kind === 'management') {
            authorize(link.connection, address);
        }
        if (role === 'sender') {
            // The client's reply receiver: responses go here when a request's reply-to names it.
            const replyLinks = stateOf(link.connection).replyLinks;
            const keys = [link.name, link.target?.address].filter((key): key is string => typeof key === 'string');
            keys.forEach((key) => replyLinks.set(key, link as Sender));
            link.on('sender_close', () => keys.forEach((key) => replyLinks.delete(key)));
            return;
        }
        link.on('message', (context: EventContext) => {
            context.delivery?.accept();
            const request = context.message;
            if (request !== undefined) {
                void answerRequest(link.connection, node, request);
            }
        });
    };

    const answerRequest = async (connection: Connection, node: RequestNode, request: Message): Promise<void> => {
        const applicationProperties = (request.application_properties ?? {}) as Record<string, unknown>;
        const operation = stringOf(applicationProperties.operation);
        let reply: Message;
        if (node.kind === 'cbs') {
            reply = answerCbs(connection, operation, applicationProperties, request.body);
        } else {
            reply = await answerManagement(node, connection, operation, applicationProperties, request);
        }
        reply.correlation_id = request.message_id;
        reply.to = request.reply_to;
        const replyTo = request.reply_to;
        const replyLink = replyTo === undefined ? undefined : stateOf(connection).replyLinks.get(replyTo);
        if (replyLink === undefined || !replyLink.is_open()) {
            log(`[amqp] dropped the reply to ${operation}: no open link named by reply-to ${JSON.stringify(replyTo)}`);
            return;
        }
        replyLink.send(reply);
    };

    // CBS replies use the hyphenated keys (protocol guide, "Claims-based authorization"; core-amqp cbs.ts reads them).
    const answerCbs = (
        connection: Connection,
        operation: string,
        applicationProperties: Record<string, unknown>,
        token: unknown,
    ): Message => {
        try {
            if (operation !== 'put-token') {
                throw new AmqpError('amqp:not-implemented', `Unknown $cbs operation ${JSON.stringify(operation)}`, 501);
            }
            const audience = stringOf(applicationProperties.name);
            const claim = validateSasToken(token, audience, options.sharedAccessKeys, clock.now().getTime());
            stateOf(connection).claims.push(claim);
            return { application_properties: { 'status-code': 202, 'status-description': 'Accepted' }, body: null };
        } catch (error) {
            const amqp = error instanceof AmqpError ? error : new AmqpError('amqp:internal-error', String(error));
            log(`[amqp] $cbs refused: ${amqp.message}`);
            return {
                application_properties: {
                    'status-code': amqp.statusCode,
                    'status-description': amqp.message,
                    'error-condition': amqp.condition,
                },
                body: null,
            };
        }
    };

    // Management replies use camelCase keys (request-response doc; the SB SDK's peek tests `statusCode` by name).
    const answerManagement = async (
        node: Extract<RequestNode, { kind: 'management' }>,
        connection: Connection,
        operation: string,
        applicationProperties: Record<string, unknown>,
        request: Message,
    ): Promise<Message> => {
        try {
            const handler = node.entity.handlers.onManagementRequest;
            if (handler === undefined) {
                throw notImplemented(`The management operation ${JSON.stringify(operation)}`);
            }
            const response = await handler({
                entity: node.entity.address,
                subPath: node.subPath,
                operation,
                applicationProperties,
                body: request.body,
                message: request,
                connection,
            });
            return {
                application_properties: {
                    ...response.applicationProperties,
                    statusCode: response.statusCode,
                    statusDescription:
                        response.statusDescription ?? (response.statusCode === 204 ? 'No Content' : 'OK'),
                },
                body: response.body ?? null,
            };
        } catch (error) {
            const amqp = error instanceof AmqpError ? error : new AmqpError('amqp:internal-error', String(error));
            if (!(error instanceof AmqpError)) {
                log(`[amqp] ${operation} on ${node.entity.address} failed: ${String(error)}`);
            }
            return {
                application_properties: {
                    statusCode: amqp.statusCode,
                    statusDescription: amqp.message,
                    errorCondition: amqp.condition,
                },
                body: null,
            };
        }
    };

    container.on('sender_open', (context: EventContext) => onLinkOpen(context.sender!, 'sender'));
    container.on('receiver_open', (context: EventContext) => onLinkOpen(context.receiver!, 'receiver'));
    container.on('connection_open', (context: EventContext) => {
        stateOf(context.connection);
    });
    const forget = (context: EventContext) => {
        connections.delete(context.connection);
    };
    container.on('connection_close', forget);
    container.on('disconnected', forget);
    // rhea prints unhandled errors; a client going away mid-link is normal for a server.
    for (const event of ['error', 'connection_error', 'session_error', 'sender_error', 'receiver_error']) {
        container.on(event, (context: EventContext & { error?: unknown }) =>
            log(`[amqp] ${event}: ${String(context.error)}`),
        );
    }

    const server: Server = container.listen({
        host,
        port: options.port,
        // A server link inherits these: keep `modified` (abandon, defer) distinct from `released` (wire-protocols
        // §3.4), and settle incoming transfers here or in the entity (see settlesDeliveries), not in rhea.
        sender_options: { treat_modified_as_released: false },
        receiver_options: { autoaccept: false },
    } as Parameters<typeof container.listen>[0]);
    server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolveListen, reject) => {
        server.once('listening', resolveListen);
        server.once('error', reject);
    });
    const port = (server.address() as AddressInfo).port;
    log(`[amqp] listening on amqp://${host}:${port}`);

    return {
        host,
        port,
        maxMessageSizeBytes,
        registerEntity(address, handlers) {
            const key = address.toLowerCase();
            if (entities.has(key)) {
                throw new Error(`An AMQP entity is already registered at ${JSON.stringify(address)}`);
            }
            entities.set(key, { address, handlers });
            return () => {
                if (entities.get(key)?.handlers === handlers) {
                    entities.delete(key);
                }
            };
        },
        get connectionCount() {
            return connections.size;
        },
        async close() {
            for (const connection of connections.keys()) {
                connection.close({
                    condition: 'amqp:connection:forced',
                    description: 'The local AMQP server is stopping',
                });
            }
            connections.clear();
            await new Promise<void>((resolveClose) => {
                server.close(() => resolveClose());
                // Give the close frames a moment to leave, then cut what is left.
                setTimeout(() => sockets.forEach((socket) => socket.destroy()), 50).unref();
            });
        },
    };
}

/**
 * The messages in one transfer: the message itself, or for an Azure batch (message format 0x80013700) each message
 * encoded in the envelope's data sections. rhea hands a non-zero format over undecoded (rhea `session.js`).
 */
export function transferredMessages(context: EventContext & { format?: number }): Message[] {
    const raw = context.message as unknown;
    if (context.format === undefined || context.format === 0) {
        return raw === undefined ? [] : [raw as Message];
    }
    if (context.format !== BATCH_MESSAGE_FORMAT || !Buffer.isBuffer(raw)) {
        throw new AmqpError('amqp:not-implemented', `Message format ${context.format} is not supported`, 501);
    }
    const envelope = rheaMessage.decode(raw) as unknown as { body?: { content?: unknown; multiple?: boolean } };
    const section = envelope.body;
    const content = section?.content;
    const parts = section?.multiple ? (content as Buffer[]) : content === undefined ? [] : [content as Buffer];
    return parts.map((part) => rheaMessage.decode(part) as unknown as Message);
}

function stringOf(value: unknown): string {
    return typeof value === 'string' ? value : '';
}
