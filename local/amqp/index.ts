/**
 * The AMQP 1.0 server the local Service Bus and Event Hubs stand-ins share: one listener, claims-based authorization,
 * the `$cbs`/`$management` request/response pattern and an address router. Built on rhea (the library the Azure SDKs
 * use), in server mode. Protocol facts and their sources: ../shared/reference/wire-protocols.md §1-2.
 *
 * ```ts
 * const server = await startAmqpServer({
 *     port: 5672,                       // 0 in tests; read it back from server.port
 *     sharedAccessKeys: { RootManageSharedAccessKey: 'SAS_KEY_VALUE' },
 *     maxMessageSizeBytes: 262_144,     // default; announced as max-message-size on every attach
 *     clock,                            // token expiry is judged on this clock
 *     log: (line) => console.log(line), // refusals and dropped replies
 * });
 * const unregister = server.registerEntity('names', {
 *     onSenderLinkOpened(link, { address, subPath }) { ... },   // the client receives; the server sends on `link`
 *     onReceiverLinkOpened(link, { address, subPath }) { ... }, // the client sends; `link.on('message', ...)`
 *     onManagementRequest({ operation, body, subPath }) { return { statusCode: 200, body: {...} }; },
 * });
 * await server.close();
 * ```
 *
 * Connections. Plain TCP on `host` (default 127.0.0.1) — what core-amqp opens for a connection string with
 * `UseDevelopmentEmulator=true` (port from the endpoint, else 5672). SASL: rhea's server offers ANONYMOUS, which is
 * what the SDKs pick (they pass a user name and no password); clients without SASL are accepted too.
 *
 * Authorization (`$cbs`). A `put-token` request with a SAS token (`type` `servicebus.windows.net:sastoken`) signed
 * with one of `sharedAccessKeys` is answered `status-code` 202; a malformed token, unknown key name, bad signature,
 * expired token (`se` ≤ clock) or a resource not covering the requested audience gets 401 with
 * `error-condition` `amqp:unauthorized-access` (core-amqp turns that into `UnauthorizedError`). A granted claim
 * covers its audience path and everything below it, on that connection only. Every link except the `$cbs` pair needs
 * a live claim covering its address when it attaches, else it is refused with `amqp:unauthorized-access`. JWTs
 * (Entra ID) are not accepted. Links stay open when their token later expires (Azure would detach them).
 *
 * Routing. `registerEntity(address, handlers)` owns `address` and every path below it, matched case-insensitively;
 * the longest registered address wins. A link to `q/$DeadLetterQueue` reaches the handlers of `q` with
 * `subPath: '$DeadLetterQueue'`; `hub/ConsumerGroups/cg/Partitions/0` reaches `hub` with
 * `subPath: 'ConsumerGroups/cg/Partitions/0'`. Handlers are called after rhea opened the server end of the link and
 * after the server echoed the client's source and target, mirrored its settle modes and set max-message-size; the
 * attach reply is written when the handler returns. Throw an `AmqpError` (see errors.ts) from a link handler to refuse
 * the link: it is detached (closed) with that condition and description. Built-in refusals:
 * - an address nobody registered: `amqp:not-found`, "The messaging entity ... could not be found." (the SDKs map it
 *   to `MessagingEntityNotFoundError`);
 * - a link without an address (a transaction coordinator): `amqp:not-implemented`;
 * - an entity without the handler for that direction or for management: `amqp:not-implemented`.
 * Use `notImplemented(feature)` for features an entity leaves out (e.g. a session filter): never leave a link
 * unanswered.
 *
 * Request/response (`$management`). A link pair on `<address>/$management` goes to the owning entity's
 * `onManagementRequest` (with `subPath` the part between the entity and `/$management`); the bare address
 * `$management` (Event Hubs) goes to the entity registered as `'$management'`. The request's
 * `application-properties.operation`, its properties and body are passed in; the returned `{statusCode,
 * statusDescription?, applicationProperties?, body?}` is sent as the reply with `statusCode`/`statusDescription`
 * application properties (camelCase, as Service Bus replies), `correlation-id` = the request's `message-id`, on the
 * client's receiver whose link name or target address equals the request's `reply-to`. An `AmqpError` thrown (or
 * rejected) becomes `{statusCode: error.statusCode, statusDescription: error.message, errorCondition:
 * error.condition}`; any other error becomes 500 `amqp:internal-error`. Encode longs with rhea's `types.wrap_long`,
 * timestamps as `Date`.
 *
 * Settlement of incoming transfers: by default the server accepts each one after the entity's `message` listeners
 * ran (listeners must not throw: rhea is mid-frame). To refuse a send, set `settlesDeliveries: true` and call
 * `context.delivery.accept()` or `.reject({condition, description})` yourself; a rejected send fails the SDK's send
 * with that condition, e.g. `amqp:link:message-size-exceeded`.
 *
 * Transfers. `transferredMessages(context)` returns the messages in one incoming transfer: the message, or for a
 * batch (message format 0x80013700, as both SDKs send batches) every message in the envelope. Server links are
 * created with `treat_modified_as_released: false`, so `modified` (abandon/defer) and `released` stay distinct.
 */
export {
    type AmqpEntityHandlers,
    type AmqpLinkContext,
    type AmqpManagementRequest,
    type AmqpManagementResponse,
    type AmqpServer,
    type AmqpServerOptions,
    BATCH_MESSAGE_FORMAT,
    DEFAULT_MAX_MESSAGE_SIZE_BYTES,
    startAmqpServer,
    transferredMessages,
} from './amqpServer';
export { AmqpError, entityNotFound, notImplemented, unauthorized } from './errors';
export { coversPath, resourcePath, type SasClaim, validateSasToken } from './sasToken';
