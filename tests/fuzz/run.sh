#!/bin/sh
# A bounded libFuzzer run of one harness (suite 'fuzz' of a -Dfuzz=enabled
# build): OTK_FUZZ_TIME seconds (default 30) from the seed corpus, with a
# fixed seed and a memory cap. The regression inputs are replayed by the
# tests fuzz-replay-*, so that a known open defect fails there and does
# not stop this run from looking for new ones. New inputs go to a
# fresh corpus in the build folder; a crash, leak, timeout or
# out-of-memory writes the input there (crash-*, leak-*, timeout-*, oom-*)
# and fails the test.
# libFuzzer's own exit code for a find is 77, which meson reads as a
# skipped test: -error_exitcode=1 makes it a failure.
# Usage: run.sh HARNESS NAME SOURCE_DIR BUILD_DIR
set -eu
exe=$1 name=$2 src=$3 build=$4
work="$build/fuzz-$name"
rm -rf "$work/corpus"
mkdir -p "$work/corpus"
exec "$exe" -max_total_time="${OTK_FUZZ_TIME:-30}" -seed=1 \
    -rss_limit_mb=2048 -timeout=10 -max_len=4096 -print_final_stats=1 \
    -error_exitcode=1 -timeout_exitcode=1 \
    -artifact_prefix="$work/" \
    "$work/corpus" "$src/corpus/$name"
