import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
    accessSync,
    chmodSync,
    constants,
    existsSync,
    mkdirSync,
    readFileSync,
    statSync,
    writeFileSync,
} from 'node:fs';
import path from 'node:path';

import { globSync } from 'tinyglobby';

/**
 * `npm run infra:build`: compiles and lints the Bicep with the real Bicep CLI and leaves, in .cache/infra/:
 * - main.json, the ARM template `bicep build` compiles from infra/main.bicep (what azd deploys);
 * - main.bicepparam, infra/main.parameters.json with azd's `${NAME=default}` substitutions applied;
 * - main.snapshot.json, `bicep snapshot` of the two: the ARM template engine's own expansion of that template
 *   for those parameters into the resources a deployment would create, every expression it can evaluate without
 *   Azure evaluated (names, ids, loops, module parameters), the rest kept as `[reference(...)]` text; and the
 *   same for each of the snapshotVariants below, in a folder of its own;
 * - report.json, the Bicep version, the diagnostics and a hash of the inputs, which the tests read.
 * It fails on any compiler or linter diagnostic, error or warning: a warning may only be silenced in place with
 * `#disable-next-line <rule>` and a comment giving the reason.
 *
 * The Bicep CLI comes from `bicep` on PATH, else from the NuGet package Azure.Bicep.CommandLine.linux-x64
 * (version pinned in infra/tools/bicep.proj), restored once by `dotnet restore` into .cache/bicep/.
 */

export const repoRoot = findRepoRoot(__dirname);
export const cacheDir = path.join(repoRoot, '.cache');
export const infraOutDir = path.join(cacheDir, 'infra');

/** The identities the snapshot runs with: made-up but well-formed, so ids and guid() names are stable. */
export const snapshotContext = {
    subscriptionId: '00000000-0000-0000-0000-00000000c0de',
    tenantId: '00000000-0000-0000-0000-0000000a11ce',
    location: 'westeurope',
    deploymentName: 'namestream',
};

/** What azd passes for the values it sets itself (`${AZURE_ENV_NAME}`...) in the snapshot. */
export const azdEnvironment: Record<string, string> = {
    AZURE_ENV_NAME: 'ci',
    AZURE_LOCATION: snapshotContext.location,
    // The developer running azd: gets the app's data roles so `func start` works against Azure.
    AZURE_PRINCIPAL_ID: '00000000-0000-0000-0000-0000000de7e1',
};

/**
 * Other azd environments the template is expanded for, each into .cache/infra/<name>/main.snapshot.json: the
 * values a user may set with `azd env set` that change which resources or roles are deployed.
 */
export const snapshotVariants: Record<string, Record<string, string>> = {
    serviceBusTargetBasedScaling: { SERVICE_BUS_TARGET_BASED_SCALING: 'true' },
};

/** One compiler or linter message, as the Bicep CLI reports it. */
export interface BicepDiagnostic {
    level: 'error' | 'warning' | 'note';
    file: string;
    line: number;
    rule: string;
    message: string;
}

export interface InfraBuildReport {
    bicepVersion: string;
    bicepPath: string;
    inputsHash: string;
    diagnostics: BicepDiagnostic[];
}

/** Raised when neither a Bicep CLI nor the .NET SDK to fetch one is available. */
export class MissingBicepError extends Error {}

/** Raised when a command of the build fails for a reason other than a diagnostic. */
export class InfraBuildError extends Error {}

function findRepoRoot(from: string): string {
    for (let directory = from; ; directory = path.dirname(directory)) {
        if (existsSync(path.join(directory, 'infra', 'main.bicep'))) {
            return directory;
        }
        if (path.dirname(directory) === directory) {
            throw new Error(`No infra/main.bicep in ${from} or any folder above it`);
        }
    }
}

/** The files whose content decides the build's outcome; a change to any of them makes the cache stale. */
export function inputFiles(): string[] {
    return globSync(
        ['infra/**/*.{bicep,json,asaql}', 'infra/tools/bicep.proj', 'bicepconfig.json', 'scripts/infraBuild.ts'],
        { cwd: repoRoot },
    ).sort();
}

export function hashInputs(files: readonly string[] = inputFiles()): string {
    const hash = createHash('sha256');
    for (const file of files) {
        hash.update(file)
            .update('\0')
            .update(readFileSync(path.join(repoRoot, file)))
            .update('\0');
    }
    return hash.digest('hex');
}

function onPath(command: string, envPath: string): string | undefined {
    for (const directory of envPath.split(path.delimiter).filter(Boolean)) {
        const candidate = path.join(directory, command);
        try {
            accessSync(candidate, constants.X_OK);
            if (statSync(candidate).isFile()) {
                return candidate;
            }
        } catch {
            // not here
        }
    }
    return undefined;
}

