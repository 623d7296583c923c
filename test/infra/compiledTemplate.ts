import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { BindingDefinition, FunctionDefinition } from '../../local/host/functionApp';
import { hashInputs, type InfraBuildReport, infraOutDir, repoRoot } from '../../scripts/infraBuild';

export { repoRoot };

/**
 * What `npm run infra:build` left in .cache/infra (the vitest global setup runs it when the inputs changed):
 * the ARM template the real Bicep compiler produced, and the ARM template engine's expansion of it (`bicep
 * snapshot`) into the resources a deployment with infra/main.parameters.json would create. The tests below read
 * only these, never the Bicep text.
 */
export interface PredictedResource {
    id: string;
    type: string;
    name: string;
    apiVersion: string;
    location?: string;
    tags?: Record<string, string>;
    identity?: { type: string; userAssignedIdentities?: Record<string, unknown> };
    sku?: Record<string, unknown>;
    kind?: string;
    properties?: Record<string, unknown>;
}

export interface ArmTemplate {
    parameters?: Record<string, { type: string; metadata?: { description?: string } }>;
    outputs?: Record<string, { type: string; metadata?: { description?: string } }>;
    resources: ArmResource[] | Record<string, ArmResource>;
    [key: string]: unknown;
}

export interface ArmResource {
    type: string;
    name: string;
    copy?: { name: string; count: unknown; mode?: string; batchSize?: number };
    dependsOn?: string[];
    properties?: { template?: ArmTemplate; [key: string]: unknown };
    [key: string]: unknown;
}

export interface CompiledDeployment {
    report: InfraBuildReport;
    template: ArmTemplate;
    /** The compiled template as text, for scans. */
    templateText: string;
    resources: PredictedResource[];
    outputs: Record<string, unknown>;
}

interface StoredReport extends Partial<InfraBuildReport> {
    inputsHash: string;
    error?: string;
}

/** The build report, or an Error saying why there is none (missing tool, stale cache). */
export function readInfraBuildReport(): StoredReport {
    const reportFile = path.join(infraOutDir, 'report.json');
    if (!existsSync(reportFile)) {
        throw new Error('No .cache/infra/report.json: run "npm run infra:build" (the vitest global setup runs it)');
    }
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as StoredReport;
    if (report.inputsHash !== hashInputs()) {
        throw new Error('.cache/infra is older than infra/ or bicepconfig.json: run "npm run infra:build"');
    }
    return report;
}

const loaded = new Map<string, CompiledDeployment>();

/** The compiled template and its expansion; `variant` names one of snapshotVariants in scripts/infraBuild.ts. */
export function loadCompiledDeployment(variant = ''): CompiledDeployment {
    const cached = loaded.get(variant);
    if (cached) {
        return cached;
    }
    const report = readInfraBuildReport();
    if (report.error !== undefined) {
        throw new Error(report.error);
    }
    const templateText = readFileSync(path.join(infraOutDir, 'main.json'), 'utf8');
    const snapshot = JSON.parse(readFileSync(path.join(infraOutDir, variant, 'main.snapshot.json'), 'utf8')) as {
        predictedResources: PredictedResource[];
        outputs: Record<string, unknown>;
    };
    const deployment = {
        report: report as InfraBuildReport,
        template: JSON.parse(templateText) as ArmTemplate,
        templateText,
        resources: snapshot.predictedResources,
        outputs: snapshot.outputs,
    };
    loaded.set(variant, deployment);
    return deployment;
}

export function resourcesOfType(deployment: CompiledDeployment, type: string): PredictedResource[] {
    return deployment.resources.filter((r) => r.type.toLowerCase() === type.toLowerCase());
}

/** The one resource of a type (throws when there are none or several). */
export function onlyResource(deployment: CompiledDeployment, type: string): PredictedResource {
    const found = resourcesOfType(deployment, type);
    if (found.length !== 1) {
        throw new Error(`Expected one ${type} in the snapshot, found ${found.length}`);
    }
    return found[0]!;
}

