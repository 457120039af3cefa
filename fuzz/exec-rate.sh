#!/usr/bin/env bash
# Measures each target's executions per second as fuzz/README.md reports them ("Throughput
# against the goals"): from the committed seeds, with the target's own flags, one process at a
# time, RUNS runs of SECONDS with -seed=1..RUNS, and the median. Build first, as CI and
# OSS-Fuzz do (comparison tracing on): cargo fuzz build -s none -O
#
#   ./exec-rate.sh [TARGET...]                      # every target but harness_fixture
#   SECONDS_PER_RUN=60 RUNS=5 ./exec-rate.sh sse_decode
#
# New inputs go to a scratch folder on a RAM file system (/dev/shm when there is one): libFuzzer
# writes every input it keeps, and on this machine's ext4 creating files next to many just
# deleted ones took 13% of a codec target's time (perf, `openat`), which is not the target's.
set -euo pipefail
cd "$(dirname "$0")"
bin=target/x86_64-unknown-linux-gnu/release
seconds=${SECONDS_PER_RUN:-20}
runs=${RUNS:-3}
[ -d /dev/shm ] && [ -w /dev/shm ] && fast=/dev/shm || fast=${TMPDIR:-/tmp}
scratch=$(mktemp -d "$fast/exec-rate.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(ls fuzz_targets | sed 's/\.rs$//' | grep -vx harness_fixture)
for target in "${targets[@]}"; do
  [ -x "$bin/$target" ] || { echo "exec-rate.sh: no $bin/$target; run cargo fuzz build -s none -O" >&2; exit 2; }
  mapfile -t flags < <(./flags.sh "$target")
  rates=()
  for seed in $(seq 1 "$runs"); do
    rm -rf "${scratch:?}/new" && mkdir "$scratch/new"
    rate=$(RUST_BACKTRACE='' "$bin/$target" "$scratch/new" "corpus/$target" "${flags[@]}" \
      -max_total_time="$seconds" -seed="$seed" 2>&1 | sed -n 's/.*DONE .*exec\/s: \([0-9]*\).*/\1/p')
    [ -n "$rate" ] || { echo "exec-rate.sh: $target -seed=$seed did not finish cleanly" >&2; exit 1; }
    rates+=("$rate")
  done
  median=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
  echo "$target runs ${rates[*]} median $median"
done
