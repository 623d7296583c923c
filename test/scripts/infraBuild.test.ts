import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
    cacheDir,
    formatDiagnostic,
    InfraBuildError,
    lintFiles,
    locateBicep,
    MissingBicepError,
    missingBicepHint,
    parseDiagnosticLines,
    parseSarif,
    repoRoot,
    toBicepParam,
} from '../../scripts/infraBuild';
import { readInfraBuildReport } from '../infra/compiledTemplate';

describe('npm run infra:build (run by the vitest global setup)', () => {
    it('compiled infra/main.bicep, linted every .bicep file and expanded the template with no diagnostic', () => {
        const report = readInfraBuildReport();
        // A missing tool or a failed command is recorded here, with its hint.
        expect(report.error).toBeUndefined();
        expect((report.diagnostics ?? []).map(formatDiagnostic)).toEqual([]);
    });
});

describe('locateBicep', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'namestream-nopath-'));
    afterAll(() => rmSync(empty, { recursive: true, force: true }));

    it('fails with a one-line hint when neither bicep nor dotnet is on PATH and nothing is cached', () => {
        const run = () => locateBicep({ envPath: empty, cacheRoot: path.join(empty, '.cache') });
        expect(run).toThrow(MissingBicepError);
        expect(run).toThrow(missingBicepHint);
        expect(missingBicepHint).not.toContain('\n');
    });

    it('prefers a bicep on PATH', () => {
        const fake = path.join(empty, 'bicep');
        writeFileSync(fake, '#!/bin/sh\n', { mode: 0o755 });
        expect(locateBicep({ envPath: empty, cacheRoot: path.join(empty, '.cache') })).toBe(fake);
        rmSync(fake);
    });
});

describe('the real linter with bicepconfig.json', () => {
    const probeDir = path.join(cacheDir, 'lint-probe');
    afterAll(() => rmSync(probeDir, { recursive: true, force: true }));

    it('reports an error rule and a warning rule, so the build fails on either', () => {
        mkdirSync(probeDir, { recursive: true });
        // An unused parameter (no-unused-params: error in bicepconfig.json) and a four-year-old API version
        // (use-recent-api-versions: warning).
        writeFileSync(
            path.join(probeDir, 'probe.bicep'),
            [
                "param unused string = 'x'",
                "resource topic 'Microsoft.EventGrid/topics@2020-06-01' existing = {",
                "  name: 'probe'",
                '}',
                'output id string = topic.id',
                '',
            ].join('\n'),
        );
        const diagnostics = lintFiles(locateBicep(), path.join(probeDir, 'probe.bicep'));
        expect(diagnostics.map((d) => [d.file, d.line, d.level, d.rule])).toEqual([
            ['.cache/lint-probe/probe.bicep', 1, 'error', 'no-unused-params'],
            ['.cache/lint-probe/probe.bicep', 2, 'warning', 'use-recent-api-versions'],
        ]);
    });
});

describe('parseSarif and parseDiagnosticLines', () => {
    const sarif = (uri: string, ruleId: string, level?: string) =>
        JSON.stringify({
            runs: [
                {
                    results: [
                        {
                            ruleId,
                            ...(level ? { level } : {}),
                            message: { text: `${ruleId} text [https://aka.ms/bicep/linter-diagnostics#${ruleId}]` },
                            locations: [{ physicalLocation: { artifactLocation: { uri }, region: { startLine: 3 } } }],
                        },
                    ],
                },
            ],
        });

    it('reads the SARIF logs `bicep lint --pattern` prints back to back, a result without a level being a warning', () => {
        const text = `${sarif(`file://${repoRoot}/infra/a.bicep`, 'no-unused-vars', 'error')}${sarif(`file://${repoRoot}/infra/b%20c.bicep`, 'use-recent-api-versions')}`;
        expect(parseSarif(text)).toEqual([
            { level: 'error', file: 'infra/a.bicep', line: 3, rule: 'no-unused-vars', message: 'no-unused-vars text' },
            {
                level: 'warning',
                file: 'infra/b c.bicep',
                line: 3,
                rule: 'use-recent-api-versions',
                message: 'use-recent-api-versions text',
            },
        ]);
    });

    it('reads the default diagnostic lines', () => {
        const text = [
            `${repoRoot}/infra/main.bicep(12,5) : Warning BCP037: The property "x" is not allowed. [https://aka.ms/bicep/core-diagnostics#BCP037]`,
            `${repoRoot}/.cache/infra/main.bicepparam(3,1) : Error BCP259: The parameter "y" is assigned but not declared.`,
            'Failed to generate snapshot',
        ].join('\n');
        expect(parseDiagnosticLines(text)).toEqual([
            {
                level: 'warning',
                file: 'infra/main.bicep',
                line: 12,
                rule: 'BCP037',
                message: 'The property "x" is not allowed.',
            },
            {
                level: 'error',
                file: '.cache/infra/main.bicepparam',
                line: 3,
                rule: 'BCP259',
                message: 'The parameter "y" is assigned but not declared.',
            },
        ]);
    });
});

describe('toBicepParam', () => {
    const types = { environmentName: 'string', count: 'int', enabled: 'bool', schedule: 'string' };
    const parameters = JSON.stringify({
        parameters: {
            environmentName: { value: '${AZURE_ENV_NAME}' },
            count: { value: '${COUNT=4}' },
            enabled: { value: '${ENABLED=false}' },
            schedule: { value: "${SCHEDULE=*/5 * * * * *} it's" },
        },
    });

    it("substitutes ${NAME} and ${NAME=default} as azd does and writes each value in its parameter's type", () => {
        expect(
            toBicepParam(parameters, types, { AZURE_ENV_NAME: 'ci', COUNT: '', ENABLED: 'true' }, '../main.bicep'),
        ).toBe(
            [
                "using '../main.bicep'",
                '',
                "param environmentName = 'ci'",
                'param count = 4',
                'param enabled = true',
                "param schedule = '*/5 * * * * * it\\'s'",
                '',
            ].join('\n'),
        );
    });

    it('rejects a parameter the template does not declare, and a value of the wrong type', () => {
        expect(() => toBicepParam(parameters, { ...types, count: undefined! }, {}, 'x')).toThrow(
            new InfraBuildError('infra/main.parameters.json sets "count", which infra/main.bicep does not declare'),
        );
        expect(() => toBicepParam(parameters, types, { COUNT: 'four' }, 'x')).toThrow(
            new InfraBuildError('Parameter "count" is an int but its value is "four"'),
        );
    });
});
