#!/usr/bin/env bash
# The published crates build with the Rust version they declare (`rust-version` in the
# workspace's Cargo.toml), every feature on: the toolchain is installed if missing. Clippy's
# `incompatible_msrv` lint (in .ci/run's clippy step) catches std APIs newer than that
# version; this catches the language features the lint does not see (let chains, say).
set -euo pipefail
cd "$(dirname "$0")/.."
msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
[ -n "$msrv" ] || { echo "msrv: no rust-version in Cargo.toml" >&2; exit 2; }
if ! rustup run "$msrv" rustc --version >/dev/null 2>&1; then
    echo "== installing Rust $msrv"
    rustup toolchain install "$msrv" --profile minimal
fi
echo "== cargo +$msrv check (the published crates, all features)"
CARGO_TARGET_DIR=target/msrv cargo +"$msrv" check -p ctxflow -p ctxflow-diagnostics -p ctxflow-http -p ctxflow-macros -p ctxflow-tracing \
    --all-features
