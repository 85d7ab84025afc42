# Sourced by every examples/figures/*/make_figures.sh after it sets `here`
# (its own folder): the repository root, the build folder (the script's
# first argument, default build/ in the root) configured with meson if
# needed, the plotting python (PYTHON, default Debian's /usr/bin/python3,
# which must have matplotlib and numpy), and the start time.
root=$(cd "$here/../../.." && pwd)
build=${1:-$root/build}
python=${PYTHON:-/usr/bin/python3}

if ! "$python" -c 'import matplotlib, numpy' 2>/dev/null; then
    echo "make_figures.sh: $python lacks matplotlib or numpy" \
         "(apt-get install python3-matplotlib python3-numpy)" >&2
    exit 1
fi
start=$(date +%s)
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$root"
fi
build=$(cd "$build" && pwd)
