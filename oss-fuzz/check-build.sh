#!/usr/bin/env bash
# Runs oss-fuzz/build.sh outside a container, with SRC and OUT in temporary folders, and checks
# that every expected file lands in OUT. AddressSanitizer needs nightly, as in the OSS-Fuzz image.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SRC="$work/src" OUT="$work/out"
mkdir -p "$SRC" "$OUT"
ln -s "$repo" "$SRC/mcp-transport-fuzz"
RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-nightly} bash "$repo/oss-fuzz/build.sh"
missing=0
for target in $(cd "$repo/fuzz" && cargo fuzz list | grep -vx harness_fixture); do
  expected=("$target" "${target}_seed_corpus.zip" "$target.options")
  dict=$(sed -n 's/^dict *= *//p' "$repo/fuzz/options/$target.options")
  if [ -n "$dict" ]; then expected+=("$dict"); fi
  for file in "${expected[@]}"; do
    if [ ! -s "$OUT/$file" ]; then echo "missing from OUT: $file"; missing=1; fi
  done
  seeds=$(find "$repo/corpus/$target" -type f | wc -l)
  zipped=$(python3 -c 'import sys, zipfile; print(len([n for n in zipfile.ZipFile(sys.argv[1]).namelist() if not n.endswith("/")]))' "$OUT/${target}_seed_corpus.zip")
  if [ "$seeds" != "$zipped" ]; then echo "$target: $zipped of $seeds seeds zipped"; missing=1; fi
  # The binary must run: replay its own seed corpus once.
  mkdir -p "$work/seeds/$target" && (cd "$work/seeds/$target" && python3 -m zipfile -e "$OUT/${target}_seed_corpus.zip" .)
  "$OUT/$target" -runs=0 "$work/seeds/$target" >/dev/null 2>&1 || { echo "$target does not replay its seeds"; missing=1; }
done
[ "$missing" -eq 0 ] && echo "OUT holds every expected file: $(ls "$OUT" | tr '\n' ' ')"
exit "$missing"
