"""Test 'cli-help-matches-parser': each tool's --help tells the truth.

For every tool: every option --help lists (long and short form) is
accepted by the parser; every other option name (those of the other
tools and of docs/cli.md, and every single letter) is rejected as
unknown, so no accepted option is missing from --help; and the summary
keys --help lists are exactly those a run prints, in the same order
(a key listed "(with --divergence)" or "(--problem tv1d, tv2d or foe)"
only when the run has that option and one of those values).

Usage: check_help.py TOOLS_DIR DOCS_CLI_MD
"""
import os
import re
import string
import subprocess
import sys
import tempfile

TOOLS = ["otk-sinkhorn", "otk-emd", "otk-quadratic", "otk-sparse",
         "otk-mongegap", "otk-maid"]
REJECTED = re.compile(r"unknown or ambiguous option|unknown option|"
                      r"not implemented")
OPTION_LINE = re.compile(r"^  (?:-(\w), |    )--([a-z0-9-]+)( [A-Z]\S*)?")

# One or more runs per tool whose summary header is compared with --help.
COST = "0,1\n1,0\n"
X = "0,0\n1,0\n0,1\n"
Y = "0,1\n1,1\n0,2\n"
DATA = "".join("%d,%d,%d\n" % (i, (i * 7) % 5, i % 2) for i in range(12))
THETA = "1\n1\n"
RUNS = {
    "otk-sinkhorn": [["--cost", "C.csv", "--reg", "1"],
                     ["--x", "x.csv", "--y", "y.csv", "--reg", "1",
                      "--divergence"]],
    "otk-emd": [["--cost", "C.csv"]],
    "otk-quadratic": [["--cost", "C.csv", "--gamma", "1"]],
    "otk-sparse": [["--cost", "C.csv", "--gamma", "1", "-k", "1"]],
    "otk-mongegap": [["estimate", "--x", "x.csv", "--y", "y.csv", "--exact"],
                     ["fit", "--source", "x.csv", "--target", "y.csv",
                      "--save", "map.txt", "--steps", "2", "--batch", "2",
                      "--hidden", "2"]],
    "otk-maid": [["--problem", "quadratic", "--rows", "20", "--dim", "2",
                  "--max-iter", "2"],
                 ["--problem", "tv1d", "--signals", "1", "--length", "8",
                  "--max-iter", "2"],
                 ["--problem", "logreg", "--data", "d.csv", "--max-iter",
                  "2"],
                 ["--problem", "quadratic", "--rows", "20", "--dim", "2",
                  "--evaluate", "t.csv"]],
}


def run(tool, args, cwd):
    return subprocess.run([tool] + args, cwd=cwd, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=60)


def listed_options(help_text):
    """The long and short options --help lists, and those with a value."""
    longs, shorts, valued = set(), set(), set()
    for line in help_text.splitlines():
        m = OPTION_LINE.match(line)
        if m:
            longs.add("--" + m.group(2))
            if m.group(1):
                shorts.add("-" + m.group(1))
            if m.group(3):
                valued |= {"--" + m.group(2), "-" + (m.group(1) or "-")}
    return longs, shorts, valued


def summary_groups(help_text):
    """{command or None: [(key, when)]} from the 'The summary' lines."""
    groups, current = {}, None
    for line in help_text.splitlines():
        m = re.match(r"^The summary(?: of (\w+))? \(stdout\) has(.*)$", line)
        if m:
            current = m.group(1)
            groups[current] = m.group(2)
        elif current in groups and line.startswith("  "):
            groups[current] += line
        else:
            current = "<none>"
    return {cmd: re.findall(r"([a-z_]+)(?: \(([^)]*)\))?[,.]", text)
            for cmd, text in groups.items()}


def expected_keys(keys, args):
    out = []
    for key, when in keys:
        words = [w for w in re.split(r"[ ,]+", when) if w and w != "or"]
        opts = [w for w in words if w.startswith("--")]
        vals = [w for w in words if not w.startswith("--") and w != "with"]
        if all(o in args for o in opts) and (
                not vals or any(v in args for v in vals)):
            out.append(key)
    return out


def main():
    tools_dir, docs = os.path.abspath(sys.argv[1]), sys.argv[2]
    failures = []
    helps = {}
    for name in TOOLS:
        tool = os.path.join(tools_dir, name)
        helps[name] = subprocess.run([tool, "--help"], capture_output=True,
                                     text=True, check=True).stdout
    candidates = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+",
                                open(docs, encoding="utf-8").read()))
    for text in helps.values():
        candidates |= listed_options(text)[0]
    candidates |= {"-" + c for c in string.ascii_letters}
    with tempfile.TemporaryDirectory() as tmp:
        for fname, text in [("C.csv", COST), ("x.csv", X), ("y.csv", Y),
                            ("d.csv", DATA), ("t.csv", THETA)]:
            with open(os.path.join(tmp, fname), "w") as f:
                f.write(text)
        for name in TOOLS:
            tool = os.path.join(tools_dir, name)
            longs, shorts, valued = listed_options(helps[name])
            if not longs:
                failures.append("%s --help lists no options" % name)
            for opt in sorted(longs | shorts):
                # with a value: a value is what the dispatch looks at
                r = run(tool, [opt] + (["1"] if opt in valued else []), tmp)
                if REJECTED.search(r.stderr):
                    failures.append("%s --help lists %s, which it rejects: %s"
                                    % (name, opt, r.stderr.strip()))
            for opt in sorted(candidates - longs - shorts):
                # an unambiguous prefix of a listed option is accepted
                if any(o.startswith(opt) for o in longs):
                    continue
                r = run(tool, [opt], tmp)
                if not REJECTED.search(r.stderr):
                    failures.append("%s accepts %s, which --help does not "
                                    "list" % (name, opt))
            groups = summary_groups(helps[name])
            for args in RUNS[name]:
                cmd = args[0] if None not in groups else None
                r = run(tool, args, tmp)
                if r.returncode not in (0, 3) or not r.stdout:
                    failures.append("%s %s: exit %d: %s" % (
                        name, " ".join(args), r.returncode, r.stderr.strip()))
                    continue
                printed = r.stdout.splitlines()[0].split(",")
                want = expected_keys(groups.get(cmd, []), args)
                if printed != want:
                    failures.append("%s %s: prints keys %s but --help lists "
                                    "%s" % (name, " ".join(args), printed,
                                            want))
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
