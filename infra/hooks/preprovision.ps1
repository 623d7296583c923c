# Windows twin of preprovision.sh: stops the Stream Analytics job before `azd provision` updates it, because a
# running job rejects changes to its query, inputs and outputs, and waits until it is Stopped (or Failed, or
# Created): the stop is a long-running operation that `az rest` does not wait for.
$ErrorActionPreference = 'Stop'
$HookName = 'preprovision'
. (Join-Path $PSScriptRoot 'jobCommon.ps1')

if (-not $env:AZURE_STREAM_ANALYTICS_JOB_NAME -or -not $env:AZURE_RESOURCE_GROUP) {
    Write-Host 'preprovision: no Stream Analytics job deployed yet; nothing to stop.'
    exit 0
}
$jobName = $env:AZURE_STREAM_ANALYTICS_JOB_NAME

$state = Get-StreamingJobProperty 'properties.jobState'
if (-not $state) {
    Write-Host "preprovision: Stream Analytics job $jobName does not exist; nothing to stop."
    exit 0
}
if ($state -in $JobIdleStates) {
    Write-Host "preprovision: Stream Analytics job $jobName is $state; nothing to stop."
    exit 0
}
if ($state -in $JobActiveStates) {
    Write-Host "preprovision: stopping Stream Analytics job $jobName (state $state)."
    az rest --method post --url "$(Get-StreamingJobUrl)/stop?$JobApiVersion" --output none
    if ($LASTEXITCODE -ne 0) {
        [Console]::Error.WriteLine("preprovision: the stop request for $jobName failed; see the error above.")
        exit 1
    }
}
# Stopping (already, or after the request above): wait until the job can be updated.
$state = Wait-StreamingJobState $JobIdleStates
if ($state -and $state -notin $JobIdleStates) {
    [Console]::Error.WriteLine("preprovision: Stream Analytics job $jobName is still $state; provisioning now would fail to update it. Try again in a few minutes.")
    exit 1
}
Write-Host "preprovision: Stream Analytics job $jobName is $(if ($state) { $state } else { 'gone' })."
exit 0
