import { parseArgs } from 'node:util';

import { parseDuration, RECOUNT_SETTLE_MS } from '../../domain/letterCounts/recount';

/**
 * `npm run recount`: derives the counts of recent windows again from the raw-names blobs in the running local
 * runtime (`npm start`) and writes the corrected documents, as the recountLetterCounts function does in Azure.
 *
 *   npm run recount -- --since 2h             windows that ended in the last 2 hours (s, m, h or d)
 *   npm run recount -- --since 2h --until 5m  ...except the last 5 minutes (default 2m: the settle margin the
 *                                             recountLetterCounts function leaves, so a recount never writes the
 *                                             still-open window or one the job has not emitted yet)
 *   options: --url <functions base url> (default http://127.0.0.1:7071)
 */
const RECOUNT_USAGE = `Usage: npm run recount -- --since 2h [--until 5m, default ${RECOUNT_SETTLE_MS / 1000}s] [--url <url>]`;

export async function runRecount(argv: string[], print: (line: string) => void = console.log): Promise<number> {
    let values: { since?: string; until?: string; url?: string; help?: boolean };
    try {
        ({ values } = parseArgs({
            args: argv,
            options: {
                since: { type: 'string' },
                until: { type: 'string' },
                url: { type: 'string' },
                help: { type: 'boolean', short: 'h' },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (error) {
        print(`${(error as Error).message}. ${RECOUNT_USAGE}`);
        return 2;
    }
    if (values.help === true) {
        print(RECOUNT_USAGE);
        return 0;
    }
    const sinceText = values.since ?? '2h';
    const untilText = values.until ?? `${RECOUNT_SETTLE_MS / 1000}s`;
    const sinceMs = parseDuration(sinceText);
    const untilMs = parseDuration(untilText);
    // One reason per refusal, quoting the value: a bad spelling, a zero --since, or the two the wrong way round.
    if (sinceMs === undefined || untilMs === undefined) {
        const [flag, text] = sinceMs === undefined ? ['--since', sinceText] : ['--until', untilText];
        print(`${flag} must be a duration such as 90s, 30m, 2h or 1d (got ${JSON.stringify(text)})`);
        return 2;
    }
    if (sinceMs === 0) {
        print(`--since must be a positive duration (got ${JSON.stringify(sinceText)})`);
        return 2;
    }
    if (untilMs >= sinceMs) {
        print(
            '--since must be longer than --until: windows that ended between --since and --until ago are recounted ' +
                `(got --since ${JSON.stringify(sinceText)} --until ${JSON.stringify(untilText)})`,
        );
        return 2;
    }
    const url = (values.url ?? process.env.NAMESTREAM_URL ?? 'http://127.0.0.1:7071').replace(/\/$/, '');
    let response: Response;
    try {
        response = await fetch(`${url}/_local/recount?sinceMs=${sinceMs}&untilMs=${untilMs}`, { method: 'POST' });
    } catch (error) {
        print(
            `Cannot reach the local runtime at ${url} (${(error as Error).message}). Is "npm start" running (--services-only serves no /_local API)?`,
        );
        return 1;
    }
    const text = await response.text();
    let body: {
        error?: string;
        from?: string;
        to?: string;
        messagesCounted?: number;
        documents?: number;
        corrected?: Array<{ id: string; count: number }>;
        rejectedMessages?: string[];
    };
    try {
        body = JSON.parse(text) as typeof body;
    } catch {
        print(`Error ${response.status}: ${url} did not answer as the local runtime does (is it "npm start"?)`);
        return 1;
    }
    if (!response.ok) {
        print(`Error ${response.status}: ${body.error ?? 'unknown'}`);
        return 1;
    }
    print(
        `Recounted windows ending after ${body.from} up to ${body.to}: ${body.messagesCounted} message(s), ` +
            `${body.documents} document(s), ${body.corrected?.length ?? 0} corrected`,
    );
    for (const { id, count } of body.corrected ?? []) {
        print(`  ${id} = ${count}`);
    }
    for (const reason of body.rejectedMessages ?? []) {
        print(`  skipped a raw-names blob: ${reason}`);
    }
    return 0;
}

if (require.main === module) {
    runRecount(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (error: unknown) => {
            console.error(error);
            process.exit(1);
        },
    );
}
