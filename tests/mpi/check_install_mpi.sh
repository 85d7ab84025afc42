#!/bin/sh
# Test 'install-mpi': install the build into a temporary folder and use
# libotkit_mpi as a user of that prefix would: a small MPI program compiles
# and links with the installed otkit-mpi.pc (which requires otkit and the
# system's mpi) and runs on 2 ranks, and the installed otk-sinkhorn-mpi
# finds its libraries with no LD_LIBRARY_PATH.
# Usage: check_install_mpi.sh BUILD_DIR PREFIX LIBDIR BINDIR MPIRUN [ARGS...]
set -eu
build=$1 prefix=$2 libdir=$3 bindir=$4
shift 4
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
case $bindir in /*) ;; *) bindir=$prefix/$bindir ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
meson install -C "$build" --no-rebuild --quiet --destdir "$root" >"$tmp/log" 2>&1 ||
    { cat "$tmp/log" >&2; exit 1; }
unset LD_LIBRARY_PATH
# the installed .pc files with their prefix moved under the destdir (mpi's
# own .pc stays the system's)
mkdir "$tmp/pc"
for f in otkit otkit-mpi; do
    sed "s|^prefix=.*|prefix=$root$prefix|" "$root$libdir/pkgconfig/$f.pc" \
        >"$tmp/pc/$f.pc"
done
cat >"$tmp/t.c" <<'C'
#include <stdio.h>
#include <otkit/mpi.h>
int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int r;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    double x[2] = {0.1 * r, 0.2}, y[2] = {0.3, 0.1 * r};
    otk_cost c = otk_cost_points(2, 2, 1, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    otk_problem p = {&c, NULL, NULL, 0.1};
    otk_status st = otk_sinkhorn_mpi(MPI_COMM_WORLD, &p, NULL, NULL, NULL,
                                     NULL);
    printf("rank %d: %s\n", r, otk_status_name(st));
    MPI_Finalize();
    return st != OTK_CONVERGED;
}
C
flags=$(PKG_CONFIG_PATH=$tmp/pc pkg-config --cflags --libs otkit-mpi)
# shellcheck disable=SC2086 # the flags are meant to split into words
cc -o "$tmp/t" "$tmp/t.c" $flags -Wl,-rpath,"$root$libdir"
"$@" -np 2 "$tmp/t"
"$@" -np 2 "$root$bindir/otk-sinkhorn-mpi" --version | grep -q otkit
