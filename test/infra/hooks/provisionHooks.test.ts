import { spawnSync } from 'node:child_process';
import {
    accessSync,
    constants,
    copyFileSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    rmSync,
    writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// A pwsh run takes a second or two on a quiet machine and far longer on a loaded one.
vi.setConfig({ testTimeout: 120_000 });

const repoRoot = path.resolve(__dirname, '../../..');
const hooksDir = path.join(repoRoot, 'infra/hooks');

/** A program on PATH (or in the .NET global tools folder, where `dotnet tool install --global` puts pwsh). */
function findTool(name: string, extraDirs: string[] = []): string | undefined {
    for (const directory of [...(process.env.PATH ?? '').split(path.delimiter), ...extraDirs].filter(Boolean)) {
        const candidate = path.join(directory, name);
        try {
            accessSync(candidate, constants.X_OK);
            return candidate;
        } catch {
            // not here
        }
    }
    return undefined;
}

function requireTool(name: string, hint: string, extraDirs: string[] = []): string {
    const found = findTool(name, extraDirs);
    if (!found) {
        throw new Error(`${name} is not installed: ${hint}`);
    }
    return found;
}

const pwshHint =
    '`dotnet tool install --global PowerShell --version 7.6.9` (then ~/.dotnet/tools/pwsh; .ci/run does this)';
const shellcheckHint = '`apt-get install -y shellcheck` (Debian/Ubuntu; .ci/run does this)';
const dotnetTools = [path.join(homedir(), '.dotnet', 'tools')];

const deployed = {
    AZURE_ENV_NAME: 'dev',
    AZURE_SUBSCRIPTION_ID: 'sub-1',
    AZURE_RESOURCE_GROUP: 'rg-dev',
    AZURE_STREAM_ANALYTICS_JOB_NAME: 'asa-abc',
    AZURE_STORAGE_BLOB_ENDPOINT: 'https://stabc.blob.core.windows.net/',
    SERVICE_BUS_FULLY_QUALIFIED_NAMESPACE: 'sb-abc.servicebus.windows.net',
    EVENT_HUBS_FULLY_QUALIFIED_NAMESPACE: 'evhns-abc.servicebus.windows.net',
    COSMOS_ACCOUNT_ENDPOINT: 'https://cosmos-abc.documents.azure.com:443/',
    SIGNALR_SERVICE_URI: 'https://sigr-abc.service.signalr.net',
    EVENT_GRID_TOPIC_ENDPOINT: 'https://evgt-abc.westeurope-1.eventgrid.azure.net/api/events',
    NAMES_QUEUE: 'newnames-queue',
    NAMES_EVENT_HUB: 'names',
    COSMOS_DATABASE: 'namestream',
    LETTER_COUNTS_CONTAINER: 'letter-counts',
    SIGNALR_HUB: 'letters',
};
const jobUrl =
    'https://management.azure.com/subscriptions/sub-1/resourceGroups/rg-dev/providers/Microsoft.StreamAnalytics/streamingjobs/asa-abc';
const api = 'api-version=2020-03-01';

/** The calls a hook makes, as az receives its arguments. */
const readState = [
    'rest',
    '--method',
    'get',
    '--url',
    `${jobUrl}?${api}`,
    '--query',
    'properties.jobState',
    '--output',
    'tsv',
];
const readLastOutput = [
    'rest',
    '--method',
    'get',
    '--url',
    `${jobUrl}?${api}`,
    '--query',
    'properties.lastOutputEventTime',
    '--output',
    'tsv',
];
const stop = ['rest', '--method', 'post', '--url', `${jobUrl}/stop?${api}`, '--output', 'none'];
/** A start: its arguments (the body file's path is replaced by <body>) and the JSON the body file held. */
const start = (mode: string) => ({
    args: ['rest', '--method', 'post', '--url', `${jobUrl}/start?${api}`, '--body', '@<body>', '--output', 'none'],
    body: `{"outputStartMode":"${mode}"}`,
});

type Shell = 'sh' | 'bash' | 'pwsh';
const shells: Shell[] = ['sh', 'bash', 'pwsh'];
/**
 * A pwsh process costs about two seconds of CPU, so under pwsh the cases that only repeat a path the PowerShell
 * hooks share with a case already run (another transitional or idle state, another "leave it alone", another
 * missing job) are left out; sh and bash run every case.
 */
const posixOnly =
    (shell: Shell) =>
    (name: string, test: () => void): void => {
        if (shell !== 'pwsh') {
            it(name, test);
        }
    };

let work: string;
let fakeDir: string;

beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), 'namestream-hooks-'));
    fakeDir = path.join(work, 'fake-az');
    mkdirSync(fakeDir);
    mkdirSync(path.join(fakeDir, 'calls'));
    copyFileSync(path.join(__dirname, 'fakeAz.sh'), path.join(fakeDir, 'az'));
    spawnSync('chmod', ['+x', path.join(fakeDir, 'az')]);
});

