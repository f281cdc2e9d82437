#!/usr/bin/env bash
# Runs the tests that exercise ctxflow's `unsafe` code (crates/ctxflow/src/{current,value,frame}.rs)
# under miri: the core's unit tests and the synchronous semantics suites.
# Installs nightly's miri and rust-src components when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
    echo "== installing miri for the nightly toolchain"
    rustup toolchain install nightly --profile minimal --component miri,rust-src
fi

export CARGO_TARGET_DIR=target/miri
# `--cfg tokio_unstable` comes from .cargo/config.toml; MIRIFLAGS keeps the default checks.
cargo +nightly miri test -p ctxflow --no-default-features --lib --test scoping --test snapshot --test contained_panics --test reentrant_reads
# The runtime's poll token (runtime/poll_token.rs) hands a task's context between threads
# through an `UnsafeCell`: its racing-polls test, on real threads.
cargo +nightly miri test -p ctxflow --no-default-features --features runtime --lib poll_token
