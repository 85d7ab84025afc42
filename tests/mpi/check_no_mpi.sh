#!/bin/sh
# libotkit never depends on MPI: neither the shared library (its symbols,
# defined or needed, and the libraries it loads) nor the static archive
# mentions MPI. Usage: check_no_mpi.sh LIBOTKIT_SO LIBOTKIT_A
set -eu
so=$1
a=$2
status=0
for f in "$so" "$a"; do
    if nm -A "$f" 2>/dev/null | grep -Ei ' [A-Za-z] (P?MPI_|ompi_|opal_)'; then
        echo "$f: has MPI symbols (above)" >&2
        status=1
    fi
done
if nm -D "$so" | grep -Ei ' [A-Za-z] (P?MPI_|ompi_|opal_)'; then
    echo "$so: exports or needs MPI symbols (above)" >&2
    status=1
fi
if readelf -d "$so" | grep -i 'NEEDED.*mpi'; then
    echo "$so: loads an MPI library (above)" >&2
    status=1
fi
# the check itself must be able to see symbols at all
nm -D "$so" | grep -q ' T otk_sinkhorn$' || {
    echo "$so: no otk_sinkhorn symbol: cannot check" >&2
    status=1
}
exit $status
