#!/bin/sh
# Rebuild the Monge-gap figures (Uscidda and Cuturi, "The Monge Gap: A
# Regularizer to Learn All Transport Maps", ICML 2023; ott-jax's Monge-gap
# tutorial) with otkit (docs/figures.md).
#
#   examples/figures/monge_gap/make_figures.sh [BUILD_DIR [WHICH]]
#
# WHICH: the figures to compute, "123" by default; "4" is the Gaussian
# benchmark table at otk_mg_fit's defaults (table4_gauss.md; 54 default
# fits, about 20 minutes of CPU; MGF_T4_FIRST_SEED and MGF_T4_SEEDS split
# it between processes, see monge_gap_figures.c).
#
# BUILD_DIR (default: build in the repository root) is configured with
# meson if needed; the program examples/monge_gap_figures is built there
# and fits every map and computes every gap with otkit, writing CSV data
# to BUILD_DIR/monge_gap_data/; plot_figures.py (Debian's
# /usr/bin/python3 with python3-matplotlib and python3-numpy, plotting
# only) turns the data into examples/figures/monge_gap/*.png. The program
# runs on one thread; figures 1-3 take about 8 minutes (figure 3 is 14 default fits).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../figure_env.sh"
ninja -C "$build" examples/monge_gap_figures
data=$build/monge_gap_data
mkdir -p "$data"
# one thread: the MLP's small BLAS products gain nothing from more, and
# an idle OpenBLAS thread only burns system time
OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} \
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
    "$build/examples/monge_gap_figures" "$data" "${2:-123}"
"$python" "$here/plot_figures.py" "$data" "$here"
echo "make_figures.sh: done in $(( $(date +%s) - start )) s;" \
     "data in $data, figures in $here"
