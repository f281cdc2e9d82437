#!/usr/bin/env bash
# Instructions per request that ctxflow-http's layers execute, counted by valgrind: a count
# that the load of a shared machine does not change, unlike wall-clock time (and that works in
# VMs without hardware counters). User-space only: the kernel's share of a request (sockets,
# about two thirds of a minimal axum request's CPU time here) is not counted.
#
#   scripts/layer-instructions.sh          the layers' own work: the instruction probe's
#                                          `http_request` groups (benches/src/bin/instr.rs:
#                                          cachegrind, n and 2n requests, the difference over n;
#                                          the cases are in benches/src/sync_ops.rs)
#   scripts/layer-instructions.sh --e2e    end to end: cost_server (crates/ctxflow-http/
#                                          examples/cost_server.rs) under callgrind, counting
#                                          switched on after a warm-up, then a bounded wrk run;
#                                          the count divided by the requests served
#   scripts/layer-instructions.sh --stack  the same for the HTTP service of `http stack`
#                                          (benches/src/service_stack.rs): each variant served
#                                          under callgrind against a downstream process that is
#                                          not counted; every request carries a traceparent
#   scripts/layer-instructions.sh --stack --records
#                                          the same as JSON records (group `instr_stack`, the
#                                          round of CTXFLOW_BENCH_ROUND), for scripts/bench.sh
#
# Needs: valgrind and, for --e2e and --stack, wrk; curl for --e2e (all installed if missing:
# scripts/debian-tool.sh). Environment: DURATION (wrk -d for --e2e and --stack, default 4s),
# PORT (--e2e, default 5011), EXTRA (--e2e: more servers as name=binary:mode, e.g. an older
# build). Exit 2 when a tool is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# The probe needs valgrind; the end-to-end modes also load a server with wrk, and --e2e waits for
# its server with curl.
packages=(valgrind)
case "${1:-}" in
  --e2e) packages+=(wrk curl) ;;
  --stack) packages+=(wrk) ;;
esac
for package in "${packages[@]}"; do
  tool=$(scripts/debian-tool.sh "$package" "$package") || { echo "layer-instructions: $package is required" >&2; exit 2; }
  PATH="$(dirname "$tool"):$PATH"
done

if [ "${1:-}" = --stack ]; then
  cargo build --release -q -p ctxflow-benches --bin http
  BIN=${CARGO_TARGET_DIR:-target}/release/http
  OUT=$(mktemp -d)
  # The port a server printed (`PORT <n>`) into file $1.
  port_of() {
    for _ in $(seq 300); do
      p=$(awk '/^PORT/ {print $2}' "$1")
      [ -n "$p" ] && { echo "$p"; return; }
      sleep 0.1
    done
    echo "layer-instructions: no server started ($1)" >&2
    exit 1
  }
  "$BIN" downstream >"$OUT/downstream.port" &
  downstream_pid=$!
  trap 'kill "$downstream_pid" 2>/dev/null || true; rm -rf "$OUT"' EXIT
  downstream=$(port_of "$OUT/downstream.port")
  TP="traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
  for variant in $("$BIN" stack-variants); do
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/cg.$variant" \
      "$BIN" stack-serve "$variant" "$downstream" >"$OUT/$variant.port" 2>/dev/null &
    pid=$!
    port=$(port_of "$OUT/$variant.port")
    wrk -t1 -c8 -d1s -H "$TP" "http://127.0.0.1:$port/" >/dev/null
    callgrind_control -i on "$pid" >/dev/null 2>&1
    requests=$(wrk -t1 -c8 -d"${DURATION:-4s}" -H "$TP" "http://127.0.0.1:$port/" | awk '/requests in/ {print $1}')
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    total=$(awk '/^totals:/ {print $2}' "$OUT/cg.$variant")
    if [ "${2:-}" = --records ]; then
      printf '{"group":"instr_stack","name":"%s","value":%s,"unit":"instructions","round":%s}\n' \
        "$variant" $((total / requests)) "${CTXFLOW_BENCH_ROUND:-0}"
    else
      printf '%-16s %6s instructions/request (%s requests)\n' "$variant" $((total / requests)) "$requests"
    fi
  done
  exit 0
fi

if [ "${1:-}" = --e2e ]; then
  command -v callgrind_control >/dev/null || { echo "layer-instructions: callgrind_control is required" >&2; exit 2; }
  cargo build --release -q -p ctxflow-http --example cost_server
  BIN=${CARGO_TARGET_DIR:-target}/release/examples/cost_server
  PORT=${PORT:-5011}
  HEADERS=(
    -H "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    -H "tracestate: rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,acme=x@1"
    -H "baggage: userId=alice,serverNode=DF%2028,isProduction=false,tenant=acme;ttl=60"
    -H "x-request-id: 3f2b6c1e-8d4a-4f7e-9b1c-2a5d6e7f8a90"
  )
  OUT=$(mktemp -d)
  trap 'rm -rf "$OUT"' EXIT
  for spec in plain="$BIN:plain" noop="$BIN:noop" layer="$BIN:layer" outer="$BIN:outer" ${EXTRA:-}; do
    name=${spec%%=*} server=${spec#*=}
    for headers in none headers; do
      extra=()
      [ "$headers" = headers ] && extra=("${HEADERS[@]}")
      valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/cg.%p" \
        "${server%:*}" "${server##*:}" "127.0.0.1:$PORT" >/dev/null 2>&1 &
      pid=$!
      for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/cpu" >/dev/null && break; sleep 0.2; done
      wrk -t1 -c16 -d1s "${extra[@]}" "http://127.0.0.1:$PORT/" >/dev/null
      callgrind_control -i on "$pid" >/dev/null 2>&1
      requests=$(wrk -t1 -c16 -d"${DURATION:-4s}" "${extra[@]}" "http://127.0.0.1:$PORT/" | awk '/requests in/ {print $1}')
      kill "$pid"
      wait "$pid" 2>/dev/null || true
      total=$(awk '/^totals:/ {print $2}' "$OUT/cg.$pid")
      printf '%-8s %-8s %6s instructions/request (%s requests)\n' "$name" "$headers" $((total / requests)) "$requests"
    done
  done
  exit 0
fi

cargo build --release -q -p ctxflow-benches --bin instr
"${CARGO_TARGET_DIR:-target}/release/instr" probe http_request http_request_declared | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    group, name, value = r["group"][len("instr_"):], r["name"], r["value"]
    print(f"{group:<22} {name:<14} {value:8.0f} instructions/request")
'
