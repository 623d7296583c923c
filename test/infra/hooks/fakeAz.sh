#!/bin/sh
# A stand-in for the Azure CLI on PATH, for the provision hook tests. It records every call (each argument on its
# own line in $FAKE_AZ_DIR/calls/<n>, and the file a `--body @file` names in <n>.body) and plays a Stream
# Analytics job from files the test writes in $FAKE_AZ_DIR:
# - states: the job states successive reads return, one per line; the last line is repeated; no file or an
#   empty one means the job does not exist (the read fails like az does on a 404);
# - lastOutput: what properties.lastOutputEventTime reads;
# - onStop: the states the job goes through after a stop request (replaces states);
# - onStart: one line per start request, "<exit code> <state>,<state>,...": the request's exit code and the
#   states the job goes through after it.
set -eu
dir="$FAKE_AZ_DIR"
mkdir -p "$dir/calls"
n=$(($(find "$dir/calls" -name '[0-9]*' ! -name '*.body' | wc -l) + 1))
call="$dir/calls/$(printf '%03d' "$n")"
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
current_state() { head -n 1 "$dir/states"; }
# Moves to the next state, keeping the last one.
advance() {
    if [ "$(wc -l <"$dir/states")" -gt 1 ]; then
        sed -i '1d' "$dir/states"
    fi
}

if ! job_exists; then
    echo "ERROR: (ResourceNotFound) The Resource 'Microsoft.StreamAnalytics/streamingjobs/x' was not found." >&2
    exit 3
fi

case "$method $url" in
    "get "*)
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
        outcome=$(head -n 1 "$dir/onStart")
        sed -i '1d' "$dir/onStart"
        printf '%s\n' "${outcome#* }" | tr ',' '\n' >"$dir/states"
        exit "${outcome%% *}"
        ;;
    *)
        echo "fake az: unexpected call $method $url" >&2
        exit 2
        ;;
esac
