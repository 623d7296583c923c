# Shared by the PowerShell azd hooks (dot-sourced): the twin of jobCommon.sh. The ARM URL of the Stream Analytics
# job, a reader of its properties and a wait for its state to settle, through `az rest`.
# Job states (KnownJobState in @azure/arm-streamanalytics): Created, Starting, Running, Stopping, Stopped,
# Deleting, Failed, Degraded, Restarting, Scaling.

$JobApiVersion = 'api-version=2020-03-01'
# Processing, or about to: must be stopped before the job's definition changes.
$JobActiveStates = @('Running', 'Starting', 'Degraded', 'Restarting', 'Scaling')
# Not processing: accepts a start and a change of definition.
$JobIdleStates = @('Created', 'Stopped', 'Failed')
$JobPollSeconds = if ($env:JOB_STATE_POLL_SECONDS) { [int]$env:JOB_STATE_POLL_SECONDS } else { 15 }
$JobPolls = if ($env:JOB_STATE_POLLS) { [int]$env:JOB_STATE_POLLS } else { 40 }

function Get-StreamingJobUrl {
    "https://management.azure.com/subscriptions/$($env:AZURE_SUBSCRIPTION_ID)/resourceGroups/$($env:AZURE_RESOURCE_GROUP)/providers/Microsoft.StreamAnalytics/streamingjobs/$($env:AZURE_STREAM_ANALYTICS_JOB_NAME)"
}

# A property of the job as text, or '' when the job does not exist (yet) or az fails.
function Get-StreamingJobProperty([string]$Query) {
    $value = az rest --method get --url "$(Get-StreamingJobUrl)?$JobApiVersion" --query $Query --output tsv 2>$null
    if ($LASTEXITCODE -ne 0) { return '' }
    return "$value".Trim()
}

# Polls the state until it is one of $States, the job is gone, or the polls run out; returns the last state read.
function Wait-StreamingJobState([string[]]$States) {
    $state = Get-StreamingJobProperty 'properties.jobState'
    for ($poll = 0; $state -and $state -notin $States -and $poll -lt $JobPolls; $poll++) {
        Start-Sleep -Seconds $JobPollSeconds
        $state = Get-StreamingJobProperty 'properties.jobState'
    }
    return $state
}
