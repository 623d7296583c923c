import { defineConfig } from 'vitest/config';

export default defineConfig({
    test: {
        include: ['test/**/*.test.ts'],
        // Compiles and lints infra/ with the real Bicep CLI when it changed (test/infra reads the result).
        globalSetup: ['test/infra/infraBuild.globalSetup.ts'],
        environment: 'node',
        pool: 'forks',
        testTimeout: 20_000,
        hookTimeout: 60_000,
        unstubEnvs: true,
        // Handler unit tests import @azure/functions outside the host, which prints a test-mode warning per
        // registration; that is expected, so keep it out of the test log.
        onConsoleLog: (log) =>
            !log.includes('package is in test mode') && !log.includes('Failed to detect the Azure Functions runtime'),
    },
});
