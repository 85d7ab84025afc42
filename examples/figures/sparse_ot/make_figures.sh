#!/bin/sh
# Rebuild the figures of Liu, Puigcerver, Blondel, "Sparsity-Constrained
# Optimal Transport" (ICLR 2023) with otkit (docs/figures.md).
#
#   examples/figures/sparse_ot/make_figures.sh [BUILD_DIR]
#
# BUILD_DIR (default: build in the repository root) is configured with
# meson if needed; the program examples/sparse_figures is built there and
# computes every plan with otkit, writing CSV/PPM data to
# BUILD_DIR/sparse_ot_figures/; plot_figures.py (Debian's
# /usr/bin/python3 with python3-matplotlib and python3-numpy, plotting
# only) turns the data into examples/figures/sparse_ot/*.png.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../figure_env.sh"
ninja -C "$build" examples/sparse_figures
data=$build/sparse_ot_figures
mkdir -p "$data"
"$build/examples/sparse_figures" "$data" "$root/examples/data"
"$python" "$here/plot_figures.py" "$data" "$here"
echo "make_figures.sh: done in $(( $(date +%s) - start )) s;" \
     "data in $data, figures in $here"
