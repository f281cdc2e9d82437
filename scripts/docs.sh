#!/usr/bin/env bash
# The published crates' documentation as docs.rs builds it (their [package.metadata.docs.rs]:
# every feature, `--cfg tokio_unstable`, and `--cfg docsrs` for the feature badges), with
# warnings (broken links, say) as errors, and every documented public item with an example
# (rustdoc's `missing_doc_code_examples`, a nightly lint). Needs nightly, for the badges and
# that lint; installs it if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "== installing the nightly toolchain"
    rustup toolchain install nightly --profile minimal
fi
RUSTFLAGS="--cfg tokio_unstable" RUSTDOCFLAGS="--cfg tokio_unstable --cfg docsrs -D warnings -Z unstable-options \
    -Zcrate-attr=feature(rustdoc_missing_doc_code_examples) -W rustdoc::missing-doc-code-examples" \
    CARGO_TARGET_DIR=target/docsrs cargo +nightly doc --no-deps --all-features \
    -p ctxflow -p ctxflow-diagnostics -p ctxflow-http -p ctxflow-macros -p ctxflow-tracing
