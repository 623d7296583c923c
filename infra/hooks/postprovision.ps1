# Windows twin of postprovision.sh: starts the Stream Analytics job and waits until it runs (retrying, state first,
# while its role assignments propagate) and writes .azure/<env>/local.settings.json for `func start` against the deployed resources with the
# developer's own sign-in. ./local.settings.json is written only when WRITE_LOCAL_SETTINGS is true, because
# `npm start` reads it when it exists.
$ErrorActionPreference = 'Stop'
$HookName = 'postprovision'
. (Join-Path $PSScriptRoot 'jobCommon.ps1')

foreach ($name in @('AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_STREAM_ANALYTICS_JOB_NAME')) {
    if (-not [Environment]::GetEnvironmentVariable($name)) { throw "postprovision: $name is not set (azd sets it)." }
}
$jobName = $env:AZURE_STREAM_ANALYTICS_JOB_NAME
$startAttempts = if ($env:JOB_START_ATTEMPTS) { [int]$env:JOB_START_ATTEMPTS } else { 10 }
$retrySeconds = if ($env:JOB_START_RETRY_SECONDS) { [int]$env:JOB_START_RETRY_SECONDS } else { 60 }

# Sends one start request. The body goes through a file: PowerShell drops the inner quotes of a JSON argument
# when it calls az.cmd on Windows, so '{"outputStartMode":...}' would reach Azure as {outputStartMode:...}.
function Send-StreamingJobStart([string]$StartMode) {
    $bodyFile = New-TemporaryFile
    try {
        Set-Content -LiteralPath $bodyFile -Value "{`"outputStartMode`":`"$StartMode`"}" -NoNewline -Encoding utf8NoBOM
        az rest --method post --url "$(Get-StreamingJobUrl)/start?$JobApiVersion" --body "@$bodyFile" --output none
        return $LASTEXITCODE -eq 0
    }
    finally {
        Remove-Item -LiteralPath $bodyFile -Force -ErrorAction SilentlyContinue
    }
}

# Starts the job and waits until it runs, reading its state before every attempt (see postprovision.sh).
function Start-StreamingJob {
    $startMode = if (Get-StreamingJobProperty 'properties.lastOutputEventTime') { 'LastOutputEventTime' } else { 'JobStartTime' }
    for ($attempt = 1; ; $attempt++) {
        $state = Wait-StreamingJobState (@('Running', 'Degraded') + $JobIdleStates)
        if ($state -eq 'Running') {
            Write-Host "postprovision: Stream Analytics job $jobName is Running."
            return $true
        }
        if ($state -eq 'Degraded') {
            Write-Host "postprovision: Stream Analytics job $jobName is running but Degraded; see its activity log."
            return $true
        }
        if (-not $state) {
            [Console]::Error.WriteLine("postprovision: Stream Analytics job $jobName does not exist; did the provision succeed?")
            return $false
        }
        if ($attempt -gt $startAttempts) { break }
        if ($attempt -gt 1) {
            Write-Host "postprovision: job state is '$state' (its role assignments may still be propagating); retrying in $retrySeconds s."
            Start-Sleep -Seconds $retrySeconds
        }
        Write-Host "postprovision: starting Stream Analytics job $jobName ($startMode, attempt $attempt of $startAttempts)."
        if (-not (Send-StreamingJobStart $startMode)) { Write-Host "postprovision: the start request failed (attempt $attempt)." }
    }
    [Console]::Error.WriteLine("postprovision: the job did not reach Running (last state '$state'); see its activity log, then run 'azd hooks run postprovision'.")
    return $false
}

function Write-LocalSettings {
    $envName = if ($env:AZURE_ENV_NAME) { $env:AZURE_ENV_NAME } else { 'default' }
    $targetDir = Join-Path '.azure' $envName
    New-Item -ItemType Directory -Force -Path $targetDir | Out-Null
    $target = Join-Path $targetDir 'local.settings.json'
    $schedule = if ($env:GENERATE_NAMES_SCHEDULE) { $env:GENERATE_NAMES_SCHEDULE } else { '*/5 * * * * *' }
    $settings = [ordered]@{
        IsEncrypted = $false
        Values      = [ordered]@{
            FUNCTIONS_WORKER_RUNTIME                      = 'node'
            AzureWebJobsStorage__blobServiceUri           = $env:AZURE_STORAGE_BLOB_ENDPOINT.TrimEnd('/')
            ServiceBusConnection__fullyQualifiedNamespace = $env:SERVICE_BUS_FULLY_QUALIFIED_NAMESPACE
            EventHubConnection__fullyQualifiedNamespace   = $env:EVENT_HUBS_FULLY_QUALIFIED_NAMESPACE
            CosmosDBConnection__accountEndpoint           = $env:COSMOS_ACCOUNT_ENDPOINT
            AzureSignalRConnectionString__serviceUri      = $env:SIGNALR_SERVICE_URI
            EventGridConnection__topicEndpointUri         = $env:EVENT_GRID_TOPIC_ENDPOINT
            GENERATE_NAMES_SCHEDULE                       = $schedule
            NAMES_PER_MESSAGE                             = '4-10'
            NAMES_SEED                                    = ''
            NAMES_QUEUE                                   = $env:NAMES_QUEUE
            NAMES_EVENT_HUB                               = $env:NAMES_EVENT_HUB
            COSMOS_DATABASE                               = $env:COSMOS_DATABASE
            LETTER_COUNTS_CONTAINER                       = $env:LETTER_COUNTS_CONTAINER
            SIGNALR_HUB                                   = $env:SIGNALR_HUB
            LETTER_COUNT_WINDOW_SECONDS                   = if ($env:LETTER_COUNT_WINDOW_SECONDS) { $env:LETTER_COUNT_WINDOW_SECONDS } else { '30' }
        }
        Host        = [ordered]@{
            LocalHttpPort   = 7071
            CORS            = 'http://localhost:7071,http://127.0.0.1:7071'
            CORSCredentials = $true
        }
    }
    $settings | ConvertTo-Json -Depth 4 | Set-Content -Path $target -Encoding utf8
    Write-Host "postprovision: wrote $target (identity-based settings; uses your own Azure sign-in)."
    if ($env:WRITE_LOCAL_SETTINGS -eq 'true') {
        if (Test-Path 'local.settings.json') {
            Copy-Item 'local.settings.json' (Join-Path $targetDir 'local.settings.previous.json')
        }
        Copy-Item $target 'local.settings.json'
        Write-Host "postprovision: wrote local.settings.json; 'func start' and 'npm start' now use the Azure resources."
    }
    else {
        Write-Host "postprovision: to run 'func start' against Azure: Copy-Item $target local.settings.json"
    }
}

if (-not (Start-StreamingJob)) { exit 1 }
Write-LocalSettings
exit 0
