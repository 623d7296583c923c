import { randomUUID } from 'node:crypto';
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes one dead-letter blob's worth of JSON in the layout Event Grid uses in the dead-letter container:
 * `<topic>/<subscription>/<year>/<month>/<day>/<hour>/<guid>.json`, holding an array of dead-lettered events.
 * The file appears whole or not at all (written beside it, fsynced, then renamed), so a runtime killed mid-write
 * never leaves a torn dead letter; once the promise resolves, the content is on disk.
 */
export async function writeDeadLetterFile(
    directory: string,
    topicName: string,
    subscriptionName: string,
    at: Date,
    payload: Record<string, unknown>,
): Promise<string> {
    const pad = (n: number) => String(n).padStart(2, '0');
    const folder = join(
        directory,
        topicName.toUpperCase(),
        subscriptionName.toUpperCase(),
        String(at.getUTCFullYear()),
        pad(at.getUTCMonth() + 1),
        pad(at.getUTCDate()),
        pad(at.getUTCHours()),
    );
    await mkdir(folder, { recursive: true });
    const file = join(folder, `${randomUUID()}.json`);
    const partial = `${file}.partial`;
    const handle = await open(partial, 'w');
    try {
        await handle.writeFile(JSON.stringify([payload], null, 2));
        await handle.sync();
    } finally {
        await handle.close();
    }
    await rename(partial, file);
    return file;
}
