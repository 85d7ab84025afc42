#!/usr/bin/env python3
"""otk-sinkhorn-mpi against otk-sinkhorn (test 'sinkhorn-mpi-tool').

Runs the tool under mpirun with 1 to 4 ranks on small point clouds and
compares with the single-process tool: the same status and iterations,
potentials and plan equal to 1e-12 relative (the same bytes with one
rank); then the failure paths: bad data read by rank 0, more ranks than
points, a usage error, --help printed once; each exits with the same
status on every rank and leaves no output file behind.

Usage: check_tool.py OTK_SINKHORN OTK_SINKHORN_MPI MPIRUN [MPIRUN ARGS...]
"""
import csv
import os
import random
import subprocess
import sys
import tempfile

REL = 1e-12


def write(path, rows):
    with open(path, "w", encoding="ascii") as fh:
        for r in rows:
            fh.write(",".join("%.17g" % v for v in r) + "\n")


def make(folder, n, m, d, seed):
    rng = random.Random(seed)
    write(os.path.join(folder, "x.csv"),
          [[rng.random() for _ in range(d)] for _ in range(n)])
    write(os.path.join(folder, "y.csv"),
          [[0.3 + rng.random() for _ in range(d)] for _ in range(m)])
    a = [0.5 + rng.random() for _ in range(n)]
    b = [0.5 + rng.random() for _ in range(m)]
    write(os.path.join(folder, "a.csv"), [[v / sum(a)] for v in a])
    write(os.path.join(folder, "b.csv"), [[v / sum(b)] for v in b])


def summary(text):
    rows = list(csv.reader(text.splitlines()))
    return dict(zip(rows[0], rows[1]))


def numbers(path, column):
    with open(path, encoding="ascii") as fh:
        return [float(r[column]) for r in csv.reader(fh) if r and
                r[0] not in ("potential",)]


def close(ref, got, what):
    scale = max(abs(v) for v in ref) or 1.0
    worst = max(abs(u - v) for u, v in zip(ref, got)) / scale
    if len(ref) != len(got) or worst > REL:
        raise AssertionError("%s: differ by %.3g relative" % (what, worst))
    return worst


def main():
    ref_tool, tool = (os.path.abspath(p) for p in sys.argv[1:3])
    mpirun = sys.argv[3:]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        make(tmp, 37, 29, 2, 1)
        inputs = ["--x", "x.csv", "--y", "y.csv", "-a", "a.csv", "-b",
                  "b.csv", "--threads", "1"]

        def run(np, args, ref=False):
            cmd = ([ref_tool] if ref else mpirun + ["-np", str(np), tool])
            return subprocess.run(cmd + args, cwd=tmp, capture_output=True,
                                  text=True, timeout=120)

        cases = [("balanced", ["--reg", "0.05"]),
                 ("unbalanced divergence", ["--reg", "0.02", "--tau", "0.5",
                                            "--divergence"])]
        for name, args in cases:
            out = ["--potentials", "pot.csv", "--plan", "plan.csv"]
            ref = run(0, inputs + args + out, ref=True)
            os.rename(os.path.join(tmp, "pot.csv"),
                      os.path.join(tmp, "pot_ref.csv"))
            os.rename(os.path.join(tmp, "plan.csv"),
                      os.path.join(tmp, "plan_ref.csv"))
            want = summary(ref.stdout)
            for np in (1, 2, 3, 4):
                label = "%s, %d ranks" % (name, np)
                got = run(np, inputs + args + out)
                try:
                    assert got.returncode == ref.returncode == 0, \
                        "exit %d: %s" % (got.returncode, got.stderr)
                    s = summary(got.stdout)
                    for key in ("status", "iterations"):
                        assert s[key] == want[key], \
                            "%s %s vs %s" % (key, s[key], want[key])
                    assert s["ranks"] == str(np)
                    p = close(numbers(os.path.join(tmp, "pot_ref.csv"), 2),
                              numbers(os.path.join(tmp, "pot.csv"), 2),
                              label + ": potentials")
                    q = close(sum((list(map(float, r)) for r in csv.reader(
                        open(os.path.join(tmp, "plan_ref.csv")))), []),
                        sum((list(map(float, r)) for r in csv.reader(
                            open(os.path.join(tmp, "plan.csv")))), []),
                        label + ": plan")
                    assert np > 1 or (p == 0 and q == 0), "not exact"
                    if "--divergence" in args:
                        d0 = float(want["sinkhorn_divergence"])
                        d1 = float(s["sinkhorn_divergence"])
                        assert abs(d0 - d1) <= 1e-10 * abs(d0), "divergence"
                except AssertionError as e:
                    failures.append("%s: %s" % (label, e))

        # failures: exit status, one message, nothing written
        with open(os.path.join(tmp, "bad.csv"), "w") as fh:
            fh.write("0.1,0.2\n0.3,nan\n0.5,0.6\n0.7,0.8\n")
        make_small = os.path.join(tmp, "three.csv")
        write(make_small, [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        bad = [("bad data", ["--x", "bad.csv", "--y", "y.csv", "--reg",
                             "0.1", "--potentials", "p.csv"], 1,
                "bad.csv:2:"),
               ("too many ranks", ["--x", "three.csv", "--y", "y.csv",
                                   "--reg", "0.1", "--potentials", "p.csv"],
                1, "cannot be split over 4 ranks"),
               ("usage", ["--x", "x.csv", "--reg", "0.1"], 2,
                "--x needs --y"),
               ("help", ["--help"], 0, None)]
        for name, args, code, message in bad:
            got = run(4, args)
            try:
                assert got.returncode == code, "exit %d" % got.returncode
                assert not os.path.exists(os.path.join(tmp, "p.csv")), \
                    "an output was written"
                if message is not None:
                    lines = [ln for ln in got.stderr.splitlines()
                             if message in ln]
                    assert len(lines) == 1, "message %r %d times in %r" % (
                        message, len(lines), got.stderr)
                else:
                    assert got.stdout.count("Usage:") == 1, "help not once"
            except AssertionError as e:
                failures.append("%s: %s" % (name, e))
    for f in failures:
        print("FAIL", f)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
