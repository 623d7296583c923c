# Windows twin of preprovision.sh: stops the Stream Analytics job before `azd provision` updates it, because a
# running job rejects changes to its query, inputs and outputs.
$ErrorActionPreference = 'Stop'

if (-not $env:AZURE_STREAM_ANALYTICS_JOB_NAME -or -not $env:AZURE_RESOURCE_GROUP) {
    Write-Host 'preprovision: no Stream Analytics job deployed yet; nothing to stop.'
    exit 0
}

$apiVersion = 'api-version=2020-03-01'
$jobUrl = "https://management.azure.com/subscriptions/$($env:AZURE_SUBSCRIPTION_ID)/resourceGroups/$($env:AZURE_RESOURCE_GROUP)/providers/Microsoft.StreamAnalytics/streamingjobs/$($env:AZURE_STREAM_ANALYTICS_JOB_NAME)"

$state = az rest --method get --url "$($jobUrl)?$apiVersion" --query properties.jobState --output tsv 2>$null
if ($state -in @('Running', 'Starting', 'Degraded')) {
    Write-Host "preprovision: stopping Stream Analytics job $($env:AZURE_STREAM_ANALYTICS_JOB_NAME) (state $state)."
    az rest --method post --url "$jobUrl/stop?$apiVersion" --output none
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}
else {
    Write-Host "preprovision: Stream Analytics job $($env:AZURE_STREAM_ANALYTICS_JOB_NAME) is '$state'; nothing to stop."
}
