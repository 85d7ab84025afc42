#!/bin/sh
# Quick start, part 1: install the dependencies, build otkit, and run the
# main job on bundled data: entropic optimal transport between the colour
# distributions of two bundled photos (2000 pixels each, RGB in [0, 1]),
# with the debiased Sinkhorn divergence, the plan and the potentials.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
[ -d build ] || meson setup build
ninja -C build
out=build/demo
mkdir -p "$out"
build/examples/ppm_colors examples/data/chelsea.ppm 2000 1 > "$out/chelsea.csv"
build/examples/ppm_colors examples/data/coffee.ppm 2000 2 > "$out/coffee.csv"
echo "otk-sinkhorn: chelsea.ppm colours -> coffee.ppm colours, reg 0.01"
build/tools/otk-sinkhorn --x "$out/chelsea.csv" --y "$out/coffee.csv" \
    --reg 0.01 --divergence --plan "$out/plan.csv" \
    --potentials "$out/potentials.csv" --format json
echo "plan and potentials written to $out/"
