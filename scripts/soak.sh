#!/usr/bin/env bash
# The soak (docs/reliability.md): 1 000 000 requests (or $1) from 64 concurrent clients (or $2)
# through ctxflow-http's server and client layers on a 2-worker tokio runtime with automatic
# propagation, with random aborted children, dropped scopes, panicking children and handlers,
# and client disconnects. Prints requests/s, wrong reads and leaked contexts/resources/tasks;
# exits non-zero unless all of those are 0. About 2 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/soak}"
cargo build --release -q -p ctxflow-http --example soak
timeout 600 "$CARGO_TARGET_DIR/release/examples/soak" "${1:-1000000}" "${2:-64}"
