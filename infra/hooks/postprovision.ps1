# Windows twin of postprovision.sh: starts the Stream Analytics job (retrying while its role assignments
# propagate) and writes .azure/<env>/local.settings.json for `func start` against the deployed resources with the
# developer's own sign-in. ./local.settings.json is written only when WRITE_LOCAL_SETTINGS is true, because
# `npm start` reads it when it exists.
$ErrorActionPreference = 'Stop'

foreach ($name in @('AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_STREAM_ANALYTICS_JOB_NAME')) {
    if (-not [Environment]::GetEnvironmentVariable($name)) { throw "postprovision: $name is not set (azd sets it)." }
}

$apiVersion = 'api-version=2020-03-01'
$jobUrl = "https://management.azure.com/subscriptions/$($env:AZURE_SUBSCRIPTION_ID)/resourceGroups/$($env:AZURE_RESOURCE_GROUP)/providers/Microsoft.StreamAnalytics/streamingjobs/$($env:AZURE_STREAM_ANALYTICS_JOB_NAME)"
$startAttempts = if ($env:JOB_START_ATTEMPTS) { [int]$env:JOB_START_ATTEMPTS } else { 10 }
$retrySeconds = if ($env:JOB_START_RETRY_SECONDS) { [int]$env:JOB_START_RETRY_SECONDS } else { 60 }
$pollSeconds = if ($env:JOB_STATE_POLL_SECONDS) { [int]$env:JOB_STATE_POLL_SECONDS } else { 15 }
$polls = if ($env:JOB_STATE_POLLS) { [int]$env:JOB_STATE_POLLS } else { 20 }

function Get-JobProperty([string]$query) {
    $value = az rest --method get --url "$($jobUrl)?$apiVersion" --query $query --output tsv 2>$null
    if ($LASTEXITCODE -ne 0) { return '' }
    return "$value"
}

function Wait-SettledState {
    $state = Get-JobProperty 'properties.jobState'
    for ($poll = 0; $state -eq 'Starting' -and $poll -lt $polls; $poll++) {
        Start-Sleep -Seconds $pollSeconds
        $state = Get-JobProperty 'properties.jobState'
    }
    return $state
}

function Start-Job {
    $state = Get-JobProperty 'properties.jobState'
    if ($state -in @('Running', 'Starting')) {
        Write-Host "postprovision: Stream Analytics job $($env:AZURE_STREAM_ANALYTICS_JOB_NAME) is already $state."
        return
    }
    $startMode = if (Get-JobProperty 'properties.lastOutputEventTime') { 'LastOutputEventTime' } else { 'JobStartTime' }
    for ($attempt = 1; $attempt -le $startAttempts; $attempt++) {
        Write-Host "postprovision: starting Stream Analytics job ($startMode, attempt $attempt of $startAttempts)."
        az rest --method post --url "$jobUrl/start?$apiVersion" --body "{`"outputStartMode`":`"$startMode`"}" --output none
        if ($LASTEXITCODE -eq 0) {
            $state = Wait-SettledState
            if ($state -eq 'Running') {
                Write-Host 'postprovision: Stream Analytics job is Running.'
                return
            }
            Write-Host "postprovision: job state is '$state' (role assignments may still be propagating)."
        }
        if ($attempt -lt $startAttempts) { Start-Sleep -Seconds $retrySeconds }
    }
    throw "postprovision: the job did not reach Running; see its activity log, then run 'azd hooks run postprovision'."
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

Start-Job
Write-LocalSettings