export function resourceById(deployment: CompiledDeployment, id: string): PredictedResource | undefined {
    return deployment.resources.find((r) => r.id.toLowerCase() === id.toLowerCase());
}

/** `type name` of the resource an id points to, or the id itself when no predicted resource has it. */
export function describeResource(deployment: CompiledDeployment, id: string): string {
    const resource = resourceById(deployment, id);
    return resource ? `${resource.type} ${resource.name}` : id;
}

/** Resource ids an ARM expression reads with reference('<id>', ...), in order. */
export function referencedIds(expression: unknown): string[] {
    return typeof expression === 'string' ? [...expression.matchAll(/reference\('([^']+)'/g)].map((m) => m[1]!) : [];
}

/** A role a principal holds, as the compiled template grants it. */
export interface RoleGrant {
    /** Azure RBAC (Microsoft.Authorization/roleAssignments) or Cosmos DB data plane (sqlRoleAssignments). */
    plane: 'azure' | 'cosmos';
    /** Role name from infra/built-in-roles.json, or `<unknown ID>`. */
    role: string;
    /** The role definition id as deployed. */
    roleDefinitionId: string;
    /** `identity <name>` for a user-assigned identity, `developer` for AZURE_PRINCIPAL_ID, else the raw value. */
    principal: string;
    /** Resource id the role applies to. */
    scope: string;
    principalType?: string;
}

export const builtInRoles = JSON.parse(readFileSync(path.join(repoRoot, 'infra/built-in-roles.json'), 'utf8')) as {
    azureRoles: Record<string, string>;
    cosmosDataRoles: Record<string, string>;
};

/** The identity whose principal or client id an expression reads, as `identity <name>`. */
export function identityLabel(deployment: CompiledDeployment, expression: unknown, developerId: string): string {
    if (expression === developerId) {
        return 'developer';
    }
    const [id] = referencedIds(expression);
    const resource = id ? resourceById(deployment, id) : undefined;
    if (resource?.type === 'Microsoft.ManagedIdentity/userAssignedIdentities') {
        return `identity ${resource.name}`;
    }
    return String(expression);
}

export function roleGrants(deployment: CompiledDeployment, developerId: string): RoleGrant[] {
    const azureNames = new Map(Object.entries(builtInRoles.azureRoles).map(([name, id]) => [id, name]));
    const cosmosNames = new Map(Object.entries(builtInRoles.cosmosDataRoles).map(([name, id]) => [id, name]));
    const grants: RoleGrant[] = [];
    for (const resource of resourcesOfType(deployment, 'Microsoft.Authorization/roleAssignments')) {
        const properties = resource.properties ?? {};
        const roleDefinitionId = String(properties.roleDefinitionId);
        const roleId = roleDefinitionId.split('/').pop() ?? '';
        // A role assignment's id is <scope>/providers/Microsoft.Authorization/roleAssignments/<name>; when the name
        // needs a deploy-time value the engine keeps the id as [extensionResourceId('<scope>', ...)].
        const scope =
            /^\[extensionResourceId\('([^']+)'/.exec(resource.id)?.[1] ??
            resource.id.replace(/\/providers\/Microsoft\.Authorization\/roleAssignments\/[^/]+$/i, '');
        grants.push({
            plane: 'azure',
            role: azureNames.get(roleId) ?? `<unknown ${roleId}>`,
            roleDefinitionId,
            principal: identityLabel(deployment, properties.principalId, developerId),
            scope,
            ...(typeof properties.principalType === 'string' ? { principalType: properties.principalType } : {}),
        });
    }
    for (const resource of resourcesOfType(deployment, 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments')) {
        const properties = resource.properties ?? {};
        const roleDefinitionId = String(properties.roleDefinitionId);
        const roleId = roleDefinitionId.split('/').pop() ?? '';
        grants.push({
            plane: 'cosmos',
            role: cosmosNames.get(roleId) ?? `<unknown ${roleId}>`,
            roleDefinitionId,
            principal: identityLabel(deployment, properties.principalId, developerId),
            scope: String(properties.scope),
        });
    }
    return grants;
}

/** Every nested deployment's template (the modules), with the module's deployment name, depth first. */
export function moduleTemplates(template: ArmTemplate): Array<{ module: string; template: ArmTemplate }> {
    const found: Array<{ module: string; template: ArmTemplate }> = [];
    for (const resource of Object.values(template.resources)) {
        const nested = resource.properties?.template;
        if (resource.type === 'Microsoft.Resources/deployments' && nested) {
            found.push({ module: resource.name, template: nested }, ...moduleTemplates(nested));
        }
    }
    return found;
}

/**
 * The registered functions' binding contract, read from the compiled app the way the Node worker loads it.
 * `npm test` builds first; running a test file alone needs `npm run build`.
 */
export function loadFunctionContract(): FunctionDefinition[] {
    const hostModule = path.join(repoRoot, 'dist/local/host/functionApp.js');
    if (!existsSync(hostModule) || !existsSync(path.join(repoRoot, 'dist/functions'))) {
        throw new Error(`The compiled app is missing (${hostModule}): run "npm run build" before these tests`);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const host = require(hostModule) as typeof import('../../local/host/functionApp');
    return host.describeFunctionApp(host.loadFunctionApp(repoRoot));
}

export function allBindings(definition: FunctionDefinition): BindingDefinition[] {
    return [definition.trigger, ...definition.inputs, ...definition.outputs];
}

/** The app-setting prefix a binding connects through (`connection`, or `connectionStringSetting` for SignalR). */
export function connectionPrefix(binding: BindingDefinition): string | undefined {
    const value = binding.connection ?? binding.connectionStringSetting;
    return typeof value === 'string' ? value : undefined;
}

/** `%NAME%` app-setting references anywhere in a binding's declared properties. */
export function settingReferences(binding: BindingDefinition): string[] {
    return [...JSON.stringify(binding).matchAll(/%([A-Za-z0-9_]+)%/g)].map((m) => m[1] ?? '');
}

export function readJson(relativePath: string): unknown {
    return JSON.parse(readFileSync(path.join(repoRoot, relativePath), 'utf8'));
}

/** The resource token the names carry (`st<token>` is the storage account), shown as `<token>` in the docs. */
function resourceToken(deployment: CompiledDeployment): string {
    const storage = deployment.resources.find((r) => r.type === 'Microsoft.Storage/storageAccounts');
    return storage?.name.replace(/^st/, '') ?? '<no storage account>';
}

/**
 * The resources and role assignments of the compiled template as a Markdown section, for docs/deploy.md: names
 * with the resource token as `<token>` and the azd environment as `<env>`.
 */
export function inventoryMarkdown(
    deployment: CompiledDeployment,
    developerId: string,
    environmentName: string,
): string {
    const token = resourceToken(deployment);
    const generic = (text: string) =>
        text.replaceAll(token, '<token>').replace(new RegExp(`\\brg-${environmentName}\\b`, 'g'), 'rg-<env>');
    const resourceRows = deployment.resources
        .filter((r) => !/roleAssignments$/i.test(r.type))
        .map((r) => `| \`${r.type}\` | \`${generic(r.name)}\` |`);
    const grantRows = roleGrants(deployment, developerId).map((g) => {
        const account = g.scope.replace(/\/dbs\/.*$/, '');
        const database = /\/dbs\/(.*)$/.exec(g.scope)?.[1];
        const scope = generic(describeResource(deployment, account)).replace(/^(\S+) (\S+)$/, '`$1` `$2`');
        const principal = g.principal.startsWith('identity ') ? `\`${generic(g.principal.slice(9))}\`` : g.principal;
        return `| ${principal} | ${g.role} | ${scope}${database ? ` database \`${database}\`` : ''} | ${g.plane === 'azure' ? 'Azure RBAC' : 'Cosmos DB data plane'} |`;
    });
    return [
        '| Resource type | Name |',
        '| --- | --- |',
        ...resourceRows,
        '',
        '| Principal | Role | Scope | Kind |',
        '| --- | --- | --- | --- |',
        ...grantRows,
    ].join('\n');
}
