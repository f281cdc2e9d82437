#!/usr/bin/env bash
# Makes sure a NATS server binary is here for the messaging example and test
# (examples/messaging, examples/tests/messaging.rs), and prints its path (`$NATS_SERVER` if it
# names one). They start and stop their own server on a loopback port; this only installs
# Debian's `nats-server` package when none is found (scripts/debian-tool.sh).
set -euo pipefail
exec "$(dirname "$0")/debian-tool.sh" nats-server nats-server NATS_SERVER
