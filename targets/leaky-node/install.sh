#!/usr/bin/env bash
# Installs this target's dependencies from package-lock.json only, into ./node_modules.
# Skips the install when node_modules was made from the same lock file.
set -euo pipefail
cd "$(dirname "$0")"

fail() { echo "install.sh (leaky-node): $*" >&2; exit 1; }

command -v node >/dev/null || fail "node not found on PATH (need Node >= 18)"
command -v npm >/dev/null || fail "npm not found on PATH"
[[ -f package-lock.json ]] || fail "package-lock.json missing"

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.installed-lock-sha256
if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_hash" ]]; then
    echo "leaky-node: already installed (lock $lock_hash)"
    exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
    cat "$log" >&2
    fail "npm ci failed (output above)"
fi
echo "$lock_hash" >"$stamp"
echo "leaky-node: installed (lock $lock_hash)"
