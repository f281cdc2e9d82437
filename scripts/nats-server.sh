#!/usr/bin/env bash
# Makes sure a NATS server binary is here for the messaging example and test
# (examples/messaging, examples/tests/messaging.rs), and prints its path. They start and stop
# their own server on a loopback port; this only installs Debian's `nats-server` package when
# none is found (as root through apt-get; otherwise the .deb is unpacked under
# target/tools, which needs no privileges).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${NATS_SERVER:-}" ] && [ -x "$NATS_SERVER" ]; then echo "$NATS_SERVER"; exit 0; fi
if command -v nats-server >/dev/null; then command -v nats-server; exit 0; fi
local_bin=target/tools/nats-server/usr/sbin/nats-server
if [ -x "$local_bin" ]; then echo "$PWD/$local_bin"; exit 0; fi
echo "== installing nats-server (Debian package)" >&2
if [ "$(id -u)" = 0 ]; then
  if ! apt-get install -y -qq nats-server >&2; then
    apt-get update -qq >&2
    apt-get install -y -qq nats-server >&2
  fi
  command -v nats-server
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download nats-server >&2)
  mkdir -p target/tools/nats-server
  dpkg-deb -x "$work"/nats-server_*.deb target/tools/nats-server
  echo "$PWD/$local_bin"
fi
