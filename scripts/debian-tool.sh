#!/usr/bin/env bash
# Prints the path of a tool the project's scripts run, installing its Debian package when none
# is found: as root through apt-get, otherwise by unpacking the .deb under target/tools/<package>,
# with those of its dependencies the machine lacks, and printing the path of a wrapper
# (target/tools/<package>/run/<binary>) that runs the tool with the unpacked libraries (no
# privileges needed). A tool that still lacks a library after that is an error.
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
# Unpacked before: the wrappers are put in place last, so they are there only if the unpacking
# finished. (A tree from before the wrappers is unpacked again, over itself.)
wrapper="$PWD/target/tools/$package/run/$binary"
if [ -x "$wrapper" ]; then echo "$wrapper"; exit 0; fi
echo "== installing $binary (Debian package $package)" >&2
if [ "$(id -u)" = 0 ]; then
  if ! apt-get install -y -qq "$package" >&2; then
    apt-get update -qq >&2
    apt-get install -y -qq "$package" >&2
  fi
  command -v "$binary"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$PWD/target/tools/$package"
# The package, and the packages apt would install with it: its dependencies that the machine
# lacks, with virtual ones resolved as apt resolves them. (A simulation needs no privileges.)
needed=("$package")
for dep in $(apt-get -s -qq install --no-install-recommends "$package" 2>/dev/null | awk '/^Inst/ {print $2}'); do
  [ "$dep" = "$package" ] || needed+=("$dep")
done
(cd "$work" && apt-get download "${needed[@]}" >&2)
mkdir -p "$root"
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$root"; done
# The tool may be a link to its versioned name (python3 -> python3.11).
real=$(find "$root" -name "$binary" -xtype f -perm -u+x -print -quit)
[ -n "$real" ] || { echo "debian-tool: $package has no $binary" >&2; exit 1; }
# The unpacked libraries' directories, searched before the machine's own.
libs=$(find "$root" -name '*.so*' -printf '%h\n' | sort -u | paste -sd: -)
# (ldd fails on a static executable, which needs nothing.)
missing=$({ LD_LIBRARY_PATH="$libs" ldd "$real" 2>/dev/null || true; } | awk '/not found/ {print $1}' | paste -sd' ' -)
[ -z "$missing" ] || { echo "debian-tool: $binary still lacks $missing" >&2; exit 1; }
# A wrapper for each program beside the tool too (valgrind's callgrind_control, say): callers put
# the wrapper's directory on their PATH. Written aside, then renamed into place in one step.
rm -rf "$root/run" "$root/run.new"
mkdir "$root/run.new"
for program in "$(dirname "$real")"/*; do
  [ -f "$program" ] && [ -x "$program" ] || continue
  {
    echo '#!/bin/sh'
    # (Only if there are any: an empty entry in the path would search the working directory.)
    [ -n "$libs" ] && echo "LD_LIBRARY_PATH='$libs'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}; export LD_LIBRARY_PATH"
    # valgrind looks for its tools where it was built to be installed, unless told otherwise.
    [ -d "$root/usr/libexec/valgrind" ] && echo "VALGRIND_LIB='$root/usr/libexec/valgrind'; export VALGRIND_LIB"
    echo "exec '$program' \"\$@\""
  } >"$root/run.new/$(basename "$program")"
  chmod +x "$root/run.new/$(basename "$program")"
done
mv "$root/run.new" "$root/run"
echo "$wrapper"
