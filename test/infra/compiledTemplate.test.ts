import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { localInfrastructure } from '../../local/runtime/localInfrastructure';
import { parseQuery } from '../../local/streamAnalytics/parser';
import { azdEnvironment, infraOutDir, snapshotContext } from '../../scripts/infraBuild';
import { bindingRequirements, withoutIncluded } from './bindingRequirements';
import {
    allBindings,
    builtInRoles,
    connectionPrefix,
    describeResource,
    identityLabel,
    inventoryMarkdown,
    loadCompiledDeployment,
    loadFunctionContract,
    moduleTemplates,
    onlyResource,
    type PredictedResource,
    readJson,
    referencedIds,
    repoRoot,
    resourceById,
    resourcesOfType,
    type RoleGrant,
    roleGrants,
    settingReferences,
} from './compiledTemplate';

const deployment = loadCompiledDeployment();
const functions = loadFunctionContract();
const developerId = azdEnvironment.AZURE_PRINCIPAL_ID!;
const grants = roleGrants(deployment, developerId);
const site = onlyResource(deployment, 'Microsoft.Web/sites');
const appSettings = onlyResource(deployment, 'Microsoft.Web/sites/config').properties as Record<string, unknown>;
const job = onlyResource(deployment, 'Microsoft.StreamAnalytics/streamingjobs');
const localSettings = readJson('local.settings.sample.json') as {
    Values: Record<string, string>;
    AzureIdentityValues: Record<string, string>;
};
const bindings = functions.flatMap((f) => allBindings(f).map((binding) => ({ functionName: f.name, binding })));
const connected = bindings.flatMap(({ functionName, binding }) => {
    const prefix = connectionPrefix(binding);
    return prefix ? [{ functionName, binding, prefix }] : [];
});

/** The single user-assigned identity a resource runs as, as `identity <name>`. */
function runsAs(resource: PredictedResource): string {
    const ids = Object.keys(resource.identity?.userAssignedIdentities ?? {});
    expect({ type: resource.identity?.type, count: ids.length }).toEqual({ type: 'UserAssigned', count: 1 });
    return `identity ${resourceById(deployment, ids[0]!)?.name ?? ids[0]}`;
}
const appIdentity = runsAs(site);
const jobIdentity = runsAs(job);
const appIdentityId = Object.keys(site.identity?.userAssignedIdentities ?? {})[0]!;

/** `%NAME%` resolved against the deployed app settings. */
function resolveSetting(value: unknown): string {
    const text = String(value);
    return text.replace(/%([A-Za-z0-9_]+)%/g, (_all, name: string) => {
        const resolved = appSettings[name];
        if (typeof resolved !== 'string') {
            throw new Error(`App setting ${name} (from ${text}) is not deployed`);
        }
        return resolved;
    });
}

/** The resource a binding's connection points at: the one its identity-based endpoint setting reads. */
function connectedResource(prefix: string, endpointSetting: string): PredictedResource | undefined {
    const [id] = referencedIds(appSettings[`${prefix}__${endpointSetting}`]);
    return id ? resourceById(deployment, id) : undefined;
}

const grantKey = (g: Pick<RoleGrant, 'plane' | 'role' | 'scope'>) =>
    `${g.plane} | ${g.role} | ${describeResource(deployment, cosmosScopeResource(g.scope))}${cosmosScopeSuffix(g.scope)}`;
/** A Cosmos DB data-plane scope `<account id>/dbs/<db>` is not an ARM resource id: describe its account part. */
const cosmosScopeResource = (scope: string) => scope.replace(/\/dbs\/.*$/, '');
const cosmosScopeSuffix = (scope: string) => /\/dbs\/.*$/.exec(scope)?.[0] ?? '';
const grantsTo = (principal: string) =>
    grants
        .filter((g) => g.principal === principal)
        .map(grantKey)
        .sort();

