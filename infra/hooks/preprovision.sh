#!/bin/sh
# Stops the Stream Analytics job before `azd provision` updates it: a running job rejects changes to its query,
# inputs and outputs. The stop is a long-running operation, so the hook waits until the job is Stopped (or Failed,
# or Created) before the deployment starts. On the first provision the job does not exist yet: nothing to do.
set -eu

if [ -z "${AZURE_STREAM_ANALYTICS_JOB_NAME:-}" ] || [ -z "${AZURE_RESOURCE_GROUP:-}" ]; then
    echo "preprovision: no Stream Analytics job deployed yet; nothing to stop."
    exit 0
fi
: "${AZURE_SUBSCRIPTION_ID:?set by azd}"

# shellcheck source=infra/hooks/jobCommon.sh
. "$(dirname "$0")/jobCommon.sh"

state="$(job_state)" || exit 1
if [ -z "$state" ]; then
    echo "preprovision: Stream Analytics job $AZURE_STREAM_ANALYTICS_JOB_NAME does not exist; nothing to stop."
    exit 0
fi
if state_in "$state" "$JOB_IDLE_STATES"; then
    echo "preprovision: Stream Analytics job $AZURE_STREAM_ANALYTICS_JOB_NAME is $state; nothing to stop."
    exit 0
fi
if state_in "$state" "$JOB_ACTIVE_STATES"; then
    echo "preprovision: stopping Stream Analytics job $AZURE_STREAM_ANALYTICS_JOB_NAME (state $state)."
    if ! az rest --method post --url "$(job_url)/stop?$JOB_API_VERSION" --output none; then
        echo "preprovision: the stop request for $AZURE_STREAM_ANALYTICS_JOB_NAME failed; see the error above." >&2
        exit 1
    fi
fi
# Stopping (already, or after the request above): wait until the job can be updated.
state="$(await_job_state "$JOB_IDLE_STATES")" || exit 1
if [ -n "$state" ] && ! state_in "$state" "$JOB_IDLE_STATES"; then
    echo "preprovision: Stream Analytics job $AZURE_STREAM_ANALYTICS_JOB_NAME is still $state; provisioning now would fail to update it. Try again in a few minutes." >&2
    exit 1
fi
echo "preprovision: Stream Analytics job $AZURE_STREAM_ANALYTICS_JOB_NAME is ${state:-gone}."
