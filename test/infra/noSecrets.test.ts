import { readFileSync } from 'node:fs';
import path from 'node:path';

import { globSync } from 'tinyglobby';
import { describe, expect, it } from 'vitest';

import { repoRoot } from './compiledTemplate';
import { type AllowedMatch, scanForSecrets } from './secretScan';

/** Lines that match a secret pattern yet carry no secret. Each entry says why. */
const allowed: readonly AllowedMatch[] = [
    {
        // With DisableLocalAuth on the component, the connection string only says where telemetry goes; writing
        // needs an Entra ID token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING), so it is configuration, not a secret.
        pattern:
            /APPLICATIONINSIGHTS_CONNECTION_STRING|applicationInsightsConnectionString|applicationInsights\.properties\.ConnectionString|Application Insights connection string/,
        reason: 'Application Insights connection string with local auth disabled',
    },
    {
        // The SignalR bindings name their connection by this prefix; its settings are __serviceUri/__credential/__clientId.
        pattern: /AzureSignalRConnectionString__/,
        reason: 'identity-based SignalR settings under the prefix the binding requires',
    },
    {
        // The Bicep linter rules that forbid secrets in outputs and parameters, named in bicepconfig.json.
        pattern: /"(outputs-should-not-contain-secrets|secure-secrets-in-params|use-secure-value-for-secure-inputs)"/,
        reason: 'linter rule names',
    },
    {
        pattern: /No connection string or key exists anywhere/,
        reason: 'a comment stating the rule',
    },
];

const scanned = globSync(['infra/**/*.bicep', 'infra/**/*.json', 'infra/hooks/*', 'azure.yaml', 'bicepconfig.json'], {
    cwd: repoRoot,
}).sort();

describe('No secret in the infrastructure', () => {
    it('scans the templates, their JSON, the hooks and azure.yaml', () => {
        expect(scanned).toEqual(
            expect.arrayContaining([
                'azure.yaml',
                'bicepconfig.json',
                'infra/main.bicep',
                'infra/main.parameters.json',
                'infra/hooks/postprovision.sh',
                'infra/hooks/postprovision.ps1',
                'infra/modules/streamAnalytics.bicep',
            ]),
        );
    });

    it('finds no key, SAS, connection string, listKeys call or @secure() value', () => {
        const findings = scanned.flatMap((file) =>
            scanForSecrets(file, readFileSync(path.join(repoRoot, file), 'utf8'), allowed),
        );
        expect(findings).toEqual([]);
    });

    it('flags what a keyed template would contain', () => {
        const keyed = [
            "output cs string = listKeys(ns.id, '2022-10-01').primaryConnectionString",
            "sharedAccessPolicyKey: 'abc='",
            'AzureWebJobsStorage: DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc==',
            'ServiceBusConnection: Endpoint=sb://x/;SharedAccessKeyName=root;SharedAccessKey=abc=',
            "apiKey: listKeys('${functionApp.id}/host/default', '2023-01-01').functionKeys.default",
        ].join('\n');
        expect([...new Set(scanForSecrets('keyed.bicep', keyed, allowed).map((f) => f.line))]).toEqual([1, 2, 3, 4, 5]);
    });
});
