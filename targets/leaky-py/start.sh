#!/usr/bin/env bash
# Starts the leaky Python SDK target in the foreground on 127.0.0.1.
# Env: PORT (default 3005), BUG (default none; see server.py), MAX_STREAM_BYTES (default 8388608), LOG_LEVEL (default WARNING).
set -euo pipefail
cd "$(dirname "$0")"

[[ -x .venv/bin/python ]] || {
    echo "start.sh (leaky-py): not installed; run ./install.sh first" >&2
    exit 1
}
export PORT="${PORT:-3005}"
export BUG="${BUG:-none}"
export PYTHONUNBUFFERED=1
exec .venv/bin/python server.py "$@"
