import { readFile } from 'node:fs/promises';

import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';

import { dashboardContentSecurityPolicy } from './shared/contentSecurityPolicy';
import { etagFor, findDashboardDist, resolveStaticPath } from './shared/staticFiles';

export interface DashboardFiles {
    /** The folder holding the built dashboard (index.html, main.js, ...). */
    root(): string;
    read(absolutePath: string): Promise<Buffer>;
}

/**
 * Serves the built dashboard from the function app's own origin, so the page reaches `negotiate` and
 * `letter-counts` without CORS. `/api/dashboard` redirects to `/api/dashboard/` because index.html loads its
 * files by relative URL. The file names carry no content hash, hence `no-cache` with an ETag: browsers revalidate
 * and get a 304 instead of running a stale script after a deployment.
 */
export function createDashboardHandler(files: DashboardFiles, env: NodeJS.ProcessEnv = process.env) {
    return async function dashboard(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
        const url = new URL(request.url);
        const requestPath = request.params.path;
        if (!requestPath && !url.pathname.endsWith('/')) {
            return { status: 301, headers: { Location: `${url.pathname}/${url.search}`, 'Cache-Control': 'no-cache' } };
        }
        let root: string;
        try {
            root = files.root();
        } catch (error) {
            context.error('Cannot serve the dashboard:', error);
            return { status: 500, body: 'The dashboard is not built on this instance.' };
        }
        const resolved = resolveStaticPath(root, requestPath);
        if (resolved.kind === 'invalid') {
            context.warn(`Refused dashboard path ${JSON.stringify(requestPath)}: ${resolved.reason}`);
            return { status: 400, body: 'Bad path' };
        }
        if (resolved.kind === 'unknown') {
            return { status: 404 };
        }
        let body: Buffer;
        try {
            body = await files.read(resolved.absolutePath);
        } catch (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') {
                return { status: 404 };
            }
            throw error;
        }
        const etag = etagFor(body);
        const headers = {
            'Content-Type': resolved.contentType,
            'Cache-Control': 'no-cache',
            ETag: etag,
            'Content-Security-Policy': dashboardContentSecurityPolicy(env),
            'X-Content-Type-Options': 'nosniff',
            'Referrer-Policy': 'no-referrer',
        };
        if (
            request.headers
                .get('if-none-match')
                ?.split(/\s*,\s*/)
                .includes(etag)
        ) {
            return { status: 304, headers };
        }
        return { status: 200, headers, body };
    };
}

let dashboardRoot: string | undefined;

export const dashboard = createDashboardHandler({
    root: () => (dashboardRoot ??= findDashboardDist()),
    read: (absolutePath) => readFile(absolutePath),
});

app.http('dashboard', {
    route: 'dashboard/{*path}',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: dashboard,
});
