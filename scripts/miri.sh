#!/usr/bin/env bash
# Runs the core's unit tests and synchronous semantics suites under miri. ctxflow itself has no
# `unsafe` (`#![deny(unsafe_code)]`); miri checks the `unsafe` of std and the dependencies the core
# leans on (RefCell borrows, Arc'd frames, thread-locals at thread exit) as the core uses them.
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