function pinnedBicepVersion(): string {
    const project = readFileSync(path.join(repoRoot, 'infra/tools/bicep.proj'), 'utf8');
    const version = /<BicepVersion>([^<]+)<\/BicepVersion>/.exec(project)?.[1];
    if (!version) {
        throw new InfraBuildError('infra/tools/bicep.proj has no <BicepVersion>');
    }
    return version;
}

export const missingBicepHint =
    'Neither `bicep` nor `dotnet` is on PATH: install the .NET SDK (https://dot.net, or `apt-get install dotnet-sdk-10.0`) so `npm run infra:build` can restore the pinned Bicep CLI from NuGet, or put the Bicep CLI on PATH (`az bicep install`).';

/**
 * The Bicep CLI to run: `bicep` on PATH, else the pinned NuGet package in .cache/bicep (restored with `dotnet`
 * when missing). Throws MissingBicepError with a one-line hint when neither tool exists.
 */
export function locateBicep(options: { envPath?: string; cacheRoot?: string } = {}): string {
    const envPath = options.envPath ?? process.env.PATH ?? '';
    const cacheRoot = options.cacheRoot ?? cacheDir;
    const installed = onPath('bicep', envPath);
    if (installed) {
        return installed;
    }
    const version = pinnedBicepVersion();
    const packages = path.join(cacheRoot, 'bicep', 'packages');
    // NuGet lower-cases package folder names.
    const binary = path.join(packages, 'azure.bicep.commandline.linux-x64', version, 'tools', 'bicep');
    if (!existsSync(binary)) {
        const dotnet = onPath('dotnet', envPath);
        if (!dotnet) {
            throw new MissingBicepError(missingBicepHint);
        }
        if (process.platform !== 'linux' || process.arch !== 'x64') {
            throw new MissingBicepError(
                `The pinned Bicep package is for linux-x64 and this is ${process.platform}-${process.arch}: put the Bicep CLI on PATH (\`az bicep install\`).`,
            );
        }
        const restore = spawnSync(
            dotnet,
            [
                'restore',
                path.join(repoRoot, 'infra/tools/bicep.proj'),
                '--packages',
                packages,
                `-p:MSBuildProjectExtensionsPath=${path.join(cacheRoot, 'bicep', 'obj')}/`,
                '--verbosity',
                'quiet',
            ],
            { encoding: 'utf8', env: { ...process.env, PATH: envPath, DOTNET_CLI_TELEMETRY_OPTOUT: '1' } },
        );
        if (restore.status !== 0 || !existsSync(binary)) {
            throw new InfraBuildError(
                `dotnet restore of Azure.Bicep.CommandLine.linux-x64 ${version} failed (exit ${restore.status}): ${restore.stdout}${restore.stderr}`.trim(),
            );
        }
    }
    // The package does not always keep the executable bit through NuGet's extraction.
    const mode = statSync(binary).mode;
    if ((mode & 0o100) === 0) {
        chmodSync(binary, mode | 0o755);
    }
    return binary;
}

function run(bicep: string, args: string[]): { status: number; stdout: string; stderr: string } {
    const result = spawnSync(bicep, args, {
        cwd: repoRoot,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', BICEP_TRACING_ENABLED: 'false' },
    });
    if (result.error) {
        throw new InfraBuildError(`Could not run ${bicep}: ${result.error.message}`);
    }
    return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

interface SarifLog {
    runs?: Array<{
        results?: Array<{
            ruleId?: string;
            level?: string;
            message?: { text?: string };
            locations?: Array<{
                physicalLocation?: { artifactLocation?: { uri?: string }; region?: { startLine?: number } };
            }>;
        }>;
    }>;
}

/** Splits concatenated JSON documents (`bicep lint --pattern` prints one SARIF log per file, back to back). */
export function splitJsonDocuments(text: string): string[] {
    const documents: string[] = [];
    let depth = 0;
    let start = -1;
    let inString = false;
    for (let index = 0; index < text.length; index++) {
        const char = text[index];
        if (inString) {
            if (char === '\\') {
                index++;
            } else if (char === '"') {
                inString = false;
            }
        } else if (char === '"') {
            inString = true;
        } else if (char === '{') {
            if (depth === 0) {
                start = index;
            }
            depth++;
        } else if (char === '}' && depth > 0) {
            depth--;
            if (depth === 0) {
                documents.push(text.slice(start, index + 1));
            }
        }
    }
    return documents;
}

/** Reads the SARIF the CLI prints with `--diagnostics-format sarif` (a result without a level is a warning). */
export function parseSarif(text: string): BicepDiagnostic[] {
    return splitJsonDocuments(text).flatMap((document) => sarifResults(JSON.parse(document) as SarifLog));
}

function sarifResults(log: SarifLog): BicepDiagnostic[] {
    return (log.runs ?? []).flatMap((sarifRun) =>
        (sarifRun.results ?? []).map((result) => {
            const location = result.locations?.[0]?.physicalLocation;
            const uri = location?.artifactLocation?.uri ?? '';
            const file = uri.startsWith('file://') ? decodeURIComponent(new URL(uri).pathname) : uri;
            const level = result.level === 'error' ? 'error' : result.level === 'note' ? 'note' : 'warning';
            return {
                level,
                file: path.relative(repoRoot, file),
                line: location?.region?.startLine ?? 0,
                rule: result.ruleId ?? '',
                message: (result.message?.text ?? '').replace(/ \[https:\/\/aka\.ms\/[^\]]+\]$/, ''),
            } satisfies BicepDiagnostic;
        }),
    );
}

