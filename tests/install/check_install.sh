#!/bin/sh
# Test 'install': install the build into a temporary folder and use it the
# way a user of a custom prefix would, with no LD_LIBRARY_PATH:
#   - the installed otk-sinkhorn finds the installed libotkit (install_rpath);
#   - a small C program compiles and links against the installed otkit.pc,
#     statically (so Libs.private must be complete and compiler-neutral),
#     with clang when it is installed, else with cc;
#   - every tool's man page (when help2man made them) and bash completion
#     are installed where man and bash-completion look.
#   - the installed Python package (SITEDIR, relative to PREFIX) imports
#     with PYTHONPATH at the installed site directory and loads the
#     installed libotkit, found from its own location (skipped when
#     SITEDIR is empty: a static-only build has no Python package).
# Usage: check_install.sh BUILD_DIR PREFIX BINDIR LIBDIR MANDIR DATADIR man|no-man [SITEDIR]
set -eu
build=$1 prefix=$2 bindir=$3 libdir=$4 mandir=$5 datadir=$6 man=$7 sitedir=${8-}
case $bindir in /*) ;; *) bindir=$prefix/$bindir ;; esac
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
case $mandir in /*) ;; *) mandir=$prefix/$mandir ;; esac
case $datadir in /*) ;; *) datadir=$prefix/$datadir ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
meson install -C "$build" --no-rebuild --quiet --destdir "$root" >"$tmp/log" 2>&1 ||
    { cat "$tmp/log" >&2; exit 1; }
unset LD_LIBRARY_PATH OTKIT_LIBRARY
"$root$bindir/otk-sinkhorn" --version
for t in otk-sinkhorn otk-emd otk-quadratic otk-sparse otk-mongegap otk-maid; do
    f=$root$datadir/bash-completion/completions/$t
    [ -s "$f" ] || { echo "$f: not installed" >&2; exit 1; }
    f=$root$mandir/man1/$t.1
    [ "$man" = no-man ] || [ -s "$f" ] || { echo "$f: not installed" >&2; exit 1; }
done

if [ -n "$sitedir" ]; then
    case $sitedir in /*) ;; *) sitedir=$prefix/$sitedir ;; esac
    loaded=$(cd "$tmp" && PYTHONPATH="$root$sitedir" /usr/bin/python3 -c \
        'import otkit; print(otkit._lib.lib._name)') || exit 1
    case $loaded in
    "$root$libdir"/*) echo "python: otkit loads $loaded" ;;
    *) echo "python: otkit loaded $loaded, not the library under" \
        "$root$libdir" >&2
       exit 1 ;;
    esac
fi

CC=cc
command -v clang >/dev/null 2>&1 && CC=clang
cat >"$tmp/t.c" <<'C'
#include <stdio.h>
#include <otkit/otkit.h>
int main(void)
{
    double C[4] = {0, 1, 1, 0}, f[2], g[2];
    otk_cost cost = otk_cost_dense(2, 2, C);
    otk_sinkhorn_info info;
    otk_problem problem = {&cost, NULL, NULL, 1.0};
    otk_solution solution = {.f = f, .g = g};
    otk_status st = otk_sinkhorn(&problem, NULL, &solution, &info);
    printf("otkit %s: %s\n", otk_version(), otk_status_name(st));
    return st == OTK_CONVERGED ? 0 : 1;
}
C
export PKG_CONFIG_PATH="$root$libdir/pkgconfig"
pc() { pkg-config --define-variable=prefix="$root$prefix" "$@" otkit; }
# Libs.private names libraries only: a compiler flag such as -fopenmp
# means something else to each compiler (clang: its own libomp)
if pc --static --libs | tr ' ' '\n' | grep -q '^-f'; then
    echo "otkit.pc: compiler flags in Libs: $(pc --static --libs)" >&2
    exit 1
fi
# static: the archive itself, then everything Libs.private says it needs
libs=$(pc --static --libs | sed "s|-lotkit|$root$libdir/libotkit.a|")
# shellcheck disable=SC2046,SC2086 # flags are meant to split
$CC -o "$tmp/t" "$tmp/t.c" $(pc --cflags) $libs
"$tmp/t"
