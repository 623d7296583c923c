import type { IncomingMessage, ServerResponse } from 'node:http';

export class BodyTooLargeError extends Error {
    constructor(readonly limitBytes: number) {
        super(`Request body exceeds ${limitBytes} bytes`);
        this.name = 'BodyTooLargeError';
    }
}

/** Reads the body, refusing more than `limitBytes` (the service caps REST bodies at 1 MB). */
export async function readBody(request: IncomingMessage, limitBytes: number): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limitBytes) throw new BodyTooLargeError(limitBytes);
        chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
): void {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    response.end(text);
}

export function sendEmpty(response: ServerResponse, status: number, headers: Record<string, string> = {}): void {
    response.writeHead(status, headers);
    response.end();
}

export function bearerToken(request: IncomingMessage, url: URL): string | undefined {
    const header = request.headers.authorization;
    if (header?.toLowerCase().startsWith('bearer ')) return header.slice('bearer '.length).trim();
    return url.searchParams.get('access_token') ?? undefined;
}

/**
 * Browser clients call negotiate cross-origin with credentials, so the origin is echoed (never `*`) and
 * credentials allowed, as the service's default CORS (`allowedOrigins: ['*']`) behaves.
 */
export function corsHeaders(request: IncomingMessage): Record<string, string> {
    const origin = request.headers.origin;
    if (!origin) return {};
    return {
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': 'authorization, content-type, x-requested-with, x-signalr-user-agent',
        vary: 'Origin',
    };
}
