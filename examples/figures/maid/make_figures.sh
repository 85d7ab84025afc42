#!/bin/sh
# Rebuild the figures of Salehi, Mukherjee, Roberts, Ehrhardt, "An
# adaptively inexact first-order method for bilevel optimization with
# application to hyperparameter learning" (MAID, 2023) with otkit
# (docs/figures.md).
#
#   examples/figures/maid/make_figures.sh [BUILD_DIR]
#
# BUILD_DIR (default: build in the repository root) is configured with
# meson if needed; the tool otk-maid is built there and runs every solve
# (MAID, the fixed-accuracy baseline and the three HOAG schedules on the
# quadratic, TV-2D, Field-of-Experts and logistic-regression problems),
# writing traces, summaries and images to BUILD_DIR/maid_figures/;
# plot_figures.py (Debian's /usr/bin/python3 with python3-matplotlib and
# python3-numpy, plotting only) turns them into examples/figures/maid/*.png.
# JOBS (default 2) runs that many solves at once.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../figure_env.sh"
jobs=${JOBS:-2}
images=$root/examples/data
ninja -C "$build" tools/otk-maid
maid=$build/tools/otk-maid
data=$build/maid_figures
rm -rf "$data"
mkdir -p "$data"

# run NAME ARGS...: otk-maid ARGS --trace NAME.trace.csv > NAME.summary.csv,
# in the background; every $jobs runs, wait for the batch. Exit status 3
# (stalled: the run ends early, its outputs still written) is a result
# the figures show; anything else stops the script.
pending=""
count=0
run() {
    name=$1
    shift
    echo "otk-maid $* --trace $name.trace.csv > $name.summary.csv"
    (
        cd "$data"
        rc=0
        "$maid" "$@" --trace "$name.trace.csv" > "$name.summary.csv" \
            2> "$name.stderr" || rc=$?
        echo "$rc" > "$name.rc"
    ) &
    pending="$pending $name"
    count=$((count + 1))
    if [ "$count" -ge "$jobs" ]; then
        finish
    fi
}
finish() {
    wait
    for name in $pending; do
        rc=$(cat "$data/$name.rc")
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
            echo "make_figures.sh: $name: otk-maid exited with $rc:" >&2
            cat "$data/$name.stderr" >&2
            exit 1
        fi
        if [ "$rc" -eq 3 ]; then
            echo "  ($name: stalled, exit 3: $(cat "$data/$name.stderr"))"
        fi
    done
    pending=""
    count=0
}

# Every problem is solved by MAID twice: with otkit's defaults (the
# practical error estimate, HOAG's first step with fast growth,
# warm-started CG; run NAME p_maid) and with --paper, the paper's MAID
# (certified bounds, alpha0 0.01, growth 10/9, CG from q = 0, FISTA; runs
# p_paper and p_paper_nodescent). --paper comes first: it resets the
# settings it selects. The baselines (fixed accuracy, HOAG) run with
# otkit's defaults, as in the bench (docs/maid_bench.md).

# Quadratic problem (paper section 4.1) on a 50 x 4 instance of the
# paper's uniform draws (--cond 0); q_ref runs the paper's MAID to the
# end of its accuracy floor for f* (plot_figures.py).
Q="--problem quadratic --cond 0 --rows 50 --dim 4 --seed 29"
QB="--max-iter 100000 --budget 100000"
run q_ref --paper $Q --max-iter 20000 --budget 0
run q_maid $Q $QB
run q_paper --paper $Q $QB
run q_paper_nodescent --paper $Q $QB --no-descent-test
run q_fixed_loose $Q $QB --method fixed --eps0 1e-1 --delta0 1e-1
run q_fixed_tight $Q $QB --method fixed --eps0 1e-5 --delta0 1e-5
run q_hoag_geometric $Q $QB --method hoag-geometric
run q_hoag_quadratic $Q $QB --method hoag-quadratic
run q_hoag_cubic $Q $QB --method hoag-cubic
finish

# TV-2D denoising of three photos (centre squares at 96 x 96, noise 0.1).
T="--problem tv2d --image $images/camera.pgm --image $images/chelsea.ppm"
T="$T --image $images/coffee.ppm --size 96 --noise 0.1 --seed 19"
TB="--max-iter 400 --budget 20000"
run tv_clean $T --noise 0 --max-iter 0 --noisy tv_clean.pgm
run tv_maid $T $TB --output tv_maid.pgm --noisy tv_noisy.pgm \
    --theta tv_maid.theta
