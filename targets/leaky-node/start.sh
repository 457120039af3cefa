#!/usr/bin/env bash
# Starts the leaky TypeScript SDK target in the foreground on 127.0.0.1.
# Env: PORT (default 3004), BUG (default none; see server.mjs), MAX_STREAM_BYTES (default 8388608), DEBUG=1.
set -euo pipefail
cd "$(dirname "$0")"

[[ -d node_modules/@modelcontextprotocol/sdk ]] || {
    echo "start.sh (leaky-node): not installed; run ./install.sh first" >&2
    exit 1
}
export PORT="${PORT:-3004}"
export BUG="${BUG:-none}"
exec node server.mjs "$@"
