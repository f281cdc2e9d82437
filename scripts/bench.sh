#!/usr/bin/env bash
# Runs every benchmark side by side and writes docs/benchmarks.md and docs/benchmarks.svg:
# the criterion suite of synchronous costs and the task workloads timed interleaved (ctxflow vs
# plain tokio, task_local!, tracing, opentelemetry, with a no-op hook, and the
# automatic-propagation runtime), Node's AsyncLocalStorage and createHook
# on the same workloads, the memory probe, and the HTTP probes under wrk (axum with and without
# the ctxflow-http layer; the service users run, with no context, with ctxflow and with
# tracing + OpenTelemetry). Then prints each cost budget with PASS/MISS.
#
#   scripts/bench.sh [rounds]        # default 2 rounds; docs/benchmarks.md says how long its run took
#
# The suites run in rounds; the contenders' order is reversed every other round, and every
# ratio pairs two figures of the same round. The task workloads interleave their contenders
# batch by batch within a round (benches/src/interleaved.rs). Ratios only: the machine is shared and noisy.
# Nothing here is a pass/fail test: a MISS is a figure to act on, not a failed build.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-${CTXFLOW_BENCH_ROUNDS:-2}}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
RESULTS="$CARGO_TARGET_DIR/bench-results/$(date -u +%Y%m%d-%H%M%S)"
# Overridable for a quick smoke run, e.g. CTXFLOW_BENCH_QUICK=1 scripts/bench.sh 1.
if [[ -n ${CTXFLOW_BENCH_QUICK:-} ]]; then
  CRITERION_ARGS=(--warm-up-time 0.2 --measurement-time 0.3) HTTP_SECONDS=1 NODE_SECONDS=0.3 TASK_SECONDS=0.5
else
  CRITERION_ARGS=(--warm-up-time 1 --measurement-time 2) HTTP_SECONDS=4 NODE_SECONDS=2 TASK_SECONDS=15
fi
HTTP_CONNECTIONS=32
mkdir -p "$RESULTS"
started=$SECONDS

step() { printf '\n== [%3ds] %s\n' $((SECONDS - started)) "$*" >&2; }
# Records a command line in commands.txt.
note() { echo "$*" >>"$RESULTS/commands.txt.raw"; }
# Runs a command, recording it in commands.txt.
run() {
  note "$*"
  "$@"
}

step "building (release)"
run cargo build --release -p ctxflow-benches --bins
# Built once and run by path, so every round measures the same code even if the tree changes.
run cargo bench -p ctxflow-benches --no-run 2>&1 | tee "$RESULTS/build.log" >&2
bench_exe() { sed -n "s|.*Executable benches/$1.rs (\(.*\))|\1|p" "$RESULTS/build.log" | tail -1; }
MICRO=$(bench_exe micro)
if [[ ! -x $MICRO ]]; then
  echo "could not find the criterion bench executable in $RESULTS/build.log" >&2
  exit 1
fi

# The HTTP probes load their servers with wrk, and the instruction probe runs under valgrind:
# installed if missing (scripts/debian-tool.sh).
for package in wrk valgrind; do
  if tool=$(scripts/debian-tool.sh "$package" "$package"); then
    PATH="$(dirname "$tool"):$PATH"
  else
    echo "$package could not be installed: its figures will be missing" >&2
  fi
done
if ! command -v node >/dev/null; then
  echo "node is not installed: the Node figures will be missing" >&2
fi

for round in $(seq 1 "$ROUNDS"); do
  export CTXFLOW_BENCH_ROUND=$round
  out="$RESULTS/round-$round"
  mkdir -p "$out"
  if ((round % 2)); then node_variants=(plain als hook); else node_variants=(hook als plain); fi

  step "round $round/$ROUNDS: criterion, synchronous costs"
  note "cargo bench -p ctxflow-benches --bench micro -- ${CRITERION_ARGS[*]}   # run as its built executable"
  CRITERION_HOME="$out/criterion" "$MICRO" --bench "${CRITERION_ARGS[@]}" >"$out/micro.log" 2>&1
  step "round $round/$ROUNDS: tasks on tokio runtimes, contenders interleaved"
  run "$CARGO_TARGET_DIR/release/interleaved" "$TASK_SECONDS" >"$out/tasks.jsonl"

  if command -v node >/dev/null; then
    step "round $round/$ROUNDS: Node ${node_variants[*]}"
    for workload in awaits20 requests10k; do
      for variant in "${node_variants[@]}"; do
        CTXFLOW_BENCH_SECONDS=$NODE_SECONDS run node benches/node/context.mjs "$workload" "$variant" | tee -a "$out/node.jsonl" >&2
      done
    done
  fi

  step "round $round/$ROUNDS: HTTP"
  run "$CARGO_TARGET_DIR/release/http" probe "$HTTP_SECONDS" "$HTTP_CONNECTIONS" | tee -a "$out/http.jsonl" >&2
  step "round $round/$ROUNDS: the HTTP service, three ways"
  run "$CARGO_TARGET_DIR/release/http" stack "$HTTP_SECONDS" "$HTTP_CONNECTIONS" | tee -a "$out/http.jsonl" >&2
done

step "instructions per synchronous operation (valgrind)"
if command -v valgrind >/dev/null; then
  run "$CARGO_TARGET_DIR/release/instr" probe | tee "$RESULTS/instr.jsonl" >&2
else
  echo "valgrind is not installed: the instruction counts will be missing" >&2
fi

step "instructions per request of the HTTP service (valgrind)"
if command -v valgrind >/dev/null && command -v wrk >/dev/null; then
  run scripts/layer-instructions.sh --stack --records | tee "$RESULTS/instr-stack.jsonl" >&2
else
  echo "valgrind or wrk is missing: the service's instruction counts will be missing" >&2
fi

step "memory (counting allocator)"
run "$CARGO_TARGET_DIR/release/mem" | tee "$RESULTS/mem.jsonl" >&2
if command -v node >/dev/null; then
  for variant in plain als hook; do
    run node --expose-gc benches/node/mem.mjs "$variant" | tee -a "$RESULTS/node-mem.jsonl" >&2
  done
fi

# The distinct commands, in the order first run.
{
  echo "scripts/bench.sh $ROUNDS   # runs all of the following"
  echo "# each round n of $ROUNDS sets CTXFLOW_BENCH_ROUND=n (odd rounds reverse the contenders' order)"
  echo "# and CRITERION_HOME=<results>/round-n/criterion; the rest runs once"
  awk '!seen[$0]++' "$RESULTS/commands.txt.raw"
} >"$RESULTS/commands.txt"
rm "$RESULTS/commands.txt.raw"

step "report"
# Kept with the results, so that the report can be written again from them alone.
echo "$(date -u '+%Y-%m-%d %H:%M UTC') (the run took $((SECONDS - started)) s)" >"$RESULTS/date.txt"
"$CARGO_TARGET_DIR/release/report" "$RESULTS" docs/benchmarks.md docs/benchmarks.svg
echo "results: $RESULTS; report: docs/benchmarks.md, chart: docs/benchmarks.svg" >&2
