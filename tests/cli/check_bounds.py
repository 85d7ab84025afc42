"""Test 'cli-bounds': every bounded setting of every tool rejects values
outside its range as a usage error naming the option.

The ranges come from the tools' --help, which prints them from the
library's bounds tables ("default: D; valid: RANGE" under the option). For
each such option, values just outside each finite end of the range (and a
negative count, where counts are bounded below by 0) are passed on a
command line that is otherwise valid; the tool must exit 2 with a message
that names the option, and write no output. Tools in BOUNDED must list at
least one bounded option.

Usage: check_bounds.py TOOLS_DIR
"""
import math
import os
import re
import subprocess
import sys
import tempfile

from check_help import COST, DATA, RUNS, X, Y, OPTION_LINE

# Tools whose settings come from a bounds table.
BOUNDED = ["otk-maid", "otk-emd", "otk-quadratic", "otk-sparse",
           "otk-sinkhorn", "otk-mongegap"]
RANGE = re.compile(r"^\s+default: [^;]*; valid: ([\[(])([^,]+), ([^\])]+)([\])])")


def bounded_options(help_text):
    """(option, lower, lower_closed, upper, upper_closed) per bounded option."""
    out, current = [], None
    for line in help_text.splitlines():
        m = OPTION_LINE.match(line)
        if m:
            current = m.group(2) if m.group(3) else None
            continue
        r = RANGE.match(line)
        if r and current:
            lo, hi = float(r.group(2)), float(r.group(3))
            out.append((current, lo, r.group(1) == "[", hi, r.group(4) == "]"))
            current = None
    return out


def outside(lo, lo_closed, hi, hi_closed):
    """Values just outside the range."""
    vals = []
    if math.isfinite(lo):
        vals.append(lo - max(1.0, abs(lo)) if lo_closed else lo)
    if math.isfinite(hi):
        vals.append(hi + max(1.0, abs(hi)) if hi_closed else hi)
    return vals


def main():
    tools_dir = sys.argv[1]
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in (("C.csv", COST), ("x.csv", X), ("y.csv", Y),
                           ("d.csv", DATA)):
            with open(os.path.join(tmp, name), "w") as fh:
                fh.write(text)
        for tool, runs in RUNS.items():
            exe = os.path.join(tools_dir, tool)
            help_text = subprocess.run([exe, "--help"], capture_output=True,
                                       text=True).stdout
            opts = bounded_options(help_text)
            if tool in BOUNDED and not opts:
                failures.append(f"{tool}: --help lists no bounded option")
            base = runs[0]
            for opt, lo, lc, hi, hc in opts:
                for v in outside(lo, lc, hi, hc):
                    value = "%.17g" % v
                    args = base + ["--" + opt, value]
                    before = set(os.listdir(tmp))
                    r = subprocess.run([exe] + args, cwd=tmp,
                                       capture_output=True, text=True,
                                       stdin=subprocess.DEVNULL, timeout=60)
                    checked += 1
                    after = set(os.listdir(tmp))
                    if r.returncode != 2 or "--" + opt not in r.stderr:
                        failures.append(
                            f"{tool} --{opt} {value}: exit {r.returncode}, "
                            f"stderr {r.stderr.strip()!r}")
                    for new in after - before:
                        os.remove(os.path.join(tmp, new))
                        failures.append(f"{tool} --{opt} {value}: wrote {new}")
    for f in failures:
        print(f)
    print(f"cli-bounds: {checked} out-of-range values, {len(failures)} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
