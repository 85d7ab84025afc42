#!/bin/sh
# Run one CLI test case: run_case.sh TOOLS_DIR CASE_DIR
#
# Runs CASE_DIR/cmd (a shell snippet) in a fresh empty folder $TMP, then
# checks what the case folder expects (see tests/cli/README.md):
#   expected.exit          exit status of cmd (required)
#   expected.stdout        stdout, compared by numcmp.py (numbers to a
#                          tolerance, `*` matches any token); empty = no output
#   expected.stdout.grep   one grep -E pattern a line: each matches some line
#   expected.stderr        stderr, compared like expected.stdout
#   expected.stderr.grep   like expected.stdout.grep, for stderr
#   expected.files         files that must exist in $TMP; an optional second
#                          field is a reference file ($DATA/..., $CASE/...)
#                          the file must match as in expected.stdout
#   expected.nofiles       names (globs) that must not exist in $TMP
#   check                  shell snippet run afterwards in $TMP; must exit 0
#   tolerance              "REL ABS" for the numeric comparisons
# Whatever the case says, no temporary output file (*.tmp.*) may be left
# anywhere under $TMP.
#
# cmd and check see TOOLS (the built tools), DATA (tests/data), CASE,
# TMP, CLI (this folder) and PYTHON. stdin is /dev/null unless cmd
# redirects it. Exit status: 0 pass, 1 fail (the reasons on stderr),
# 77 skipped (cmd exited 77: something it needs is missing), 99 the case
# itself is malformed.

LC_ALL=C
export LC_ALL

if [ $# -ne 2 ]; then
    echo "usage: $0 TOOLS_DIR CASE_DIR" >&2
    exit 99
fi
CLI=$(cd "$(dirname "$0")" && pwd) || exit 99
TOOLS=$(cd "$1" && pwd) || exit 99
CASE=$(cd "$2" && pwd) || exit 99
DATA=$(cd "$CLI/../data" && pwd) || exit 99
PYTHON=${PYTHON:-python3}
name=$(basename "$CASE")

if [ ! -f "$CASE/cmd" ] || [ ! -f "$CASE/expected.exit" ]; then
    echo "$name: the case needs a cmd and an expected.exit file" >&2
    exit 99
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/otk-cli.XXXXXX") || exit 99
TMP=$WORK/tmp
mkdir "$TMP" || exit 99
export TOOLS DATA CASE TMP CLI PYTHON
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [ -n "${KEEP_TMP:-}" ]; then
        echo "$name: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 99' HUP INT PIPE TERM

tol=""
if [ -f "$CASE/tolerance" ]; then
    read -r rel abs <"$CASE/tolerance" || true
    tol="--rel $rel --abs $abs"
fi

failures=0
fail() {
    echo "FAIL $name: $*" >&2
    failures=$((failures + 1))
}

# Expand $DATA, $CASE and $TMP at the start of a reference path.
# shellcheck disable=SC2016 # the patterns are literal on purpose
expand() {
    case $1 in
    '$DATA/'*) printf '%s\n' "$DATA/${1#\$DATA/}" ;;
    '$CASE/'*) printf '%s\n' "$CASE/${1#\$CASE/}" ;;
    '$TMP/'*) printf '%s\n' "$TMP/${1#\$TMP/}" ;;
    *) printf '%s\n' "$1" ;;
    esac
}

# grep_all PATTERNS FILE WHAT: every pattern must match a line of FILE.
grep_all() {
    while IFS= read -r pat || [ -n "$pat" ]; do
        [ -z "$pat" ] && continue
        if ! grep -E -q -e "$pat" "$2"; then
            fail "$3 has no line matching: $pat"
        fi
    done <"$1"
}

(cd "$TMP" && exec sh "$CASE/cmd") <"/dev/null" >"$WORK/stdout" 2>"$WORK/stderr"
code=$?

expected_code=$(tr -d ' \t\r\n' <"$CASE/expected.exit")
if [ "$code" = 77 ] && [ "$expected_code" != 77 ]; then
    echo "SKIP $name: $(tail -n 1 "$WORK/stderr")"
    exit 77
fi
if [ "$code" != "$expected_code" ]; then
    fail "exit status $code, expected $expected_code"
fi

for stream in stdout stderr; do
    if [ -f "$CASE/expected.$stream" ]; then
        # shellcheck disable=SC2086 # $tol is two words on purpose
        if ! "$PYTHON" "$CLI/numcmp.py" text "$CASE/expected.$stream" \
            "$WORK/$stream" $tol 2>"$WORK/diff"; then
            fail "$stream differs from expected.$stream:"
            sed 's/^/    /' "$WORK/diff" >&2
        fi
    fi
    if [ -f "$CASE/expected.$stream.grep" ]; then
        grep_all "$CASE/expected.$stream.grep" "$WORK/$stream" "$stream"
    fi
done

if [ -f "$CASE/expected.files" ]; then
    while read -r file ref || [ -n "$file" ]; do
        [ -z "$file" ] && continue
        if [ ! -f "$TMP/$file" ]; then
            fail "output file $file was not written"
            continue
        fi
        [ -z "$ref" ] && continue
        ref=$(expand "$ref")
        # shellcheck disable=SC2086
        if ! "$PYTHON" "$CLI/numcmp.py" text "$ref" "$TMP/$file" $tol \
            2>"$WORK/diff"; then
            fail "$file differs from $ref:"
            sed 's/^/    /' "$WORK/diff" >&2
        fi
    done <"$CASE/expected.files"
fi

if [ -f "$CASE/expected.nofiles" ]; then
    while read -r pat || [ -n "$pat" ]; do
        [ -z "$pat" ] && continue
        for f in "$TMP"/$pat; do
            if [ -e "$f" ] || [ -L "$f" ]; then
                fail "file ${f#"$TMP"/} exists but must not"
            fi
        done
    done <"$CASE/expected.nofiles"
fi

leftover=$(find "$TMP" -name '*.tmp.*' -print)
if [ -n "$leftover" ]; then
    fail "temporary files left behind: $(echo "$leftover" | sed "s|$TMP/||" | tr '\n' ' ')"
fi

if [ -f "$CASE/check" ]; then
    if ! (cd "$TMP" && exec sh "$CASE/check") </dev/null >"$WORK/check.out" 2>&1; then
        fail "check failed:"
        sed 's/^/    /' "$WORK/check.out" >&2
    fi
fi

if [ "$failures" -ne 0 ]; then
    {
        echo "---- $name: cmd"
        sed 's/^/    /' "$CASE/cmd"
        echo "---- exit status: $code"
        echo "---- stdout:"
        sed 's/^/    /' "$WORK/stdout"
        echo "---- stderr:"
        sed 's/^/    /' "$WORK/stderr"
        echo "---- files in \$TMP:"
        (cd "$TMP" && find . -mindepth 1 -print | sed 's|^\./|    |')
    } >&2
    exit 1
fi
echo "PASS $name"
exit 0
