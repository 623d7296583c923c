import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { waitForLeftoverProcess } from '../../../local/runtime/leftoverProcess';
import { StateStore } from '../../../local/state';

/**
 * The crash harness (issue 14, item 2), over what is persisted so far: the whole runtime runs in a child process
 * with a state folder, a writer uploads blobs while the pipeline runs, the child is killed with SIGKILL at a random
 * moment, and the next start must still hold every blob whose upload was acknowledged, byte for byte. The Service
 * Bus, Event Hubs and Cosmos DB invariants join here as those stand-ins persist.
 * CRASH_KILLS sets the number of kills (default 3 to keep `npm test` lean; the proof is 20 or more).
 */
const KILLS = Number(process.env.CRASH_KILLS ?? 3);
const CONTAINER = 'crash-writes';

interface RunningChild {
    child: ChildProcess;
    container: ContainerClient;
    exited: Promise<void>;
}

describe('crash and restart under load', () => {
    const stateDirectory = mkdtempSync(path.join(tmpdir(), 'crash-state-'));
    const children: ChildProcess[] = [];
    afterAll(() => {
        children.forEach((child) => child.kill('SIGKILL'));
        rmSync(stateDirectory, { recursive: true, force: true });
    });

    async function startChild(): Promise<RunningChild> {
        const child = spawn(
            process.execPath,
            ['--import', 'tsx', path.join(__dirname, 'fixtures', 'runtimeProcess.ts'), stateDirectory],
            { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        children.push(child);
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        const line = await new Promise<string>((resolve, reject) => {
            let output = '';
            let errors = '';
            child.stdout.on('data', (chunk: Buffer) => {
                output += chunk.toString();
                if (output.includes('\n')) resolve(output.trim());
            });
            child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
            void exited.then(() => reject(new Error(`runtime exited before it was up:\n${errors}`)));
        });
        const { blob } = JSON.parse(line) as { blob: string };
        const container = BlobServiceClient.fromConnectionString(blob).getContainerClient(CONTAINER);
        await container.createIfNotExists();
        return { child, container, exited };
    }

    it(
        `keeps every acknowledged blob through ${KILLS} SIGKILLs at random moments`,
        { timeout: 60_000 + KILLS * 60_000 },
        async () => {
            const acknowledged = new Map<string, string>();
            const killDelays: number[] = [];
            const verify = async (container: ContainerClient, round: number) => {
                // One listing per round: the MD5 Blob storage computed at upload stands for the content.
                const stored = new Map<string, string>();
                for await (const blob of container.listBlobsFlat()) {
                    stored.set(blob.name, Buffer.from(blob.properties.contentMD5 ?? []).toString('base64'));
                }
                const md5 = (text: string) => createHash('md5').update(text).digest('base64');
                const missing = [...acknowledged]
                    .filter(([name, content]) => stored.get(name) !== md5(content))
                    .map(([name]) => name);
                expect(
                    { round, missing: missing.slice(0, 10), missingCount: missing.length },
                    `kill delays so far (ms): ${killDelays.join(', ')}`,
                ).toEqual({ round, missing: [], missingCount: 0 });
            };

            for (let round = 1; round <= KILLS; round += 1) {
                const running = await startChild();
                await verify(running.container, round);
                // Writers: four uploads in flight until the kill; only an answered upload counts as acknowledged.
                let killed = false;
                let sequence = 0;
                const writer = async () => {
                    while (!killed) {
                        sequence += 1;
                        const name = `round-${round}/blob-${sequence}.json`;
                        const content = JSON.stringify({ round, sequence, padding: 'x'.repeat(sequence % 500) });
                        try {
                            await running.container.getBlockBlobClient(name).upload(content, content.length);
                            acknowledged.set(name, content);
                        } catch {
                            // Cut off by the kill: never acknowledged, so not expected to survive.
                        }
                    }
                };
                const writers = Array.from({ length: 4 }, writer);
                const delay = 1000 + Math.floor(Math.random() * 3000);
                killDelays.push(delay);
                await new Promise((resolve) => setTimeout(resolve, delay));
                running.child.kill('SIGKILL');
                killed = true;
                await running.exited;
                await Promise.all(writers);
            }
            const final = await startChild();
            await verify(final.container, KILLS + 1);
            expect(acknowledged.size).toBeGreaterThan(KILLS * 10);
            console.log(
                `crash test: ${KILLS} kills after ${killDelays.join(', ')} ms; ${acknowledged.size} blobs kept`,
            );
            final.child.kill('SIGKILL');
            await final.exited;
            // Its Azurite shuts itself down and exits; the next start would wait for it the same way.
            const store = StateStore.open({ directory: stateDirectory });
            const azurite = store.records('processes', z.object({ pid: z.number() })).get('azurite');
            store.close();
            expect(azurite).toBeDefined();
            await expect(
                waitForLeftoverProcess(azurite!.pid, path.join(stateDirectory, 'azurite'), { timeoutMs: 30_000 }),
            ).resolves.toMatch(/^(exited|none)$/);
        },
    );
});
