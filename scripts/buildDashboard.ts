import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

import { build } from 'esbuild';

/** The files index.html loads besides the bundle; copied as they are. */
const STATIC_FILES = ['index.html', 'styles.css', 'icon.svg'];

/** Walks up from here to the folder holding dashboard/index.html: works from scripts/ (tsx) and dist/scripts/. */
function findDashboardSource(from: string): string {
    for (let directory = from; ; directory = path.dirname(directory)) {
        const candidate = path.join(directory, 'dashboard');
        if (existsSync(path.join(candidate, 'index.html'))) {
            return candidate;
        }
        if (path.dirname(directory) === directory) {
            throw new Error(`No dashboard/index.html in ${from} or any folder above it`);
        }
    }
}

/**
 * `node dist/scripts/buildDashboard.js`: bundles dashboard/src/main.ts with @microsoft/signalr into one script
 * (no CDN, so the page needs nothing but its own origin) and writes it with the static files to dashboard/dist/,
 * which functions/dashboard.ts serves.
 */
async function main(): Promise<void> {
    const source = findDashboardSource(__dirname);
    const out = path.join(source, 'dist');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const result = await build({
        entryPoints: [path.join(source, 'src', 'main.ts')],
        outfile: path.join(out, 'main.js'),
        bundle: true,
        format: 'iife',
        platform: 'browser',
        // Evergreen browsers of the last few years, phones included.
        target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
        minify: true,
        sourcemap: 'linked',
        legalComments: 'linked',
        metafile: true,
        logLevel: 'warning',
    });
    for (const file of STATIC_FILES) {
        copyFileSync(path.join(source, file), path.join(out, file));
    }
    const bytes = statSync(path.join(out, 'main.js')).size;
    console.log(
        `dashboard: ${path.relative(process.cwd(), out)}/main.js ${(bytes / 1024).toFixed(1)} KiB from ${Object.keys(result.metafile.inputs).length} modules`,
    );
}

main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
});
