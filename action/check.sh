#!/usr/bin/env bash
# Checks the GitHub Action's own script (action/run.sh) the way the action runs it, against
# servers of this repository: green on the served reference and on ts-sdk with its triaged
# findings known, red on ts-sdk without them and on a served fixture with a must-level bug.
# Needs the release binary (cargo build --release) and targets/ts-sdk installed.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin="$repo/target/release/mcp-transport-fuzz"
[ -x "$bin" ] || { echo "action/check.sh: build $bin first (cargo build --release)"; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
failed=0

# expect NAME EXIT COMMAND [VAR=VALUE...]: runs the action's script, checks its exit code.
expect() {
  local name=$1 expected=$2 command=$3
  shift 3
  local status=0
  env "$@" BIN="$bin" URL="http://127.0.0.1:$(port)/mcp" COMMAND="$command" \
    DURATION="${ACTION_SECONDS:-10}s" OUT="$out/$name" GITHUB_STEP_SUMMARY="$out/$name.md" \
    "$repo/action/run.sh" >"$out/$name.log" 2>&1 || status=$?
  if [ "$status" -eq "$expected" ] && [ "$expected" -eq 2 ]; then
    echo "action on $name: exit 2 as expected: $(tail -1 "$out/$name.log")"
  elif [ "$status" -eq "$expected" ] && [ -s "$out/$name.md" ]; then
    echo "action on $name: exit $status as expected; $(grep -m1 'finding(s)' "$out/$name.md")"
  else
    echo "action on $name: exit $status, expected $expected"
    cat "$out/$name.log"
    failed=1
  fi
}

serve() { echo "exec '$bin' serve --target $1 --port \"\$PORT\""; }
expect reference 0 "$(serve reference)"
expect fixture-missing-origin-check 1 "$(serve fixture:missing-origin-check)"
expect ts-sdk 1 "exec '$repo/targets/ts-sdk/start.sh'"
expect ts-sdk-known 0 "exec '$repo/targets/ts-sdk/start.sh'" KNOWN="$repo/targets/ts-sdk/known-findings"
expect bad-era 2 "$(serve reference)" ERA=2027
exit "$failed"
