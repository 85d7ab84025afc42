#!/bin/sh
# Install the Debian 12 packages otkit needs to build, test, benchmark and
# draw figures. The one list of the project's dependencies.
set -eu
PACKAGES="build-essential meson ninja-build pkg-config libopenblas-dev
  libgsl-dev liblbfgs-dev check python3 python3-numpy python3-pot
  python3-matplotlib python3-pytest clang clang-format help2man groff-base"
# LEMON, for the exact-OT benchmark's comparison driver (bench/bench_lemon.cpp)
PACKAGES="$PACKAGES liblemon-dev"
missing=""
# clang with its sanitizer and libFuzzer runtimes: tests/fuzz (-Dfuzz=enabled)
PACKAGES="$PACKAGES libclang-rt-14-dev"
# Open MPI: libotkit_mpi, otk-sinkhorn-mpi and the mpi tests (docs/distributed.md)
PACKAGES="$PACKAGES libopenmpi-dev openmpi-bin"
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086 # the list is meant to split into words
$SUDO apt-get install -y -q --no-install-recommends $missing
