#!/bin/bash -eu
# Builds every fuzz target for OSS-Fuzz / ClusterFuzzLite and fills $OUT with, per target:
# the binary, X_seed_corpus.zip, X.options and, when the options name one, the dictionary.
# Local check: oss-fuzz/check-build.sh runs this with SRC and OUT in temporary folders.
cd "$SRC/mcp-transport-fuzz/fuzz"
cargo fuzz build -O
# The path OSS-Fuzz's coverage builds also read the binaries from.
bin_dir=target/x86_64-unknown-linux-gnu/release
# The scenario targets reach more coverage in the same time without comparison tracing (their
# bytes are read structurally, with no magic values to solve): fuzz/README.md, "Comparison
# tracing and value profile". They are built again without it, in a target dir of their own,
# except for coverage builds, where tracing plays no part.
# (Measured with -s none; OSS-Fuzz ships these AddressSanitizer builds.)
untraced=()
untraced_dir=target-no-cmp/x86_64-unknown-linux-gnu/release
if [ "${SANITIZER:-}" != coverage ]; then
  untraced=(harness_reference harness_rmcp)
  for target in "${untraced[@]}"; do
    cargo fuzz build -O --no-trace-compares --target-dir target-no-cmp "$target"
  done
fi
# harness_fixture runs the deliberately vulnerable fixtures: every input of it is meant to
# crash, so it is not for continuous fuzzing (.ci/run checks it finds each fixture).
for target in $(cargo fuzz list | grep -vx harness_fixture); do
  if [[ " ${untraced[*]} " == *" $target "* ]]; then
    cp "$untraced_dir/$target" "$OUT/"
  else
    cp "$bin_dir/$target" "$OUT/"
  fi
  (cd "../corpus/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
  cp "options/$target.options" "$OUT/"
  dict=$(sed -n 's/^dict *= *//p' "options/$target.options")
  if [ -n "$dict" ]; then
    cp ../corpus/sse.dict "$OUT/$dict"
  fi
done
