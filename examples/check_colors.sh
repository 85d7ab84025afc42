#!/bin/sh
# check_colors.sh BUILD_EXAMPLES DATA: the quick start's colour transfer on
# fewer samples: sinkhorn_colors writes a PPM of the photo's size whose
# mean colour is the target photo's (chelsea's mean blue 87 of 255 becomes
# about coffee's 51).
set -eu
bin=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin/ppm_colors" "$data/chelsea.ppm" 300 1 > "$tmp/a.csv"
"$bin/ppm_colors" "$data/coffee.ppm" 300 2 > "$tmp/b.csv"
"$bin/sinkhorn_colors" "$tmp/a.csv" "$tmp/b.csv" 0.01 "$data/chelsea.ppm" \
    "$tmp/out.ppm" > /dev/null
[ "$(head -c 15 "$tmp/out.ppm" | od -An -c | tr -d ' \n')" = 'P6\n451300\n255\n' ] ||
    { echo "out.ppm: not a 451 x 300 P6 header"; exit 1; }
[ "$(wc -c < "$tmp/out.ppm")" -eq $((15 + 3 * 451 * 300)) ] ||
    { echo "out.ppm: wrong size"; exit 1; }
# mean of the blue bytes (every third after the header)
blue=$(tail -c +16 "$tmp/out.ppm" | od -An -v -tu1 -w3 |
    awk '{ s += $3 } END { printf "%d", s / NR }')
[ "$blue" -ge 40 ] && [ "$blue" -le 62 ] ||
    { echo "mean blue $blue, expected about 51 (coffee.ppm's)"; exit 1; }
