#!/bin/sh
# Quick start, part 1: install the dependencies, build otkit, and run the
# main job on bundled data: entropic optimal transport between the colour
# distributions of two bundled photos (2000 pixels each, RGB in [0, 1]),
# with the debiased Sinkhorn divergence (summary.json) and the colour
# transfer it gives: the first photo in the second one's colours
# (chelsea_in_coffee_colours.ppm, and .png when pnmtopng or ImageMagick's
# convert is installed).
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
    --reg 0.01 --divergence --potentials "$out/potentials.csv" \
    --format json > "$out/summary.json"
cat "$out/summary.json"
picture="$out/chelsea_in_coffee_colours"
build/examples/sinkhorn_colors "$out/chelsea.csv" "$out/coffee.csv" 0.01 \
    examples/data/chelsea.ppm "$picture.ppm" > /dev/null
# a PNG too where a converter works (the PPM is the result either way)
{ pnmtopng "$picture.ppm" > "$picture.png" ||
    convert "$picture.ppm" "$picture.png"; } 2> /dev/null ||
    rm -f "$picture.png"
echo "summary, potentials and the colour transfer picture written to $out/:"
ls "$out"
