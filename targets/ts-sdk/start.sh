#!/usr/bin/env bash
# Starts the TypeScript SDK target in the foreground on 127.0.0.1.
# Env: PORT (default 3001), STORE=per-session|shared (default per-session), RETRY_MS, IDLE_MS, DEBUG=1.
set -euo pipefail
cd "$(dirname "$0")"

[[ -d node_modules/@modelcontextprotocol/sdk ]] || {
    echo "start.sh (ts-sdk): not installed; run ./install.sh first" >&2
    exit 1
}
export PORT="${PORT:-3001}"
export STORE="${STORE:-per-session}"
exec node server.mjs "$@"