run tv_paper --paper $T $TB
run tv_paper_nodescent --paper $T $TB --no-descent-test
run tv_fixed_loose $T $TB --method fixed --eps0 1e-1 --delta0 1e-1
run tv_fixed_tight $T $TB --method fixed --eps0 1e-5 --delta0 1e-5
run tv_hoag_geometric $T $TB --method hoag-geometric
run tv_hoag_quadratic $T $TB --method hoag-quadratic
run tv_hoag_cubic $T $TB --method hoag-cubic
# robustness to (eps0, delta0), in both modes; tv_maid and tv_paper are
# the (1e-1, 1e-1) starts
for mode in maid paper; do
    P=""
    if [ "$mode" = paper ]; then P="--paper"; fi
    run tv_${mode}_start_1e1_1e2 $P $T $TB --eps0 1e1 --delta0 1e2
    run tv_${mode}_start_1e1_1e-2 $P $T $TB --eps0 1e1 --delta0 1e-2
    run tv_${mode}_start_1_1 $P $T $TB --eps0 1 --delta0 1
    run tv_${mode}_start_1e-3_1e-3 $P $T $TB --eps0 1e-3 --delta0 1e-3
    run tv_${mode}_start_1e-5_1e-5 $P $T $TB --eps0 1e-5 --delta0 1e-5
done
finish

# Field-of-Experts denoising (scaled down: K = 4 filters of 5 x 5 taps,
# three photos at 48 x 48); the reference's seed 31.
F="--problem foe --image $images/camera.pgm --image $images/chelsea.ppm"
F="$F --image $images/coffee.ppm --size 48 --noise 0.1 --seed 31"
F="$F --filters 4 --filter-size 5 --max-iter 400 --budget 20000"
F="$F --ll-max-iter 20000 --cg-max-iter 20000"
run foe_clean $F --noise 0 --max-iter 0 --noisy foe_clean.pgm
run foe_maid $F --output foe_maid.pgm --noisy foe_noisy.pgm \
    --theta foe_maid.theta
run foe_paper --paper $F
run foe_paper_nodescent --paper $F --no-descent-test
run foe_fixed_loose $F --method fixed --eps0 1e-1 --delta0 1e-1
run foe_fixed_tight $F --method fixed --eps0 1e-5 --delta0 1e-5
run foe_hoag_geometric $F --method hoag-geometric
run foe_hoag_quadratic $F --method hoag-quadratic
run foe_hoag_cubic $F --method hoag-cubic
finish

# Multinomial logistic regression on the digits, one l2 weight per weight.
# Every method starts at eps0 = delta0 = 0.03, not 0.1 (see
# docs/figures.md); the paper's MAID starts with HOAG's first step
# 1 / L_lambda, as in the reference (otkit's default starts there too).
L="--problem logreg --data $images/digits.csv --seed 23 --eps0 0.03"
L="$L --delta0 0.03 --max-iter 500 --budget 100000 --ll-max-iter 50000"
L="$L --cg-max-iter 50000"
run lr_hoag_geometric $L --method hoag-geometric
run lr_hoag_quadratic $L --method hoag-quadratic
finish
alpha0=$(awk -F, 'NR == 3 { print $7 }' "$data/lr_hoag_geometric.trace.csv")
case $alpha0 in
[0-9]*) echo "  (logreg: alpha0 = HOAG's first step = $alpha0)" ;;
*) echo "make_figures.sh: no first HOAG step in lr_hoag_geometric" >&2
   exit 1 ;;
esac
run lr_hoag_cubic $L --method hoag-cubic
run lr_maid $L
run lr_paper --paper $L --alpha0 "$alpha0"
run lr_paper_nodescent --paper $L --alpha0 "$alpha0" --no-descent-test
run lr_fixed_loose $L --method fixed
run lr_fixed_tight $L --method fixed --eps0 1e-5 --delta0 1e-5
finish

echo "$python plot_figures.py $data $here"
"$python" "$here/plot_figures.py" "$data" "$here"
echo "make_figures.sh: done in $(( $(date +%s) - start )) s;" \
     "data in $data, figures in $here"