describe('infra/main.bicep as compiled by the Bicep CLI and expanded by the ARM template engine', () => {
    it('compiled and linted every .bicep file without a diagnostic', () => {
        expect(deployment.report.diagnostics).toEqual([]);
        expect(deployment.report.bicepVersion).toMatch(/^\d+\.\d+\.\d+$/);
    });

    it('describes every parameter (Required./Optional.) and every output of main and each module, AVM style', () => {
        const templates = [{ module: 'main', template: deployment.template }, ...moduleTemplates(deployment.template)];
        const undocumented = templates.flatMap(({ module, template }) => [
            ...Object.entries(template.parameters ?? {})
                .filter(([, p]) => !/^(Required|Optional)\. /.test(p.metadata?.description ?? ''))
                .map(([name]) => `${module}: param ${name}`),
            ...Object.entries(template.outputs ?? {})
                .filter(([, o]) => !o.metadata?.description)
                .map(([name]) => `${module}: output ${name}`),
        ]);
        expect(templates.length).toBeGreaterThan(10);
        expect(undocumented).toEqual([]);
    });

    it('is what docs/deploy.md lists, resource by resource and role by role', () => {
        const inventory = inventoryMarkdown(deployment, developerId, azdEnvironment.AZURE_ENV_NAME!);
        // The section to paste when the template changes.
        writeFileSync(path.join(infraOutDir, 'inventory.md'), `${inventory}\n`);
        const docs = readFileSync(path.join(repoRoot, 'docs/deploy.md'), 'utf8');
        const section = /<!-- compiled-inventory:start -->\n([\s\S]*?)\n<!-- compiled-inventory:end -->/.exec(
            docs,
        )?.[1];
        // Prettier pads the table cells: compare cell by cell.
        const cells = (text: string) =>
            text.split('\n').map((line) =>
                line
                    .split('|')
                    .map((cell) => cell.trim().replace(/^-+$/, '---'))
                    .join('|'),
            );
        expect(cells(section?.trim() ?? '')).toEqual(cells(inventory));
    });

    it('deploys into one resource group, every resource tagged with the azd environment', () => {
        const groups = resourcesOfType(deployment, 'Microsoft.Resources/resourceGroups');
        expect(groups.map((g) => g.name)).toEqual([`rg-${azdEnvironment.AZURE_ENV_NAME}`]);
        const untagged = deployment.resources
            .filter((r) => r.location !== undefined && r.tags?.['azd-env-name'] !== azdEnvironment.AZURE_ENV_NAME)
            .map((r) => `${r.type} ${r.name}`);
        expect(untagged).toEqual([]);
        expect(site.tags?.['azd-service-name']).toBe('api');
        expect(deployment.outputs.AZURE_RESOURCE_GROUP).toBe(groups[0]?.name);
    });
});