afterEach(() => {
    rmSync(work, { recursive: true, force: true });
});

interface Job {
    states?: string[];
    lastOutput?: string;
    onStop?: string[];
    /** Per start request: the request's exit code and the states the job goes through after it. */
    onStart?: Array<[number, string[]]>;
    /** Reads that fail, in order: the --query read, az's exit code and its stderr text. */
    readFailures?: Array<[string, number, string]>;
    /** A line every read that gets an answer writes to stderr (az's warnings go there, with exit code 0). */
    readWarning?: string;
}

function setJob(job: Job): void {
    const lines = (values: string[] = []) => values.map((v) => `${v}\n`).join('');
    writeFileSync(path.join(fakeDir, 'states'), lines(job.states));
    writeFileSync(path.join(fakeDir, 'lastOutput'), job.lastOutput ?? '');
    writeFileSync(path.join(fakeDir, 'onStop'), lines(job.onStop));
    writeFileSync(
        path.join(fakeDir, 'onStart'),
        lines((job.onStart ?? []).map(([code, s]) => `${code} ${s.join(',')}`)),
    );
    writeFileSync(
        path.join(fakeDir, 'readFailures'),
        lines((job.readFailures ?? []).map(([query, code, text]) => `${query} ${code} ${text}`)),
    );
    writeFileSync(path.join(fakeDir, 'readWarning'), job.readWarning === undefined ? '' : `${job.readWarning}\n`);
}

/** What az prints for a 5xx from ARM (`az rest`: the reason phrase and the body) and when nobody is signed in. */
const serverError =
    'ERROR: Service Unavailable({"error":{"code":"ServiceUnavailable","message":"The service is unavailable."}})';
const azWarning = 'WARNING: You have 2 update(s) available. Consider updating your CLI installation.';
const notSignedIn = "ERROR: Please run 'az login' to setup account.";

const pwshArgs = ['-NoLogo', '-NoProfile', '-NonInteractive'];

/**
 * PowerShell passes arguments to a .cmd file (az.cmd on Windows) the legacy way, dropping the double quotes
 * inside an argument; `$PSNativeCommandArgumentPassing = 'Legacy'` makes pwsh do the same here.
 */
const legacyArgumentPassing = "$PSNativeCommandArgumentPassing = 'Legacy'";

