#!/bin/sh
# Test 'cli-alloc-failure': an allocation that fails is reported as out of
# memory (exit 1) and leaves no output, both in a tool and in the library.
# The shim (failmalloc.c, LD_PRELOAD) fails the Nth malloc of one size: on
# 13 points in 7-D, the first malloc of 13 * 7 * 8 = 728 bytes is
# otk-mongegap estimate's gradient buffer (the CSV reader grows its arrays
# with realloc), the second one is inside the library's Sinkhorn solve.
# Usage: alloc_failure.sh TOOLS_DIR FAILMALLOC_SO
set -eu
tools=$1 shim=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
i=0
while [ $i -lt 13 ]; do
    printf '%d.5,%d,0.25,-1,2,%d.125,0.5\n' $i $((i * 3 % 7)) $((i % 4)) >> x.csv
    printf '%d.75,%d,0.5,-1,2,%d.25,0.5\n' $i $((i * 5 % 7)) $((i % 3)) >> y.csv
    i=$((i + 1))
done
fail=0
for nth in 1 2; do
    code=0
    FAIL_MALLOC_SIZE=728 FAIL_MALLOC_NTH=$nth LD_PRELOAD=$shim \
        "$tools/otk-mongegap" estimate --x x.csv --y y.csv --gradient g.csv \
        > out.txt 2> err.txt || code=$?
    if [ $code -ne 1 ] || ! grep -q "out of memory" err.txt || [ -e g.csv ]; then
        echo "FAIL: malloc #$nth of 728 bytes: exit $code, stderr: $(cat err.txt)," \
             "gradient file $( [ -e g.csv ] && echo written || echo absent)"
        fail=1
    fi
    rm -f g.csv
done
# Without a failure the same run succeeds (the shim itself is harmless).
FAIL_MALLOC_SIZE=728 FAIL_MALLOC_NTH=99 LD_PRELOAD=$shim \
    "$tools/otk-mongegap" estimate --x x.csv --y y.csv --gradient g.csv \
    > /dev/null || { echo "FAIL: the run without a failure"; fail=1; }
[ $fail -eq 0 ] && echo "cli-alloc-failure: ok"
exit $fail