describe('Function App settings, per binding connection', () => {
    it('reads the registered functions from the compiled app', () => {
        expect(functions.length).toBeGreaterThan(0);
        expect(connected.length).toBeGreaterThan(0);
    });

    it.each(connected.map((c) => [`${c.functionName}: ${c.binding.type} via ${c.prefix}`, c] as const))(
        '%s connects with the app identity to the resource its binding needs',
        (_label, { binding, prefix }) => {
            const requirement = bindingRequirements[binding.type]?.(binding);
            if (!requirement) {
                throw new Error(`No identity-based form is known for binding type "${binding.type}"`);
            }
            const resource = connectedResource(prefix, requirement.endpointSetting);
            expect({
                endpointResourceType: resource?.type,
                credential: appSettings[`${prefix}__credential`],
                clientId: identityLabel(deployment, appSettings[`${prefix}__clientId`], developerId),
                clientIdReadsClientId: String(appSettings[`${prefix}__clientId`]).endsWith('.clientId]'),
                connectionString: appSettings[prefix],
            }).toEqual({
                endpointResourceType: requirement.resourceType,
                credential: 'managedidentity',
                clientId: appIdentity,
                clientIdReadsClientId: true,
                connectionString: undefined,
            });
        },
    );

    it('defines every %SETTING% a binding references', () => {
        const referenced = [...new Set(bindings.flatMap(({ binding }) => settingReferences(binding)))].sort();
        expect(referenced.length).toBeGreaterThan(0);
        expect(referenced.filter((name) => typeof appSettings[name] !== 'string')).toEqual([]);
    });

    it('gives every plain setting of local.settings.sample.json the same value, except the generator schedule (slower in Azure to cut cost)', () => {
        const plain = Object.keys(localSettings.Values).filter(
            (name) =>
                !name.includes('__') &&
                !connected.some((c) => c.prefix === name) &&
                !['FUNCTIONS_WORKER_RUNTIME', 'GENERATE_NAMES_SCHEDULE'].includes(name),
        );
        expect(plain.length).toBeGreaterThan(5);
        expect(Object.fromEntries(plain.map((name) => [name, appSettings[name]]))).toEqual(
            Object.fromEntries(plain.map((name) => [name, localSettings.Values[name]])),
        );
        expect(appSettings.GENERATE_NAMES_SCHEDULE).toBe('*/5 * * * * *');
    });

    it('sets every identity-based setting the sample documents, and nothing that selects a key', () => {
        const documented = Object.keys(localSettings.AzureIdentityValues).filter((name) => !name.startsWith('_'));
        expect(documented.filter((name) => appSettings[name] === undefined)).toEqual([]);
        expect(Object.keys(appSettings).filter((name) => /key|connection_?string$|sas/i.test(name))).toEqual([
            'APPLICATIONINSIGHTS_CONNECTION_STRING',
        ]);
    });

    it('runs the host storage and the telemetry with the app identity', () => {
        const storage = onlyResource(deployment, 'Microsoft.Storage/storageAccounts');
        expect({
            blobServiceUri: referencedIds(appSettings.AzureWebJobsStorage__blobServiceUri),
            credential: appSettings.AzureWebJobsStorage__credential,
            clientId: identityLabel(deployment, appSettings.AzureWebJobsStorage__clientId, developerId),
            telemetry: String(appSettings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING),
        }).toEqual({
            blobServiceUri: [storage.id],
            credential: 'managedidentity',
            clientId: appIdentity,
            telemetry: `[format('ClientId={0};Authorization=AAD', reference('${appIdentityId}', '2024-11-30').clientId)]`,
        });
    });

    it('runs Node 22 on Flex Consumption, deploying from its own container with the app identity', () => {
        const plan = onlyResource(deployment, 'Microsoft.Web/serverfarms');
        const config = site.properties?.functionAppConfig as {
            runtime: unknown;
            deployment: { storage: { type: string; value: string; authentication: Record<string, string> } };
        };
        expect(plan.sku).toEqual({ tier: 'FlexConsumption', name: 'FC1' });
        expect(config.runtime).toEqual({ name: 'node', version: '22' });
        expect(config.deployment.storage.authentication).toEqual({
            type: 'UserAssignedIdentity',
            userAssignedIdentityResourceId: appIdentityId,
        });
        // [format('{0}{1}', reference('<storage account id>', ...).primaryEndpoints.blob, '<container>')]
        const storage = onlyResource(deployment, 'Microsoft.Storage/storageAccounts');
        const container = /primaryEndpoints\.blob, '([^']+)'\)\]$/.exec(config.deployment.storage.value)?.[1];
        expect(referencedIds(config.deployment.storage.value)).toEqual([storage.id]);
        expect(
            resourcesOfType(deployment, 'Microsoft.Storage/storageAccounts/blobServices/containers').map((c) => c.name),
        ).toContain(`${storage.name}/default/${container}`);
    });
});

