import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';

import { type Browser, chromium, type Page, type WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';

import type { WindowRenderRecord } from '../../dashboard/src/renderLog';
import { BUCKETS } from '../../domain/names/firstLetter';
import { parseIsoUtc } from '../../domain/time';
import { createLocalCosmosClient } from '../../local/cosmos';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime/localRuntime';

const APP_ROOT = path.resolve(__dirname, '../..');
const RESULTS = path.join(APP_ROOT, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
];
const WINDOW_SECONDS = 5;
const LATE_ARRIVAL_SECONDS = 2;
const POLL = { timeout: 30_000, interval: 200 };
/** Live windows to measure; each takes one window length. */
const LIVE_SAMPLES = 8;
/** NAMESTREAM_DOCS_SCREENSHOT=1 also writes docs/images/dashboard.png, once the heatmap has filled up a little. */
const DOCS_SCREENSHOT = process.env.NAMESTREAM_DOCS_SCREENSHOT === '1';

/** letter -> count per window end, every letter present: how both the page and the store are compared. */
type WindowCounts = Record<string, Record<string, number>>;

function requireBuildAndBrowser(): void {
    for (const file of ['dist/functions/dashboard.js', 'dashboard/dist/main.js', 'dashboard/dist/index.html']) {
        if (!existsSync(path.join(APP_ROOT, file))) {
            throw new Error(`${file} is missing: run "npm run build" before the browser test`);
        }
    }
    if (!existsSync(CHROMIUM)) {
        throw new Error(
            `No Chromium at ${CHROMIUM}: install it with "apt-get install -y chromium" (or set CHROMIUM_PATH)`,
        );
    }
}

/** What the page shows, read from the data-* attributes the view writes next to the visible numbers. */
async function readPage(page: Page) {
    return page.evaluate(() => {
        const heatmap: Record<string, Record<string, number>> = {};
        for (const row of document.querySelectorAll<HTMLElement>('#heatmap tbody tr')) {
            const counts: Record<string, number> = {};
            for (const cell of row.querySelectorAll<HTMLElement>('td')) {
                counts[cell.dataset.letter!] = Number(cell.dataset.count);
                if (cell.textContent !== cell.dataset.count) {
                    throw new Error(`Cell ${row.dataset.windowEnd}/${cell.dataset.letter} shows "${cell.textContent}"`);
                }
            }
            heatmap[row.dataset.windowEnd!] = counts;
        }
        const bars: Record<string, number> = {};
        for (const item of document.querySelectorAll<HTMLElement>('#bars li')) {
            bars[item.dataset.letter!] = Number(item.dataset.count);
        }
        return {
            heatmap,
            bars,
            barsWindowEnd: document.getElementById('bars')!.dataset.windowEnd!,
            totalNames: Number(document.getElementById('total-names')!.dataset.value),
            state: document.getElementById('connection')!.dataset.connectionState!,
            stateText: document.getElementById('connection-text')!.textContent,
        };
    });
}

/** Every letter-count document the pipeline stored, read straight from the local Cosmos DB. */
async function readStore(runtime: LocalRuntime): Promise<WindowCounts> {
    const client = createLocalCosmosClient(runtime.cosmos.connectionString, { ca: runtime.cosmos.ca });
    const { resources } = await client
        .database(runtime.settings.COSMOS_DATABASE!)
        .container(runtime.settings.LETTER_COUNTS_CONTAINER!)
        .items.query<{ windowEnd: string; letter: string; count: number }>('SELECT * FROM c')
        .fetchAll();
    const windows: WindowCounts = {};
    for (const { windowEnd, letter, count } of resources) {
        const key = parseIsoUtc(windowEnd)!.toISOString();
        windows[key] ??= Object.fromEntries(BUCKETS.map((l) => [l, 0]));
        windows[key][letter] = count;
    }
    return windows;
}

/** The stored windows the page should hold: the newest 20, as the dashboard keeps. */
function newest(windows: WindowCounts, count = 20): WindowCounts {
    return Object.fromEntries(
        Object.entries(windows)
            .sort(([a], [b]) => a.localeCompare(b))
            .slice(-count),
    );
}

function percentile(sorted: number[], p: number): number {
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('dashboard in headless Chromium', () => {
    let runtime: LocalRuntime;
    let browser: Browser;
    const runtimeLog: string[] = [];
    const pageLog: string[] = [];

    beforeAll(async () => {
        requireBuildAndBrowser();
        runtime = await startLocalRuntime({
            appRoot: APP_ROOT,
            ephemeralPorts: true,
            windowSeconds: WINDOW_SECONDS,
            jobSettings: {
                eventsLateArrivalMaxDelayInSeconds: LATE_ARRIVAL_SECONDS,
                eventsOutOfOrderMaxDelayInSeconds: 1,
            },
            settings: { GENERATE_NAMES_SCHEDULE: '* * * * * *' },
            log: (line) => runtimeLog.push(line),
        });
        browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
        mkdirSync(RESULTS, { recursive: true });
    });

    afterAll(async () => {
        await browser?.close();
        await runtime?.stop();
    });

    it(
        'shows what the pipeline stored, live, and catches up after the connection drops',
        { timeout: 120_000 },
        async () => {
            onTestFailed(() => console.log([...runtimeLog.slice(-30), ...pageLog.slice(-30)].join('\n')));
            const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
            const page = await context.newPage();
            const pageErrors: string[] = [];
            page.on('pageerror', (error) => pageErrors.push(error.message));
            page.on('console', (message) => pageLog.push(`[page] ${message.type()}: ${message.text()}`));
            await page.addInitScript(() => {
                const violations: string[] = [];
                (window as unknown as { cspViolations: string[] }).cspViolations = violations;
                document.addEventListener('securitypolicyviolation', (event) =>
                    violations.push(`${event.violatedDirective} ${event.blockedURI}`),
                );
            });
            // The SignalR WebSocket goes through a route, so the test can cut it as a network drop would.
            const sockets: WebSocketRoute[] = [];
            await page.routeWebSocket(/\/client\/?\?/, (socket) => {
                sockets.push(socket);
                socket.connectToServer();
            });

            await page.goto(`${runtime.urls.functions}/api/dashboard`);
            expect(page.url()).toBe(`${runtime.urls.functions}/api/dashboard/`);
            await expect.poll(async () => (await readPage(page)).state, POLL).toBe('connected');
            await expect
                .poll(async () => Object.keys((await readPage(page)).heatmap).length, { ...POLL, timeout: 40_000 })
                .toBeGreaterThanOrEqual(2);

            // The page shows exactly what Cosmos DB holds: every window, every letter, the latest bars and the total.
            await untilEqual(async () => {
                const [page_, stored] = [await readPage(page), newest(await readStore(runtime))];
                const latestEnd = Object.keys(stored).sort().at(-1)!;
                const { heatmap, bars, barsWindowEnd, totalNames } = page_;
                return {
                    shown: { heatmap, bars, barsWindowEnd, totalNames },
                    stored: {
                        heatmap: stored,
                        bars: stored[latestEnd],
                        barsWindowEnd: latestEnd,
                        totalNames: Object.values(stored).reduce(
                            (sum, counts) => sum + Object.values(counts).reduce((a, b) => a + b, 0),
                            0,
                        ),
                    },
                };
            });

            // Drop the network: the open WebSocket dies and negotiate cannot be reached until it comes back.
            const shownAtDrop = Object.keys((await readPage(page)).heatmap)
                .sort()
                .at(-1)!;
            await context.setOffline(true);
            for (const socket of sockets.splice(0)) {
                await socket.close({ code: 4000, reason: 'network dropped by the test' });
            }
            await expect.poll(async () => (await readPage(page)).state, POLL).toBe('reconnecting');
            expect((await readPage(page)).stateText).toBe('Reconnecting…');

            // A window closes and is broadcast while the page is away (its Event Grid event follows the SignalR send).
            await expect
                .poll(
                    () =>
                        runtime.eventGrid
                            .recentEvents()
                            .map(({ event }) => (event.data as { windowEnd: string }).windowEnd)
                            .filter((end) => end > shownAtDrop).length,
                    POLL,
                )
                .toBeGreaterThanOrEqual(1);
            const missed = runtime.eventGrid
                .recentEvents()
                .map(({ event }) => (event.data as { windowEnd: string }).windowEnd)
                .find((end) => end > shownAtDrop)!;
            expect(Object.keys((await readPage(page)).heatmap)).not.toContain(missed);

            await context.setOffline(false);
            await expect.poll(async () => (await readPage(page)).state, POLL).toBe('connected');
            await untilEqual(async () => ({
                shown: (await readPage(page)).heatmap[missed],
                stored: (await readStore(runtime))[missed],
            }));
            const records = await page.evaluate(() => window.namestreamDashboard!.renderLog.entries());
            expect(records.find((record) => record.windowEnd === missed)?.source).toBe('backfill');

            // Let a few more windows arrive live for the latency sample and the screenshot.
            await expect
                .poll(async () => (await renderLog(page)).filter((record) => record.source === 'live').length, {
                    ...POLL,
                    timeout: 40_000,
                })
                .toBeGreaterThanOrEqual(LIVE_SAMPLES);

            expect(pageErrors).toEqual([]);
            expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual(
                [],
            );

            await page.screenshot({
                path: path.join(RESULTS, 'dashboard.png'),
                fullPage: true,
                animations: 'disabled',
            });
            if (DOCS_SCREENSHOT) {
                await expect
                    .poll(async () => Object.keys((await readPage(page)).heatmap).length, { ...POLL, timeout: 60_000 })
                    .toBeGreaterThanOrEqual(12);
                await page.screenshot({
                    path: path.join(APP_ROOT, 'docs', 'images', 'dashboard.png'),
                    fullPage: true,
                    animations: 'disabled',
                });
            }
            writeLatencyReport(await renderLog(page));

            // Keyboard: the skip link comes first, then the scrollable heatmap region.
            await page.keyboard.press('Tab');
            expect(await page.evaluate(() => document.activeElement?.className)).toBe('skip-link');
            await page.keyboard.press('Tab');
            expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('region');

            // A phone: nothing but the heatmap's own scroll region may be wider than the screen.
            await page.setViewportSize({ width: 375, height: 800 });
            expect(
                await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth),
            ).toBe(0);
            await page.screenshot({
                path: path.join(RESULTS, 'dashboard-phone.png'),
                fullPage: true,
                animations: 'disabled',
            });
            await context.close();
        },
    );
});

/**
 * Polls until what the page shows equals what the store holds (a window in flight makes them differ for a moment),
 * then asserts it, so a real mismatch fails with a readable diff.
 */
async function untilEqual(read: () => Promise<{ shown: unknown; stored: unknown }>): Promise<void> {
    let last = await read();
    const deadline = Date.now() + POLL.timeout;
    while (!(last.shown !== undefined && isDeepStrictEqual(last.shown, last.stored)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, POLL.interval));
        last = await read();
    }
    expect(last.shown).toEqual(last.stored);
}

