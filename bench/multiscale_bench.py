#!/usr/bin/python3
"""The multiscale Sinkhorn path against the dense point-cloud solver and
GeomLoss's tensorized backend, on the debiased Sinkhorn divergence of two
clouds of n uniform points in [0, 1]^3 (squared Euclidean cost).

    /usr/bin/python3 bench/multiscale_bench.py [--build DIR] [--reg R]
        [--sizes 2000,10000] [--big 1000000] [--geomloss SRC]
        [--markdown FILE] [--json FILE]

The points are drawn here with numpy (seeded) and written as raw float64
files, so that every method solves bit-identical inputs:
  dense       DIR/bench/bench-multiscale dense      (settings.multiscale 0)
  multiscale  DIR/bench/bench-multiscale multiscale (settings.multiscale 1)
  geomloss    SamplesLoss("sinkhorn", p=2, backend="tensorized") in a child
              /usr/bin/python3 with Debian's python3-torch, GeomLoss's
              sources from --geomloss SRC (the folder holding the geomloss
              package, e.g. a checkout's src/); skipped without it.
Each method runs in its own process; wall and CPU seconds and peak memory
are that process's. --big adds sizes for the multiscale path only (the
dense solver and GeomLoss would need hours or n^2 memory there).

GeomLoss's cost is |x - y|^2 / 2 and its blur is eps^(1/2), so otkit's
problem at reg is GeomLoss's at blur = (reg / 2)^(1/2), whose divergence
is half of otkit's; the table shows GeomLoss's value times 2. GeomLoss runs
a fixed epsilon-scaling schedule (--geomloss-scaling, default 0.95) with
no residual test: its column "rel. diff" says how close that gets.

Method and caveats: docs/benchmarks.md, "Multiscale".
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

SEED = 20230401

GEOMLOSS_CHILD = r"""
import json, resource, sys, time
import numpy as np
import torch
from geomloss import SamplesLoss
n, reg, scaling, dtype, folder = (int(sys.argv[1]), float(sys.argv[2]),
                                  float(sys.argv[3]), sys.argv[4], sys.argv[5])
t = {"float32": torch.float32, "float64": torch.float64}[dtype]
x = np.fromfile(folder + "/x.bin").reshape(n, 3)
y = np.fromfile(folder + "/y.bin").reshape(n, 3)
X = torch.tensor(x, dtype=t)
Y = torch.tensor(y, dtype=t)
loss = SamplesLoss("sinkhorn", p=2, blur=(reg / 2) ** 0.5, scaling=scaling,
                   debias=True, backend="tensorized")
w0, c0 = time.monotonic(), time.process_time()
with torch.no_grad():
    value = float(loss(X, Y))
wall, cpu = time.monotonic() - w0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"mode": "geomloss", "n": n, "reg": reg, "status": 0,
                  "divergence": 2.0 * value, "wall_s": wall, "cpu_s": cpu,
                  "peak_rss_mib": rss, "torch": torch.__version__,
                  "dtype": dtype, "scaling": scaling}))
