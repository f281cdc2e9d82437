#!/usr/bin/env bash
# Model-checks ctxflow's cross-thread protocols with loom (crates/ctxflow/tests/loom_*.rs):
# the spawn capture and the hook registry's publication.
# `--cfg loom` switches crates/ctxflow/src/sync.rs to loom's atomics, locks and thread-locals,
# so the real code runs under every interleaving loom explores, up to LOOM_MAX_PREEMPTIONS
# preemptions per execution (default 3; `LOOM_MAX_PREEMPTIONS= scripts/loom.sh` explores
# exhaustively, which these models also finish in under a second). Prints the executions
# explored by each model.
set -euo pipefail
cd "$(dirname "$0")/.."

bound="${LOOM_MAX_PREEMPTIONS-3}"
if [[ -n "$bound" ]]; then export LOOM_MAX_PREEMPTIONS="$bound"; else unset LOOM_MAX_PREEMPTIONS; fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/loom}"
# RUSTFLAGS replaces .cargo/config.toml's flags, so tokio_unstable is repeated here.
export RUSTFLAGS="--cfg loom --cfg tokio_unstable"

echo "== loom (LOOM_MAX_PREEMPTIONS=${bound:-unbounded})"
# The panicking-hook model reports each (intended) hook panic on stderr; keep the rest.
cargo test -p ctxflow --features runtime --release --test loom_capture --test loom_hooks \
    -- --test-threads=1 --nocapture 2> >(grep -v "a hook panicked in" >&2)
