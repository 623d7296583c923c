# Shared by the azd hooks: the ARM URL of the Stream Analytics job and a reader of its state, through `az rest`
# (no CLI extension needed). azd exports the environment's values (the Bicep outputs) to hooks.

JOB_API_VERSION="api-version=2020-03-01"

job_url() {
    printf 'https://management.azure.com/subscriptions/%s/resourceGroups/%s/providers/Microsoft.StreamAnalytics/streamingjobs/%s' \
        "$AZURE_SUBSCRIPTION_ID" "$AZURE_RESOURCE_GROUP" "$AZURE_STREAM_ANALYTICS_JOB_NAME"
}

# Prints the job state (Created, Starting, Running, Stopping, Stopped, Failed, Degraded, ...), or nothing when the
# job does not exist yet.
job_state() {
    az rest --method get --url "$(job_url)?$JOB_API_VERSION" --query properties.jobState --output tsv 2>/dev/null || true
}

# Prints the time of the job's last output event, or nothing when it never produced one.
job_last_output_time() {
    az rest --method get --url "$(job_url)?$JOB_API_VERSION" --query properties.lastOutputEventTime --output tsv 2>/dev/null || true
}
