#!/usr/bin/env bash
# Installs this target's dependencies from requirements.lock only (every package pinned with
# its hashes), into a fresh virtualenv at ./.venv. Skips the install when .venv was made from
# the same lock file. Env: PYTHON (default python3; needs >= 3.10).
set -euo pipefail
cd "$(dirname "$0")"

fail() { echo "install.sh (leaky-py): $*" >&2; exit 1; }

python=${PYTHON:-python3}
command -v "$python" >/dev/null || fail "$python not found on PATH (need Python >= 3.10)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || fail "$python is older than 3.10"
[[ -f requirements.lock ]] || fail "requirements.lock missing"

lock_hash=$(sha256sum requirements.lock | cut -d' ' -f1)
stamp=.venv/.installed-lock-sha256
if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_hash" && -x .venv/bin/python ]]; then
    echo "leaky-py: already installed (lock $lock_hash)"
    exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rm -rf .venv
if ! "$python" -m venv .venv >"$log" 2>&1; then
    cat "$log" >&2
    fail "could not create .venv (is the python3-venv package installed?)"
fi
if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-input \
    --require-hashes --no-deps --only-binary=:all: -r requirements.lock >"$log" 2>&1; then
    cat "$log" >&2
    fail "pip install -r requirements.lock failed (output above)"
fi
echo "$lock_hash" >"$stamp"
echo "leaky-py: installed (lock $lock_hash)"
