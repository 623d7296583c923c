import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { compileRoute } from './httpRoutes';

/** The request and response as the host and worker exchange them (RpcHttpData). */
export interface RpcHttpRequest {
    method: string;
    url: string;
    headers: Record<string, string>;
    params: Record<string, string>;
    body?: { bytes: Uint8Array };
}

export interface RpcHttpResponse {
    statusCode?: string;
    headers?: Record<string, string>;
    body?: { bytes?: Uint8Array; string?: string } | null;
    cookies?: unknown[];
}

export interface HttpFunctionRoute {
    functionName: string;
    route: string;
    methods: string[];
}

/**
 * Extra handlers served beside the functions (the local management endpoints); true = handled. The body is read
 * only if a handler asks for it, so a request nobody handles is never buffered.
 */
export type ExtraHandler = (
    request: IncomingMessage,
    response: ServerResponse,
    readBody: () => Promise<Buffer>,
) => Promise<boolean> | boolean;

/** The client went away before sending the whole body; there is nobody to answer. */
class RequestAbortedError extends Error {
    constructor() {
        super('The client closed the request before sending the whole body');
        this.name = 'RequestAbortedError';
    }
}

/** A request body over the host's limit; answered with 413. */
export class RequestBodyTooLargeError extends Error {
    constructor(readonly maxBytes: number) {
        super(`Request body larger than ${maxBytes} bytes`);
        this.name = 'RequestBodyTooLargeError';
    }
}

export interface HttpHostOptions {
    port: number;
    host: string;
    routePrefix: string;
    functions: HttpFunctionRoute[];
    /** Allowed CORS origins, as `Host.CORS` in local.settings.json (comma-separated, `*` for any). */
    corsOrigins: string[];
    corsCredentials: boolean;
    maxBodyBytes?: number;
    invoke: (functionName: string, request: RpcHttpRequest) => Promise<RpcHttpResponse | undefined>;
    onError: (functionName: string, error: unknown) => void;
    extraHandlers?: ExtraHandler[];
}

export interface HttpHost {
    url: string;
    port: number;
    close(): Promise<void>;
}

/**
 * Serves HTTP-triggered functions at `/{routePrefix}/{route}` like `func start`: methods are matched, route
 * parameters extracted, CORS answered from the Host settings, and an invocation failure becomes a bare 500 (the
 * error goes to the log, not to the caller). Like `func start`, auth levels are not enforced locally.
 */
