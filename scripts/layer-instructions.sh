#!/usr/bin/env bash
# Instructions per request that ctxflow-http's layers execute, counted by valgrind's callgrind:
# a count that the load of a shared machine does not change, unlike wall-clock time (and that
# works in VMs without hardware counters). Builds
# crates/ctxflow-http/benches/layer_instructions.rs, runs each case with 0 and N iterations, and
# prints (count(N) - count(0)) / N. The count is deterministic up to a few instructions, so
# one round is enough.
#
# Needs: valgrind. Environment: N (default 20000), CASES (default: all).
# Exit 2 when valgrind is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
CASES=${CASES:-"bare layer bare-headers layer-headers layer-headers-declared bare-client client client-declared"}
command -v valgrind >/dev/null || { echo "layer-instructions: valgrind is required" >&2; exit 2; }

BIN=$(cargo bench -p ctxflow-http --bench layer_instructions --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "layer_instructions" and m.get("executable"):
        print(m["executable"])')
[ -x "$BIN" ] || { echo "layer-instructions: build failed" >&2; exit 1; }

count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$1" "$2" 2>&1 >/dev/null \
    | awk '/Collected :/ {print $4}'
}
for case in $CASES; do
  base=$(count "$case" 0)
  full=$(count "$case" "$N")
  printf '%-24s %6s instructions/request\n' "$case" $(( (full - base) / N ))
done
