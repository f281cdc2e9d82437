#!/usr/bin/env bash
# Fuzzes the W3C parsers of ctxflow-http (fuzz/, a cargo-fuzz project with its own workspace):
# runs each target for a bounded time and prints how many inputs it executed.
#
# Needs the nightly toolchain and cargo-fuzz: both are installed if missing (rustup and
# `cargo install`, from crates.io). Building libFuzzer needs a C++ compiler: g++ is installed
# if missing when run as root (apt-get); otherwise the script says so and exits 2.
#
# Usage: scripts/fuzz.sh [TARGET ...]        (default: traceparent tracestate baggage)
# Environment:
#   FUZZ_SECONDS   time per target in seconds (default 60)
#   FUZZ_JOBS      libFuzzer -jobs/-workers (default 1; the machine has 2 cores)
#
# Corpora go to fuzz/corpus/, crashes to fuzz/artifacts/ (both git-ignored). Exit 0 when no
# target found a crash, 1 when one did, 2 when a tool is missing.
set -uo pipefail
cd "$(dirname "$0")/../fuzz"

SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(traceparent tracestate baggage)

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "== installing the nightly toolchain" >&2
  rustup toolchain install nightly --profile minimal >&2 || { echo "fuzz.sh: could not install the nightly toolchain" >&2; exit 2; }
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz" >&2
  cargo install --locked cargo-fuzz >&2 || { echo "fuzz.sh: could not install cargo-fuzz" >&2; exit 2; }
fi

# cc-rs builds libFuzzer with $CXX, or with c++.
if ! command -v "${CXX:-c++}" >/dev/null; then
  if [ -z "${CXX:-}" ] && [ "$(id -u)" = 0 ]; then
    ../scripts/debian-tool.sh g++ c++ >/dev/null || { echo "fuzz.sh: could not install g++" >&2; exit 2; }
  else
    echo "fuzz.sh: libFuzzer needs a C++ compiler, and ${CXX:-c++} was not found: install g++" >&2
    exit 2
  fi
fi

status=0
for target in "${TARGETS[@]}"; do
  log=$(mktemp)
  echo "== fuzzing $target for ${SECONDS_PER_TARGET}s" >&2
  cargo +nightly fuzz run "$target" -- -max_total_time="$SECONDS_PER_TARGET" -jobs="$JOBS" -workers="$JOBS" \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  # With -jobs, libFuzzer writes per-job logs (fuzz-N.log) in the current directory.
  cat fuzz-*.log >>"$log" 2>/dev/null; rm -f fuzz-*.log
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | awk '{n += $2} END {if (NR) print n}')
  if [ $rc -eq 0 ]; then
    echo "$target: ${runs:-?} executions in ${SECONDS_PER_TARGET}s, no crash"
  else
    echo "$target: FAILED after ${runs:-?} executions (exit $rc); last lines:"
    tail -n 30 "$log"
    status=1
  fi
  rm -f "$log"
done
exit $status
