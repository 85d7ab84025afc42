#!/bin/sh
# A bounded libFuzzer run of one harness (suite 'fuzz' of a -Dfuzz=enabled
# build): OTK_FUZZ_TIME seconds (default 30) from the seed corpus and the
# regression inputs, with a fixed seed and a memory cap. New inputs go to a
# fresh corpus in the build folder; a crash, leak, timeout or
# out-of-memory writes the input there (crash-*, leak-*, timeout-*, oom-*)
# and fails the test.
# Usage: run.sh HARNESS NAME SOURCE_DIR BUILD_DIR
set -eu
exe=$1 name=$2 src=$3 build=$4
work="$build/fuzz-$name"
rm -rf "$work/corpus"
mkdir -p "$work/corpus"
exec "$exe" -max_total_time="${OTK_FUZZ_TIME:-30}" -seed=1 \
    -rss_limit_mb=2048 -timeout=10 -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$work/" \
    "$work/corpus" "$src/corpus/$name" "$src/regressions/$name"
