#!/usr/bin/env bash
# Prints the path of a tool the project's scripts run, installing its Debian package when none
# is found: as root through apt-get, otherwise by unpacking the .deb under target/tools/<package>
# (no privileges needed, but the package's own dependencies must then be on the machine).
#
#   scripts/debian-tool.sh <package> <binary> [VARIABLE]
#
# VARIABLE names an environment variable that, when it holds an executable, is used as is.
set -euo pipefail
cd "$(dirname "$0")/.."
package=${1:?usage: scripts/debian-tool.sh <package> <binary> [VARIABLE]}
binary=${2:?usage: scripts/debian-tool.sh <package> <binary> [VARIABLE]}
given=${3:+${!3:-}}
if [ -n "$given" ] && [ -x "$given" ]; then echo "$given"; exit 0; fi
if command -v "$binary" >/dev/null; then command -v "$binary"; exit 0; fi
unpacked() { find "target/tools/$package" -type f -name "$binary" -perm -u+x 2>/dev/null | head -1 || true; }
local_bin=$(unpacked)
if [ -n "$local_bin" ]; then echo "$PWD/$local_bin"; exit 0; fi
echo "== installing $binary (Debian package $package)" >&2
if [ "$(id -u)" = 0 ]; then
  if ! apt-get install -y -qq "$package" >&2; then
    apt-get update -qq >&2
    apt-get install -y -qq "$package" >&2
  fi
  command -v "$binary"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download "$package" >&2)
  mkdir -p "target/tools/$package"
  dpkg-deb -x "$work"/"$package"_*.deb "target/tools/$package"
  local_bin=$(unpacked)
  [ -n "$local_bin" ] || { echo "debian-tool: $package has no $binary" >&2; exit 1; }
  echo "$PWD/$local_bin"
fi
