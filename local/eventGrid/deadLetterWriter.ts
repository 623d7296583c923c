import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes one dead-letter blob's worth of JSON in the layout Event Grid uses in the dead-letter container:
 * `<topic>/<subscription>/<year>/<month>/<day>/<hour>/<guid>.json`, holding an array of dead-lettered events.
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
    await writeFile(file, JSON.stringify([payload], null, 2));
    return file;
}