function renderLog(page: Page): Promise<WindowRenderRecord[]> {
    return page.evaluate(() => window.namestreamDashboard!.renderLog.entries());
}

/** Window close to counts on screen, as the page measured it, for live windows only; printed and kept as JSON. */
function writeLatencyReport(records: WindowRenderRecord[]): void {
    const live = records.filter((record) => record.source === 'live');
    const first = live.map((record) => record.firstRenderLatencyMs).sort((a, b) => a - b);
    const last = live.map((record) => record.lastRenderLatencyMs).sort((a, b) => a - b);
    const report = {
        windowSeconds: WINDOW_SECONDS,
        lateArrivalToleranceSeconds: LATE_ARRIVAL_SECONDS,
        targetP99Ms: (LATE_ARRIVAL_SECONDS + 1) * 1000,
        samples: live.length,
        firstRenderMs: { p50: percentile(first, 50), p99: percentile(first, 99), max: first.at(-1) },
        lastRenderMs: { p50: percentile(last, 50), p99: percentile(last, 99), max: last.at(-1) },
        windows: records,
    };
    writeFileSync(path.join(RESULTS, 'dashboard-latency.json'), `${JSON.stringify(report, null, 4)}\n`);
    console.log(
        `dashboard latency, window close to counts rendered (${live.length} live windows): ` +
            `p50 ${report.firstRenderMs.p50} ms, p99 ${report.firstRenderMs.p99} ms (first part); ` +
            `p50 ${report.lastRenderMs.p50} ms, p99 ${report.lastRenderMs.p99} ms (last part); ` +
            `target p99 <= ${report.targetP99Ms} ms`,
    );
}
