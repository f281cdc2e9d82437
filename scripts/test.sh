#!/usr/bin/env bash
# The project's test command (README quick start, and what CI runs after fmt and clippy).
# Builds and tests every crate with every feature, then checks that the core crate also
# builds for users who do not pass `--cfg tokio_unstable`, and that its tests pass without the
# default `tokio` feature (those that spawn tokio tasks are skipped there). Installs what the
# tests need (nats-server) first.
set -euo pipefail
cd "$(dirname "$0")/.."

# The messaging test runs a NATS server of its own; this installs the binary if missing.
NATS_SERVER=$(scripts/nats-server.sh)
export NATS_SERVER

cargo test --workspace --all-features

echo "== ctxflow without --cfg tokio_unstable (default and rayon features), and its tests without tokio"
RUSTFLAGS="-D warnings" CARGO_TARGET_DIR=target/stable-cfg cargo check -p ctxflow --features rayon
RUSTFLAGS="-D warnings" CARGO_TARGET_DIR=target/stable-cfg cargo test -p ctxflow --no-default-features
RUSTFLAGS="-D warnings" CARGO_TARGET_DIR=target/stable-cfg cargo check -p ctxflow-diagnostics --all-features
