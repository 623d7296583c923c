#!/bin/sh
# After `azd provision`:
# 1. starts the Stream Analytics job. Its role assignments (Event Hubs Data Receiver, Cosmos DB data contributor)
#    can take up to ~10 minutes to propagate and a job started before that fails, so a failed start is retried.
# 2. writes .azure/<env>/local.settings.json for `func start` against the deployed resources with the developer's
#    own sign-in (no __credential/__clientId, so the host uses DefaultAzureCredential: az login, azd auth login...).
#    `npm start` reads ./local.settings.json when it exists, so that file is written only on request
#    (azd env set WRITE_LOCAL_SETTINGS true).
set -eu

: "${AZURE_SUBSCRIPTION_ID:?set by azd}"
: "${AZURE_RESOURCE_GROUP:?an output of infra/main.bicep}"
: "${AZURE_STREAM_ANALYTICS_JOB_NAME:?an output of infra/main.bicep}"

. "$(dirname "$0")/jobCommon.sh"

start_attempts="${JOB_START_ATTEMPTS:-10}"
retry_seconds="${JOB_START_RETRY_SECONDS:-60}"
poll_seconds="${JOB_STATE_POLL_SECONDS:-15}"
polls="${JOB_STATE_POLLS:-20}"

# Waits until the job leaves Starting; prints the state it settled in.
await_settled_state() {
    poll=0
    state="$(job_state)"
    while [ "$state" = "Starting" ] && [ "$poll" -lt "$polls" ]; do
        sleep "$poll_seconds"
        poll=$((poll + 1))
        state="$(job_state)"
    done
    printf '%s' "$state"
}

start_job() {
    state="$(job_state)"
    if [ "$state" = "Running" ] || [ "$state" = "Starting" ]; then
        echo "postprovision: Stream Analytics job $AZURE_STREAM_ANALYTICS_JOB_NAME is already $state."
        return 0
    fi
    # Resume after the last window written when the job ran before (a re-provision stopped it); else start now.
    if [ -n "$(job_last_output_time)" ]; then
        start_mode="LastOutputEventTime"
    else
        start_mode="JobStartTime"
    fi
    attempt=1
    while [ "$attempt" -le "$start_attempts" ]; do
        echo "postprovision: starting Stream Analytics job $AZURE_STREAM_ANALYTICS_JOB_NAME ($start_mode, attempt $attempt of $start_attempts)."
        if az rest --method post --url "$(job_url)/start?$JOB_API_VERSION" \
            --body "{\"outputStartMode\":\"$start_mode\"}" --output none; then
            state="$(await_settled_state)"
            if [ "$state" = "Running" ]; then
                echo "postprovision: Stream Analytics job is Running."
                return 0
            fi
            echo "postprovision: job state is '$state' (role assignments may still be propagating)."
        fi
        attempt=$((attempt + 1))
        if [ "$attempt" -le "$start_attempts" ]; then
            sleep "$retry_seconds"
        fi
    done
    echo "postprovision: the job did not reach Running; see its activity log, then run 'azd hooks run postprovision'." >&2
    return 1
}

write_local_settings() {
    target_dir=".azure/${AZURE_ENV_NAME:-default}"
    mkdir -p "$target_dir"
    target="$target_dir/local.settings.json"
    blob_endpoint="${AZURE_STORAGE_BLOB_ENDPOINT%/}"
    cat >"$target" <<JSON
{
    "IsEncrypted": false,
    "Values": {
        "FUNCTIONS_WORKER_RUNTIME": "node",
        "AzureWebJobsStorage__blobServiceUri": "$blob_endpoint",
        "ServiceBusConnection__fullyQualifiedNamespace": "$SERVICE_BUS_FULLY_QUALIFIED_NAMESPACE",
        "EventHubConnection__fullyQualifiedNamespace": "$EVENT_HUBS_FULLY_QUALIFIED_NAMESPACE",
        "CosmosDBConnection__accountEndpoint": "$COSMOS_ACCOUNT_ENDPOINT",
        "AzureSignalRConnectionString__serviceUri": "$SIGNALR_SERVICE_URI",
        "EventGridConnection__topicEndpointUri": "$EVENT_GRID_TOPIC_ENDPOINT",
        "GENERATE_NAMES_SCHEDULE": "${GENERATE_NAMES_SCHEDULE:-*/5 * * * * *}",
        "NAMES_PER_MESSAGE": "4-10",
        "NAMES_SEED": "",
        "NAMES_QUEUE": "$NAMES_QUEUE",
        "NAMES_EVENT_HUB": "$NAMES_EVENT_HUB",
        "COSMOS_DATABASE": "$COSMOS_DATABASE",
        "LETTER_COUNTS_CONTAINER": "$LETTER_COUNTS_CONTAINER",
        "SIGNALR_HUB": "$SIGNALR_HUB",
        "LETTER_COUNT_WINDOW_SECONDS": "${LETTER_COUNT_WINDOW_SECONDS:-30}"
    },
    "Host": {
        "LocalHttpPort": 7071,
        "CORS": "http://localhost:7071,http://127.0.0.1:7071",
        "CORSCredentials": true
    }
}
JSON
    echo "postprovision: wrote $target (identity-based settings; uses your own Azure sign-in)."
    if [ "${WRITE_LOCAL_SETTINGS:-false}" = "true" ]; then
        if [ -f local.settings.json ]; then
            cp local.settings.json "$target_dir/local.settings.previous.json"
            echo "postprovision: kept the previous local.settings.json as $target_dir/local.settings.previous.json."
        fi
        cp "$target" local.settings.json
        echo "postprovision: wrote local.settings.json; 'func start' and 'npm start' now use the Azure resources."
    else
        echo "postprovision: to run 'func start' against Azure: cp $target local.settings.json"
    fi
}

start_job
write_local_settings
