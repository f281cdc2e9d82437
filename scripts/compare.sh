#!/usr/bin/env bash
# Side by side with an older commit: the "requests10k" workload (benches/src/bin/requests.rs:
# 10 000 concurrent requests, each a scope, 20 awaits with a read after each, then 3 children
# spawned and joined, on a 2-worker runtime) and the HTTP end-to-end CPU per request
# (scripts/layer-cost.sh with the older build's cost_server as an extra server).
#
# Usage: scripts/compare.sh BASE_REV [RUNS]
# Builds BASE_REV in a git worktree under scratch/ (with today's requests.rs copied in, so both
# builds run the same workload source) and the working tree, then alternates the two binaries
# for RUNS rounds (default 10) of 5 runs each. Each run times plain tokio and ctxflow in one
# process; the figure compared is ctxflow's time over plain tokio's, per run, so the machine's
# drift cancels out. Prints the median and range of that ratio for each build, then the HTTP
# table (skip it with HTTP=0; its own ROUNDS, DURATION, ... are layer-cost.sh's). Needs what
# layer-cost.sh needs for the HTTP part. MODE=automatic compares the automatic-propagation
# runtime (plain `tokio::spawn` on `propagate_context()`) instead of `ctxflow::spawn`, and
# MODE=noop_hook `ctxflow::spawn` with a no-op hook registered.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:?usage: scripts/compare.sh BASE_REV [RUNS]}
# Not `ROUNDS`: that is layer-cost.sh's, taken from the environment.
RUNS=${2:-10}
WT=scratch/compare-$BASE
if [ ! -d "$WT" ]; then
  git worktree add --detach -f "$WT" "$BASE" >/dev/null
fi
cp benches/src/bin/requests.rs "$WT/benches/src/bin/requests.rs"
echo "== building $BASE and the working tree (release)"
(cd "$WT" && CARGO_TARGET_DIR=target cargo build --release -q -p ctxflow-benches --bin requests -p ctxflow-http --example cost_server)
cargo build --release -q -p ctxflow-benches --bin requests -p ctxflow-http --example cost_server
NEW=target/release/requests
OLD=$WT/target/release/requests
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
echo "== requests10k: $RUNS rounds of 5 runs per build, alternating"
for r in $(seq "$RUNS"); do
  "$NEW" 5 ${MODE:-} | sed 's/^/new /' >>"$OUT"
  "$OLD" 5 ${MODE:-} | sed 's/^/old /' >>"$OUT"
done
python3 - "$OUT" "$BASE" "${MODE:-ctxflow}" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
ratios = {"new": [], "old": []}
for build, plain, ctx in rows:
    ratios[build].append(int(ctx) / int(plain))
med = {b: statistics.median(v) for b, v in ratios.items()}
for b, label in (("old", sys.argv[2]), ("new", "working tree")):
    v = ratios[b]
    print(f"  {label:>14}: {sys.argv[3]} / plain tokio  median {med[b]:.3f}x  range {min(v):.3f}-{max(v):.3f}  ({len(v)} runs)")
print(f"  working tree vs {sys.argv[2]}: {med['new'] / med['old']:.3f}x (ratio of the medians)")
PY
if [ "${HTTP:-1}" != 0 ]; then
  echo "== HTTP end to end: CPU per request (layer-cost.sh; 'before' is $BASE's ServerLayer)"
  EXTRA="before=$WT/target/release/examples/cost_server:layer" BIN=target/release/examples/cost_server scripts/layer-cost.sh
fi