"""


def sizes_arg(text):
    return [int(s) for s in text.split(",") if s.strip()]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default="build", metavar="DIR")
    p.add_argument("--reg", type=float, default=1e-3)
    p.add_argument("--tol", type=float, default=1e-9,
                   help="otkit's tolerance (default 1e-9)")
    p.add_argument("--sizes", type=sizes_arg, default=[2000, 10000],
                   metavar="LIST", help="sizes for all methods")
    p.add_argument("--big", type=sizes_arg, default=[], metavar="LIST",
                   help="sizes for the multiscale path only")
    p.add_argument("--geomloss", metavar="SRC",
                   help="folder holding GeomLoss's geomloss package")
    p.add_argument("--geomloss-scaling", type=float, default=0.95)
    p.add_argument("--geomloss-dtype", default="float32",
                   choices=("float32", "float64"))
    p.add_argument("--markdown", metavar="FILE")
    p.add_argument("--json", metavar="FILE")
    return p.parse_args(argv)


def run_child(cmd, env=None):
    """One method in its own process: its JSON line, or an error record."""
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr or proc.stdout).strip()[-300:],
                "wall_s": time.monotonic() - t0}
    return json.loads(lines[-1])


def write_points(folder, n, rng):
    import numpy as np
    x = rng.random((n, 3))
    y = rng.random((n, 3))
    x.astype(np.float64).tofile(os.path.join(folder, "x.bin"))
    y.astype(np.float64).tofile(os.path.join(folder, "y.bin"))


def run_size(args, folder, n, methods):
    exe = os.path.join(args.build, "bench", "bench-multiscale")
    out = []
    for mode in methods:
        if mode == "geomloss":
            env = dict(os.environ, PYTHONPATH=args.geomloss)
            rec = run_child(["/usr/bin/python3", "-c", GEOMLOSS_CHILD, str(n),
                             repr(args.reg), repr(args.geomloss_scaling),
                             args.geomloss_dtype, folder], env)
        else:
            rec = run_child([exe, "--data", folder, mode, str(n),
                             repr(args.reg), repr(args.tol)])
        rec.setdefault("mode", mode)
        rec.setdefault("n", n)
        out.append(rec)
        print(json.dumps(rec), file=sys.stderr, flush=True)
    return out


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(records, args, load_before, load_after):
    ref = {r["n"]: r.get("divergence") for r in records
           if r["mode"] == "dense" and "error" not in r}
    rows = ["## Multiscale: divergence of n uniform points in [0,1]^3, "
            "reg=%g" % args.reg, "",
            "Generated by bench/multiscale_bench.py on %s (%s), %s; load "
            "average %s before, %s after. rel. diff: against the dense "
            "solver at the same n." % (
                platform.node(), platform.machine(),
                time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "/".join("%.2f" % v for v in load_before),
                "/".join("%.2f" % v for v in load_after)), "",
            "| method | n | divergence | rel. diff | iterations xy/xx/yy | "
            "kept pairs, last stage xy | pair evaluations xy/xx/yy | "
            "neglected (max) | wall s | CPU s | peak MiB |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        if "error" in r:
            rows.append("| %s | %d | failed: %s | | | | | | | | |" % (
                r["mode"], r["n"], r["error"].splitlines()[-1][:80]))
            continue
        d = r.get("divergence")
        rd = (abs(d - ref[r["n"]]) / abs(ref[r["n"]])
              if r["n"] in ref and d is not None and ref[r["n"]] else None)
        its = "/".join(str(int(r["iterations_" + k]))
                       for k in ("xy", "xx", "yy")) \
            if "iterations_xy" in r else "-"
        negl = max((r.get("neglected_" + k) or 0.0)
                   for k in ("xy", "xx", "yy")) \
            if "neglected_xy" in r else None
        stages = r.get("stages_xy") or []
        kept = fmt(stages[-1][2], ".3g") if stages else "-"
        evals = "/".join(fmt(r["pair_evaluations_" + k], ".2g")
                         for k in ("xy", "xx", "yy")) \
            if "pair_evaluations_xy" in r else "-"
        rows.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                    % (r["mode"], r["n"], fmt(d, ".12g"), fmt(rd, ".2e"), its,
                       kept, evals,
            fmt(negl, ".1e"), fmt(r.get("wall_s"), ".1f"),
            fmt(r.get("cpu_s"), ".1f"), fmt(r.get("peak_rss_mib"), ".0f")))
    return "\n".join(rows) + "\n"


def main(argv=None):
    args = parse_args(argv)
    import numpy as np
    rng = np.random.default_rng(SEED)
    load_before = os.getloadavg()
    records = []
    methods = ["dense", "multiscale"] + (["geomloss"] if args.geomloss else [])
    with tempfile.TemporaryDirectory() as folder:
        for n in args.sizes:
            write_points(folder, n, rng)
            records += run_size(args, folder, n, methods)
        for n in args.big:
            write_points(folder, n, rng)
            records += run_size(args, folder, n, ["multiscale"])
    text = table(records, args, load_before, os.getloadavg())
    sys.stdout.write(text)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(text)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(records, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