describe('Role assignments, as compiled', () => {
    /** The grants the app identity needs: one per binding connection, plus the host storage and the telemetry. */
    function neededByTheApp(): Array<Pick<RoleGrant, 'plane' | 'role' | 'scope'>> {
        const needed = connected.map(({ binding, prefix }) => {
            const requirement = bindingRequirements[binding.type]?.(binding);
            const resource = requirement && connectedResource(prefix, requirement.endpointSetting);
            if (!requirement || !resource) {
                throw new Error(`Cannot tell which resource ${binding.type} via ${prefix} uses`);
            }
            return {
                plane: requirement.plane,
                role: requirement.role,
                scope: requirement.scope(resource.id, binding, resolveSetting),
            };
        });
        // The host keeps its locks, timers' schedules and keys in blobs it creates (Functions docs: host storage
        // with an identity needs Storage Blob Data Owner); telemetry with local auth off needs Monitoring Metrics
        // Publisher on the component.
        needed.push(
            {
                plane: 'azure',
                role: 'Storage Blob Data Owner',
                scope: referencedIds(appSettings.AzureWebJobsStorage__blobServiceUri)[0]!,
            },
            {
                plane: 'azure',
                role: 'Monitoring Metrics Publisher',
                scope: onlyResource(deployment, 'Microsoft.Insights/components').id,
            },
            // recountLetterCounts lists and reads the raw-names blobs with the Storage SDK (no binding lists blobs)
            // through the AzureWebJobsStorage connection: functions/shared/rawNamesBlobs.ts.
            {
                plane: 'azure',
                role: 'Storage Blob Data Reader',
                scope: referencedIds(appSettings.AzureWebJobsStorage__blobServiceUri)[0]!,
            },
        );
        return withoutIncluded(needed);
    }

    /** What the job's inputs and outputs need: Event Hubs Data Receiver on a hub input, Cosmos DB data access on an output. */
    function neededByTheJob(): Array<Pick<RoleGrant, 'plane' | 'role' | 'scope'>> {
        const properties = job.properties as {
            inputs: Array<{ properties: { datasource: { type: string; properties: Record<string, string> } } }>;
            outputs: Array<{ properties: { datasource: { type: string; properties: Record<string, string> } } }>;
        };
        const named = (type: string, name: string | undefined) =>
            resourcesOfType(deployment, type).find((r) => r.name === name);
        return [...properties.inputs, ...properties.outputs].map(({ properties: { datasource } }) => {
            expect(datasource.properties.authenticationMode).toBe('Msi');
            switch (datasource.type) {
                case 'Microsoft.ServiceBus/EventHub': {
                    const namespace = named('Microsoft.EventHub/namespaces', datasource.properties.serviceBusNamespace);
                    return {
                        plane: 'azure' as const,
                        role: 'Azure Event Hubs Data Receiver',
                        scope: `${namespace?.id}/eventhubs/${datasource.properties.eventHubName}`,
                    };
                }
                case 'Microsoft.Storage/DocumentDB': {
                    // The Stream Analytics doc for a Cosmos DB output with a managed identity grants the role at
                    // the account ("/"): learn.microsoft.com/azure/stream-analytics/cosmos-db-managed-identity.
                    const account = named('Microsoft.DocumentDB/databaseAccounts', datasource.properties.accountId);
                    return {
                        plane: 'cosmos' as const,
                        role: 'Cosmos DB Built-in Data Contributor',
                        scope: `${account?.id}`,
                    };
                }
                default:
                    throw new Error(`No role is known for a Stream Analytics ${datasource.type} datasource`);
            }
        });
    }

    it('grants the app identity exactly what its bindings, host storage and telemetry need, no more', () => {
        expect(grantsTo(appIdentity)).toEqual(neededByTheApp().map(grantKey).sort());
    });

    it('grants the Stream Analytics identity exactly what its inputs and outputs need, no more', () => {
        expect(grantsTo(jobIdentity)).toEqual(neededByTheJob().map(grantKey).sort());
        expect(jobIdentity).not.toBe(appIdentity);
    });

    it('with SERVICE_BUS_TARGET_BASED_SCALING=true, grants the app Data Owner on the queue in place of Sender and Receiver, nothing else changed', () => {
        const variant = loadCompiledDeployment('serviceBusTargetBasedScaling');
        const variantGrants = (principal: string) =>
            roleGrants(variant, developerId)
                .filter((g) => g.principal === principal)
                .map(grantKey)
                .sort();
        const queue = onlyResource(deployment, 'Microsoft.ServiceBus/namespaces/queues');
        const serviceBus = (role: string) => `azure | ${role} | ${queue.type} ${queue.name}`;
        expect(variantGrants(appIdentity)).toEqual(
            [
                ...grantsTo(appIdentity).filter(
                    (g) =>
                        g !== serviceBus('Azure Service Bus Data Sender') &&
                        g !== serviceBus('Azure Service Bus Data Receiver'),
                ),
                serviceBus('Azure Service Bus Data Owner'),
            ].sort(),
        );
        expect(variantGrants(jobIdentity)).toEqual(grantsTo(jobIdentity));
        expect(variantGrants('developer')).toEqual(grantsTo('developer'));
    });

    it('grants the developer (AZURE_PRINCIPAL_ID) the app data roles, without telemetry publishing, for func start', () => {
        expect(grantsTo('developer')).toEqual(grantsTo(appIdentity).filter((g) => !g.includes('Monitoring')));
    });

    it('grants nothing to anyone else, and every role is a known built-in role with its documented id', () => {
        expect([...new Set(grants.map((g) => g.principal))].sort()).toEqual(
            [appIdentity, jobIdentity, 'developer'].sort(),
        );
        for (const grant of grants) {
            const expectedId =
                grant.plane === 'azure'
                    ? `/subscriptions/${snapshotContext.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${builtInRoles.azureRoles[grant.role]}`
                    : `${cosmosScopeResource(grant.scope)}/sqlRoleDefinitions/${builtInRoles.cosmosDataRoles[grant.role]}`;
            expect(grant.roleDefinitionId).toBe(expectedId);
        }
    });

    it('names managed identities ServicePrincipal and leaves the developer to Azure (a user, or a CI service principal)', () => {
        const azure = grants.filter((g) => g.plane === 'azure');
        expect(
            azure.filter((g) => g.principal !== 'developer').every((g) => g.principalType === 'ServicePrincipal'),
        ).toBe(true);
        expect(azure.filter((g) => g.principal === 'developer').map((g) => g.principalType)).toEqual(
            azure.filter((g) => g.principal === 'developer').map(() => undefined),
        );
    });

    it('creates the Cosmos DB role assignments one at a time, after both containers (one loop, batchSize 1)', () => {
        const loops = moduleTemplates(deployment.template).flatMap(({ module, template }) =>
            Object.entries(template.resources as Record<string, { type: string; copy?: unknown; dependsOn?: string[] }>)
                .filter(([, r]) => r.type === 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments')
                .map(([symbol, r]) => ({ module, symbol, copy: r.copy, dependsOn: r.dependsOn })),
        );
        expect(loops).toEqual([
            {
                module: 'cosmos',
                symbol: 'sqlRoleAssignmentsResource',
                copy: expect.objectContaining({ mode: 'serial', batchSize: 1 }),
                dependsOn: expect.arrayContaining(['letterCountsContainer', 'leasesContainer']),
            },
        ]);
        expect(grants.filter((g) => g.plane === 'cosmos').length).toBe(3);
    });
});

describe('Stream Analytics job, as compiled', () => {
    const queryText = readFileSync(path.join(repoRoot, 'infra/letter-counts.asaql'), 'utf8');
    const query = parseQuery(queryText);
    const steps = new Set(query.steps.map((s) => s.name));
    const selects = [...query.steps.map((s) => s.select), ...query.statements];
    const properties = job.properties as Record<string, unknown> & {
        inputs: Array<{ name: string; properties: unknown }>;
        outputs: Array<{ name: string; properties: unknown }>;
        transformation: { properties: { query: string; streamingUnits: number } };
    };
    const eventHubNamespace = onlyResource(deployment, 'Microsoft.EventHub/namespaces');
    const cosmosAccount = onlyResource(deployment, 'Microsoft.DocumentDB/databaseAccounts');

    it('alerts on every event the job leaves out or fails on: late, early, out of order, runtime errors', () => {
        // Metric names: Azure Monitor's supported metrics for Microsoft.StreamAnalytics/streamingjobs.
        const alerts = resourcesOfType(deployment, 'Microsoft.Insights/metricAlerts').map((alert) => {
            const properties = alert.properties as {
                scopes: string[];
                enabled: boolean;
                evaluationFrequency: string;
                criteria: { 'odata.type': string; allOf: Array<Record<string, unknown>> };
            };
            expect(properties.scopes).toEqual([job.id]);
            expect(properties.enabled).toBe(true);
            expect(properties.criteria['odata.type']).toBe(
                'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria',
            );
            expect(properties.criteria.allOf).toHaveLength(1);
            const { metricName, metricNamespace, operator, threshold, timeAggregation } = properties.criteria.allOf[0]!;
            return {
                metricName,
                metricNamespace,
                operator,
                threshold,
                timeAggregation,
                every: properties.evaluationFrequency,
            };
        });
        expect(alerts).toEqual(
            ['LateInputEvents', 'EarlyInputEvents', 'DroppedOrAdjustedEvents', 'Errors'].map((metricName) => ({
                metricName,
                metricNamespace: 'Microsoft.StreamAnalytics/streamingjobs',
                operator: 'GreaterThan',
                threshold: 0,
                timeAggregation: 'Total',
                every: 'PT5M',
            })),
        );
    });

    it('runs the same .asaql file the local runtime runs', () => {
        expect(properties.transformation.properties.query).toBe(queryText);
    });

    it("declares exactly the query's FROM inputs and INTO outputs", () => {
        const queryInputs = [...new Set(selects.map((s) => s.from.source).filter((source) => !steps.has(source)))];
        const queryOutputs = [...new Set(query.statements.flatMap((s) => (s.into ? [s.into.name] : [])))];
        expect(properties.inputs.map((i) => i.name)).toEqual(queryInputs);
        expect(properties.outputs.map((o) => o.name)).toEqual(queryOutputs);
    });

    it('reads the names hub through its own consumer group with its managed identity', () => {
        expect(properties.inputs[0]?.properties).toEqual({
            type: 'Stream',
            datasource: {
                type: 'Microsoft.ServiceBus/EventHub',
                properties: {
                    authenticationMode: 'Msi',
                    serviceBusNamespace: eventHubNamespace.name,
                    eventHubName: localSettings.Values.NAMES_EVENT_HUB,
                    consumerGroupName: localInfrastructure({}).streamAnalyticsConsumerGroup,
                },
            },
            serialization: { type: 'Json', properties: { encoding: 'UTF8' } },
        });
        expect(
            resourcesOfType(deployment, 'Microsoft.EventHub/namespaces/eventhubs/consumergroups').map((c) => c.name),
        ).toEqual([
            `${eventHubNamespace.name}/${localSettings.Values.NAMES_EVENT_HUB}/${localInfrastructure({}).streamAnalyticsConsumerGroup}`,
        ]);
    });

    it('upserts into the letter-counts container by document id with its managed identity', () => {
        expect(properties.outputs[0]?.properties).toEqual({
            datasource: {
                type: 'Microsoft.Storage/DocumentDB',
                properties: {
                    authenticationMode: 'Msi',
                    accountId: cosmosAccount.name,
                    database: localSettings.Values.COSMOS_DATABASE,
                    collectionNamePattern: localSettings.Values.LETTER_COUNTS_CONTAINER,
                    documentId: 'id',
                },
            },
        });
    });

    it('runs Standard V2 at 1/3 SU by default, and accepts only the streaming units Stream Analytics allows', () => {
        expect(properties.sku).toEqual({ name: 'StandardV2' });
        expect(properties.transformation.properties.streamingUnits).toBe(3);
        const allowed = (deployment.template.parameters?.streamingUnits as { allowedValues?: number[] }).allowedValues;
        expect(allowed).toEqual([3, 7, ...Array.from({ length: 66 }, (_, i) => (i + 1) * 10)]);
    });
});

describe('Settings the compiled template shares with the local runtime', () => {
    const local = localInfrastructure(localSettings.Values);
    const localQueue = local.serviceBusQueues[0]!;
    const localHub = local.eventHubs[0]!;
    const jobSettings = readJson('infra/letter-counts.job-settings.json') as Record<string, unknown>;

    /** ISO 8601 durations as Service Bus writes them (PnDTnHnMnS), in milliseconds. */
    function isoDurationMs(value: unknown): number {
        const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(String(value));
        if (!match) {
            throw new Error(`Not an ISO 8601 duration: ${String(value)}`);
        }
        const [, d = '0', h = '0', m = '0', s = '0'] = match;
        return ((Number(d) * 24 + Number(h)) * 60 + Number(m)) * 60_000 + Number(s) * 1000;
    }

    it('the queue: name, lock duration, max delivery count, message TTL and dead-lettering on expiry', () => {
        const queue = onlyResource(deployment, 'Microsoft.ServiceBus/namespaces/queues');
        const p = queue.properties as Record<string, unknown>;
        expect({
            name: queue.name.split('/').pop(),
            lockDurationMs: isoDurationMs(p.lockDuration),
            maxDeliveryCount: p.maxDeliveryCount,
            defaultMessageTimeToLiveMs: isoDurationMs(p.defaultMessageTimeToLive),
            deadLetteringOnMessageExpiration: p.deadLetteringOnMessageExpiration,
        }).toEqual(localQueue);
    });

    it('the README and the dead-letter text give the same max delivery count', () => {
        const count = localQueue.maxDeliveryCount;
        const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
        expect(readme).toContain(`\`maxDeliveryCount\` (${count})`);
        expect(readme).toContain(`after ${count} failed deliveries`);
        expect(readme).toContain(`\`maxDeliveryCount\` ${count}`);
    });

    it('the event hub: name, partition count and retention', () => {
        const hub = onlyResource(deployment, 'Microsoft.EventHub/namespaces/eventhubs');
        const p = hub.properties as { partitionCount: number; messageRetentionInDays: number };
        expect({
            name: hub.name.split('/').pop(),
            partitionCount: p.partitionCount,
            retentionMs: p.messageRetentionInDays * 24 * 60 * 60_000,
        }).toEqual({ name: localHub.name, partitionCount: localHub.partitionCount, retentionMs: localHub.retentionMs });
    });

    it('the Cosmos DB database and containers: names, partition keys and the letter counts TTL', () => {
        const database = onlyResource(deployment, 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases');
        const containers = resourcesOfType(deployment, 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers');
        expect(database.name.split('/').pop()).toBe(local.cosmos.databaseName);
        expect(
            containers.map((c) => {
                const resource = (c.properties as { resource: Record<string, unknown> }).resource;
                const partitionKey = resource.partitionKey as { paths: string[]; kind: string };
                expect(partitionKey.kind).toBe('Hash');
                return {
                    id: resource.id,
                    partitionKeyPath: partitionKey.paths.join(','),
                    ...(resource.defaultTtl !== undefined ? { defaultTtlSeconds: resource.defaultTtl } : {}),
                };
            }),
        ).toEqual(local.cosmos.containers);
        const trigger = bindings.find(({ binding }) => binding.type === 'cosmosDBTrigger')?.binding;
        expect(trigger?.leaseContainerName).toBe('leases');
        expect(trigger?.createLeaseContainerIfNotExists).toBe(false);
    });

    it('the blob containers the functions write to', () => {
        const containers = resourcesOfType(deployment, 'Microsoft.Storage/storageAccounts/blobServices/containers').map(
            (c) => c.name.split('/').pop(),
        );
        expect(containers).toEqual(expect.arrayContaining(local.blobContainers));
        const blobOutput = bindings.find(({ binding }) => binding.type === 'blob')?.binding;
        expect(local.blobContainers).toContain(String(blobOutput?.path).split('/')[0]);
    });

    it("the raw-names lifecycle rule: the local sweeper's filters and retention are the deployed rule's", () => {
        const policy = onlyResource(deployment, 'Microsoft.Storage/storageAccounts/managementPolicies');
        const rules = (policy.properties as { policy: { rules: Array<Record<string, unknown>> } }).policy.rules;
        expect(
            rules.map((rule) => {
                const definition = rule.definition as {
                    filters: { blobTypes: string[]; prefixMatch: string[] };
                    actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: number } } };
                };
                expect([rule.enabled, rule.type]).toEqual([true, 'Lifecycle']);
                return {
                    name: rule.name,
                    blobTypes: definition.filters.blobTypes,
                    prefixMatch: definition.filters.prefixMatch,
                    daysAfterModificationGreaterThan:
                        definition.actions.baseBlob.delete.daysAfterModificationGreaterThan,
                };
            }),
        ).toEqual([local.rawNamesLifecycleRule]);
        // The number itself is the shared file's, not a copy in either place.
        expect(local.rawNamesLifecycleRule.daysAfterModificationGreaterThan).toBe(
            (readJson('infra/raw-names-retention.json') as { rawNamesRetentionDays: number }).rawNamesRetentionDays,
        );
    });

    it('the window size: the query, the deployed setting and the sample agree', () => {
        const size = /TumblingWindow\(\s*(second|ss|s)\s*,\s*(\d+)\s*\)/i.exec(
            (job.properties as { transformation: { properties: { query: string } } }).transformation.properties.query,
        )?.[2];
        expect([size, appSettings.LETTER_COUNT_WINDOW_SECONDS]).toEqual([
            localSettings.Values.LETTER_COUNT_WINDOW_SECONDS,
            localSettings.Values.LETTER_COUNT_WINDOW_SECONDS,
        ]);
    });

    it('the event-ordering tolerances and policies the local engine runs with', () => {
        const p = job.properties as Record<string, unknown>;
        expect(Object.fromEntries(Object.keys(jobSettings).map((key) => [key, p[key]]))).toEqual(jobSettings);
    });
});

