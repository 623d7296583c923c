import { request as httpRequest } from 'node:http';

import { afterEach, describe, expect, it } from 'vitest';

import {
    type ExtraHandler,
    type HttpHost,
    type HttpHostOptions,
    type RpcHttpRequest,
    type RpcHttpResponse,
    startHttpHost,
} from '../../../../local/host/triggers/httpTrigger';

interface Reply {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
}

/** Plain node:http, so Origin and preflight headers go out exactly as written. */
function send(
    host: HttpHost,
    method: string,
    path: string,
    options: { headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
    return new Promise((resolve, reject) => {
        const req = httpRequest(`${host.url}${path}`, { method, headers: options.headers ?? {} }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
            );
        });
        req.on('error', reject);
        req.end(options.body);
    });
}

function corsHeaders(reply: Reply): Record<string, unknown> {
    return Object.fromEntries(
        Object.entries(reply.headers).filter(([name]) => name.startsWith('access-control-') || name === 'vary'),
    );
}

describe('startHttpHost', () => {
    const hosts: HttpHost[] = [];
    const invocations: Array<{ functionName: string; request: RpcHttpRequest }> = [];
    const errors: Array<{ functionName: string; error: unknown }> = [];

    async function start(overrides: Partial<HttpHostOptions> = {}): Promise<HttpHost> {
        const host = await startHttpHost({
            port: 0,
            host: '127.0.0.1',
            routePrefix: 'api',
            corsOrigins: ['http://allowed.test'],
            corsCredentials: false,
            functions: [
                { functionName: 'getItem', route: 'items/{id}', methods: ['get'] },
                { functionName: 'postItem', route: 'items/{id}', methods: ['POST'] },
                { functionName: 'fail', route: 'fail', methods: ['GET'] },
                { functionName: 'empty', route: 'empty', methods: ['GET'] },
            ],
            invoke: (functionName, request): Promise<RpcHttpResponse | undefined> => {
                invocations.push({ functionName, request });
                if (functionName === 'fail') {
                    return Promise.reject(new Error('handler blew up'));
                }
                if (functionName === 'empty') {
                    return Promise.resolve(undefined);
                }
                return Promise.resolve({
                    statusCode: '201',
                    headers: { 'content-type': 'text/plain', 'x-function': functionName },
                    body: { bytes: Buffer.from(`hello ${request.params.id ?? ''}`) },
                });
            },
            onError: (functionName, error) => errors.push({ functionName, error }),
            ...overrides,
        });
        hosts.push(host);
        return host;
    }

    afterEach(async () => {
        await Promise.all(hosts.splice(0).map((host) => host.close()));
        invocations.length = 0;
        errors.length = 0;
    });

    it('invokes the function whose route and method match, with route parameters, headers, query and body', async () => {
        const host = await start();
        const reply = await send(host, 'POST', '/api/items/a%20b?x=1', {
            headers: { 'content-type': 'application/json', 'x-custom': 'yes' },
            body: '{"n":1}',
        });
        expect({ status: reply.status, body: reply.body, fn: reply.headers['x-function'] }).toEqual({
            status: 201,
            body: 'hello a b',
            fn: 'postItem',
        });
        expect(invocations).toHaveLength(1);
        const { functionName, request } = invocations[0]!;
        expect({ ...request, body: Buffer.from(request.body!.bytes).toString() }).toEqual({
            method: 'POST',
            url: `${host.url}/api/items/a%20b?x=1`,
            headers: {
                host: host.url.replace('http://', ''),
                connection: 'keep-alive',
                'content-type': 'application/json',
                'x-custom': 'yes',
                'content-length': '7',
            },
            params: { id: 'a b' },
            body: '{"n":1}',
        });
        expect(functionName).toBe('postItem');
    });

    it('matches declared methods case-insensitively and omits an empty body', async () => {
        const host = await start();
        const reply = await send(host, 'GET', '/API/Items/7');
        expect(reply.status).toBe(201);
        expect(invocations.map(({ functionName, request }) => ({ functionName, body: request.body }))).toEqual([
            { functionName: 'getItem', body: undefined },
        ]);
    });

    it('answers 404 for an unknown route, a method no function declares, and a path outside the prefix', async () => {
        const host = await start();
        expect((await send(host, 'GET', '/api/nothing')).status).toBe(404);
        expect((await send(host, 'DELETE', '/api/items/7')).status).toBe(404);
        expect((await send(host, 'GET', '/items/7')).status).toBe(404);
        expect((await send(host, 'GET', '/apiitems/7')).status).toBe(404);
        expect(invocations).toEqual([]);
    });

    it('serves routes at the root when the route prefix is empty', async () => {
        const host = await start({ routePrefix: '' });
        expect((await send(host, 'GET', '/items/3')).body).toBe('hello 3');
    });

    it('answers a function that returns nothing with 204', async () => {
        const host = await start();
        const reply = await send(host, 'GET', '/api/empty');
        expect({ status: reply.status, body: reply.body }).toEqual({ status: 204, body: '' });
    });

    it('turns an invocation error into a bare 500 and reports it to onError', async () => {
        const host = await start();
        const reply = await send(host, 'GET', '/api/fail');
        expect({ status: reply.status, body: reply.body }).toEqual({ status: 500, body: '' });
        expect(errors).toEqual([{ functionName: 'fail', error: new Error('handler blew up') }]);
    });

    it('answers a CORS preflight from an allowed origin without invoking anything', async () => {
        const host = await start({ corsCredentials: true });
        const reply = await send(host, 'OPTIONS', '/api/items/1', {
            headers: {
                origin: 'http://allowed.test',
                'access-control-request-method': 'POST',
                'access-control-request-headers': 'content-type, x-custom',
            },
        });
        expect(reply.status).toBe(204);
        expect(corsHeaders(reply)).toEqual({
            'access-control-allow-origin': 'http://allowed.test',
            'access-control-allow-credentials': 'true',
            'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
            'access-control-allow-headers': 'content-type, x-custom',
            vary: 'Origin',
        });
        expect(invocations).toEqual([]);
    });

    it('adds CORS headers to responses for allowed origins only', async () => {
        const host = await start();
        expect(
            corsHeaders(await send(host, 'GET', '/api/items/1', { headers: { origin: 'http://allowed.test' } })),
        ).toEqual({
            'access-control-allow-origin': 'http://allowed.test',
            vary: 'Origin',
        });
        expect(
            corsHeaders(await send(host, 'GET', '/api/items/1', { headers: { origin: 'http://evil.test' } })),
        ).toEqual({});
        expect(corsHeaders(await send(host, 'GET', '/api/items/1'))).toEqual({});
    });

    it('gives a preflight from a disallowed origin no CORS headers', async () => {
        const host = await start();
        const reply = await send(host, 'OPTIONS', '/api/items/1', {
            headers: { origin: 'http://evil.test', 'access-control-request-method': 'POST' },
        });
        expect(reply.status).toBe(204);
        expect(corsHeaders(reply)).toEqual({});
    });

    it('allows any origin with "*"', async () => {
        const host = await start({ corsOrigins: ['*'] });
        const reply = await send(host, 'GET', '/api/items/1', { headers: { origin: 'http://anyone.test' } });
        expect(reply.headers['access-control-allow-origin']).toBe('http://anyone.test');
    });

    it('rejects a body over maxBodyBytes with 413', async () => {
        const host = await start({ maxBodyBytes: 10 });
        const reply = await send(host, 'POST', '/api/items/1', { body: '12345678901' });
        expect({ status: reply.status, body: reply.body }).toEqual({
            status: 413,
            body: 'Request body larger than 10 bytes',
        });
        expect(invocations).toEqual([]);
        expect((await send(host, 'POST', '/api/items/1', { body: '1234567890' })).status).toBe(201);
    });

    it('routes before reading the body: no route is 404 whatever the body, and an extra handler gets 413 too', async () => {
        const host = await start({
            maxBodyBytes: 10,
            extraHandlers: [
                async (request, response, readBody) => {
                    if (request.url !== '/_local/upload') {
                        return false;
                    }
                    const body = await readBody();
                    response.writeHead(200).end(body);
                    return true;
                },
            ],
        });
        const oversized = { body: 'x'.repeat(1_000) };
        expect([
            (await send(host, 'POST', '/api/nothing/here', oversized)).status,
            (await send(host, 'PUT', '/api/items/1', oversized)).status,
            (await send(host, 'POST', '/_local/upload', oversized)).status,
            (await send(host, 'POST', '/_local/upload', { body: 'small' })).body,
        ]).toEqual([404, 404, 413, 'small']);
        expect(invocations).toEqual([]);
        expect(errors).toEqual([]);
    });

    it('offers each request to the extra handlers first, in order, then to the functions', async () => {
        const seen: string[] = [];
        const first: ExtraHandler = async (request, response, readBody) => {
            seen.push(`first ${request.url ?? ''} ${(await readBody()).toString()}`);
            if (request.url === '/api/items/owned') {
                response.writeHead(200).end('extra');
                return true;
            }
            return false;
        };
        const second: ExtraHandler = (request) => {
            seen.push(`second ${request.url ?? ''}`);
            return Promise.resolve(false);
        };
        const host = await start({ extraHandlers: [first, second] });
        expect((await send(host, 'POST', '/api/items/owned', { body: 'b' })).body).toBe('extra');
        expect((await send(host, 'GET', '/api/items/9')).body).toBe('hello 9');
        expect(seen).toEqual(['first /api/items/owned b', 'first /api/items/9 ', 'second /api/items/9']);
        expect(invocations.map((i) => i.functionName)).toEqual(['getItem']);
    });

    it('reports an extra handler that throws as a host error and answers 500', async () => {
        const host = await start({
            extraHandlers: [
                () => {
                    throw new Error('extra failed');
                },
            ],
        });
        expect((await send(host, 'GET', '/api/items/1')).status).toBe(500);
        expect(errors).toEqual([{ functionName: '(http host)', error: new Error('extra failed') }]);
    });

    it('gives up quietly on a client that goes away mid-body, and keeps serving others', async () => {
        let settled: string | undefined;
        const host = await start({
            extraHandlers: [
                async (request, _response, readBody) => {
                    if (request.url !== '/_local/slow') {
                        return false;
                    }
                    await readBody().then(
                        () => (settled = 'read'),
                        (error: Error) => (settled = error.message),
                    );
                    return true;
                },
            ],
        });
        await new Promise<void>((resolve) => {
            const req = httpRequest(`${host.url}/_local/slow`, {
                method: 'POST',
                headers: { 'content-length': '1000' },
            });
            req.on('error', () => resolve());
            req.write('only part of it');
            setTimeout(() => req.destroy(), 50);
            req.on('close', () => resolve());
        });
        for (let waited = 0; settled === undefined && waited < 2_000; waited += 10) {
            await new Promise((resolve) => setTimeout(resolve, 10));
        }
        expect(settled).toBe('The client closed the request before sending the whole body');
        expect((await send(host, 'GET', '/api/items/3')).body).toBe('hello 3');
        expect(errors).toEqual([]);
    });

    it('cuts off a response whose handler failed after starting it, instead of leaving the client waiting', async () => {
        const host = await start({
            extraHandlers: [
                async (_request, response) => {
                    response.writeHead(200);
                    await Promise.resolve();
                    throw new Error('failed mid-response');
                },
            ],
        });
        await expect(send(host, 'GET', '/anything')).rejects.toThrow(/socket hang up|ECONNRESET|aborted/);
        expect(errors).toEqual([{ functionName: '(http host)', error: new Error('failed mid-response') }]);
    });

    it('listens on the port it reports and stops accepting after close', async () => {
        const host = await start();
        expect(host.url).toBe(`http://127.0.0.1:${host.port}`);
        await host.close();
        hosts.splice(hosts.indexOf(host), 1);
        await expect(send(host, 'GET', '/api/items/1')).rejects.toThrow('ECONNREFUSED');
    });
});