/**
 * Reads the CLI's default diagnostic lines, `path(line,col) : Error|Warning|Info rule: message`, which
 * `bicep snapshot` prints (it has no SARIF option).
 */
export function parseDiagnosticLines(text: string): BicepDiagnostic[] {
    const diagnostics: BicepDiagnostic[] = [];
    for (const line of text.split('\n')) {
        const match = /^(.+?)\((\d+),\d+\) : (Error|Warning|Info) ([^:]+): (.*)$/.exec(line.trim());
        if (match) {
            const [, file = '', lineNumber = '0', level = '', rule = '', message = ''] = match;
            diagnostics.push({
                level: level === 'Error' ? 'error' : level === 'Warning' ? 'warning' : 'note',
                file: path.relative(repoRoot, path.resolve(repoRoot, file)),
                line: Number(lineNumber),
                rule,
                message: message.replace(/ \[https:\/\/aka\.ms\/[^\]]+\]$/, ''),
            });
        }
    }
    return diagnostics;
}

type TemplateParameterTypes = Record<string, string>;

/**
 * infra/main.parameters.json as a .bicepparam: each `${NAME}` / `${NAME=default}` replaced the way azd does
 * (the environment value, else the default, else empty), and converted to the parameter's declared type.
 * Throws when the file sets a parameter main.bicep does not declare.
 */
export function toBicepParam(
    parametersJson: string,
    parameterTypes: TemplateParameterTypes,
    environment: Record<string, string | undefined>,
    usingPath: string,
): string {
    const parameters = (JSON.parse(parametersJson) as { parameters: Record<string, { value: unknown }> }).parameters;
    const lines = [`using '${usingPath}'`, ''];
    for (const [name, { value }] of Object.entries(parameters)) {
        const type = parameterTypes[name];
        if (!type) {
            throw new InfraBuildError(
                `infra/main.parameters.json sets "${name}", which infra/main.bicep does not declare`,
            );
        }
        const substituted =
            typeof value === 'string'
                ? value.replace(
                      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:=([^}]*))?\}/g,
                      (_all, key: string, fallback?: string) => {
                          const fromEnvironment = environment[key];
                          return fromEnvironment !== undefined && fromEnvironment !== ''
                              ? fromEnvironment
                              : (fallback ?? '');
                      },
                  )
                : value;
        lines.push(`param ${name} = ${toBicepLiteral(substituted, type, name)}`);
    }
    return `${lines.join('\n')}\n`;
}

function toBicepLiteral(value: unknown, type: string, name: string): string {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    switch (type.toLowerCase()) {
        case 'int': {
            if (!/^-?\d+$/.test(text)) {
                throw new InfraBuildError(`Parameter "${name}" is an int but its value is "${text}"`);
            }
            return text;
        }
        case 'bool': {
            if (text !== 'true' && text !== 'false') {
                throw new InfraBuildError(`Parameter "${name}" is a bool but its value is "${text}"`);
            }
            return text;
        }
        case 'string':
            return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\$\{/g, '\\${')}'`;
        default:
            throw new InfraBuildError(`Parameter "${name}" has type ${type}, which this conversion does not handle`);
    }
}

