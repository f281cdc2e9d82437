#!/usr/bin/env bash
# The published crates build with the lowest versions of their dependencies that their
# manifests allow. Cargo.lock pins recent versions, so nothing else here would notice a
# requirement such as `http = "1.1"` whose code needs 1.2, or a floor so low that no version of
# another dependency agrees with it; a user whose lockfile holds older versions would.
#
# The crates are copied into target/minimal-versions without their dev-dependencies (tests and
# examples may need newer crates than the library does, and are not what users build), each
# direct dependency is resolved to its lowest allowed version (`-Z direct-minimal-versions`,
# nightly cargo; installed if missing), and the libraries are checked with every feature and
# with none. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

published=(ctxflow ctxflow-diagnostics ctxflow-http ctxflow-macros ctxflow-tracing)

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "== installing the nightly toolchain (for -Z direct-minimal-versions)"
    rustup toolchain install nightly --profile minimal
fi

copy=target/minimal-versions/workspace
rm -rf "$copy"
mkdir -p "$copy/crates"
members=""
for crate in "${published[@]}"; do
    mkdir "$copy/crates/$crate"
    # Whole: a manifest names its examples and tests, which must exist for it to parse.
    cp -r "crates/$crate/." "$copy/crates/$crate/"
    members+="${members:+, }\"crates/$crate\""
done
sed "s|^members = .*|members = [$members]|" Cargo.toml >"$copy/Cargo.toml"
for manifest in "$copy/Cargo.toml" "$copy"/crates/*/Cargo.toml; do
    # Drops every `[dev-dependencies]` and `[target.'..'.dev-dependencies]` table.
    awk '/^\[/ { dev = ($0 ~ /dev-dependencies\]$/) } !dev' "$manifest" >"$manifest.new"
    mv "$manifest.new" "$manifest"
done

# Beside the copy, so that the next run builds only what changed.
export CARGO_TARGET_DIR=$PWD/target/minimal-versions/target
cd "$copy"
echo "== resolving each direct dependency to its lowest allowed version"
cargo +nightly update -Z direct-minimal-versions --quiet
# `--cfg tokio_unstable` for the `runtime` feature comes from the repository's .cargo/config.toml,
# a parent of this directory.
echo "== cargo check, every feature"
cargo check --locked --quiet --workspace --lib --all-features
for crate in "${published[@]}"; do
    echo "== cargo check -p $crate, no default features"
    cargo check --locked --quiet -p "$crate" --lib --no-default-features
done
