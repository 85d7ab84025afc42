#!/bin/sh
# Test 'test-sh-werror': scripts/test.sh builds with warnings as errors
# even when its build folder already exists. It runs a copy of the script
# in a temporary tree whose deps.sh, meson and ninja are stubs that log
# their arguments. Usage: check_test_sh.sh SOURCE_DIR
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/scripts" "$tmp/bin" "$tmp/build"
cp "$1/scripts/test.sh" "$tmp/scripts/"
printf '#!/bin/sh\nexit 0\n' >"$tmp/scripts/deps.sh"
for tool in meson ninja; do
    printf '#!/bin/sh\necho %s "$@" >>"%s/log"\n' "$tool" "$tmp" >"$tmp/bin/$tool"
done
chmod +x "$tmp/scripts/deps.sh" "$tmp/bin/meson" "$tmp/bin/ninja"
PATH="$tmp/bin:$PATH" sh "$tmp/scripts/test.sh"
if ! grep -q '^meson \(setup\|configure\) build .*-Dwerror=true' "$tmp/log"; then
    echo "scripts/test.sh with an existing build/ did not ask for -Dwerror=true:" >&2
    cat "$tmp/log" >&2
    exit 1
fi
