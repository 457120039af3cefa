#!/usr/bin/env bash
# Time to find each fixture with harness_fixture from an empty corpus, with the
# structure-aware mutator and without it (MCP_FUZZ_MUTATOR=bytes, with libFuzzer's default
# -len_control=100, as a build without a custom mutator runs). The two modes of a fixture and
# seed run side by side, one per core, so that both see the same machine load.
#
# Usage, from fuzz/ after `cargo fuzz build -s none -O harness_fixture`:
#   ./time-to-find.sh [SECONDS] [SEEDS] [FIXTURE...]     # defaults: 60, "1 2 3", every fixture
# Prints one line per run (fixture, mode, seed, seconds, found|missed) and then the median
# per fixture and mode (a miss counts as SECONDS).
set -euo pipefail
limit=${1:-60}
seeds=${2:-1 2 3}
shift $(($# < 2 ? $# : 2))
bin=target/x86_64-unknown-linux-gnu/release/harness_fixture
[ -x "$bin" ] || { echo "time-to-find.sh: build harness_fixture first ($bin)" >&2; exit 2; }
if [ $# -eq 0 ]; then
  mapfile -t fixtures < <(cargo run --quiet --release --manifest-path ../Cargo.toml -- list fixtures | cut -d' ' -f1)
else
  fixtures=("$@")
fi
work=$(mktemp -d /tmp/time-to-find.XXXX)
# Kept when a run crashed on something other than its fixture, for its log.
trap '[ -e "$work/keep" ] || rm -rf "$work"' EXIT

# One run: prints "FIXTURE MODE SEED SECONDS found|missed".
one() {
  local fixture=$1 mode=$2 seed=$3 dir="$work/$1-$2-$3"
  local extra=()
  extra=(-len_control=100)
  mkdir -p "$dir/corpus"
  local start end
  start=$(date +%s.%N)
  MCP_FUZZ_MUTATOR=$mode MCP_FUZZ_FIXTURE=$fixture timeout $((limit + 30)) "$bin" "$dir/corpus" \
    -max_len=4096 -max_total_time="$limit" -seed="$seed" "${extra[@]}" \
    -artifact_prefix="$dir/" >"$dir/log" 2>&1 || true
  end=$(date +%s.%N)
  local outcome=missed
  grep -q "fixture:$fixture: .* finding" "$dir/log" && outcome=found
  if [ "$outcome" = missed ] && grep -q 'deadly signal\|panicked' "$dir/log"; then
    echo "time-to-find.sh: $fixture $mode seed $seed crashed on something else: $dir/log" >&2
    touch "$work/keep"
  fi
  printf '%s %s %s %.1f %s\n' "$fixture" "$mode" "$seed" "$(echo "$end - $start" | bc)" "$outcome"
}

for fixture in "${fixtures[@]}"; do
  for seed in $seeds; do
    one "$fixture" structure "$seed" &
    one "$fixture" bytes "$seed" &
    wait
  done
done | tee "$work/runs"

echo
echo "fixture | median s, structure-aware | median s, bytes only | found (structure/bytes)"
awk -v limit="$limit" '
  { t = ($5 == "found") ? $4 : limit; key = $1 SUBSEP $2; times[key] = times[key] " " t
    if ($5 == "found") found[key]++; runs[key]++; if (!($1 in seen)) { seen[$1]; order[++n] = $1 } }
  function median(list,   a, k, i, j, x) {
    k = split(list, a, " ")
    for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
    return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  END { for (i = 1; i <= n; i++) { f = order[i]; s = f SUBSEP "structure"; b = f SUBSEP "bytes"
    printf "%s | %.1f | %.1f | %d/%d of %d\n", f, median(times[s]), median(times[b]), found[s], found[b], runs[s] } }
' "$work/runs"