function runHook(
    shell: Shell,
    hook: 'preprovision' | 'postprovision',
    env: Record<string, string>,
    options: { legacyArgumentPassing?: boolean } = {},
) {
    const script = path.join(hooksDir, `${hook}.${shell === 'pwsh' ? 'ps1' : 'sh'}`);
    const pwsh = () => requireTool('pwsh', pwshHint, dotnetTools);
    const command =
        shell !== 'pwsh'
            ? [shell, script]
            : options.legacyArgumentPassing
              ? [pwsh(), ...pwshArgs, '-Command', `${legacyArgumentPassing}; & '${script}'; exit $LASTEXITCODE`]
              : [pwsh(), ...pwshArgs, '-File', script];
    const result = spawnSync(command[0]!, command.slice(1), {
        cwd: work,
        encoding: 'utf8',
        env: {
            PATH: `${fakeDir}${path.delimiter}${process.env.PATH ?? ''}`,
            HOME: process.env.HOME ?? work,
            DOTNET_ROOT: process.env.DOTNET_ROOT ?? '',
            FAKE_AZ_DIR: fakeDir,
            JOB_START_RETRY_SECONDS: '0',
            JOB_STATE_POLL_SECONDS: '0',
            JOB_READ_RETRY_SECONDS: '0',
            POWERSHELL_TELEMETRY_OPTOUT: '1',
            POWERSHELL_UPDATECHECK: 'Off',
            ...env,
        },
    });
    const callsDir = path.join(fakeDir, 'calls');
    const calls = existsSync(callsDir)
        ? readdirSync(callsDir)
              .filter((f) => !f.endsWith('.body'))
              .sort()
              .map((f) => {
                  const args = readFileSync(path.join(callsDir, f), 'utf8').split('\n').slice(0, -1);
                  const bodyFile = path.join(callsDir, `${f}.body`);
                  return existsSync(bodyFile)
                      ? {
                            args: args.map((a) => (a.startsWith('@') ? '@<body>' : a)),
                            body: readFileSync(bodyFile, 'utf8'),
                        }
                      : args;
              })
        : [];
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

describe.each(shells)('provision hooks under %s, against a fake az', (shell) => {
    describe('postprovision', () => {
        it('starts a new job now and waits until it is Running', () => {
            setJob({ states: ['Created'], onStart: [[0, ['Starting', 'Starting', 'Running']]] });
            const run = runHook(shell, 'postprovision', deployed);
            expect(run.calls).toEqual([
                readLastOutput,
                readState,
                start('JobStartTime'),
                readState,
                readState,
                readState,
            ]);
            expect(run.status).toBe(0);
        });

        it('retries a start that fails while the role assignments propagate, reading the state first', () => {
            setJob({
                states: ['Created'],
                onStart: [
                    [0, ['Starting', 'Failed']],
                    [0, ['Starting', 'Running']],
                ],
            });
            const run = runHook(shell, 'postprovision', deployed);
            expect(run.calls).toEqual([
                readLastOutput,
                readState,
                start('JobStartTime'),
                readState,
                readState,
                start('JobStartTime'),
                readState,
                readState,
            ]);
            expect(run.status).toBe(0);
        });

        it('succeeds without a second start when a failed start request still brings the job to Running', () => {
            setJob({ states: ['Stopped'], onStart: [[1, ['Starting', 'Running']]] });
            const run = runHook(shell, 'postprovision', deployed);
            expect(run.calls).toEqual([readLastOutput, readState, start('JobStartTime'), readState, readState]);
            expect(run.status).toBe(0);
        });

        it('resumes after the last output when the job has run before', () => {
            setJob({
                states: ['Stopped'],
                lastOutput: '2026-01-01T00:00:30Z',
                onStart: [[0, ['Running']]],
            });
            const run = runHook(shell, 'postprovision', deployed);
            expect(run.calls).toEqual([readLastOutput, readState, start('LastOutputEventTime'), readState]);
            expect(run.status).toBe(0);
        });

        it('leaves a running job alone, passing on what az warns on stderr', () => {
            setJob({ states: ['Running'], readWarning: azWarning });
            const run = runHook(shell, 'postprovision', deployed);
            expect(run.calls).toEqual([readLastOutput, readState]);
            expect(run.stderr).toBe(`${azWarning}\n${azWarning}\n`);
            expect(run.status).toBe(0);
        });

        it('fails, saying what to do, when the job never reaches Running', () => {
            setJob({
                states: ['Created'],
                onStart: [
                    [0, ['Starting', 'Failed']],
                    [0, ['Failed']],
                ],
            });
            const run = runHook(shell, 'postprovision', { ...deployed, JOB_START_ATTEMPTS: '2' });
            expect(run.calls).toEqual([
                readLastOutput,
                readState,
                start('JobStartTime'),
                readState,
                readState,
                start('JobStartTime'),
                readState,
            ]);
            expect(run.stderr).toBe(
                "postprovision: the job did not reach Running (last state 'Failed'); see its activity log, then run 'azd hooks run postprovision'.\n",
            );
            expect(run.status).toBe(1);
        });

        posixOnly(shell)('fails when the provisioned job does not exist', () => {
            setJob({});
            const run = runHook(shell, 'postprovision', deployed);
            expect(run.calls).toEqual([readLastOutput, readState]);
            expect(run.stderr).toBe(
                'postprovision: Stream Analytics job asa-abc does not exist; did the provision succeed?\n',
            );
            expect(run.status).toBe(1);
            expect(existsSync(path.join(work, '.azure'))).toBe(false);
        });

        it('fails showing az\'s error, not "does not exist", when the state read keeps failing', () => {
            setJob({
                states: ['Created'],
                readFailures: [
                    ['properties.jobState', 1, serverError],
                    ['properties.jobState', 1, serverError],
                ],
            });
            const run = runHook(shell, 'postprovision', { ...deployed, JOB_READ_ATTEMPTS: '2' });
            expect(run.calls).toEqual([readLastOutput, readState, readState]);
            expect(run.stderr).toBe(
                `${serverError}\n` +
                    'postprovision: reading properties.jobState failed (attempt 1 of 2); retrying in 0 s.\n' +
                    `${serverError}\n` +
                    'postprovision: could not read properties.jobState of Stream Analytics job asa-abc (2 attempts); see the az error above.\n',
            );
            expect(run.status).toBe(1);
            expect(existsSync(path.join(work, '.azure'))).toBe(false);
        });

        posixOnly(shell)('retries a read that fails once and goes on', () => {
            setJob({
                states: ['Stopped'],
                lastOutput: '2026-01-01T00:00:30Z',
                onStart: [[0, ['Running']]],
                readFailures: [['properties.lastOutputEventTime', 1, serverError]],
            });
            const run = runHook(shell, 'postprovision', deployed);
            expect(run.calls).toEqual([
                readLastOutput,
                readLastOutput,
                readState,
                start('LastOutputEventTime'),
                readState,
            ]);
            expect(run.stderr).toBe(
                `${serverError}\npostprovision: reading properties.lastOutputEventTime failed (attempt 1 of 3); retrying in 0 s.\n`,
            );
            expect(run.status).toBe(0);
        });

        it('does not start from JobStartTime (skipping the windows since the stop) when lastOutputEventTime cannot be read', () => {
            setJob({
                states: ['Stopped'],
                lastOutput: '2026-01-01T00:00:30Z',
                onStart: [[0, ['Running']]],
                readFailures: [['properties.lastOutputEventTime', 1, notSignedIn]],
            });
            const run = runHook(shell, 'postprovision', { ...deployed, JOB_READ_ATTEMPTS: '1' });
            expect(run.calls).toEqual([readLastOutput]);
            expect(run.stderr).toBe(
                `${notSignedIn}\n` +
                    'postprovision: could not read properties.lastOutputEventTime of Stream Analytics job asa-abc (1 attempts); see the az error above.\n',
            );
            expect(run.status).toBe(1);
        });

        it('writes identity-based local settings for func start under .azure/<env>, not over ./local.settings.json', () => {
            setJob({ states: ['Running'] });
            writeFileSync(path.join(work, 'local.settings.json'), '{"emulator":true}');
            expect(runHook(shell, 'postprovision', deployed).status).toBe(0);
            expect(JSON.parse(readFileSync(path.join(work, '.azure/dev/local.settings.json'), 'utf8'))).toEqual({
                IsEncrypted: false,
                Values: {
                    FUNCTIONS_WORKER_RUNTIME: 'node',
                    AzureWebJobsStorage__blobServiceUri: 'https://stabc.blob.core.windows.net',
                    ServiceBusConnection__fullyQualifiedNamespace: 'sb-abc.servicebus.windows.net',
                    EventHubConnection__fullyQualifiedNamespace: 'evhns-abc.servicebus.windows.net',
                    CosmosDBConnection__accountEndpoint: 'https://cosmos-abc.documents.azure.com:443/',
                    AzureSignalRConnectionString__serviceUri: 'https://sigr-abc.service.signalr.net',
                    EventGridConnection__topicEndpointUri:
                        'https://evgt-abc.westeurope-1.eventgrid.azure.net/api/events',
                    GENERATE_NAMES_SCHEDULE: '*/5 * * * * *',
                    NAMES_PER_MESSAGE: '4-10',
                    NAMES_SEED: '',
                    NAMES_QUEUE: 'newnames-queue',
                    NAMES_EVENT_HUB: 'names',
                    COSMOS_DATABASE: 'namestream',
                    LETTER_COUNTS_CONTAINER: 'letter-counts',
                    SIGNALR_HUB: 'letters',
                    LETTER_COUNT_WINDOW_SECONDS: '30',
                },
                Host: {
                    LocalHttpPort: 7071,
                    CORS: 'http://localhost:7071,http://127.0.0.1:7071',
                    CORSCredentials: true,
                },
            });
            expect(readFileSync(path.join(work, 'local.settings.json'), 'utf8')).toBe('{"emulator":true}');
        });

        posixOnly(shell)('replaces ./local.settings.json on request, keeping the previous one', () => {
            setJob({ states: ['Running'] });
            writeFileSync(path.join(work, 'local.settings.json'), '{"emulator":true}');
            runHook(shell, 'postprovision', { ...deployed, WRITE_LOCAL_SETTINGS: 'true' });
            expect(readFileSync(path.join(work, 'local.settings.json'), 'utf8')).toBe(
                readFileSync(path.join(work, '.azure/dev/local.settings.json'), 'utf8'),
            );
            expect(readFileSync(path.join(work, '.azure/dev/local.settings.previous.json'), 'utf8')).toBe(
                '{"emulator":true}',
            );
        });
    });

    describe('preprovision', () => {
        it('stops a running job and waits until it is Stopped', () => {
            setJob({ states: ['Running'], onStop: ['Stopping', 'Stopping', 'Stopped'] });
            const run = runHook(shell, 'preprovision', deployed);
            expect(run.calls).toEqual([readState, stop, readState, readState, readState]);
            expect(run.stdout).toContain('preprovision: Stream Analytics job asa-abc is Stopped.');
            expect(run.status).toBe(0);
        });

        it.each(shell === 'pwsh' ? ['Restarting'] : ['Restarting', 'Scaling', 'Degraded', 'Starting'])(
            'stops a job that is %s, as a running one',
            (state) => {
                setJob({ states: [state], onStop: ['Stopping', 'Stopped'] });
                const run = runHook(shell, 'preprovision', deployed);
                expect(run.calls).toEqual([readState, stop, readState, readState]);
                expect(run.status).toBe(0);
            },
        );

        posixOnly(shell)('waits for a job that is already Stopping, without a second stop', () => {
            setJob({ states: ['Stopping', 'Stopping', 'Stopped'] });
            const run = runHook(shell, 'preprovision', deployed);
            expect(run.calls).toEqual([readState, readState, readState]);
            expect(run.status).toBe(0);
        });

        it('fails before the deployment when the job does not stop in time', () => {
            setJob({ states: ['Running'], onStop: ['Stopping'] });
            const run = runHook(shell, 'preprovision', { ...deployed, JOB_STATE_POLLS: '2' });
            expect(run.calls).toEqual([readState, stop, readState, readState, readState]);
            expect(run.stderr).toBe(
                'preprovision: Stream Analytics job asa-abc is still Stopping; provisioning now would fail to update it. Try again in a few minutes.\n',
            );
            expect(run.status).toBe(1);
        });

        posixOnly(shell)('leaves a stopped job alone', () => {
            setJob({ states: ['Stopped'] });
            const run = runHook(shell, 'preprovision', deployed);
            expect(run.calls).toEqual([readState]);
            expect(run.status).toBe(0);
        });

        it('does nothing on the first provision, when azd has no job name yet', () => {
            const run = runHook(shell, 'preprovision', { AZURE_ENV_NAME: 'dev' });
            expect(run).toEqual({
                status: 0,
                stdout: 'preprovision: no Stream Analytics job deployed yet; nothing to stop.\n',
                stderr: '',
                calls: [],
            });
        });

        it('fails showing az\'s error, not "does not exist", when the state cannot be read', () => {
            setJob({
                states: ['Running'],
                readFailures: [['properties.jobState', 1, notSignedIn]],
            });
            const run = runHook(shell, 'preprovision', { ...deployed, JOB_READ_ATTEMPTS: '1' });
            expect(run).toEqual({
                status: 1,
                stdout: '',
                stderr:
                    `${notSignedIn}\n` +
                    'preprovision: could not read properties.jobState of Stream Analytics job asa-abc (1 attempts); see the az error above.\n',
                calls: [readState],
            });
        });

        it('does nothing when the job named in the environment does not exist (az rest: a 404)', () => {
            setJob({});
            const run = runHook(shell, 'preprovision', deployed);
            expect(run.calls).toEqual([readState]);
            expect(run.stdout).toBe('preprovision: Stream Analytics job asa-abc does not exist; nothing to stop.\n');
            expect(run.status).toBe(0);
        });
    });
});

describe('the start body under the argument passing PowerShell uses for az.cmd on Windows', () => {
    it('reaches az intact from postprovision.ps1', () => {
        setJob({ states: ['Created'], onStart: [[0, ['Running']]] });
        const run = runHook('pwsh', 'postprovision', deployed, { legacyArgumentPassing: true });
        expect(run.calls).toEqual([readLastOutput, readState, start('JobStartTime'), readState]);
        expect(run.status).toBe(0);
    });

    it('would lose its quotes as an inline JSON argument (the form the hook used before)', () => {
        setJob({ states: ['Created'] });
        const inline = '"{`"outputStartMode`":`"JobStartTime`"}"';
        const result = spawnSync(
            requireTool('pwsh', pwshHint, dotnetTools),
            [...pwshArgs, '-Command', `${legacyArgumentPassing}; az rest --method post --body ${inline} --output none`],
            {
                cwd: work,
                encoding: 'utf8',
                env: {
                    ...process.env,
                    PATH: `${fakeDir}${path.delimiter}${process.env.PATH ?? ''}`,
                    FAKE_AZ_DIR: fakeDir,
                },
            },
        );
        expect(result.error).toBeUndefined();
        expect(readFileSync(path.join(fakeDir, 'calls', '001'), 'utf8').split('\n')).toContain(
            '{outputStartMode:JobStartTime}',
        );
    });
});

describe('shellcheck', () => {
    it('passes the shell hooks (with the file they source)', () => {
        const shellcheck = requireTool('shellcheck', shellcheckHint);
        const result = spawnSync(
            shellcheck,
            ['-x', '-s', 'sh', 'infra/hooks/preprovision.sh', 'infra/hooks/postprovision.sh'],
            { cwd: repoRoot, encoding: 'utf8' },
        );
        expect(result.stdout).toBe('');
        expect(result.status).toBe(0);
    });

    it('flags what it should (an unquoted expansion)', () => {
        const shellcheck = requireTool('shellcheck', shellcheckHint);
        const result = spawnSync(shellcheck, ['-s', 'sh', '-'], { input: 'rm $1\n', encoding: 'utf8' });
        expect(result.stdout).toContain('SC2086');
        expect(result.status).toBe(1);
    });
});

describe('the PowerShell hooks, read by the PowerShell parser', () => {
    it('parse without error and define no function that hides a built-in command (such as Start-Job)', () => {
        const pwsh = requireTool('pwsh', pwshHint, dotnetTools);
        const script = [
            "$files = Get-ChildItem -Path 'infra/hooks' -Filter '*.ps1'",
            '$report = foreach ($file in $files) {',
            '  $tokens = $null; $errors = $null',
            '  $ast = [System.Management.Automation.Language.Parser]::ParseFile($file.FullName, [ref]$tokens, [ref]$errors)',
            '  foreach ($e in $errors) { "parse error in $($file.Name): $($e.Message)" }',
            '  $functions = $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)',
            '  foreach ($f in $functions) {',
            '    $builtIn = Get-Command -Name $f.Name -CommandType Cmdlet,Alias,Function -ErrorAction SilentlyContinue',
            '    if ($builtIn) { "$($file.Name) defines $($f.Name), which hides a built-in $($builtIn.CommandType)" }',
            '    "function $($f.Name)"',
            '  }',
            '}',
            '$report',
        ].join('\n');
        const result = spawnSync(pwsh, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', script], {
            cwd: repoRoot,
            encoding: 'utf8',
        });
        expect(result.stderr).toBe('');
        const lines = result.stdout.trim().split('\n').sort();
        expect(lines.filter((l) => !l.startsWith('function '))).toEqual([]);
        expect(lines).toContain('function Start-StreamingJob');
    });
});
