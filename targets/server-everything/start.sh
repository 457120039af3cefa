#!/usr/bin/env bash
# Starts @modelcontextprotocol/server-everything (streamableHttp, endpoint /mcp) in the
# foreground, fenced: fence.cjs forces 127.0.0.1 and refuses non-loopback outbound connections,
# and the server gets a scrubbed environment (so its get-env tool has nothing to show).
# Env: PORT (default 3002), QUIET=1 (silence its per-request logging).
set -euo pipefail
cd "$(dirname "$0")"

entry=node_modules/@modelcontextprotocol/server-everything/dist/index.js
[[ -f "$entry" ]] || {
    echo "start.sh (server-everything): not installed; run ./install.sh first" >&2
    exit 1
}
node_bin=$(command -v node) || {
    echo "start.sh (server-everything): node not found on PATH" >&2
    exit 1
}
exec env -i \
    PATH="$(dirname "$node_bin"):/usr/bin:/bin" \
    HOME="$PWD" \
    PORT="${PORT:-3002}" \
    QUIET="${QUIET:-0}" \
    GZIP_ALLOWED_DOMAINS=127.0.0.1 \
    GZIP_MAX_FETCH_TIME_MILLIS=5000 \
    "$node_bin" --require ./fence.cjs "$entry" streamableHttp