describe('No key anywhere in the compiled template', () => {
    it('has no listKeys, listConnectionStrings, SAS or account key expression', () => {
        expect(deployment.templateText).not.toMatch(
            /list(Keys|ConnectionStrings|Secrets|AccountSas|ServiceSas)\s*\(|accountKey|sharedAccessPolicyKey|SharedAccessKey|AccountKey=/i,
        );
    });

    it('has no secure parameter or output', () => {
        const templates = [deployment.template, ...moduleTemplates(deployment.template).map((m) => m.template)];
        const secure = templates.flatMap((t) =>
            [...Object.entries(t.parameters ?? {}), ...Object.entries(t.outputs ?? {})]
                .filter(([, v]) => /^secure/i.test(v.type))
                .map(([name]) => name),
        );
        expect(secure).toEqual([]);
    });

    it.each([
        ['Microsoft.ServiceBus/namespaces', 'disableLocalAuth', true],
        ['Microsoft.EventHub/namespaces', 'disableLocalAuth', true],
        ['Microsoft.DocumentDB/databaseAccounts', 'disableLocalAuth', true],
        ['Microsoft.SignalRService/signalR', 'disableLocalAuth', true],
        ['Microsoft.EventGrid/topics', 'disableLocalAuth', true],
        ['Microsoft.Insights/components', 'DisableLocalAuth', true],
        ['Microsoft.Storage/storageAccounts', 'allowSharedKeyAccess', false],
    ] as const)('%s has %s = %s', (type, propertyName, expected) => {
        expect(onlyResource(deployment, type).properties?.[propertyName]).toBe(expected);
    });

    it('publishes CloudEvents 1.0, runs SignalR serverless, and lets only the app origin call SignalR', () => {
        expect(onlyResource(deployment, 'Microsoft.EventGrid/topics').properties?.inputSchema).toBe(
            'CloudEventSchemaV1_0',
        );
        const signalR = onlyResource(deployment, 'Microsoft.SignalRService/signalR').properties as {
            features: unknown[];
            cors: { allowedOrigins: string[] };
        };
        expect(signalR.features).toContainEqual({ flag: 'ServiceMode', value: 'Serverless' });
        expect(signalR.cors.allowedOrigins).toEqual([`https://${site.name}.azurewebsites.net`]);
    });
});
