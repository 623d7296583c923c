#!/bin/sh
# Stops the Stream Analytics job before `azd provision` updates it: a running job rejects changes to its query,
# inputs and outputs. On the first provision the job does not exist yet and there is nothing to do.
set -eu

if [ -z "${AZURE_STREAM_ANALYTICS_JOB_NAME:-}" ] || [ -z "${AZURE_RESOURCE_GROUP:-}" ]; then
    echo "preprovision: no Stream Analytics job deployed yet; nothing to stop."
    exit 0
fi

. "$(dirname "$0")/jobCommon.sh"

state="$(job_state)"
case "$state" in
    Running | Starting | Degraded)
        echo "preprovision: stopping Stream Analytics job $AZURE_STREAM_ANALYTICS_JOB_NAME (state $state)."
        az rest --method post --url "$(job_url)/stop?$JOB_API_VERSION" --output none
        ;;
    *)
        echo "preprovision: Stream Analytics job $AZURE_STREAM_ANALYTICS_JOB_NAME is '${state:-absent}'; nothing to stop."
        ;;
esac
