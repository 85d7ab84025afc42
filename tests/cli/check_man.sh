#!/bin/sh
# check_man.sh MANDIR TOOL...: each TOOL.1 in MANDIR exists, is not empty,
# has the NAME and OPTIONS of the tool, and groff renders it without a
# warning (-ww turns all of them on).
set -u
dir=$1
shift
status=0
for t in "$@"; do
    page="$dir/$t.1"
    if [ ! -s "$page" ]; then
        echo "$page: missing or empty"
        status=1
        continue
    fi
    warnings=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww "$page" 2>&1 >/dev/null)
    if [ -n "$warnings" ]; then
        printf '%s: groff warns:\n%s\n' "$page" "$warnings"
        status=1
    fi
    text=$(LC_ALL=C.UTF-8 groff -man -Tascii -P-cbou "$page" 2>/dev/null)
    for want in "^NAME" "^ *$t - " "--help" "--version" "Copyright"; do
        printf '%s\n' "$text" | grep -q -e "$want" ||
            { echo "$page: no line matches '$want'"; status=1; }
    done
done
exit $status
