import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';

import { ConfigurationError } from '../../domain/errors';

/** The only files the dashboard function serves, by extension; anything else is a 404. */
const CONTENT_TYPES: Record<string, string> = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.svg': 'image/svg+xml',
    '.map': 'application/json; charset=utf-8',
    '.png': 'image/png',
    '.txt': 'text/plain; charset=utf-8',
};

export type StaticPath =
    | { kind: 'file'; absolutePath: string; contentType: string }
    | { kind: 'invalid'; reason: string }
    | { kind: 'unknown' };

/**
 * Maps the route's `{*path}` (already URL-decoded by the host) to a file under `root`, refusing anything that could
 * leave it: `..` or `.` segments, backslashes, NUL, drive letters, and hidden files. An empty path is index.html.
 * The final containment check guards against whatever the segment rules missed.
 */
export function resolveStaticPath(root: string, requestPath: string | undefined): StaticPath {
    const relative = requestPath ?? '';
    if (/[\\\0:]/.test(relative)) {
        return { kind: 'invalid', reason: 'backslash, NUL or colon in path' };
    }
    const segments = relative.split('/').filter((segment) => segment !== '');
    if (segments.some((segment) => segment === '..' || segment === '.')) {
        return { kind: 'invalid', reason: 'dot segment in path' };
    }
    if (segments.some((segment) => segment.startsWith('.'))) {
        return { kind: 'unknown' };
    }
    const name = segments.length === 0 ? 'index.html' : segments.join('/');
    const contentType = CONTENT_TYPES[path.extname(name).toLowerCase()];
    if (!contentType) {
        return { kind: 'unknown' };
    }
    const absoluteRoot = path.resolve(root);
    const absolutePath = path.resolve(absoluteRoot, name);
    if (!absolutePath.startsWith(absoluteRoot + path.sep)) {
        return { kind: 'invalid', reason: 'path leaves the static root' };
    }
    return { kind: 'file', absolutePath, contentType };
}

/**
 * Finds dashboard/dist by walking up from this module, so it resolves from the TypeScript sources (vitest) and from
 * the compiled dist/functions tree alike, in Azure too (the deployment package keeps dashboard/dist at its root).
 */
export function findDashboardDist(from: string = __dirname): string {
    for (let directory = from; ; directory = path.dirname(directory)) {
        const candidate = path.join(directory, 'dashboard', 'dist');
        if (existsSync(path.join(candidate, 'index.html'))) {
            return candidate;
        }
        if (path.dirname(directory) === directory) {
            throw new ConfigurationError(
                'dashboard files',
                from,
                'no dashboard/dist/index.html in this folder or above; run `npm run build`',
            );
        }
    }
}

/** A strong validator for a file's bytes, so browsers can revalidate with If-None-Match. */
export function etagFor(body: Uint8Array): string {
    return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}
