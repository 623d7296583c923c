import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { buildInfra, hashInputs, infraOutDir } from '../../scripts/infraBuild';

/**
 * Vitest global setup: runs `npm run infra:build` once before the tests when infra/, bicepconfig.json or the build
 * script changed since the last build, so `npm test` always checks the Bicep as it is now. A build that cannot run
 * (no Bicep CLI and no .NET SDK) is recorded in the report, and the tests that read it fail with its hint.
 */
export default function setup(): void {
    const reportFile = path.join(infraOutDir, 'report.json');
    const inputsHash = hashInputs();
    if (existsSync(reportFile)) {
        const previous = JSON.parse(readFileSync(reportFile, 'utf8')) as { inputsHash?: string; error?: string };
        if (previous.inputsHash === inputsHash && previous.error === undefined) {
            return;
        }
    }
    try {
        buildInfra();
    } catch (error) {
        mkdirSync(infraOutDir, { recursive: true });
        const message = error instanceof Error ? error.message : String(error);
        writeFileSync(reportFile, `${JSON.stringify({ inputsHash, error: message }, null, 4)}\n`);
    }
}
