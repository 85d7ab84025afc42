#!/usr/bin/env python3
"""Weak and strong scaling of otk-sinkhorn-mpi against otk-sinkhorn.

Runs the single-process tool and the MPI tool with 1 to 4 ranks (one
thread each) on random point clouds for a fixed number of iterations
(--tol 0, no epsilon scaling, plain Sinkhorn, so every run does the same
work), and reports per iteration: the wall time of the solve, the time
rank 0 spent inside MPI calls (communication, waiting included) and the
rest (compute, the largest over ranks), the overhead against the
single-process solver, and the bytes each rank put into collectives.

  strong: n = m fixed, P = 1..4 ranks share the rows
  weak:   n = n0 P rows (n0 per rank), m fixed: the same work per rank

Writes a markdown section (docs/mpi_scaling.md, quoted by
docs/benchmarks.md) and the raw runs as JSON. The machine has 2 cores:
with 3 and 4 ranks the ranks share cores, which the table shows as it is.

Usage: /usr/bin/python3 bench/mpi_scaling.py [--build DIR] [--quick]
           [--markdown FILE] [--json FILE] [--repeat R]
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

import numpy as np

MPIRUN = ["mpirun", "--oversubscribe", "--bind-to", "none",
          "--mca", "btl", "self,vader", "--mca", "oob_tcp_if_include", "lo",
          "--mca", "mpi_yield_when_idle", "1"]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1",
           OPENBLAS_NUM_THREADS="1")


def clouds(folder, n, m, d, seed):
    rng = np.random.default_rng(seed)
    x, y = os.path.join(folder, "x%d.npy" % n), os.path.join(folder,
                                                            "y%d.npy" % m)
    np.save(x, rng.random((n, d)))
    np.save(y, 0.3 + rng.random((m, d)))
    return x, y


def run(cmd, repeat):
    """The fastest of `repeat` runs' JSON summaries."""
    best = None
    for _ in range(repeat):
        # --tol 0 runs to --max-iter: exit 3 (not converged) is expected
        out = subprocess.run(cmd, capture_output=True, text=True, env=ENV,
                             timeout=3600)
        if out.returncode not in (0, 3):
            raise SystemExit("%s: exit %d\n%s" % (" ".join(cmd),
                                                   out.returncode, out.stderr))
        s = json.loads(out.stdout)
        if best is None or s["time_s"] < best["time_s"]:
            best = s
    return best


def solve_args(x, y, iters):
    return ["--x", x, "--y", y, "--reg", "0.05", "--tol", "0",
            "--max-iter", str(iters), "--eps-scaling", "off",
            "--relaxation", "1", "--threads", "1", "--format", "json"]


def measure(build, x, y, iters, ranks, repeat):
    single = os.path.join(build, "tools", "otk-sinkhorn")
    tool = os.path.join(build, "tools", "sinkhorn-mpi", "otk-sinkhorn-mpi")
    ref = run([single] + solve_args(x, y, iters), repeat)
    rows = []
    for p in ranks:
        s = run(MPIRUN + ["-np", str(p), tool] + solve_args(x, y, iters),
                repeat)
        k = s["iterations"]
        rows.append({"ranks": p, "iterations": k,
                     "single_ms": 1e3 * ref["time_s"] / ref["iterations"],
                     "time_ms": 1e3 * s["time_s"] / k,
                     "comm_ms": 1e3 * s["comm_s"] / k,
                     "compute_ms": 1e3 * s["compute_s"] / k,
                     "bytes_per_iter": s["comm_bytes"] / k,
                     "summary": s, "reference": ref})
    return rows


def table(title, rows, n_of):
    lines = ["", "### " + title, "",
             "| ranks | n | m | ms/iter single | ms/iter MPI | overhead "
             "ms/iter | comm ms/iter (rank 0) | compute ms/iter (max) | "
             "KiB/iter per rank |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %d | %d | %d | %.3f | %.3f | %+.3f | %.3f | %.3f | "
                     "%.1f |" % (r["ranks"], n_of(r), r["m"], r["single_ms"],
                                 r["time_ms"], r["time_ms"] - r["single_ms"],
                                 r["comm_ms"], r["compute_ms"],
                                 r["bytes_per_iter"] / 1024))
    return lines


