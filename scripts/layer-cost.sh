#!/usr/bin/env bash
# What ctxflow-http's ServerLayer costs a minimal axum service end to end: CPU time per request
# of crates/ctxflow-http/examples/cost_server.rs (one tokio worker; all servers pinned to CPU
# 0) under bounded wrk runs on loopback (pinned to CPU 1). Three servers run side by side:
# `plain` (no layer), `noop` (a layer that only wraps the response body, as ServerLayer does:
# what axum's layering costs by itself) and `layer` (ServerLayer). Short runs rotate between
# them, the order shifting every round, with and without the four headers the layer reads, so
# that the load of a shared machine hits all alike; the median of each cell is printed.
#
# Needs: taskset (util-linux), and curl, python3 and wrk (installed if missing:
# scripts/debian-tool.sh).
# Environment: ROUNDS (default 15), DURATION (wrk -d, default 2s), CONNECTIONS (default 16),
#   PORT (first port, default 5002), BIN (a prebuilt cost_server; default: build it),
#   EXTRA (more servers to compare, as name=binary:mode entries separated by spaces, e.g. an
#   older build: EXTRA="before=/tmp/old/cost_server:layer").
# Exit 2 when a tool is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-15}
DURATION=${DURATION:-2s}
CONNECTIONS=${CONNECTIONS:-16}
PORT=${PORT:-5002}
command -v taskset >/dev/null || { echo "layer-cost: taskset is required" >&2; exit 2; }
for package in curl python3 wrk; do
  tool=$(scripts/debian-tool.sh "$package" "$package") || { echo "layer-cost: $package is required" >&2; exit 2; }
  PATH="$(dirname "$tool"):$PATH"
done
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p ctxflow-http --example cost_server
  BIN=${CARGO_TARGET_DIR:-target}/release/examples/cost_server
fi
HEADERS=(
  -H "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
  -H "tracestate: rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,acme=x@1"
  -H "baggage: userId=alice,serverNode=DF%2028,isProduction=false,tenant=acme;ttl=60"
  -H "x-request-id: 3f2b6c1e-8d4a-4f7e-9b1c-2a5d6e7f8a90"
)
NAMES=(plain noop layer)
SERVERS=("$BIN:plain" "$BIN:noop" "$BIN:layer")
for extra in ${EXTRA:-}; do
  NAMES+=("${extra%%=*}")
  SERVERS+=("${extra#*=}")
done
N=${#NAMES[@]}
RESULTS=$(mktemp)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -f "$RESULTS"' EXIT

for i in "${!NAMES[@]}"; do
  taskset -c 0 "${SERVERS[$i]%:*}" "${SERVERS[$i]##*:}" "127.0.0.1:$((PORT + i))" 2>/dev/null &
  PIDS+=($!)
done
for i in "${!NAMES[@]}"; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$((PORT + i))/cpu" >/dev/null && break; sleep 0.05; done
done

# One run against server $1 (index), headers or not: prints microseconds of CPU per request.
run() {
  local url=http://127.0.0.1:$((PORT + $1)) before after requests extra=()
  [ "$2" = headers ] && extra=("${HEADERS[@]}")
  before=$(curl -sf "$url/cpu")
  requests=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "${extra[@]}" "$url/" | awk '/requests in/ {print $1}')
  after=$(curl -sf "$url/cpu")
  python3 -c "print(f'{($after - $before) / $requests * 1e6:.3f}')"
}

for round in $(seq "$ROUNDS"); do
  for headers in none headers; do
    for k in $(seq 0 $((N - 1))); do
      i=$(( (k + round) % N ))
      us=$(run "$i" "$headers")
      echo "${NAMES[$i]} $headers $us $round" >>"$RESULTS"
      echo "round $round: ${NAMES[$i]}, $headers: $us us CPU/request" >&2
    done
  done
done

python3 - "$RESULTS" "${NAMES[@]}" <<'EOF'
import statistics, sys
names = sys.argv[2:]
cells, rounds = {}, {}
for line in open(sys.argv[1]):
    name, headers, us, rnd = line.split()
    cells.setdefault((name, headers), []).append(float(us))
    rounds.setdefault((headers, rnd), {})[name] = float(us)
print("median CPU per request; in brackets: added over plain axum")
for headers in ("none", "headers"):
    plain = statistics.median(cells[("plain", headers)])
    row = f"{'no headers' if headers == 'none' else '4 headers':<11} plain {plain:.2f} us"
    for name in names[1:]:
        us = statistics.median(cells[(name, headers)])
        row += f" | {name} {us:.2f} us ({us - plain:+.2f} us, {100 * (us - plain) / plain:+.1f}%)"
    print(row)
# Servers beyond the three (EXTRA, e.g. an older build), paired with `layer` round by round:
# the load of a shared machine moves both alike within a round, so the per-round ratio is
# steadier than a ratio of the two medians.
for extra in names[3:]:
    for headers in ("none", "headers"):
        r = sorted(v["layer"] / v[extra] for (h, _), v in rounds.items() if h == headers and extra in v and "layer" in v)
        if r:
            label = 'no headers' if headers == 'none' else '4 headers'
            print(f"{label:<11} layer / {extra}, per round: median {statistics.median(r):.3f}x, range {r[0]:.3f}-{r[-1]:.3f} ({len(r)} rounds)")
EOF
