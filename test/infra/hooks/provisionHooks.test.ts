import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const hooksDir = path.resolve(__dirname, '../../../infra/hooks');

/**
 * A stand-in for the Azure CLI: answers `az rest` reads of the job from a state file, records every call, and on
 * a start request moves the job to the next outcome in startOutcomes (e.g. Failed while roles propagate).
 */
const fakeAz = `#!/bin/sh
echo "$*" >> "$FAKE_AZ_DIR/calls.log"
case "$*" in
    *"--method get"*"properties.jobState"*) cat "$FAKE_AZ_DIR/state" ;;
    *"--method get"*"properties.lastOutputEventTime"*) cat "$FAKE_AZ_DIR/lastOutput" 2>/dev/null || true ;;
    *"/start?"*)
        next=$(head -n 1 "$FAKE_AZ_DIR/startOutcomes")
        sed -i '1d' "$FAKE_AZ_DIR/startOutcomes"
        echo "$next" > "$FAKE_AZ_DIR/state" ;;
    *"/stop?"*) echo Stopped > "$FAKE_AZ_DIR/state" ;;
esac
`;

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

let work: string;
let fakeDir: string;

beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), 'namestream-hooks-'));
    fakeDir = path.join(work, 'fake-az');
    spawnSync('mkdir', ['-p', fakeDir]);
    writeFileSync(path.join(fakeDir, 'az'), fakeAz);
    chmodSync(path.join(fakeDir, 'az'), 0o755);
    writeFileSync(path.join(fakeDir, 'calls.log'), '');
});

afterEach(() => {
    rmSync(work, { recursive: true, force: true });
});

function runHook(hook: string, env: Record<string, string>) {
    const result = spawnSync('sh', [path.join(hooksDir, hook)], {
        cwd: work,
        encoding: 'utf8',
        env: {
            PATH: `${fakeDir}:${process.env.PATH ?? ''}`,
            FAKE_AZ_DIR: fakeDir,
            JOB_START_RETRY_SECONDS: '0',
            JOB_STATE_POLL_SECONDS: '0',
            ...env,
        },
    });
    const calls = readFileSync(path.join(fakeDir, 'calls.log'), 'utf8')
        .split('\n')
        .filter((line) => line.includes('--method post'))
        .map((line) => line.replace(/.*streamingjobs\/asa-abc/, ''));
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, posts: calls };
}

function setJob(state: string, startOutcomes: string[] = [], lastOutput = '') {
    writeFileSync(path.join(fakeDir, 'state'), `${state}\n`);
    writeFileSync(path.join(fakeDir, 'startOutcomes'), startOutcomes.map((s) => `${s}\n`).join(''));
    writeFileSync(path.join(fakeDir, 'lastOutput'), lastOutput);
}

describe('postprovision.sh', () => {
    it('starts a new job now and retries while its role assignments propagate', () => {
        setJob('Created', ['Failed', 'Running']);
        const run = runHook('postprovision.sh', deployed);
        expect(run.posts).toEqual([
            '/start?api-version=2020-03-01 --body {"outputStartMode":"JobStartTime"} --output none',
            '/start?api-version=2020-03-01 --body {"outputStartMode":"JobStartTime"} --output none',
        ]);
        expect(run.status).toBe(0);
    });

    it('resumes after the last output when the job has run before', () => {
        setJob('Stopped', ['Running'], '2026-01-01T00:00:30Z');
        const run = runHook('postprovision.sh', deployed);
        expect(run.posts).toEqual([
            '/start?api-version=2020-03-01 --body {"outputStartMode":"LastOutputEventTime"} --output none',
        ]);
        expect(run.status).toBe(0);
    });

    it('leaves a running job alone', () => {
        setJob('Running');
        const run = runHook('postprovision.sh', deployed);
        expect(run.posts).toEqual([]);
        expect(run.status).toBe(0);
    });

    it('fails, saying what to do, when the job never reaches Running', () => {
        setJob('Created', ['Failed', 'Failed']);
        const run = runHook('postprovision.sh', { ...deployed, JOB_START_ATTEMPTS: '2' });
        expect(run.posts.length).toBe(2);
        expect(run.status).toBe(1);
        expect(run.stderr).toBe(
            "postprovision: the job did not reach Running; see its activity log, then run 'azd hooks run postprovision'.\n",
        );
    });

    it('writes identity-based local settings for func start under .azure/<env>, not over ./local.settings.json', () => {
        setJob('Running');
        writeFileSync(path.join(work, 'local.settings.json'), '{"emulator":true}');
        runHook('postprovision.sh', deployed);
        expect(JSON.parse(readFileSync(path.join(work, '.azure/dev/local.settings.json'), 'utf8'))).toEqual({
            IsEncrypted: false,
            Values: {
                FUNCTIONS_WORKER_RUNTIME: 'node',
                AzureWebJobsStorage__blobServiceUri: 'https://stabc.blob.core.windows.net',
                ServiceBusConnection__fullyQualifiedNamespace: 'sb-abc.servicebus.windows.net',
                EventHubConnection__fullyQualifiedNamespace: 'evhns-abc.servicebus.windows.net',
                CosmosDBConnection__accountEndpoint: 'https://cosmos-abc.documents.azure.com:443/',
                AzureSignalRConnectionString__serviceUri: 'https://sigr-abc.service.signalr.net',
                EventGridConnection__topicEndpointUri: 'https://evgt-abc.westeurope-1.eventgrid.azure.net/api/events',
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
            Host: { LocalHttpPort: 7071, CORS: 'http://localhost:7071,http://127.0.0.1:7071', CORSCredentials: true },
        });
        expect(readFileSync(path.join(work, 'local.settings.json'), 'utf8')).toBe('{"emulator":true}');
    });

    it('replaces ./local.settings.json on request, keeping the previous one', () => {
        setJob('Running');
        writeFileSync(path.join(work, 'local.settings.json'), '{"emulator":true}');
        runHook('postprovision.sh', { ...deployed, WRITE_LOCAL_SETTINGS: 'true' });
        expect(readFileSync(path.join(work, 'local.settings.json'), 'utf8')).toBe(
            readFileSync(path.join(work, '.azure/dev/local.settings.json'), 'utf8'),
        );
        expect(readFileSync(path.join(work, '.azure/dev/local.settings.previous.json'), 'utf8')).toBe(
            '{"emulator":true}',
        );
    });
});

describe('preprovision.sh', () => {
    it('stops a running job so the deployment can update it', () => {
        setJob('Running');
        const run = runHook('preprovision.sh', deployed);
        expect(run.posts).toEqual(['/stop?api-version=2020-03-01 --output none']);
        expect(run.status).toBe(0);
    });

    it('does nothing before the first provision', () => {
        const run = runHook('preprovision.sh', { AZURE_ENV_NAME: 'dev' });
        expect(run).toEqual({
            status: 0,
            stdout: 'preprovision: no Stream Analytics job deployed yet; nothing to stop.\n',
            stderr: '',
            posts: [],
        });
        expect(existsSync(path.join(work, '.azure'))).toBe(false);
    });
});
