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

job_read_attempts="${JOB_READ_ATTEMPTS:-3}"
job_read_retry_seconds="${JOB_READ_RETRY_SECONDS:-10}"
hook_name="$(basename "$0" .sh)"

# True when the az error in file $1 is ARM's 404 for a missing job (or resource group). `az rest` has no status
# code of its own for it: it exits 1 with the response's reason phrase and body, "Not Found({"error":{"code":
# "ResourceNotFound",...}})" (send_raw_request in azure-cli's azure/cli/core/util.py). Both halves must match, so
# a changed text fails the hook with the error shown rather than passing for "absent".
is_not_found() {
    grep -q 'Not Found(' "$1" && grep -Eq '"code": ?"Resource(Group)?NotFound"' "$1"
}

# Prints the job property $1 (an az --query), or nothing when the job does not exist (a 404). Any other failure
# (not signed in, a network error, a 5xx) is retried up to JOB_READ_ATTEMPTS times with az's error shown, then
# returns 1: an unreadable job must not pass for a missing one, nor an unreadable lastOutputEventTime for none.
# Callers must check the status: `x="$(job_property ...)" || return 1` (bash drops set -e inside $(...)).
job_property() {
    read_attempt=1
    read_errors="$(mktemp)"
    while :; do
        if read_value="$(az rest --method get --url "$(job_url)?$JOB_API_VERSION" --query "$1" --output tsv 2>"$read_errors")"; then
            # What az writes to stderr on success (warnings) stays visible.
            cat "$read_errors" >&2
            rm -f "$read_errors"
            printf '%s\n' "$read_value"
            return 0
        fi
        if is_not_found "$read_errors"; then
            rm -f "$read_errors"
            return 0
        fi
        cat "$read_errors" >&2
        if [ "$read_attempt" -ge "$job_read_attempts" ]; then
            rm -f "$read_errors"
            echo "$hook_name: could not read $1 of Stream Analytics job $AZURE_STREAM_ANALYTICS_JOB_NAME ($read_attempt attempts); see the az error above." >&2
            return 1
        fi
        echo "$hook_name: reading $1 failed (attempt $read_attempt of $job_read_attempts); retrying in $job_read_retry_seconds s." >&2
        sleep "$job_read_retry_seconds"
        read_attempt=$((read_attempt + 1))
    done
}

# Prints the job state, or nothing when the job does not exist (yet); fails when it cannot be read.
job_state() {
    job_property properties.jobState
}

# Prints the time of the job's last output event, or nothing when it never produced one (or does not exist);
# fails when it cannot be read.
job_last_output_time() {
    job_property properties.lastOutputEventTime
}

# True when $1 is one of the space-separated words in $2.
state_in() {
    case " $2 " in
        *" $1 "*) return 0 ;;
        *) return 1 ;;
    esac
}

# Polls the state until it is one of the space-separated states in $1, the job is gone, or the polls run out;
# prints the last state read (empty when there is no job); fails when the state cannot be read.
await_job_state() {
    awaited_polls=0
    awaited_state="$(job_state)" || return 1
    while [ -n "$awaited_state" ] && ! state_in "$awaited_state" "$1" && [ "$awaited_polls" -lt "$job_polls" ]; do
        sleep "$job_poll_seconds"
        awaited_polls=$((awaited_polls + 1))
        awaited_state="$(job_state)" || return 1
    done
    printf '%s' "$awaited_state"
}
