#!/bin/sh
# A stand-in for the Azure CLI on PATH, for the provision hook tests. It records every call (each argument on its
# own line in $FAKE_AZ_DIR/calls/<n>, and the file a `--body @file` names in <n>.body) and plays a Stream
# Analytics job from files the test writes in $FAKE_AZ_DIR:
# - states: the job states successive reads return, one per line; the last line is repeated; no file or an
#   empty one means the job does not exist (the read fails the way `az rest` does on a 404: exit code 1 and
#   "Not Found(<ARM error body>)", from send_raw_request in azure-cli's azure/cli/core/util.py);
# - readWarning: a line a successful read writes to stderr (az warns on stderr and still succeeds);
# - readFailures: reads that fail, in order, one per line "<query> <exit code> <stderr text>"; a read whose
#   --query is the first line's consumes it and fails with that exit code and text;
# - lastOutput: what properties.lastOutputEventTime reads;
# - onStop: the states the job goes through after a stop request (replaces states);
# - onStart: one line per start request, "<exit code> <state>,<state>,...": the request's exit code and the
#   states the job goes through after it.
set -eu
dir="$FAKE_AZ_DIR"
# Shell built-ins where a program would do: the hook tests start this script hundreds of times.
n=0
if [ -f "$dir/count" ]; then read -r n <"$dir/count"; fi
n=$((n + 1))
echo "$n" >"$dir/count"
case "$n" in
    ?) call="$dir/calls/00$n" ;;
    ??) call="$dir/calls/0$n" ;;
    *) call="$dir/calls/$n" ;;
esac
printf '%s\n' "$@" >"$call"

method="" url="" query="" body=""
while [ $# -gt 0 ]; do
    case "$1" in
        --method) method="$2"; shift 2 ;;
        --url) url="$2"; shift 2 ;;
        --query) query="$2"; shift 2 ;;
        --body) body="$2"; shift 2 ;;
        *) shift ;;
    esac
done
case "$body" in
    @*) cp "${body#@}" "$call.body" ;;
esac

job_exists() { [ -s "$dir/states" ]; }
current_state() {
    read -r state <"$dir/states"
    printf '%s\n' "$state"
}
# Moves to the next state, keeping the last one.
advance() { sed -i '1{$!d;}' "$dir/states"; }

if [ "$method" = get ] && [ -s "$dir/readFailures" ]; then
    read -r failed_query failed_code failed_text <"$dir/readFailures"
    if [ "$failed_query" = "$query" ]; then
        sed -i '1d' "$dir/readFailures"
        printf '%s\n' "$failed_text" >&2
        exit "$failed_code"
    fi
fi
if ! job_exists; then
    echo "ERROR: Not Found({\"error\":{\"code\":\"ResourceNotFound\",\"message\":\"The Resource 'Microsoft.StreamAnalytics/streamingjobs/x' under resource group 'rg-dev' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix\"}})" >&2
    exit 1
fi

case "$method $url" in
    "get "*)
        if [ -s "$dir/readWarning" ]; then cat "$dir/readWarning" >&2; fi
        case "$query" in
            properties.jobState) current_state; advance ;;
            properties.lastOutputEventTime) cat "$dir/lastOutput" 2>/dev/null || true ;;
            *) echo "fake az: unexpected query $query" >&2; exit 2 ;;
        esac
        ;;
    "post "*/stop\?*)
        cp "$dir/onStop" "$dir/states"
        ;;
    "post "*/start\?*)
        read -r outcome <"$dir/onStart"
        sed -i '1d' "$dir/onStart"
        printf '%s\n' "${outcome#* }" | tr ',' '\n' >"$dir/states"
        exit "${outcome%% *}"
        ;;
    *)
        echo "fake az: unexpected call $method $url" >&2
        exit 2
        ;;
esac
