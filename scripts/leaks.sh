#!/usr/bin/env bash
# Leak check (docs/reliability.md): a shorter soak ($1 requests, default 20 000) under
# LeakSanitizer (nightly `-Zsanitizer=leak`, no extra install on x86_64 Linux). LSan reports
# any heap block no longer reachable at exit and the run exits non-zero. With `valgrind` as
# first argument, runs 2 000 requests under valgrind --leak-check=full instead (slower).
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu

if [[ "${1:-}" == "valgrind" ]]; then
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/soak}"
    cargo build --release -q -p ctxflow-http --example soak
    valgrind --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=1 "$CARGO_TARGET_DIR/release/examples/soak" "${2:-2000}" 16
    exit
fi

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "== installing the nightly toolchain"
    rustup toolchain install nightly --profile minimal
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/lsan}"
# --target keeps build scripts and proc macros out of the sanitizer; RUSTFLAGS replaces
# .cargo/config.toml's, so tokio_unstable is repeated.
export RUSTFLAGS="-Zsanitizer=leak --cfg tokio_unstable"
export LSAN_OPTIONS="${LSAN_OPTIONS:-exitcode=23}"
cargo +nightly build --release -q --target "$target" -p ctxflow-http --example soak
echo "== soak under LeakSanitizer"
"$CARGO_TARGET_DIR/$target/release/examples/soak" "${1:-20000}" 32
echo "leaks: LeakSanitizer found no leak"
