#!/usr/bin/env bash
# Prints the libFuzzer flags that options/TARGET.options sets, for running TARGET outside
# OSS-Fuzz (cargo fuzz does not read .options files): -max_len, and -dict with the project's SSE
# dictionary when the options name a dictionary. Usage, from fuzz/:
#   cargo fuzz run -s none TARGET -- $(./flags.sh TARGET)
set -euo pipefail
options="$(dirname "$0")/options/${1:?usage: flags.sh TARGET}.options"
[ -f "$options" ] || { echo "flags.sh: no $options" >&2; exit 2; }
sed -n 's/^max_len *= *\([0-9][0-9]*\) *$/-max_len=\1/p' "$options"
if grep -q '^dict *=' "$options"; then
  echo "-dict=$(cd "$(dirname "$0")/.." && pwd)/corpus/sse.dict"
fi