/** Lints one file, or every file a glob (relative to the repository) matches, with the repository's bicepconfig.json. */
export function lintFiles(bicep: string, fileOrPattern: string): BicepDiagnostic[] {
    const args = /[*?[]/.test(fileOrPattern) ? ['--pattern', fileOrPattern] : [fileOrPattern];
    const lint = run(bicep, ['lint', ...args, '--diagnostics-format', 'sarif']);
    const diagnostics = [...parseSarif(lint.stdout), ...parseDiagnosticLines(lint.stderr)];
    if (lint.status !== 0 && diagnostics.length === 0) {
        throw new InfraBuildError(`bicep lint ${fileOrPattern} failed without a diagnostic: ${lint.stderr.trim()}`);
    }
    return diagnostics;
}

/** Runs the whole build; returns the report (also written to .cache/infra/report.json). */
export function buildInfra(): InfraBuildReport {
    const bicep = locateBicep();
    mkdirSync(infraOutDir, { recursive: true });
    // The compiled template names the compiler (metadata._generator.version); until then the version is unknown.
    let version = 'unknown';
    const inputsHash = hashInputs();
    const diagnostics: BicepDiagnostic[] = [];

    // Every .bicep file, modules included, in one run of the linter.
    diagnostics.push(...lintFiles(bicep, 'infra/**/*.bicep'));

    const templateFile = path.join(infraOutDir, 'main.json');
    const build = run(bicep, ['build', 'infra/main.bicep', '--outfile', templateFile, '--diagnostics-format', 'sarif']);
    diagnostics.push(...parseSarif(build.stdout), ...parseSarif(build.stderr));
    if (build.status !== 0 || !existsSync(templateFile)) {
        return finish({ bicepVersion: version, bicepPath: bicep, inputsHash, diagnostics }, build.stderr);
    }

    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as {
        metadata?: { _generator?: { version?: string } };
        parameters: Record<string, { type: string }>;
    };
    version = /^\d+\.\d+\.\d+/.exec(template.metadata?._generator?.version ?? '')?.[0] ?? version;
    const parameterTypes = Object.fromEntries(Object.entries(template.parameters).map(([n, p]) => [n, p.type]));
    const parametersJson = readFileSync(path.join(repoRoot, 'infra/main.parameters.json'), 'utf8');
    // The snapshot recompiles main.bicep and repeats the linter's findings: keep only what is new.
    const seen = new Set(diagnostics.map((d) => JSON.stringify(d)));
    for (const [variant, overrides] of Object.entries({ '': {}, ...snapshotVariants })) {
        const directory = path.join(infraOutDir, variant);
        mkdirSync(directory, { recursive: true });
        const paramFile = path.join(directory, 'main.bicepparam');
        writeFileSync(
            paramFile,
            toBicepParam(
                parametersJson,
                parameterTypes,
                { ...azdEnvironment, ...overrides },
                path.relative(directory, path.join(repoRoot, 'infra/main.bicep')).split(path.sep).join('/'),
            ),
        );
        const snapshot = run(bicep, [
            'snapshot',
            paramFile,
            '--mode',
            'overwrite',
            '--subscription-id',
            snapshotContext.subscriptionId,
            '--tenant-id',
            snapshotContext.tenantId,
            '--location',
            snapshotContext.location,
            '--deployment-name',
            snapshotContext.deploymentName,
        ]);
        for (const diagnostic of parseDiagnosticLines(`${snapshot.stdout}\n${snapshot.stderr}`)) {
            if (!seen.has(JSON.stringify(diagnostic))) {
                seen.add(JSON.stringify(diagnostic));
                diagnostics.push(diagnostic);
            }
        }
        if (snapshot.status !== 0 || !existsSync(path.join(directory, 'main.snapshot.json'))) {
            return finish({ bicepVersion: version, bicepPath: bicep, inputsHash, diagnostics }, snapshot.stderr);
        }
    }
    return finish({ bicepVersion: version, bicepPath: bicep, inputsHash, diagnostics });
}

function finish(report: InfraBuildReport, failure?: string): InfraBuildReport {
    const unique = [...new Map(report.diagnostics.map((d) => [JSON.stringify(d), d])).values()];
    const result = { ...report, diagnostics: unique };
    writeFileSync(path.join(infraOutDir, 'report.json'), `${JSON.stringify(result, null, 4)}\n`);
    if (failure !== undefined && unique.length === 0) {
        throw new InfraBuildError(`The Bicep CLI failed without a diagnostic: ${failure.trim()}`);
    }
    return result;
}

export function formatDiagnostic(d: BicepDiagnostic): string {
    return `${d.file}:${d.line} ${d.level} ${d.rule}: ${d.message}`;
}

function main(): void {
    const started = Date.now();
    try {
        const report = buildInfra();
        for (const diagnostic of report.diagnostics) {
            console.error(formatDiagnostic(diagnostic));
        }
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        if (report.diagnostics.length > 0) {
            console.error(
                `infra:build: ${report.diagnostics.length} Bicep diagnostic(s) (Bicep ${report.bicepVersion})`,
            );
            process.exitCode = 1;
            return;
        }
        console.log(
            `infra:build: infra/main.bicep compiled, every .bicep file linted clean, snapshot written (Bicep ${report.bicepVersion}, ${seconds} s)`,
        );
    } catch (error) {
        console.error(`infra:build: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
    }
}

if (require.main === module) {
    main();
}
