#!/usr/bin/env bash
# Coverage reached after the same wall time by a harness target under four modes: the default
# build (comparison tracing), the same with -use_value_profile=1, a build without comparison
# tracing (as OSS-Fuzz ships the harness targets), and that build with -entropic=0. Each run starts from the committed seeds into a fresh folder; then one
# binary (the default build) measures every resulting corpus (-runs=0), so that the edge
# counts compare like with like. Two runs at a time, one per core.
#
# Usage, from fuzz/ (builds what it needs, the no-tracing build in target-no-cmp/):
#   ./coverage-by-mode.sh TARGET [SECONDS] [RUNS]       # defaults: 60, 3
#   MODES="no-trace-compares no-entropic" ./coverage-by-mode.sh TARGET   # only some modes
# Prints one line per run (mode, run, edges, features) and the median edges per mode.
set -euo pipefail
target=${1:?usage: coverage-by-mode.sh TARGET [SECONDS] [RUNS]}
seconds=${2:-60}
runs=${3:-3}
cargo fuzz build -s none -O "$target" >/dev/null 2>&1
CARGO_TARGET_DIR=target-no-cmp cargo fuzz build -s none -O --no-trace-compares "$target" >/dev/null 2>&1
traced=target/x86_64-unknown-linux-gnu/release/$target
untraced=target-no-cmp/x86_64-unknown-linux-gnu/release/$target
mapfile -t flags < <(./flags.sh "$target")
work=$(mktemp -d /tmp/coverage-by-mode.XXXX)
trap 'rm -rf "$work"' EXIT

# One run of MODE: fuzzes for SECONDS into its own folder.
fuzz() {
  local mode=$1 run=$2 bin=$traced extra=()
  case "$mode" in
    value-profile) extra=(-use_value_profile=1) ;;
    no-trace-compares) bin=$untraced ;;
    no-entropic) bin=$untraced extra=(-entropic=0) ;;
  esac
  mkdir -p "$work/$mode-$run"
  "$bin" "$work/$mode-$run" "../corpus/$target" "${flags[@]}" "${extra[@]}" -seed="$run" \
    -max_total_time="$seconds" >"$work/$mode-$run.log" 2>&1 || true
}

read -ra modes <<<"${MODES:-trace-compares value-profile no-trace-compares no-entropic}"
jobs=()
for run in $(seq 1 "$runs"); do
  for mode in "${modes[@]}"; do jobs+=("$mode $run"); done
done
for ((i = 0; i < ${#jobs[@]}; i += 2)); do
  fuzz ${jobs[i]} &
  if ((i + 1 < ${#jobs[@]})); then fuzz ${jobs[i + 1]} & fi
  wait
done

for job in "${jobs[@]}"; do
  set -- $job
  # What the run reached: its new inputs together with the seeds it started from.
  line=$("$traced" -runs=0 "${flags[@]}" "$work/$1-$2" "../corpus/$target" 2>&1 | grep -m1 'INITED' || true)
  edges=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$line")
  features=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$line")
  echo "$1 $2 ${edges:-?} ${features:-?}"
done | tee "$work/runs"

echo
echo "mode | median edges | median features | runs"
for mode in "${modes[@]}"; do
  edges=$(awk -v m="$mode" '$1 == m { print $3 }' "$work/runs" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
  features=$(awk -v m="$mode" '$1 == m { print $4 }' "$work/runs" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
  echo "$mode | $edges | $features | $runs"
done
