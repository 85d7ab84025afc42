#!/bin/sh
# Quick start, part 2: install the dependencies, build otkit with warnings
# as errors, and run every test (Check unit tests and CLI tests).
# Usage: scripts/test.sh [BUILD_DIR [extra meson setup options...]]
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
dir=${1:-build}
[ $# -gt 0 ] && shift
# An existing build folder is reconfigured, so that it too builds with
# warnings as errors whatever it was set up with.
if [ -d "$dir" ]; then
    meson configure "$dir" -Dwerror=true "$@"
else
    meson setup "$dir" -Dwerror=true "$@"
fi
ninja -C "$dir"
meson test -C "$dir" --print-errorlogs
