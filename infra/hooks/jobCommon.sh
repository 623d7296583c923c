# shellcheck shell=sh
# Shared by the azd hooks (sourced, not run): the ARM URL of the Stream Analytics job, readers of its state, and a
# wait for the state to settle, all through `az rest` (no CLI extension needed). azd exports the environment's
# values (the Bicep outputs) to hooks.
#
# Job states (KnownJobState in @azure/arm-streamanalytics): Created, Starting, Running, Stopping, Stopped,
# Deleting, Failed, Degraded, Restarting, Scaling. Start and stop are long-running operations that `az rest` does
# not wait for, so every change is followed by polling the state.

JOB_API_VERSION="api-version=2020-03-01"
# The states in which the job is processing (or about to): it must be stopped before its definition changes.
JOB_ACTIVE_STATES="Running Starting Degraded Restarting Scaling"
# The states in which the job is not processing and accepts both a start and a change of definition.
JOB_IDLE_STATES="Created Stopped Failed"
job_poll_seconds="${JOB_STATE_POLL_SECONDS:-15}"
job_polls="${JOB_STATE_POLLS:-40}"

job_url() {
    printf 'https://management.azure.com/subscriptions/%s/resourceGroups/%s/providers/Microsoft.StreamAnalytics/streamingjobs/%s' \
        "$AZURE_SUBSCRIPTION_ID" "$AZURE_RESOURCE_GROUP" "$AZURE_STREAM_ANALYTICS_JOB_NAME"
}

# Prints the job state, or nothing when the job does not exist (yet).
job_state() {
    az rest --method get --url "$(job_url)?$JOB_API_VERSION" --query properties.jobState --output tsv 2>/dev/null || true
}

# Prints the time of the job's last output event, or nothing when it never produced one.
job_last_output_time() {
    az rest --method get --url "$(job_url)?$JOB_API_VERSION" --query properties.lastOutputEventTime --output tsv 2>/dev/null || true
}

# True when $1 is one of the space-separated words in $2.
state_in() {
    case " $2 " in
        *" $1 "*) return 0 ;;
        *) return 1 ;;
    esac
}

# Polls the state until it is one of the space-separated states in $1, the job is gone, or the polls run out;
# prints the last state read (empty when there is no job).
await_job_state() {
    awaited_polls=0
    awaited_state="$(job_state)"
    while [ -n "$awaited_state" ] && ! state_in "$awaited_state" "$1" && [ "$awaited_polls" -lt "$job_polls" ]; do
        sleep "$job_poll_seconds"
        awaited_polls=$((awaited_polls + 1))
        awaited_state="$(job_state)"
    done
    printf '%s' "$awaited_state"
}
