import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { HttpRequest } from '@azure/functions';
import { afterAll, describe, expect, it } from 'vitest';

import { createDashboardHandler } from '../../functions/dashboard';
import { dashboardContentSecurityPolicy, signalRConnectSources } from '../../functions/shared/contentSecurityPolicy';
import { etagFor, findDashboardDist, resolveStaticPath } from '../../functions/shared/staticFiles';
import { createTestContext } from '../support/invocation';

const root = mkdtempSync(path.join(tmpdir(), 'dashboard-test-'));
const dist = path.join(root, 'dashboard', 'dist');
mkdirSync(path.join(dist, 'nested'), { recursive: true });
writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>t</title>');
writeFileSync(path.join(dist, 'main.js'), 'console.log(1);');
writeFileSync(path.join(dist, 'styles.css'), 'body{}');
writeFileSync(path.join(dist, '.env'), 'SECRET=1');
writeFileSync(path.join(root, 'dashboard', 'secret.txt'), 'outside the root');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const env = {
    AzureSignalRConnectionString: 'Endpoint=http://127.0.0.1;Port=8888;AccessKey=abc==;Version=1.0;',
};
const CSP =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
    "connect-src 'self' http://127.0.0.1:8888 ws://127.0.0.1:8888; base-uri 'none'; form-action 'none'; " +
    "frame-ancestors 'none'";

const handler = createDashboardHandler({ root: () => dist, read: (file) => readFile(file) }, env);

async function get(url: string, pathParam?: string, headers: Record<string, string> = {}) {
    const { context, logs } = createTestContext();
    const request = new HttpRequest({
        method: 'GET',
        url,
        headers,
        params: pathParam === undefined ? {} : { path: pathParam },
    });
    return { response: await handler(request, context), logs };
}

function headersFor(contentType: string, body: string) {
    return {
        'Content-Type': contentType,
        'Cache-Control': 'no-cache',
        ETag: etagFor(Buffer.from(body)),
        'Content-Security-Policy': CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
    };
}

describe('dashboard', () => {
    it('serves index.html for the folder URL, with its security headers', async () => {
        const { response } = await get('http://localhost/api/dashboard/');
        expect(response).toEqual({
            status: 200,
            headers: headersFor('text/html; charset=utf-8', '<!doctype html><title>t</title>'),
            body: Buffer.from('<!doctype html><title>t</title>'),
        });
    });

    it.each([
        ['main.js', 'text/javascript; charset=utf-8', 'console.log(1);'],
        ['styles.css', 'text/css; charset=utf-8', 'body{}'],
    ])('serves %s as %s', async (file, contentType, body) => {
        const { response } = await get(`http://localhost/api/dashboard/${file}`, file);
        expect(response).toEqual({ status: 200, headers: headersFor(contentType, body), body: Buffer.from(body) });
    });

    it('redirects /api/dashboard to /api/dashboard/ so relative URLs resolve, keeping the query', async () => {
        const { response } = await get('http://localhost/api/dashboard?x=1');
        expect(response).toEqual({
            status: 301,
            headers: { Location: '/api/dashboard/?x=1', 'Cache-Control': 'no-cache' },
        });
    });

    it('answers 304 when the browser already has this version', async () => {
        const etag = etagFor(Buffer.from('console.log(1);'));
        const { response } = await get('http://localhost/api/dashboard/main.js', 'main.js', {
            'If-None-Match': `"other", ${etag}`,
        });
        expect(response).toEqual({
            status: 304,
            headers: headersFor('text/javascript; charset=utf-8', 'console.log(1);'),
        });
    });

    it.each([
        ['../secret.txt'],
        ['nested/../../secret.txt'],
        ['..\\secret.txt'],
        ['./index.html'],
        ['C:/windows/win.ini'],
        ['index.html\0.js'],
    ])('refuses the path %j with 400', async (pathParam) => {
        const { response, logs } = await get('http://localhost/api/dashboard/x', pathParam);
        expect(response).toEqual({ status: 400, body: 'Bad path' });
        expect(logs).toHaveLength(1);
        expect(logs[0]!.level).toBe('warning');
    });

    it.each([['missing.js'], ['nested'], ['.env'], ['main.ts'], ['nested/none.css']])(
        'answers 404 for %j',
        async (pathParam) => {
            expect((await get(`http://localhost/api/dashboard/${pathParam}`, pathParam)).response).toEqual({
                status: 404,
            });
        },
    );

    it('answers 500 and logs why when the dashboard was never built', async () => {
        const unbuilt = createDashboardHandler({
            root: () => findDashboardDist(tmpdir()),
            read: (file) => readFile(file),
        });
        const { context, logs } = createTestContext();
        const response = await unbuilt(
            new HttpRequest({ method: 'GET', url: 'http://localhost/api/dashboard/' }),
            context,
        );
        expect(response).toEqual({ status: 500, body: 'The dashboard is not built on this instance.' });
        expect(logs[0]!.message).toContain('no dashboard/dist/index.html in this folder or above; run `npm run build`');
    });
});

describe('resolveStaticPath', () => {
    it('maps the empty path to index.html and nested paths under the root', () => {
        expect(resolveStaticPath('/srv/app', '')).toEqual({
            kind: 'file',
            absolutePath: path.resolve('/srv/app/index.html'),
            contentType: 'text/html; charset=utf-8',
        });
        expect(resolveStaticPath('/srv/app', 'a/b/icon.svg')).toEqual({
            kind: 'file',
            absolutePath: path.resolve('/srv/app/a/b/icon.svg'),
            contentType: 'image/svg+xml',
        });
    });
});

describe('findDashboardDist', () => {
    it('walks up from a nested folder to the built dashboard', () => {
        const nested = path.join(root, 'dist', 'functions');
        mkdirSync(nested, { recursive: true });
        expect(findDashboardDist(nested)).toBe(dist);
    });
});

describe('signalRConnectSources', () => {
    it('reads the service URI of the identity-based settings the Bicep writes', () => {
        expect(
            signalRConnectSources({ AzureSignalRConnectionString__serviceUri: 'https://sig-x.service.signalr.net/' }),
        ).toEqual(['https://sig-x.service.signalr.net', 'wss://sig-x.service.signalr.net']);
    });

    it('reads a connection string with and without a port', () => {
        expect(signalRConnectSources(env)).toEqual(['http://127.0.0.1:8888', 'ws://127.0.0.1:8888']);
        expect(
            signalRConnectSources({
                AzureSignalRConnectionString: 'Endpoint=https://sig-x.service.signalr.net;AccessKey=k==;Version=1.0;',
            }),
        ).toEqual(['https://sig-x.service.signalr.net', 'wss://sig-x.service.signalr.net']);
    });

    it('falls back to any Azure SignalR Service host when no setting is readable', () => {
        expect(signalRConnectSources({ AzureSignalRConnectionString: 'garbage' })).toEqual([
            'https://*.service.signalr.net',
            'wss://*.service.signalr.net',
        ]);
    });

    it('builds the whole policy', () => {
        expect(dashboardContentSecurityPolicy(env)).toBe(CSP);
    });
});