export async function startHttpHost(options: HttpHostOptions): Promise<HttpHost> {
    const routes = options.functions.map((fn) => ({
        ...fn,
        matcher: compileRoute(fn.route),
        methods: fn.methods.map((m) => m.toUpperCase()),
    }));
    const prefix = options.routePrefix ? `/${options.routePrefix.replace(/^\/+|\/+$/g, '')}` : '';
    const maxBodyBytes = options.maxBodyBytes ?? 100 * 1024 * 1024;

    const server: Server = createServer((request, response) => {
        void handle(request, response).catch((error: unknown) => {
            if (error instanceof RequestAbortedError) {
                response.destroy();
                return;
            }
            const tooLarge = error instanceof RequestBodyTooLargeError;
            if (!tooLarge) {
                options.onError('(http host)', error);
            }
            if (!response.headersSent) {
                // After a 413 the rest of the body is unread, so the connection cannot carry another request.
                response
                    .writeHead(
                        tooLarge ? 413 : 500,
                        tooLarge ? { 'Content-Type': 'text/plain', Connection: 'close' } : {},
                    )
                    .end(tooLarge ? error.message : undefined);
            } else if (!response.writableEnded) {
                // A handler failed after starting its response: cut it off rather than leave the client waiting.
                response.destroy();
            }
        });
    });

    async function handle(request: IncomingMessage, response: ServerResponse) {
        const origin = request.headers.origin;
        const corsAllowed = origin !== undefined && isAllowedOrigin(origin);
        if (corsAllowed) {
            response.setHeader('Access-Control-Allow-Origin', origin);
            response.setHeader('Vary', 'Origin');
            if (options.corsCredentials) {
                response.setHeader('Access-Control-Allow-Credentials', 'true');
            }
        }
        if (request.method === 'OPTIONS' && origin && request.headers['access-control-request-method']) {
            // As ASP.NET Core's CORS middleware: a preflight from a disallowed origin gets no CORS headers at all.
            if (corsAllowed) {
                response.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS');
                const requested = request.headers['access-control-request-headers'];
                if (requested) {
                    response.setHeader('Access-Control-Allow-Headers', requested);
                }
            }
            response.writeHead(204).end();
            return;
        }
        let body: Promise<Buffer> | undefined;
        const readRequestBody = () => (body ??= readBody(request, maxBodyBytes));
        for (const extra of options.extraHandlers ?? []) {
            if (await extra(request, response, readRequestBody)) {
                return;
            }
        }
        const url = new URL(request.url ?? '/', `http://${request.headers.host ?? '127.0.0.1'}`);
        const path = url.pathname;
        if (!path.toLowerCase().startsWith(prefix.toLowerCase())) {
            response.writeHead(404).end();
            return;
        }
        const subPath = path.slice(prefix.length) || '/';
        const method = (request.method ?? 'GET').toUpperCase();
        for (const route of routes) {
            const params = route.matcher.match(subPath);
            if (!params || !route.methods.includes(method)) {
                continue;
            }
            await invoke(route.functionName, request, response, url, params, await readRequestBody());
            return;
        }
        response.writeHead(404).end();
    }

    async function invoke(
        functionName: string,
        request: IncomingMessage,
        response: ServerResponse,
        url: URL,
        params: Record<string, string>,
        body: Buffer,
    ) {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(request.headers)) {
            if (value !== undefined) {
                headers[name] = Array.isArray(value) ? value.join(', ') : value;
            }
        }
        let result: RpcHttpResponse | undefined;
        try {
            result = await options.invoke(functionName, {
                method: request.method ?? 'GET',
                url: url.toString(),
                headers,
                params,
                ...(body.length > 0 ? { body: { bytes: body } } : {}),
            });
        } catch (error) {
            options.onError(functionName, error);
            response.writeHead(500).end();
            return;
        }
        const status = Number(result?.statusCode ?? 204);
        for (const [name, value] of Object.entries(result?.headers ?? {})) {
            response.setHeader(name, value);
        }
        const payload = result?.body?.bytes ? Buffer.from(result.body.bytes) : Buffer.from(result?.body?.string ?? '');
        response.writeHead(result ? status : 204).end(payload);
    }

    function isAllowedOrigin(origin: string): boolean {
        return options.corsOrigins.includes('*') || options.corsOrigins.includes(origin);
    }

    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    return {
        url: `http://${options.host}:${port}`,
        port,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

/**
 * Buffers the body up to maxBytes. Past the limit it rejects and discards the rest as it arrives, instead of
 * destroying the request (which would take the socket, and the 413 on it, down too).
 */
function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let tooLarge = false;
        request.on('data', (chunk: Buffer) => {
            if (tooLarge) {
                return;
            }
            size += chunk.length;
            if (size > maxBytes) {
                tooLarge = true;
                chunks.length = 0;
                reject(new RequestBodyTooLargeError(maxBytes));
                return;
            }
            chunks.push(chunk);
        });
        request.on('end', () => resolve(Buffer.concat(chunks)));
        // A request stream fails only when its client goes away mid-body ('aborted'); and should it ever close
        // without 'end' or 'error', the request must not stay pending forever either.
        request.on('error', () => reject(new RequestAbortedError()));
        request.on('close', () => {
            if (!request.complete) {
                reject(new RequestAbortedError());
            }
        });
    });
}
