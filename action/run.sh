#!/usr/bin/env bash
# The GitHub Action's step (action.yml), runnable anywhere: fuzzes one MCP server as a black box
# for a bounded time, writes the report, SARIF and reproducers under OUT, prints a summary (to
# $GITHUB_STEP_SUMMARY too when set), and fails when a finding at or above FAIL_ON is not known.
#
# Environment (the action's inputs):
#   URL        the server's MCP endpoint (required; loopback unless ARGS has --allow-remote)
#   COMMAND    the shell command that starts the server (PORT is set from URL); empty: the
#              server is already running
#   DURATION   how long to fuzz (default 60s)
#   ERA        2025, 2026 or both (default both)
#   FAIL_ON    must, should, hardening or none (default must): the lowest level that fails
#   KNOWN      a file of accepted findings, one `oracle/kind` per line (# comments): reported,
#              never failing
#   ARGS       more options of `run`, such as policy limits (`--max-stream-bytes 8388608
#              --idle-timeout 30s`)
#   OUT        where the outputs go (default mcp-transport-fuzz-out)
#   BIN        the suite's binary (default: mcp-transport-fuzz on PATH)
# Exit: 0 passed, 1 failed on a finding, 2 the run itself failed (bad input, a server that never
# started).
set -uo pipefail

die() { echo "mcp-transport-fuzz action: $*" >&2; exit 2; }

: "${URL:?mcp-transport-fuzz action: URL is required}"
DURATION=${DURATION:-60s}
ERA=${ERA:-both}
FAIL_ON=${FAIL_ON:-must}
OUT=${OUT:-mcp-transport-fuzz-out}
BIN=${BIN:-mcp-transport-fuzz}
case "$FAIL_ON" in must | should | hardening | none) ;; *) die "FAIL_ON is '$FAIL_ON'; use must, should, hardening or none" ;; esac
case "$ERA" in 2025 | 2026 | both) ;; *) die "ERA is '$ERA'; use 2025, 2026 or both" ;; esac
if [ -n "${KNOWN:-}" ] && [ ! -r "$KNOWN" ]; then die "KNOWN names '$KNOWN', which cannot be read"; fi
command -v "$BIN" >/dev/null || die "'$BIN' not found; install it with cargo install --locked --path ."

mkdir -p "$OUT" || die "cannot create $OUT"
report="$OUT/report.jsonl" sarif="$OUT/findings.sarif"
rm -f "$report" "$sarif"
run=("$BIN" run --url "$URL" --duration "$DURATION" --era "$ERA" --report "$report"
  --sarif "$sarif" --findings-dir "$OUT/reproducers" --server-log "$OUT/server.log")
if [ -n "${COMMAND:-}" ]; then run+=(--cmd "$COMMAND"); fi
if [ -n "${ARGS:-}" ]; then
  read -r -a extra <<<"$ARGS"
  run+=("${extra[@]}")
fi
# If FAIL_ON is "hardening", hardening findings must be reported at all.
if [ "$FAIL_ON" = hardening ]; then run+=(--hardening); fi

echo "running: ${run[*]}"
"${run[@]}" 2>"$OUT/run.log"
status=$?
tail -1 "$OUT/run.log"
# `run` exits 1 when it found something, 0 when not; anything else is the run's own failure.
case "$status" in
  0 | 1) ;;
  *) tail -5 "$OUT/run.log" >&2; die "the run exited $status (see $OUT/run.log)" ;;
esac
touch "$report"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "report=$report" >>"$GITHUB_OUTPUT"
  if [ -s "$sarif" ]; then echo "sarif=$sarif" >>"$GITHUB_OUTPUT"; fi
fi

python3 - "$report" "$FAIL_ON" "${KNOWN:-}" "${GITHUB_STEP_SUMMARY:-}" <<'PY'
import json, sys

report, fail_on, known_file, summary_file = sys.argv[1:5]


def judge():
    ranks = {"must": 3, "should": 2, "hardening": 1, "none": 4}
    known = set()
    if known_file:
        for line in open(known_file, encoding="utf-8"):
            line = line.split("#", 1)[0].strip()
            if line:
                known.add(line)
    findings = [json.loads(line) for line in open(report, encoding="utf-8") if line.strip()]
    rows, failing = [], 0
    for f in findings:
        name = f"{f['oracle']}/{f['kind']}"
        is_known = name in known
        fails = not is_known and ranks[f["level"]] >= ranks[fail_on]
        failing += fails
        verdict = "FAIL" if fails else ("known" if is_known else "pass")
        summary = f["summary"].replace("|", "\\|").replace("\n", " ")
        if len(summary) > 160:
            summary = summary[:157] + "..."
        reproducer = f.get("reproducer") or ""
        rows.append(f"| {verdict} | {f['level']} | `{name}` | {summary} | `{reproducer}` |")
    lines = [
        "## mcp-transport-fuzz",
        "",
        f"{len(findings)} finding(s); {failing} at or above `{fail_on}` and not known.",
        "",
    ]
    if rows:
        lines += ["| verdict | level | finding | summary | reproducer |", "|---|---|---|---|---|", *rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as out:
            out.write(text)
    return failing


try:
    failing = judge()
except (OSError, ValueError, KeyError) as error:
    print(f"mcp-transport-fuzz action: cannot judge {report}: {error!r}", file=sys.stderr)
    sys.exit(2)
sys.exit(1 if failing else 0)
PY
