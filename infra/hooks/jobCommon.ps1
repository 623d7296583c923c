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

$JobReadAttempts = if ($env:JOB_READ_ATTEMPTS) { [int]$env:JOB_READ_ATTEMPTS } else { 3 }
$JobReadRetrySeconds = if ($env:JOB_READ_RETRY_SECONDS) { [int]$env:JOB_READ_RETRY_SECONDS } else { 10 }

# True when az's error text is ARM's 404 for a missing job (or resource group): `az rest` exits 1 with
# "Not Found({"error":{"code":"ResourceNotFound",...}})" (send_raw_request in azure-cli's azure/cli/core/util.py).
# Both halves must match, so a changed text fails the hook with the error shown rather than passing for "absent".
function Test-NotFoundError([string]$ErrorText) {
    return $ErrorText.Contains('Not Found(') -and $ErrorText -match '"code": ?"Resource(Group)?NotFound"'
}

# A property of the job as text, or '' when the job does not exist (a 404). Any other failure (not signed in, a
# network error, a 5xx) is retried up to JOB_READ_ATTEMPTS times with az's error shown, then ends the hook with
# exit code 1 (the twin of job_property in jobCommon.sh): an unreadable job must not pass for a missing one, nor
# an unreadable lastOutputEventTime for none. $HookName is set by the hook that dot-sources this file.
function Get-StreamingJobProperty([string]$Query) {
    for ($attempt = 1; ; $attempt++) {
        # 2>&1 keeps az's stderr apart as ErrorRecords, to be matched and shown rather than dropped.
        $output = @(az rest --method get --url "$(Get-StreamingJobUrl)?$JobApiVersion" --query $Query --output tsv 2>&1)
        $exitCode = $LASTEXITCODE
        $errorText = ($output | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] } | ForEach-Object { "$_" }) -join "`n"
        if ($exitCode -eq 0) {
            # What az writes to stderr on success (warnings) stays visible.
            if ($errorText) { [Console]::Error.WriteLine($errorText) }
            return (($output | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] }) -join "`n").Trim()
        }
        if (Test-NotFoundError $errorText) { return '' }
        [Console]::Error.WriteLine($errorText)
        if ($attempt -ge $JobReadAttempts) {
            [Console]::Error.WriteLine("$($HookName): could not read $Query of Stream Analytics job $($env:AZURE_STREAM_ANALYTICS_JOB_NAME) ($attempt attempts); see the az error above.")
            exit 1
        }
        [Console]::Error.WriteLine("$($HookName): reading $Query failed (attempt $attempt of $JobReadAttempts); retrying in $JobReadRetrySeconds s.")
        Start-Sleep -Seconds $JobReadRetrySeconds
    }
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
