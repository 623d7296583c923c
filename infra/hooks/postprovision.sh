#!/bin/sh
# After `azd provision`:
# 1. starts the Stream Analytics job and waits until it runs. Its role assignments (Event Hubs Data Receiver,
#    Cosmos DB Data Contributor) can take up to ~10 minutes to propagate and a job started before that fails, so a
#    failed start is retried, reading the job's state first each time.
# 2. writes .azure/<env>/local.settings.json for `func start` against the deployed resources with the developer's
#    own sign-in (no __credential/__clientId, so the host uses DefaultAzureCredential: az login, azd auth login...).
#    `npm start` reads ./local.settings.json when it exists, so that file is written only on request
#    (azd env set WRITE_LOCAL_SETTINGS true).
set -eu

: "${AZURE_SUBSCRIPTION_ID:?set by azd}"
: "${AZURE_RESOURCE_GROUP:?an output of infra/main.bicep}"
: "${AZURE_STREAM_ANALYTICS_JOB_NAME:?an output of infra/main.bicep}"

# shellcheck source=infra/hooks/jobCommon.sh
. "$(dirname "$0")/jobCommon.sh"

start_attempts="${JOB_START_ATTEMPTS:-10}"
retry_seconds="${JOB_START_RETRY_SECONDS:-60}"

# Sends one start request. The body goes through a file: the same form works for az on every shell.
request_start() {
    body_file="$(mktemp)"
    printf '{"outputStartMode":"%s"}' "$1" >"$body_file"
    started=0
    az rest --method post --url "$(job_url)/start?$JOB_API_VERSION" --body "@$body_file" --output none || started=$?
    rm -f "$body_file"
    return "$started"
}

start_job() {
    # Resume after the last window written when the job ran before (a re-provision stopped it); else start now.
    # A failed read fails the hook: starting at JobStartTime would skip every window since the stop.
    last_output="$(job_last_output_time)" || return 1
    if [ -n "$last_output" ]; then
        start_mode="LastOutputEventTime"
    else
        start_mode="JobStartTime"
    fi
    attempt=1
    while :; do
        # Read the state before every start: a job a previous attempt (or anyone else) started may be Running by
        # now, and starting a Running job fails. Transitional states are waited out.
        state="$(await_job_state "Running Degraded $JOB_IDLE_STATES")" || return 1
        case "$state" in
            Running)
                echo "postprovision: Stream Analytics job $AZURE_STREAM_ANALYTICS_JOB_NAME is Running."
                return 0
                ;;
            Degraded)
                # Running, with errors it retries by itself (see its activity log); a restart would not help.
                echo "postprovision: Stream Analytics job $AZURE_STREAM_ANALYTICS_JOB_NAME is running but Degraded; see its activity log."
                return 0
                ;;
            "")
                echo "postprovision: Stream Analytics job $AZURE_STREAM_ANALYTICS_JOB_NAME does not exist; did the provision succeed?" >&2
                return 1
                ;;
        esac
        if [ "$attempt" -gt "$start_attempts" ]; then
            break
        fi
        if [ "$attempt" -gt 1 ]; then
            # Role assignments (Event Hubs Data Receiver, Cosmos DB Data Contributor) can take up to ~10 minutes to
            # reach the job; a start before that fails.
            echo "postprovision: job state is '$state' (its role assignments may still be propagating); retrying in $retry_seconds s."
            sleep "$retry_seconds"
        fi
        echo "postprovision: starting Stream Analytics job $AZURE_STREAM_ANALYTICS_JOB_NAME ($start_mode, attempt $attempt of $start_attempts)."
        request_start "$start_mode" || echo "postprovision: the start request failed (attempt $attempt)."
        attempt=$((attempt + 1))
    done
    echo "postprovision: the job did not reach Running (last state '$state'); see its activity log, then run 'azd hooks run postprovision'." >&2
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

start_job || exit 1
write_local_settings
