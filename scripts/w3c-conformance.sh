#!/usr/bin/env bash
# Runs the official W3C Trace Context test harness against ctxflow-http's service under test
# (crates/ctxflow-http/examples/w3c_service.rs). A manual conformance check, not part of CI:
# the harness is third-party code that is never committed.
#
# Needs:
#   * the harness: the `test/` folder of the w3c/trace-context repository (files test.py,
#     client.py, server.py, tracecontext/*.py), in $W3C_HARNESS_DIR (default scratch/harness,
#     git-ignored): copy them from a checkout of the public w3c/trace-context repository; the
#     harness is third-party code, never committed.
#   * python3 with venv; the script installs the harness' one dependency, aiohttp, from PyPI
#     into scratch/venv (once).
#   * cargo (builds the example).
#
# Environment (optional):
#   W3C_HARNESS_DIR  harness folder (default scratch/harness)
#   SPEC_LEVEL       1 = 40 tests, 2 = also the random-flag test, 41 tests (default 2)
#   STRICT_LEVEL     2 = include the tracestate validation/limit tests (default 2)
#   SERVICE_PORT     port of the service under test on 127.0.0.1 (default 5001)
#   HARNESS_PORT     port of the harness' own server on 127.0.0.1 (default 7777)
#
# Prints one line per test, then "N passed, M failed". Exit 0 when nothing failed, 1 when a
# test failed, 2 when something it needs is missing.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

HARNESS=${W3C_HARNESS_DIR:-$ROOT/scratch/harness}
SPEC_LEVEL=${SPEC_LEVEL:-2}
STRICT_LEVEL=${STRICT_LEVEL:-2}
SERVICE_PORT=${SERVICE_PORT:-5001}
HARNESS_PORT=${HARNESS_PORT:-7777}
VENV=$ROOT/scratch/venv
LOG=$ROOT/scratch/w3c-conformance.log

need() { echo "w3c-conformance: $*" >&2; exit 2; }

for f in test.py client.py server.py tracecontext/__init__.py tracecontext/traceparent.py tracecontext/tracestate.py; do
  [ -f "$HARNESS/$f" ] || need "W3C harness not found: missing $HARNESS/$f.
  Put the test/ folder of the w3c/trace-context repository there (or set W3C_HARNESS_DIR);
  it is third-party code and must not be committed (scratch/ is git-ignored)."
done
command -v python3 >/dev/null || need "python3 is required to run the harness"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" || need "could not create a Python venv in $VENV (install python3-venv)"
fi
if ! "$VENV/bin/python" -c 'import aiohttp' 2>/dev/null; then
  echo "installing aiohttp (the harness' only dependency) into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet aiohttp || need "pip install aiohttp failed"
fi

echo "building the service under test" >&2
cargo build --quiet -p ctxflow-http --example w3c_service || need "cargo build of the example failed"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SERVICE_BIN=$TARGET_DIR/debug/examples/w3c_service

"$SERVICE_BIN" "127.0.0.1:$SERVICE_PORT" 2>"$ROOT/scratch/w3c_service.log" &
SERVICE_PID=$!
trap 'kill "$SERVICE_PID" 2>/dev/null; wait "$SERVICE_PID" 2>/dev/null' EXIT

for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$SERVICE_PORT") 2>/dev/null && break
  kill -0 "$SERVICE_PID" 2>/dev/null || need "the service under test exited; see scratch/w3c_service.log"
  sleep 0.1
done

echo "running the harness (SPEC_LEVEL=$SPEC_LEVEL STRICT_LEVEL=$STRICT_LEVEL); full log: $LOG" >&2
(cd "$HARNESS" && PYTHONDONTWRITEBYTECODE=1 SPEC_LEVEL=$SPEC_LEVEL STRICT_LEVEL=$STRICT_LEVEL \
  HARNESS_HOST=127.0.0.1 HARNESS_PORT=$HARNESS_PORT HARNESS_BIND_HOST=127.0.0.1 \
  timeout 300 "$VENV/bin/python" -u test.py "http://127.0.0.1:$SERVICE_PORT/test") >"$LOG" 2>&1

"$VENV/bin/python" - "$LOG" <<'PY'
import re, sys
log = open(sys.argv[1], encoding="utf-8", errors="replace").read()
name = None
for line in log.splitlines():
    m = re.match(r"^(test_\w+) \(__main__\.(\w+)", line)
    if m:
        name = "%s.%s" % (m.group(2), m.group(1))
    r = re.search(r" \.\.\. (ok|FAIL|ERROR|skipped.*)$", line)
    if r and name:
        word = {"ok": "PASS"}.get(r.group(1), "SKIP" if r.group(1).startswith("skipped") else r.group(1))
        print("%-5s %s" % (word, name))
        name = None
ran = re.search(r"^Ran (\d+) tests?", log, re.M)
summary = re.search(r"^(OK|FAILED)(?: \((.*)\))?\s*$", log, re.M)
if not ran or not summary:
    print("\n".join(log.splitlines()[-15:]))
    print("0 passed, 1 failed")
    sys.exit(1)
counts = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", summary.group(2) or "")}
failed = counts.get("failures", 0) + counts.get("errors", 0)
passed = int(ran.group(1)) - failed - counts.get("skipped", 0)
print("%d passed, %d failed" % (passed, failed))
sys.exit(0 if failed == 0 else 1)
PY
