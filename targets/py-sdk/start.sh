#!/usr/bin/env bash
# Starts the Python SDK target in the foreground on 127.0.0.1.
# Env: PORT (default 3003), MAX_EVENTS_PER_STREAM (default 100), RETRY_MS, LOG_LEVEL (default WARNING).
set -euo pipefail
cd "$(dirname "$0")"

[[ -x .venv/bin/python ]] || {
    echo "start.sh (py-sdk): not installed; run ./install.sh first" >&2
    exit 1
}
export PORT="${PORT:-3003}"
export PYTHONUNBUFFERED=1
exec .venv/bin/python server.py "$@"
