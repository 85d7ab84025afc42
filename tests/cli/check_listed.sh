#!/bin/sh
# check_listed.sh CASES_DIR NAME...: every case folder in CASES_DIR is one
# of the NAMEs (the list in meson.build) and every NAME is a folder.
dir=$1
shift
status=0
for d in "$dir"/*/; do
    name=$(basename "$d")
    found=0
    for n in "$@"; do
        [ "$n" = "$name" ] && found=1 && break
    done
    if [ "$found" = 0 ]; then
        echo "case folder $name is not listed in tests/cli/meson.build" >&2
        status=1
    fi
done
for n in "$@"; do
    if [ ! -d "$dir/$n" ]; then
        echo "case $n is listed in tests/cli/meson.build but has no folder" >&2
        status=1
    fi
done
exit $status
