import { availableParallelism } from 'node:os';

import { defineConfig } from 'vitest/config';

export default defineConfig({
    test: {
        include: ['test/**/*.test.ts'],
        // Compiles and lints infra/ with the real Bicep CLI when it changed (test/infra reads the result).
        globalSetup: ['test/infra/infraBuild.globalSetup.ts'],
        environment: 'node',
        pool: 'forks',
        // Vitest's default (one worker fewer than the cores) runs one file at a time on a 2-core machine, but the
        // longest files (the 20-kill crash test, the pipeline e2e) mostly wait on child processes and timers: two
        // workers there took `npm test` from 490 s to 225 s on the 2-vCPU CI machine, with every test passing.
        maxWorkers: Math.max(2, availableParallelism() - 1),
        testTimeout: 20_000,
        hookTimeout: 60_000,
        unstubEnvs: true,
        // Handler unit tests import @azure/functions outside the host, which prints a test-mode warning per
        // registration; that is expected, so keep it out of the test log.
        onConsoleLog: (log) =>
            !log.includes('package is in test mode') && !log.includes('Failed to detect the Azure Functions runtime'),
    },
});