def model(result, args):
    """docs/distributed.md's model, fitted to the one-rank strong run:
    T(P) = w n N / C + 2 (8 (N + 1) / B + alpha log2 P), w the seconds per
    cost entry and thread, and its prediction for N = 1e8, P = 64."""
    one = result["strong"][0]
    w = one["compute_ms"] * 1e-3 / (one["n"] * one["m"])
    per_entry = [r["bytes_per_iter"] / (2 * 8 * (r["m"] + 1))
                 for r in result["strong"] if r["ranks"] > 1]
    N, P = 1e8, 64
    n = N / P
    compute = w * n * N / args.cores
    comm = 2 * (8 * (N + 1) / args.bandwidth + args.latency * np.log2(P))
    return ["", "### Model (docs/distributed.md)", "",
            "Fitted: w = %.3g ns per cost entry and thread (one rank, "
            "n = m = %d); traffic per iteration and rank = %s x the "
            "model's 2 x 8 (m + 1) bytes (ranks 2-4; setup included)."
            % (w * 1e9, one["n"], ", ".join("%.3f" % v for v in per_entry)),
            "",
            "Prediction for N = 1e8 sources and targets on P = 64 nodes "
            "(n = N / P = %.3g per node) with C = %d cores per node, "
            "B = %.3g bytes/s, alpha = %.3g s: compute %.3g s, communication "
            "%.3g s per iteration." % (n, args.cores, args.bandwidth,
                                       args.latency, compute, comm)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    ap.add_argument("--repeat", type=int, default=3)
    # the network and nodes of the prediction (docs/distributed.md)
    ap.add_argument("--bandwidth", type=float, default=10e9,
                    help="bytes/s per node (default 10e9, 100 Gb/s)")
    ap.add_argument("--latency", type=float, default=2e-6,
                    help="seconds per message hop (default 2e-6)")
    ap.add_argument("--cores", type=int, default=32,
                    help="cores per node (default 32)")
    args = ap.parse_args()
    d = 3
    iters = 20 if args.quick else 50
    n_strong = 800 if args.quick else 8000
    n0, m_weak = (200, 800) if args.quick else (2000, 8000)
    ranks = [1, 2, 3, 4]
    load0 = os.getloadavg()
    result = {"strong": [], "weak": []}
    with tempfile.TemporaryDirectory() as tmp:
        x, y = clouds(tmp, n_strong, n_strong, d, 1)
        for r in measure(args.build, x, y, iters, ranks, args.repeat):
            r.update(n=n_strong, m=n_strong)
            result["strong"].append(r)
        for p in ranks:
            x, y = clouds(tmp, n0 * p, m_weak, d, 2)
            r = measure(args.build, x, y, iters, [p], args.repeat)[0]
            r.update(n=n0 * p, m=m_weak)
            result["weak"].append(r)
    load1 = os.getloadavg()
    md = ["<!-- generated by bench/mpi_scaling.py; do not edit -->",
          "## otk-sinkhorn-mpi scaling (generated)", "",
          "Command: `/usr/bin/python3 bench/mpi_scaling.py %s`%s." % (
              " ".join(sys.argv[1:]),
              " (tiny sizes: a smoke test, not a measurement)"
              if args.quick else ""), "",
          "Machine: %s, %d cores, %s; load average %.2f at the start, %.2f "
          "at the end. %d iterations per run (plain Sinkhorn, d = %d, one "
          "thread per rank), fastest of %d runs. `single` is otk-sinkhorn "
          "with one thread on the same problem."
          % (platform.processor() or platform.machine(), os.cpu_count(),
             platform.platform(), load0[0], load1[0], iters, d, args.repeat)]
    md += table("Strong scaling (n = m fixed)", result["strong"],
                lambda r: r["n"])
    md += table("Weak scaling (n = %d per rank, m fixed)" % n0,
                result["weak"], lambda r: r["n"])
    md += model(result, args)
    md.append("")
    text = "\n".join(md) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"load": [load0, load1], **result}, fh, indent=1)


if __name__ == "__main__":
    main()
