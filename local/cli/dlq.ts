import { parseArgs } from 'node:util';

/**
 * `npm run dlq`: lists and resubmits dead-lettered messages of the running local runtime (`npm start`).
 *
 *   npm run dlq                        list dead letters of newnames-queue with their reasons
 *   npm run dlq -- resubmit [seq]      resubmit one (by sequence number) or all, after fixing the cause
 *   npm run dlq -- purge [seq]         delete one or all
 *   options: --queue <name> (default newnames-queue), --url <functions base url> (default http://127.0.0.1:7071)
 */
interface DeadLetter {
    sequenceNumber: number;
    messageId: string;
    deliveryCount: number;
    enqueuedTimeUtc: string;
    deadLetteredTimeUtc: string;
    deadLetterReason: string;
    deadLetterErrorDescription: string;
    body: string;
}

const DLQ_USAGE =
    'Usage: npm run dlq -- [list | resubmit [seq] | purge [seq]] [--queue <name>] [--url <url>]\n' +
    '  list (the default)  the dead-lettered messages with their reason\n' +
    '  resubmit [seq]      send one (by sequence number) or all back to the queue\n' +
    '  purge [seq]         delete one or all';

export async function runDlq(argv: string[], print: (line: string) => void = console.log): Promise<number> {
    let values: { queue?: string; url?: string; help?: boolean };
    let positional: string[];
    try {
        ({ values, positionals: positional } = parseArgs({
            args: argv,
            options: {
                queue: { type: 'string' },
                url: { type: 'string' },
                help: { type: 'boolean', short: 'h' },
            },
            strict: true,
            allowPositionals: true,
        }));
    } catch (error) {
        // node's message names the option: "Unknown option '--bogus'", "Option '--queue <value>' argument missing".
        print(`${(error as Error).message}\n${DLQ_USAGE}`);
        return 2;
    }
    if (values.help === true) {
        print(DLQ_USAGE);
        return 0;
    }
    const options = {
        queue: values.queue ?? 'newnames-queue',
        url: values.url ?? process.env.NAMESTREAM_URL ?? 'http://127.0.0.1:7071',
    };
    const [command = 'list', sequence] = positional;
    if (sequence !== undefined && !/^\d+$/.test(sequence)) {
        print(`Sequence number must be a whole number (got ${JSON.stringify(sequence)})`);
        return 2;
    }
    const base = `${options.url.replace(/\/$/, '')}/_local/queues/${encodeURIComponent(options.queue)}`;
    const query = sequence === undefined ? '' : `?sequenceNumber=${sequence}`;
    let response: Response;
    try {
        switch (command) {
            case 'list':
                response = await fetch(`${base}/deadletters`);
                break;
            case 'resubmit':
                response = await fetch(`${base}/deadletters/resubmit${query}`, { method: 'POST' });
                break;
            case 'purge':
                response = await fetch(`${base}/deadletters${query}`, { method: 'DELETE' });
                break;
            default:
                print(`Unknown command ${JSON.stringify(command)}: use list, resubmit [seq] or purge [seq]`);
                return 2;
        }
    } catch (error) {
        print(
            `Cannot reach the local runtime at ${options.url} (${(error as Error).message}). Is "npm start" running (--services-only serves no /_local API)?`,
        );
        return 1;
    }
    const text = await response.text();
    let body: { error?: string; deadLetters?: DeadLetter[]; resubmitted?: unknown[]; purged?: number };
    try {
        body = JSON.parse(text) as typeof body;
    } catch {
        // Something else answers there (`func start` has no /_local endpoints): say so instead of a JSON stack trace.
        print(`Error ${response.status}: ${options.url} did not answer as the local runtime does (is it "npm start"?)`);
        return 1;
    }
    if (!response.ok) {
        print(`Error ${response.status}: ${body.error ?? 'unknown'}`);
        return 1;
    }
    if (body.deadLetters) {
        print(`${body.deadLetters.length} dead-lettered message(s) in ${options.queue}`);
        for (const dl of body.deadLetters) {
            print(
                `#${dl.sequenceNumber} ${dl.messageId}  ${dl.deadLetterReason}: ${dl.deadLetterErrorDescription}` +
                    `  (deliveries ${dl.deliveryCount}, dead-lettered ${dl.deadLetteredTimeUtc})\n    body: ${truncate(dl.body)}`,
            );
        }
    } else if (body.resubmitted) {
        print(`Resubmitted ${body.resubmitted.length} message(s) to ${options.queue}`);
    } else {
        print(`Purged ${body.purged ?? 0} message(s) from the dead-letter queue of ${options.queue}`);
    }
    return 0;
}

function truncate(text: string, max = 200): string {
    return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

if (require.main === module) {
    runDlq(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (error: unknown) => {
            console.error(error);
            process.exit(1);
        },
    );
}
