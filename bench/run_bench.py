#!/usr/bin/python3
"""Benchmark otkit's Sinkhorn, exact and quadratically-regularized solvers
and its Monge gap against POT on the same problems.

    /usr/bin/python3 bench/run_bench.py [--quick] [--build DIR] [--markdown FILE]
                        [--sections dense,log,e2e,points,exact,smooth,mongegap,maid,threads,
                                    routing,finish]

Each problem is generated here with numpy (seeded), written as raw
little-endian float64 files into a temporary directory, and solved by
(1) the C program DIR/bench/bench-sinkhorn or, for the exact section,
DIR/bench/bench-exact (and DIR/bench/bench-lemon, LEMON's network simplex,
where it was built), or, for the smooth section, DIR/bench/bench-smooth,
or, for the mongegap section, DIR/bench/bench-mongegap
(a child process, reading those files) and (2) POT in
this process (or, for the point-cloud runs, in a child Python process so
that its peak memory can be measured). Both therefore solve bit-identical
inputs. Section maid has no POT peer: DIR/bench/bench-maid runs MAID
and its baselines (otk_bilevel_solve) on one bilevel problem and the
methods are compared with each other; section threads has none either:
DIR/bench/bench-threads runs the threaded solvers with the default threads
and one thread, on the machine as it is and next to a busy process on one
CPU. Sections routing (otk_sparse_batch against a loop of
otk_sparse_solve and POT's ot.smooth in a Python loop, token-to-expert
problems) and finish (the certified otk_sparse against its own L-BFGS
phase) also run DIR/bench/bench-smooth. The table goes to stdout;
--markdown FILE also writes it as a markdown section, --json FILE dumps
every raw record.

Method, caveats and the meaning of every column: docs/benchmarks.md.

Needs Debian's python3-pot (POT 0.8.2), python3-numpy and python3-scipy,
which belong to /usr/bin/python3 (another python3 may come first on PATH).
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import warnings

# Thread settings must be in the environment before numpy (OpenBLAS) is
# imported, so the arguments are parsed first and numpy/ot imported in main().
np = None
ot = None

SEED = 20230401
SECTIONS = ("dense", "log", "e2e", "points", "exact", "smooth", "mongegap",
            "maid", "threads", "routing", "finish")
# Sinkhorn kernel throughput and iteration counts (otkit only).
SECTIONS += ("throughput", "iterations")


def sections_arg(text):
    """--sections: a comma list of SECTIONS (order and repeats ignored)."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in names if s not in SECTIONS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            "unknown section(s) %s; choose among %s" % (
                ",".join(bad) or "(none)", ",".join(SECTIONS)))
    return set(names)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Time otkit's Sinkhorn, exact and quadratically-"
                    "regularized solvers and its Monge gap against POT on "
                    "identical problems.")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes only (a smoke test, about a minute)")
    p.add_argument("--build", default="build", metavar="DIR",
                   help="meson build directory holding bench/bench-sinkhorn, "
                        "bench/bench-exact, bench/bench-smooth, "
                        "bench/bench-mongegap and bench/bench-maid "
                        "(default: build)")
    p.add_argument("--sections", type=sections_arg,
                   default=set(SECTIONS), metavar="LIST",
                   help="comma list of the sections to run, among %s "
                        "(default: all)" % ",".join(SECTIONS))
    p.add_argument("--markdown", metavar="FILE",
                   help="also write the results as a markdown section to FILE")
    p.add_argument("--json", metavar="FILE",
                   help="also write every raw measurement as JSON to FILE")
    p.add_argument("--threads", type=int, metavar="N",
                   help="set OMP_NUM_THREADS and OPENBLAS_NUM_THREADS to N for "
                        "otkit and POT alike (default: leave the environment "
                        "as it is; the value in effect is recorded)")
    p.add_argument("--pot-budget", type=float, metavar="S",
                   help="cap each POT run to tolerance at about S seconds "
                        "(iteration cap from a timed probe; default 600, "
                        "30 with --quick)")
    p.add_argument("--pot-points-budget", type=float, metavar="S",
                   help="run POT's lazy empirical_sinkhorn to tolerance only "
                        "if projected to take <= S seconds (default 300, "
                        "30 with --quick); "
                        "otherwise only its per-iteration time is measured")
    p.add_argument("--pot-smooth-budget", type=float, metavar="S",
                   help="section smooth: run POT's smooth_ot_dual / "
                        "smooth_ot_semi_dual at a size only if projected (from "
                        "a timed probe and the previous size) to take <= S "
                        "seconds, and cap its numItermax to about S seconds "
                        "(default 300, 30 with --quick)")
    p.add_argument("--pot-mongegap-budget", type=float, metavar="S",
                   help="section mongegap: run POT's Monge-gap estimate at a "
                        "size only if projected (ot.dist and a timed "
                        "10-iteration probe, times the previous size's "
                        "iterations) to take <= S seconds, and cap its "
                        "numItermax to about S seconds (default 300, 30 with "
                        "--quick)")
    p.add_argument("--points-max-iter", type=int, default=200, metavar="K",
                   help="iteration budget of the point-cloud runs (200)")
    p.add_argument("--pot-points-worker", nargs=8, help=argparse.SUPPRESS)
    return p.parse_args(argv)


# ---------------------------------------------------------------- helpers --

def optional_exe(build, name):
    """DIR/bench/NAME when it was built (bench-lemon needs LEMON), else
    None."""
    path = os.path.join(build, "bench", name)
    return os.path.abspath(path) if os.access(path, os.X_OK) else None


def log(msg):
    print("# " + msg, file=sys.stderr, flush=True)


def write_raw(directory, name, array):
    np.ascontiguousarray(array, dtype="<f8").tofile(os.path.join(directory,
                                                                 name))


def read_raw(directory, name, shape):
    return np.fromfile(os.path.join(directory, name),
                       dtype="<f8").reshape(shape)


def dense_problem(root, n, seed):
    """2-D clouds x ~ N(0,I), y ~ N(0,I) + 1, n points each; squared
    Euclidean cost normalized to max 1. Written to a fresh directory."""
    rng = np.random.default_rng([seed, n, 2])
    x = rng.standard_normal((n, 2))
    y = rng.standard_normal((n, 2)) + 1.0
    M = ot.dist(x, y, metric="sqeuclidean")
    M /= M.max()
    d = os.path.join(root, "dense-%d" % n)
    os.makedirs(d, exist_ok=True)
    write_raw(d, "x.bin", x)
    write_raw(d, "y.bin", y)
    write_raw(d, "C.bin", M)
    return d, M


def points_problem(root, n, dim, seed):
    """x, y ~ N(0, I_dim), independent samples of n points each."""
    rng = np.random.default_rng([seed, n, dim])
    x = rng.standard_normal((n, dim))
    y = rng.standard_normal((n, dim))
    d = os.path.join(root, "points-%d-%d" % (n, dim))
    os.makedirs(d, exist_ok=True)
    write_raw(d, "x.bin", x)
    write_raw(d, "y.bin", y)
    return d


def exact_problem(root, n, seed):
    """The clouds of dense_problem (x ~ N(0,I), y ~ N(0,I) + 1 in 2-D, n
    points each) with the unscaled squared Euclidean cost, computed from
    explicit differences so that it is bit-identical to what
    otk_cost_points(..., OTK_METRIC_SQEUCLIDEAN, ...) evaluates."""
    rng = np.random.default_rng([seed, n, 2])
    x = rng.standard_normal((n, 2))
    y = rng.standard_normal((n, 2)) + 1.0
    M = np.square(x[:, None, 0] - y[None, :, 0])
    M += np.square(x[:, None, 1] - y[None, :, 1])
    d = os.path.join(root, "exact-%d" % n)
    os.makedirs(d, exist_ok=True)
    write_raw(d, "x.bin", x)
    write_raw(d, "y.bin", y)
    write_raw(d, "C.bin", M)
    return d, M


def run_otkit(exe, data_dir, mode, args, repeats=3, options=()):
    cmd = [exe, "--repeats", str(repeats)]
    if data_dir is not None:
        cmd += ["--data", data_dir]
    cmd += [str(o) for o in options]
    cmd += [mode] + [str(a) for a in args]
    log("otkit: " + " ".join(shlex.quote(c) for c in cmd[0:1] + cmd[3:]))
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def marginal_errors(P, a, b):
    """(L1 of both marginals as otkit reports it, L2 of the column marginal
    as POT's stopping rule measures it)."""
    r, c = P.sum(axis=1), P.sum(axis=0)
    return (float(np.abs(r - a).sum() + np.abs(c - b).sum()),
            float(np.linalg.norm(c - b)))


def pot_call(fn, *args, **kw):
    """Run a POT solver with its warnings silenced; returns (result, seconds,
    warning messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        res = fn(*args, **kw)
        t = time.perf_counter() - t0
    return res, t, [str(w.message) for w in caught]


def pot_sinkhorn_to_tol(M, reg, stop_thr, max_iter, budget, repeats):
    """POT sinkhorn_log to stopThr, with numItermax capped so that one run
    takes about `budget` seconds (the cap comes from a 10-iteration probe)."""
    n, m = M.shape
    a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    probe_iters = 10
    _, t_probe, _ = pot_call(ot.sinkhorn, a, b, M, reg, method="sinkhorn_log",
                             numItermax=probe_iters, stopThr=0.0)
    per_iter = t_probe / probe_iters
    cap = max(probe_iters, int(budget / per_iter) // 10 * 10)
    num_iter_max = min(max_iter, cap)
    log("POT sinkhorn_log n=%d reg=%g stopThr=%g: %.3g s/iteration (probe), "
        "numItermax=%d" % (n, reg, stop_thr, per_iter, num_iter_max))
    best = None
    for r in range(repeats):
        (P, lg), t, warns = pot_call(ot.sinkhorn, a, b, M, reg,
                                     method="sinkhorn_log",
                                     numItermax=num_iter_max,
                                     stopThr=stop_thr, log=True)
        if best is None or t < best["time_s"]:
            l1, l2 = marginal_errors(P, a, b)
            iters = int(lg["niter"]) + 1
            converged = len(lg["err"]) > 0 and lg["err"][-1] < stop_thr
            best = {"time_s": t, "iterations": iters,
                    "time_per_iter_s": t / iters,
                    "converged": bool(converged),
                    "capped": bool(not converged and iters >= num_iter_max
                                   and num_iter_max < max_iter),
                    "numItermax": num_iter_max,
                    "last_err_l2": float(lg["err"][-1]) if lg["err"] else None,
                    "marginal_error_l1": l1, "col_error_l2": l2,
                    "transport_cost": float((P * M).sum()),
                    "warnings": sorted(set(warns)), "repeats": r + 1}
        if t > 20.0:  # long runs: one measurement is enough
            break
    return best


def peak_rss_mib():
    """Peak RSS of this process's own address space (VmHWM), in MiB.
    resource.getrusage's ru_maxrss would include the parent's peak, which
    Linux carries across fork and exec."""
    try:
        with open("/proc/self/status") as fp:
            for line in fp:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ----------------------------------------------------- POT point clouds --

def pot_points_worker(args):
    """Child process: POT's lazy empirical_sinkhorn on DIR's points.
    Prints one JSON line. Args: DIR N D REG TOL MAXITER BATCH BUDGET."""
    global np, ot
    import numpy
    import ot as pot
    np, ot = numpy, pot
    d, n, dim = args[0], int(args[1]), int(args[2])
    reg, tol, max_iter = float(args[3]), float(args[4]), int(args[5])
    batch, budget = int(args[6]), float(args[7])
    x = read_raw(d, "x.bin", (n, dim))
    y = read_raw(d, "y.bin", (n, dim))
    rss_before = peak_rss_mib()
    fn = ot.bregman.empirical_sinkhorn
    probe_iters = 10  # one error check included, as in a real run
    _, t_probe, _ = pot_call(fn, x, y, reg, metric="sqeuclidean",
                             numIterMax=probe_iters, stopThr=0.0, isLazy=True,
                             batchSize=batch)
    per_iter = t_probe / probe_iters
    out = {"n": n, "d": dim, "batchSize": batch, "probe_iterations":
           probe_iters, "probe_time_s": t_probe, "time_per_iter_s": per_iter,
           "projected_s": per_iter * max_iter, "budget_s": budget,
           "ran_to_tol": False, "peak_rss_before_mib": rss_before}
    if per_iter * max_iter <= budget:
        (f, g, lg), t, warns = pot_call(fn, x, y, reg, metric="sqeuclidean",
                                        numIterMax=max_iter, stopThr=tol,
                                        isLazy=True, batchSize=batch,
                                        log=True)
        errs = [float(e) for e in lg["err"]]
        iters = max_iter
        if errs and errs[-1] <= tol:
            iters = 10 * len(errs)  # it checks (and may stop) every 10
        out.update({"ran_to_tol": True, "time_s": t, "iterations": iters,
                    "time_per_iter_s": t / iters,
                    "converged": bool(errs and errs[-1] <= tol),
                    "last_err_l1_rows": errs[-1] if errs else None,
                    "warnings": sorted(set(warns))})
    out["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(out), flush=True)


def run_pot_points(data_dir, n, dim, reg, tol, max_iter, batch, budget):
    cmd = [sys.executable, os.path.abspath(__file__), "--pot-points-worker",
           data_dir, str(n), str(dim), repr(reg), repr(tol), str(max_iter),
           str(batch), repr(budget)]
    log("POT empirical_sinkhorn (lazy) n=%d in a child process" % n)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ------------------------------------------------------------- machine --

def loadavg():
    """The 1-minute load average: other work on the machine skews timings
    (badly so for multi-threaded runs, whose barriers wait for threads that
    the scheduler has parked)."""
    try:
        with open("/proc/loadavg") as fp:
            return float(fp.read().split()[0])
    except (OSError, ValueError):
        return None


def machine_info(exe, build_dir):
    info = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "host": platform.node(), "kernel": platform.release(),
            "python": sys.version.split()[0], "python_exe": sys.executable,
            "numpy": np.__version__, "pot": ot.__version__,
            "logical_cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as fp:
            lines = fp.read().splitlines()
        for key, name in (("model name", "cpu_model"),
                          ("cpu cores", "cores_per_socket"),
                          ("cache size", "cache_size"),
                          ("flags", "flags")):
            for line in lines:
                if line.startswith(key):
                    info[name] = line.split(":", 1)[1].strip()
                    break
        fl = info.pop("flags", "").split()
        info["simd"] = " ".join(f for f in ("sse4_2", "avx", "avx2", "fma",
                                            "avx512f") if f in fl)
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as fp:
            info["mem_total"] = fp.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        rev = subprocess.run(["git", "-C", repo, "describe", "--always",
                              "--dirty"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL,
                             universal_newlines=True).stdout.strip()
        info["otkit_git"] = rev or "unknown"
    except OSError:
        info["otkit_git"] = "unknown"
    info["loadavg_start"] = loadavg()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        info[var] = os.environ.get(var, "unset")
    try:
        with open(os.path.join(build_dir, "meson-info",
                               "intro-buildoptions.json")) as fp:
            opts = {o["name"]: o["value"] for o in json.load(fp)}
        info["build"] = "buildtype=%s optimization=%s b_ndebug=%s" % (
            opts.get("buildtype"), opts.get("optimization"),
            opts.get("b_ndebug"))
    except (OSError, ValueError, KeyError):
        info["build"] = "unknown"
    return info


# -------------------------------------------------------------- tables --

class Table:
    def __init__(self, title, columns, notes=()):
        self.title, self.columns, self.rows = title, columns, []
        self.notes = list(notes)

    def add(self, *cells):
        self.rows.append([fmt(c) for c in cells])

    def text(self):
        widths = [max(len(c), *(len(r[k]) for r in self.rows))
                  if self.rows else len(c)
                  for k, c in enumerate(self.columns)]
        out = [self.title, "-" * len(self.title)]
        out.append("  ".join(c.rjust(w) for c, w in zip(self.columns,
                                                         widths)))
        for r in self.rows:
            out.append("  ".join(c.rjust(w) for c, w in zip(r, widths)))
        out += ["  * " + n for n in self.notes]
        return "\n".join(out) + "\n"

    def markdown(self):
        out = ["### " + self.title, "",
               "| " + " | ".join(self.columns) + " |",
               "|" + "|".join("---:" for _ in self.columns) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in self.rows]
        if self.notes:
            out.append("")
            out += ["- " + n for n in self.notes]
        return "\n".join(out) + "\n"


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v == 0.0:
            return "0"
        if abs(v) >= 1e4 or abs(v) < 1e-3:
            return "%.2e" % v
        return "%.3g" % v
    return str(v)


def rel_diff(x, ref):
    return abs(x - ref) / abs(ref) if ref else None


def ms(s):
    return None if s is None else 1e3 * s


# ------------------------------------------------------------ sections --

def bench_dense_fixed(exe, root, sizes, iters, reg, membw, raw):
    t = Table("Dense cost, fixed %d iterations, reg=%g (per-iteration time)"
              % (iters, reg),
              ["n=m", "otkit domain", "otkit ms/it", "POT ms/it",
               "otkit/POT (target <= 0.5)", "otkit GB/s", "% of membw",
               "otkit log ms/it", "otkit log GB/s", "log/POT"],
              ["otkit: otk_sinkhorn, tol=0, max_iter=%d, eps_scaling off, "
               "domain AUTO (and OTK_DOMAIN_LOG); info.outcome.time_s / "
               "iterations, best of 3." % iters,
               "POT: ot.sinkhorn(method='sinkhorn') (sinkhorn_knopp), "
               "numItermax=%d, stopThr=0, total wall time / iterations, "
               "best of 3." % iters,
               "Both timings include the set-up (kernel exp(-C/reg)) and the "
               "final plan/report pass, amortized over the iterations.",
               "GB/s = 8 n m bytes (one pass over an n x m double matrix) per "
               "iteration; membw = %.1f GB/s (single-threaded sum of 256 MB); "
               "small n fit in cache and can exceed it." % membw])
    for n in sizes:
        d, M = dense_problem(root, n, SEED)
        recs = run_otkit(exe, d, "dense-fixed", [n, iters, reg], repeats=3)
        auto = next(r for r in recs if r["domain_requested"] == "auto")
        logd = next(r for r in recs if r["domain_requested"] == "log")
        a = b = np.full(n, 1.0 / n)
        best, warns, niter = None, [], None
        for _ in range(3):
            (P, lg), sec, w = pot_call(ot.sinkhorn, a, b, M, reg,
                                       method="sinkhorn", numItermax=iters,
                                       stopThr=0.0, log=True)
            # After "numerical errors at iteration ii" POT reverts to the
            # iterate before ii: ii iterations done, else niter + 1.
            early = any("numerical" in m for m in w)
            if best is None or sec < best:
                best = sec
                niter = int(lg["niter"]) + (0 if early else 1)
            warns += w
        numerical = [m for m in set(warns) if "numerical" in m]
        pot_it = best / max(niter, 1)
        l1, _ = marginal_errors(P, a, b)
        raw.append({"section": "dense-fixed", "n": n, "otkit": recs,
                    "pot": {"time_s": best, "iterations": niter,
                            "time_per_iter_s": pot_it,
                            "marginal_error_l1": l1,
                            "warnings": sorted(set(warns))}})
        t.add(n, auto["domain"], ms(auto["time_per_iter_s"]), ms(pot_it),
              auto["time_per_iter_s"] / pot_it, auto["gbps"],
              100.0 * auto["gbps"] / membw, ms(logd["time_per_iter_s"]),
              logd["gbps"], logd["time_per_iter_s"] / pot_it)
        if numerical:
            t.notes.append("n=%d: POT stopped after %d iterations (%s)"
                           % (n, niter, numerical[0]))
        for r in recs:
            if r["iterations"] != iters:
                t.notes.append("n=%d: otkit %s ran %d iterations, not %d"
                               % (n, r["domain_requested"], r["iterations"],
                                  iters))
        del M
    return t


def bench_log_tol(exe, root, sizes, reg, tol, budget, raw):
    t = Table("Log domain to tolerance %g, reg=%g" % (tol, reg),
              ["n=m", "otkit its", "otkit s", "otkit L1 err", "POT its",
               "POT s", "POT L2 col err", "POT L1 err",
               "POT/otkit time (target >= 20)", "POT/otkit per it",
               "cost rel. diff"],
              ["otkit: OTK_DOMAIN_LOG, eps_scaling off, tol=%g on the L1 error "
               "of both marginals (checked every 10 its), best of 3." % tol,
               "POT: ot.sinkhorn(method='sinkhorn_log'), stopThr=%g on the L2 "
               "error of the column marginal (checked every 10 its). L2 <= L1, "
               "so POT's rule stops no later than otkit's; 'L1 err' columns "
               "are the same measure for both, computed on the returned plan."
               % tol,
               "cost rel. diff: |<P,C>_otkit - <P,C>_POT| / <P,C>_POT, a "
               "cross-check that both solved the same problem."])
    for n in sizes:
        d, M = dense_problem(root, n, SEED)
        rec = run_otkit(exe, d, "log-tol", [n, tol, reg, 1000000])[0]
        pot = pot_sinkhorn_to_tol(M, reg, tol, 1000000, budget, repeats=3)
        raw.append({"section": "log-tol", "n": n, "otkit": rec, "pot": pot})
        t.add(n, rec["iterations"], rec["time_s"], rec["marginal_error"],
              pot["iterations"], pot["time_s"], pot["col_error_l2"],
              pot["marginal_error_l1"], pot["time_s"] / rec["time_s"],
              pot["time_per_iter_s"] / rec["time_per_iter_s"],
              rel_diff(rec["transport_cost"], pot["transport_cost"]))
        if rec["status"] != "converged":
            t.notes.append("n=%d: otkit status %s" % (n, rec["status"]))
        if not pot["converged"]:
            t.notes.append("n=%d: POT did not reach stopThr (%s after %d its)"
                           % (n, "capped at ~%gs" % budget if pot["capped"]
                              else "numItermax", pot["iterations"]))
        del M
    return t


def bench_e2e(exe, root, n, reg, tol, budget, raw):
    t = Table("End to end: n=m=%d, reg=%g, marginal error %g" % (n, reg, tol),
              ["solver", "settings", "status", "its", "stages", "time s",
               "s/it", "L1 err (both marginals)", "L2 col err",
               "transport cost"],
              ["otkit: default settings (domain AUTO, eps_scaling auto), "
               "tol=%g (L1, both marginals), max_iter 1e6, best of 3." % tol,
               "POT: sinkhorn_log, stopThr=%g (L2 of the column marginal), "
               "numItermax capped so that a run takes about %g s." % (tol,
                                                                    budget),
               "POT's L2 rule is the weaker one (L2 <= L1 <= sqrt(n) L2), so "
               "it stops with a larger L1 error than otkit: compare the "
               "iteration counts with that in mind."])
    d, M = dense_problem(root, n, SEED)
    rec = run_otkit(exe, d, "e2e", [n, reg, tol, 1000000])[0]
    pot = pot_sinkhorn_to_tol(M, reg, tol, 1000000, budget, repeats=1)
    raw.append({"section": "e2e", "n": n, "otkit": rec, "pot": pot})
    t.add("otkit", "default", rec["status"], rec["iterations"], rec["stages"],
          rec["time_s"], rec["time_per_iter_s"], rec["marginal_error"], None,
          rec["transport_cost"])
    status = "converged" if pot["converged"] else (
        "capped" if pot["capped"] else "max_iter")
    t.add("POT", "sinkhorn_log", status, pot["iterations"], 1, pot["time_s"],
          pot["time_per_iter_s"], pot["marginal_error_l1"],
          pot["col_error_l2"], pot["transport_cost"])
    t.notes.append("time ratio POT/otkit = %.3g" % (pot["time_s"] /
                                                     rec["time_s"]))
    if pot["capped"]:
        t.notes.append("POT was capped at %d iterations (~%g s budget); its "
                       "time is a lower bound" % (pot["numItermax"], budget))
    return t


def bench_points(exe, root, sizes, dim, reg, tol, max_iter, pot_n, budget,
                 raw):
    batch = 500
    t = Table("Point clouds without a matrix: d=%d, reg=%g, tol=%g, "
              "max_iter=%d" % (dim, reg, tol, max_iter),
              ["n=m", "otkit status", "its", "stages", "time s", "s/it",
               "L1 err", "peak RSS MiB", "n x m matrix MiB", "POT s/it",
               "POT peak RSS MiB", "POT/otkit per it", "POT to tol"],
              ["x, y: independent samples of N(0, I_%d); cost "
               "||x - y||^2 unscaled (OTK_METRIC_SQEUCLIDEAN, scale 1; POT "
               "metric='sqeuclidean')." % dim,
               "otkit: otk_cost_points, default settings (log domain, "
               "eps_scaling auto), one run; RSS = peak of the bench process "
               "(VmHWM; the input points are %.2g MiB at the largest n)."
               % (2 * 8 * dim * max(sizes) / 1048576.0),
               "POT: ot.bregman.empirical_sinkhorn(isLazy=True, batchSize=%d) "
               "in a child Python process; s/it from a 10-iteration probe "
               "unless it ran to tol; RSS includes the Python interpreter and "
               "numpy. Its error is the L1 of the row marginal." % batch])
    pot_per_it = None
    for n in sizes:
        d = points_problem(root, n, dim, SEED)
        rec = run_otkit(exe, d, "points", [n, dim, reg, tol, max_iter],
                        repeats=1)[0]
        pot, pot_note = None, None
        if n == pot_n:
            pot = run_pot_points(d, n, dim, reg, tol, max_iter, batch, budget)
            pot_per_it = (pot["time_per_iter_s"], n)
            if pot["ran_to_tol"]:
                pot_note = "%d its, %.3g s%s" % (
                    pot["iterations"], pot["time_s"],
                    "" if pot["converged"] else " (not converged)")
            else:
                pot_note = ("not run (projected %.0f s for %d its > %g s "
                            "budget)" % (pot["projected_s"], max_iter, budget))
        elif pot_per_it is not None:
            proj = pot_per_it[0] * (n / pot_per_it[1]) ** 2
            pot_note = ("not run (projected %.3g s/it, %.0f s for %d its, "
                        "from n=%d)" % (proj, proj * max_iter, max_iter,
                                        pot_per_it[1]))
        else:
            pot_note = "not run"
        raw.append({"section": "points", "n": n, "otkit": rec, "pot": pot,
                    "pot_note": pot_note})
        t.add(n, rec["status"], rec["iterations"], rec["stages"],
              rec["time_s"], rec["time_per_iter_s"], rec["marginal_error"],
              rec["peak_rss_mib"], rec["nxm_matrix_mib"],
              pot["time_per_iter_s"] if pot else None,
              pot["peak_rss_mib"] if pot else None,
              pot["time_per_iter_s"] / rec["time_per_iter_s"] if pot
              else None, pot_note)
    return t


def bench_throughput(exe, rows, raw):
    """Single-threaded log-domain sweeps in ns per pair and iteration
    against the exp kernel's ns per exponential, measured in the same run
    (before and after the rows)."""
    t = Table("Sinkhorn sweep throughput (one thread): ns per pair and "
              "iteration against the exp kernel",
              ["kind", "n=m", "d", "reg", "its", "CPU ns/pair",
               "wall ns/pair", "% of exp throughput (CPU)", "load before",
               "load after"],
              ["bench-sinkhorn sweep-cost: otk_sinkhorn with tol 0, eps "
               "scaling and multiscale off, relaxation 1, log domain, "
               "threads 1, timed at every sweep by the progress callback "
               "(check_every 1): its = the sweeps timed, sweeps 2 .. its + 1, "
               "after the set-up, the cost bounds and the first sweep (no "
               "shift guess yet: two passes), the solve then cancelled; CPU "
               "and wall time per sweep divided by n m pairs (best of 1 "
               "solve). x ~ N(0, I_d), y ~ N(0, I_d) + 1, squared "
               "Euclidean; 'dense' is the n x n matrix of the same costs.",
               "% of exp throughput = the exp kernel's CPU ns per "
               "exponential (bench-sinkhorn exp-kernel, 4096 entries in L1, "
               "best of 5) / the sweep's CPU ns per pair: 100 % would be a "
               "sweep as fast as its exponentials alone."])
    exp0 = run_otkit(exe, None, "exp-kernel", [], repeats=1)[0]
    recs = []
    for kind, n, dim, reg, its in rows:
        before = loadavg()
        rec = run_otkit(exe, None, "sweep-cost", [kind, n, dim, reg, its],
                        repeats=1)[0]
        rec["load_before"], rec["load_after"] = before, loadavg()
        recs.append(rec)
    exp1 = run_otkit(exe, None, "exp-kernel", [], repeats=1)[0]
    ns_exp = min(exp0["cpu_ns_per_exp"], exp1["cpu_ns_per_exp"])
    t.notes.append("exp kernel: %.3g / %.3g CPU ns per exp before / after "
                   "the rows (wall %.3g / %.3g); the smaller is used."
                   % (exp0["cpu_ns_per_exp"], exp1["cpu_ns_per_exp"],
                      exp0["wall_ns_per_exp"], exp1["wall_ns_per_exp"]))
    for rec in recs:
        t.add(rec["kind"], rec["n"], rec["d"], rec["reg"], rec["iters"],
              rec["cpu_ns_per_pair"], rec["wall_ns_per_pair"],
              100.0 * ns_exp / rec["cpu_ns_per_pair"], rec["load_before"],
              rec["load_after"])
    raw.append({"section": "throughput", "exp_kernel": [exp0, exp1],
                "rows": recs})
    return t


def bench_iterations(exe, n, dim, reg, tol, max_iter, raw):
    """Iteration counts (deterministic) of point clouds to a tight tol."""
    t = Table("Sinkhorn iterations to tol=%g: point clouds n=m=%d, d=%d, "
              "reg=%g" % (tol, n, dim, reg),
              ["variant", "status", "iterations", "stages", "residual",
               "CPU s"],
              ["bench-sinkhorn iterations: x ~ N(0, I_d), y ~ N(0, I_d) + 1, "
               "squared Euclidean, uniform weights, max_iter %d. 'defaults': "
               "default settings (adaptive over-relaxation, auto epsilon "
               "scaling); 'plain': relaxation 1; 'no-eps-scaling': "
               "eps_scaling 0; 'divergence': otk_sinkhorn_divergence's three "
               "solves with the defaults (iterations summed). Iteration "
               "counts do not depend on the machine; CPU s does." % max_iter])
    recs = run_otkit(exe, None, "iterations", [n, dim, reg, tol, max_iter],
                     repeats=1)
    for rec in recs:
        t.add(rec["variant"], rec["status"], rec["iterations"], rec["stages"],
              rec["residual"], rec["cpu_s"])
    raw.append({"section": "iterations", "rows": recs})
    return t


def exact_repeats(n):
    """Runs per solver at size n: best of 3 up to 1000, of 2 up to 2000."""
    return 3 if n <= 1000 else 2 if n <= 2000 else 1


def pot_emd(M, repeats):
    """POT's network simplex, ot.emd, best of `repeats` timed calls (the
    call alone: M is built beforehand), by process CPU time; wall time of
    the same call alongside."""
    n, m = M.shape
    a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    best, warns = None, []
    for r in range(repeats):
        c0 = time.process_time()
        (G, lg), t, w = pot_call(ot.emd, a, b, M, numItermax=10 ** 8,
                                 log=True)
        cpu = time.process_time() - c0
        warns += w
        if lg.get("warning"):
            warns.append(str(lg["warning"]))
        if best is None or cpu < best["cpu_s"]:
            best = {"time_s": t, "cpu_s": cpu,
                    "transport_cost": float(lg["cost"]),
                    "result_code": int(lg["result_code"]),
                    "nnz": int(np.count_nonzero(G)),
                    "marginal_error_l1": marginal_errors(G, a, b)[0]}
        del G, lg
    best.update({"repeats": repeats, "warnings": sorted(set(warns))})
    return best


def run_lemon(exe, data_dir, n, repeats):
    """bench-lemon (LEMON's NetworkSimplex on DIR/C.bin): its fastest run by
    solve CPU time, or None without the program."""
    if exe is None:
        return None
    cmd = [exe, "--repeats", str(repeats), data_dir, str(n)]
    log("lemon: " + " ".join(shlex.quote(c) for c in cmd))
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    recs = [json.loads(line) for line in out.splitlines() if line.strip()]
    return min(recs, key=lambda r: r["solve_cpu_s"])


def best_run(recs):
    """The fastest of bench-exact's per-run records (by CPU time)."""
    return min(recs, key=lambda r: r["cpu_s"])


def ratio(x, y):
    return x / y if x is not None and y else None


def bench_exact(exe, lemon_exe, root, sizes, points_n, raw):
    t = Table("Exact OT (network simplex): otk_exact vs POT ot.emd vs LEMON",
              ["n=m", "otkit cost input", "otkit CPU s", "otkit wall s",
               "otkit pivots", "POT CPU s", "POT wall s",
               "LEMON solve CPU s", "LEMON build CPU s",
               "otkit/POT CPU (target < 1.0)",
               "otkit/LEMON solve CPU (target <= 0.6)",
               "cost rel. diff (target <= 1e-12)", "otkit nnz",
               "otkit peak RSS MiB", "otkit status"],
              ["Problems: x ~ N(0, I_2), y ~ N(0, I_2) + 1 (the clouds of the "
               "dense sections), uniform weights, cost ||x_i - y_j||^2 "
               "unscaled; the dense matrix is computed and written by the "
               "driver and is bit-identical to the point-cloud costs.",
               "otkit: otk_exact, default settings, asking for the sparse "
               "plan and both potentials (not the dense plan); process CPU "
               "time and wall time of the call (validation, workspace, "
               "set-up, pivots, outputs). POT: ot.emd(a, b, M, "
               "numItermax=1e8) (LEMON-derived network simplex in C++), "
               "time.process_time() and time.perf_counter() around the call "
               "alone (M is built beforehand); its time includes building "
               "its own graph copy of M and returning a dense n x m plan.",
               "LEMON: bench-lemon (bench/bench_lemon.cpp, Debian's "
               "liblemon-dev 1.3.1), NetworkSimplex<StaticDigraph, int, "
               "double> with BLOCK_SEARCH, integer supplies 1 and -1 (the same "
               "problem scaled by n); 'solve' is the NetworkSimplex object, "
               "its maps and run(), 'build' the complete bipartite "
               "StaticDigraph and its cost map. '-' when bench-lemon was not "
               "built (no LEMON found).",
               "Runs: best of 3 for n <= 1000, best of 2 for n = 2000, one "
               "run for larger n, for every solver, by CPU time; the "
               "point-cloud row is one run. All single-threaded.",
               "cost rel. diff: |c_otkit - c_POT| / c_POT of the optimal "
               "costs (LEMON's is checked against POT's too, noted if off). "
               "nnz: entries of otkit's sparse plan (at most "
               "2n - 1; uniform weights with n = m make the optimum a "
               "permutation, so n is expected).",
               "peak RSS: VmHWM of the bench-exact process (the dense runs "
               "hold their own copy of the n x n matrix, 8 n^2 bytes)."])
    pot_by_n = {}
    for n in sizes:
        d, M = exact_problem(root, n, SEED)
        reps = exact_repeats(n)
        recs = run_otkit(exe, d, "dense", [n], repeats=reps)
        log("POT ot.emd n=%d (%d run%s)" % (n, reps, "s" if reps > 1 else ""))
        pot = pot_emd(M, reps)
        pot_by_n[n] = pot
        del M
        lem = run_lemon(lemon_exe, d, n, reps)
        os.remove(os.path.join(d, "C.bin"))
        rows = [("dense", recs)]
        if n == points_n:
            rows.append(("points", run_otkit(exe, d, "points", [n, 2],
                                             repeats=1)))
        for kind, rs in rows:
            rec = best_run(rs)
            raw.append({"section": "exact", "n": n, "cost_input": kind,
                        "otkit": rs, "pot": pot, "lemon": lem})
            t.add(n, kind, rec["cpu_s"], rec["wall_s"], rec["iterations"],
                  pot["cpu_s"], pot["time_s"],
                  lem["solve_cpu_s"] if lem else None,
                  lem["build_cpu_s"] if lem else None,
                  ratio(rec["cpu_s"], pot["cpu_s"]),
                  ratio(rec["cpu_s"], lem["solve_cpu_s"] if lem else None),
                  rel_diff(rec["transport_cost"], pot["transport_cost"]),
                  rec["nnz"], rec["peak_rss_mib"], rec["status"])
            tag = "n=%d %s" % (n, kind)
            if rec["status"] != "optimal":
                t.notes.append("%s: otkit status %s" % (tag, rec["status"]))
            if len({(r["iterations"], r["nnz"], r["transport_cost"])
                    for r in rs}) > 1:
                t.notes.append("%s: otkit runs differ (pivots/nnz/cost)" % tag)
            gap = rel_diff(rec["dual_objective"], rec["transport_cost"])
            if gap is not None and gap > 1e-12:
                t.notes.append("%s: otkit primal-dual gap %.2e" % (tag, gap))
            if max(rec["dual_violation"], rec["slackness_residual"]) > \
                    1e-9 * max(1.0, abs(rec["transport_cost"])):
                t.notes.append("%s: otkit potentials off: dual violation "
                               "%.2e, slackness residual %.2e" % (
                                   tag, rec["dual_violation"],
                                   rec["slackness_residual"]))
            if rec.get("points_cost_maxdiff"):
                t.notes.append("%s: driver matrix differs from the point "
                               "costs by up to %.2e" % (
                                   tag, rec["points_cost_maxdiff"]))
        if pot["result_code"] != 1 or pot["warnings"]:
            t.notes.append("n=%d: POT result_code %d, warnings: %s" % (
                n, pot["result_code"], "; ".join(pot["warnings"]) or "none"))
        if lem and (lem["status"] != "optimal" or (rel_diff(
                lem["transport_cost"], pot["transport_cost"]) or 0) > 1e-12):
            t.notes.append("n=%d: LEMON status %s, cost %.17g" % (
                n, lem["status"], lem["transport_cost"]))
    if points_n in pot_by_n:
        t.notes.append("The 'points' row (otk_cost_points, no n x m matrix, "
                       "costs evaluated on the fly by the pricing) solves the "
                       "same problem as the dense row above it; its POT and "
                       "LEMON columns repeat their dense runs.")
    return t


# ---------------------------------------------------------------- threads --

# The threaded regions' cases: (label, bench-threads arguments before THREADS)
THREADS_CASES = (
    ("Sinkhorn scaling, n=2000, 300 its, reg 0.01",
     ["sinkhorn", 2000, 300, 0.01, "scaling"]),
    ("Sinkhorn log, n=2000, 100 its, reg 0.01",
     ["sinkhorn", 2000, 100, 0.01, "log"]),
    ("quadratic dual, n=1000, 50 its, reg 0.1",
     ["quadratic", 1000, 50, 0.1]),
)
THREADS_QUICK_CASES = (
    ("Sinkhorn scaling, n=600, 100 its, reg 0.01",
     ["sinkhorn", 600, 100, 0.01, "scaling"]),
    ("quadratic dual, n=600, 20 its, reg 0.1", ["quadratic", 600, 20, 0.1]),
)


def start_busy():
    """One busy process (a Python spin loop), pinned to the first CPU this
    process may use when the OS allows it: another program holding a core."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(
        os, "sched_getaffinity") else []

    def pin():
        if cpus:
            os.sched_setaffinity(0, {cpus[0]})
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"],
                            preexec_fn=pin)
    time.sleep(1.0)  # let it reach the scheduler's steady state
    return proc


def run_threads(exe, args, threads, env_extra, repeats):
    """bench-threads' fastest run (wall clock) of one setting."""
    cmd = [exe, "--repeats", str(repeats)] + [str(a) for a in args] + \
        [str(threads)]
    env = dict(os.environ, **env_extra)
    log("threads: %s%s" % (" ".join(env_extra and
                                    ["%s=%s" % kv for kv in env_extra.items()]
                                    or []) + (" " if env_extra else ""),
                           " ".join(shlex.quote(c) for c in cmd)))
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, env=env,
                         universal_newlines=True).stdout
    recs = [json.loads(line) for line in out.splitlines() if line.strip()]
    return min(recs, key=lambda r: r["wall_s"]), recs


def bench_threads(exe, cases, repeats, raw):
    t = Table("Threads on a shared machine: default threads vs one thread",
              ["case", "machine", "setting", "wall s", "CPU s",
               "wall / one thread's (target <= 1.0)",
               "CPU / one thread's", "regions", "on a team",
               "regions opened", "plan sum", "load before", "load after"],
              ["bench-threads (bench/bench_threads.c): dense cost as in the "
               "dense sections (divided by its maximum), tol 0, a fixed "
               "number of iterations; wall clock and process CPU time of the "
               "call (all threads), fastest of %d runs by wall clock." %
               repeats,
               "regions: the parallel regions of that run (linalg/par.h), "
               "and how many of them a team ran rather than the calling "
               "thread; unlike the times, the counts mean something on a "
               "loaded machine. regions opened: the parallel regions with "
               "more than one thread the run opened (one per solve: its "
               "threads take the sweeps' blocks, and wait for the next "
               "sweep by spinning briefly, then sleeping).",
               "machine: 'idle' is the machine as it is (see the load "
               "columns); 'busy' runs one spinning process pinned to one "
               "CPU for the whole row group.",
               "settings: 'default' is threads = 0 (the OpenMP default, at "
               "most one thread per 131072 cost entries, and the sweeps' "
               "measured choice between the team and the calling thread); "
               "'1' is threads = 1; 'default, passive' adds "
               "OMP_WAIT_POLICY=passive (OpenMP's threads sleep instead of "
               "spinning at the end of a region; the environment's only "
               "lever, for reference: a solve's own threads sleep anyway).",
               "plan sum: the plan's entries summed in index order: equal "
               "for every setting up to rounding, bit for bit between runs "
               "of one thread count."])
    settings = (("default", 0, {}), ("1", 1, {}),
                ("default, passive", 0, {"OMP_WAIT_POLICY": "passive"}))
    for label, args in cases:
        for machine in ("idle", "busy"):
            busy = start_busy() if machine == "busy" else None
            try:
                load0 = loadavg()
                recs = {}
                for name, threads, env in settings:
                    recs[name] = run_threads(exe, args, threads, env, repeats)
                load1 = loadavg()
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
            one = recs["1"][0]
            for name, _, _ in settings:
                rec = recs[name][0]
                raw.append({"section": "threads", "case": label,
                            "machine": machine, "setting": name,
                            "runs": recs[name][1], "loadavg_before": load0,
                            "loadavg_after": load1})
                t.add(label, machine, name, rec["wall_s"], rec["cpu_s"],
                      rec["wall_s"] / one["wall_s"],
                      rec["cpu_s"] / one["cpu_s"], rec["regions"],
                      rec["team_regions"], rec.get("opened", ""),
                      "%.17g" % rec["plan_sum"], load0,
                      load1)
    return t


# --------------------------------------------- quadratically-regularized --

SMOOTH_REG = 0.1          # reg (Blondel's gamma) of section smooth, in units of the cost
SMOOTH_STOP_THR = 1e-9    # POT's stopThr (scipy's tol: ftol and gtol)
SMOOTH_MAX_ITER = 10000   # POT's numItermax (L-BFGS-B iterations)
SMOOTH_K = 5              # otk_sparse's k in the fixed-budget comparison
SMOOTH_FIXED_ITERS = 50   # L-BFGS iterations of the fixed-budget runs
SMOOTH_TARGETS = {"dual": 20.0, "semi-dual": 100.0}


def otkit_threads(n, m):
    """The threads otk_quadratic uses with settings.threads = 0: the OpenMP
    default (OMP_NUM_THREADS, else the logical CPUs), at most one per
    131072 cost entries, at least one."""
    try:
        t = int(os.environ.get("OMP_NUM_THREADS", "").split(",")[0])
    except ValueError:
        t = os.cpu_count() or 1
    return max(1, min(t, n * m // 131072, m))


def pot_smooth_to_tol(M, form, reg, stop_thr, max_iter, budget, prev):
    """POT's smooth_ot_dual or smooth_ot_semi_dual (reg_type='l2', L-BFGS-B,
    stopThr, numItermax), best of 3 runs (one if a run takes > 20 s).

    A probe times 3 objective/gradient evaluations at zero (the function
    scipy's L-BFGS-B calls). prev = (n, evaluations) of the previous size,
    or None: the projected time is per-evaluation time * evaluations scaled
    linearly in n from prev; if over `budget` POT is not run. numItermax is
    also capped so that one run takes about `budget` seconds.

    The L1 marginal error is measured on the plan rebuilt from the returned
    potentials by get_plan_from_dual / get_plan_from_semi_dual (the plan POT
    returns), outside the timing."""
    sm = ot.smooth
    n, m = M.shape
    a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    regul = sm.SquaredL2(gamma=reg)
    if form == "dual":
        fn = sm.smooth_ot_dual
        probe = lambda: sm.dual_obj_grad(np.zeros(n), np.zeros(m), a, b, M,
                                         regul)
    else:
        fn = sm.smooth_ot_semi_dual
        probe = lambda: sm.semi_dual_obj_grad(np.zeros(n), a, b, M, regul)
    probe_evals = 3
    t0 = time.perf_counter()
    for _ in range(probe_evals):
        probe()
    per_eval = (time.perf_counter() - t0) / probe_evals
    out = {"formulation": form, "probe_time_per_eval_s": per_eval,
           "budget_s": budget, "ran": False}
    if prev is not None:
        est = prev[1] * n / prev[0]
        out.update({"projected_evaluations": est,
                    "projected_s": per_eval * est, "projected_from_n":
                    prev[0]})
        if per_eval * est > budget:
            log("POT smooth %s n=%d: not run (projected %.3g s > %g s)"
                % (form, n, per_eval * est, budget))
            return out
    num_iter_max = min(max_iter, max(10, int(budget / per_eval)))
    log("POT smooth_ot_%s n=%d: %.3g s/evaluation (probe), numItermax=%d"
        % (form.replace("-", "_"), n, per_eval, num_iter_max))
    best = None
    for r in range(3):
        (G, lg), t, warns = pot_call(fn, a, b, M, reg, reg_type="l2",
                                     stopThr=stop_thr,
                                     numItermax=num_iter_max, log=True)
        if best is None or t < best["time_s"]:
            res = lg["res"]
            if form == "dual":
                P = sm.get_plan_from_dual(lg["alpha"], lg["beta"], M, regul)
            else:
                P = sm.get_plan_from_semi_dual(lg["alpha"], b, M, regul)
            l1, _ = marginal_errors(P, a, b)
            nit, nfev = int(res.nit), int(res.nfev)
            best = {"time_s": t, "iterations": nit, "evaluations": nfev,
                    "time_per_eval_s": t / max(nfev, 1),
                    "success": bool(res.success),
                    "message": str(res.message),
                    "capped": bool(nit >= num_iter_max
                                   and num_iter_max < max_iter),
                    "numItermax": num_iter_max,
                    "marginal_error_l1": l1,
                    "transport_cost": float((P * M).sum()),
                    "dual_objective": float(-res.fun),
                    "nnz": int(np.count_nonzero(P)),
                    "plan_equal": bool(np.array_equal(P, G)),
                    "warnings": sorted(set(warns)), "repeats": r + 1}
            del P
        del G, lg
        if t > 20.0:
            break
    out.update(best)
    out["ran"] = True
    return out


def bench_smooth(exe, root, sizes, reg, stop_thr, max_iter, budget, raw,
                 machine):
    k, iters = SMOOTH_K, SMOOTH_FIXED_ITERS
    t1 = Table("Quadratically-regularized OT to POT's marginal error: "
               "reg=%g" % reg,
               ["n=m", "formulation", "POT s", "POT its/evals",
                "POT L1 err", "otkit s", "otkit its", "otkit evals",
                "otkit L1 err", "otkit status", "POT/otkit time", "target",
                "POT/otkit per eval", "cost rel. diff", "nnz otkit/POT"],
               ["Problems: x ~ N(0, I_2), y ~ N(0, I_2) + 1 (the clouds of "
                "the dense sections), uniform weights, cost ||x - y||^2 "
                "divided by its maximum (in [0, 1]); reg = %g in the units "
                "of the cost, the problem min <P,C> + (reg/2) ||P||^2 of "
                "both libraries." % reg,
                "Protocol 'reaching the same marginal error': POT runs "
                "first, ot.smooth.smooth_ot_dual / smooth_ot_semi_dual("
                "reg_type='l2', stopThr=%g, numItermax=%d), otherwise its "
                "defaults (scipy L-BFGS-B from zero; stopThr is scipy's tol, "
                "i.e. its relative-decrease and projected-gradient tests, "
                "which stop well before such an error). Its L1 marginal "
                "error (both marginals) is measured on the plan "
                "get_plan_from_dual / get_plan_from_semi_dual rebuilt from "
                "its potentials; then otkit (otk_quadratic, the same "
                "formulation, default settings otherwise) runs with tol = "
                "that error." % (stop_thr, max_iter),
                "Times: POT time.perf_counter() around the call (its dense "
                "plan included), best of 3 (one run if over 20 s); otkit "
                "info.outcome.time_s, best of 3 (both potentials and the sparse "
                "plan requested). Per eval = time / objective-and-gradient "
                "evaluations (POT: scipy's nfev).",
                "cost rel. diff: |<P,C>_otkit - <P,C>_POT| / <P,C>_POT; the "
                "two plans meet the marginals to about the same error, not "
                "exactly, so expect differences of that order."])
    t2 = Table("Cost of an evaluation, fixed %d L-BFGS iterations (tol=0): "
               "otk_quadratic and otk_sparse (k=%d), reg=%g"
               % (iters, k, reg),
               ["n=m", "formulation", "otkit threads", "pass over C ms",
                "quadratic ms/eval", "quadratic evals", "eval/pass",
                "sparse ms/eval", "sparse evals", "sparse/quadratic",
                "target", "quadratic status", "sparse status",
                "quadratic L1 err", "sparse L1 err"],
               ["The problems of the table above. otkit: tol = 0, "
                "max_iter = %d, so both solvers run the same budget "
                "(an evaluation is one objective-and-gradient pass over the "
                "n x m cost, read row by row in storage order); otk_sparse "
                "with k = %d, "
                "otk_quadratic is k = n. ms/eval = info.outcome.time_s / "
                "info.evaluations (set-up, the final objective and the plan "
                "recovery amortized), best of 3." % (iters, k),
                "pass over C: one single-threaded sum of the n x n matrix in "
                "storage order (best of 5, bench-smooth pass); eval/pass = "
                "quadratic ms/eval / pass time, the cost of an evaluation in "
                "passes over the matrix (the evaluation streams C 4 rows at "
                "a time with more arithmetic per entry than the sum; the "
                "semi-dual and otk_sparse also list per column the entries "
                "that can enter the support, from which the semi-dual's "
                "projection onto the simplex takes a threshold per column).",
                "otkit threads: what otk_quadratic uses by default (the "
                "OpenMP default, at most one per 131072 cost entries)."])
    prev = {"dual": None, "semi-dual": None}
    last_err = {}
    opts = ("--reg", repr(reg))
    for n in sizes:
        d, M = dense_problem(root, n, SEED)
        passrec = run_otkit(exe, d, "pass", [n], repeats=1, options=opts)[0]
        if "otkit_version" not in machine:
            machine["otkit_version"] = passrec.get("otkit_version", "unknown")
        for form in ("dual", "semi-dual"):
            pot = pot_smooth_to_tol(M, form, reg, stop_thr, max_iter,
                                    budget, prev[form])
            tag = "n=%d %s" % (n, form)
            if pot["ran"]:
                tol = pot["marginal_error_l1"]
                prev[form] = (n, pot["evaluations"])
                last_err[form] = (n, tol)
            elif form in last_err:
                tol = last_err[form][1]
            else:
                tol = None
            recs = []
            if tol is not None:
                recs = run_otkit(exe, d, "solve", [n, form, repr(tol)],
                                 repeats=3, options=opts)
            fixed = run_otkit(exe, d, "fixed", [n, form, k, iters],
                              repeats=3, options=opts)
            raw.append({"section": "smooth", "n": n, "formulation": form,
                        "reg": reg, "pass": passrec, "pot": pot,
                        "otkit": recs, "otkit_fixed": fixed})
            rec = min(recs, key=lambda r: r["time_s"]) if recs else None
            if pot["ran"]:
                pot_cells = [pot["time_s"], "%d/%d" % (pot["iterations"],
                                                       pot["evaluations"]),
                             pot["marginal_error_l1"]]
            else:
                pot_cells = ["not run (projected %.3g s)"
                             % pot["projected_s"], None, None]
            if rec is not None:
                both = pot["ran"]
                t1.add(n, form, *pot_cells, rec["time_s"], rec["iterations"],
                       rec["evaluations"], rec["marginal_error"],
                       rec["status"],
                       pot["time_s"] / rec["time_s"] if both else None,
                       ">= %g" % SMOOTH_TARGETS[form],
                       pot["time_per_eval_s"] / rec["time_per_eval_s"]
                       if both else None,
                       rel_diff(rec["transport_cost"], pot["transport_cost"])
                       if both else None,
                       "%d/%s" % (rec["nnz"], pot["nnz"] if both else "-"))
            else:
                t1.add(n, form, *pot_cells, *([None] * 10))
            if not pot["ran"]:
                t1.notes.append(
                    "%s: POT not run: projected %.3g s (%.3g s/evaluation "
                    "probed, %.0f evaluations extrapolated linearly in n "
                    "from n=%d) > %g s budget%s" % (
                        tag, pot["projected_s"],
                        pot["probe_time_per_eval_s"],
                        pot["projected_evaluations"],
                        pot["projected_from_n"], budget,
                        "; otkit ran to POT's error at n=%d" % last_err[form][0]
                        if rec is not None else ""))
            else:
                if pot["capped"]:
                    t1.notes.append("%s: POT capped at numItermax=%d (~%g s "
                                    "budget); its time is a lower bound"
                                    % (tag, pot["numItermax"], budget))
                elif not pot["success"]:
                    t1.notes.append("%s: POT: %s" % (tag, pot["message"]))
                if not pot["plan_equal"]:
                    t1.notes.append("%s: POT's returned plan differs from "
                                    "the one rebuilt from its potentials"
                                    % tag)
            if rec is not None:
                if rec["status"] != "converged":
                    t1.notes.append("%s: otkit status %s" % (tag,
                                                             rec["status"]))
                if len({(r["iterations"], r["evaluations"],
                         r["transport_cost"]) for r in recs}) > 1:
                    t1.notes.append("%s: otkit runs differ (iterations/"
                                    "cost)" % tag)
                chk = rec.get("check_marginal_error")
                if chk is None or abs(chk - rec["marginal_error"]) > \
                        1e-12 + 1e-9 * rec["marginal_error"]:
                    t1.notes.append("%s: otkit's plan entries give marginal "
                                    "error %s, info says %.3g" % (
                                        tag, chk, rec["marginal_error"]))
            q = min((r for r in fixed if r["solver"] == "quadratic"),
                    key=lambda r: r["time_per_eval_s"])
            s = min((r for r in fixed if r["solver"] == "sparse"),
                    key=lambda r: r["time_per_eval_s"])
            t2.add(n, form, otkit_threads(n, n), ms(passrec["pass_s"]),
                   ms(q["time_per_eval_s"]), q["evaluations"],
                   q["time_per_eval_s"] / passrec["pass_s"],
                   ms(s["time_per_eval_s"]), s["evaluations"],
                   s["time_per_eval_s"] / q["time_per_eval_s"], "<= 1.5",
                   q["status"], s["status"], q["marginal_error"],
                   s["marginal_error"])
            for r in (q, s):
                if r["iterations"] != iters:
                    t2.notes.append("%s: otk_%s ran %d iterations, not %d "
                                    "(status %s)" % (tag, r["solver"],
                                                     r["iterations"], iters,
                                                     r["status"]))
        del M
    return [t1, t2]


# ------------------------------------------------------------ Monge gap --

MG_DIM = 16               # dimension of the gap-estimation problems
MG_REL_REG = 0.1          # reg = MG_REL_REG * mean_ij ||x_i - y_j||^2
MG_STOP_THR = 1e-6        # POT's stopThr (L2 of the column marginal)
MG_MAX_ITER = 100000      # iteration budget of both (POT's also capped)
MG_TARGET = 10.0          # POT/otkit time
MG_FIT_DIMS = (2, 16, 64)  # dimensions of the training-speed runs
MG_UVP_DIM = 8             # the time-to-L2-UVP run (bench-mongegap fit-uvp)
MG_UVP_TARGET = 10.0       # its L2-UVP target, %
MG_FIT_BATCH = 256


def mongegap_problem(root, n, dim, seed):
    """x ~ N(0, I_dim) (n points) and y = T(x) = x + 0.5 tanh(x W) for one
    fixed W (W_kl ~ N(0, 1/dim), seeded by dim alone, so the map is the
    same at every n). Returns the directory, x, y and the absolute reg:
    MG_REL_REG times the mean of ||x_i - y_j||^2 over all n^2 pairs, in
    closed form (mean ||x||^2 + mean ||y||^2 - 2 <mean x, mean y>), so no
    n x n matrix is needed for it."""
    W = np.random.default_rng([seed, dim, 1]).standard_normal(
        (dim, dim)) / np.sqrt(dim)
    x = np.random.default_rng([seed, n, dim, 2]).standard_normal((n, dim))
    y = x + 0.5 * np.tanh(x @ W)
    mean_cost = (np.mean(np.sum(x * x, axis=1)) +
                 np.mean(np.sum(y * y, axis=1)) -
                 2.0 * float(x.mean(axis=0) @ y.mean(axis=0)))
    d = os.path.join(root, "mongegap-%d-%d" % (n, dim))
    os.makedirs(d, exist_ok=True)
    write_raw(d, "x.bin", x)
    write_raw(d, "y.bin", y)
    return d, x, y, MG_REL_REG * float(mean_cost)


def pot_monge_gap(x, y, reg, stop_thr, max_iter, budget, prev):
    """The entropic Monge gap with POT, as a user would write it:

        M = ot.dist(x, y)                          # sqeuclidean
        P = ot.sinkhorn(a, a, M, reg, method='sinkhorn_log', stopThr, ...)
        W = sum(P * M) + reg * sum(P log P)
        gap = mean_i ||x_i - y_i||^2 - W

    timed as a whole (best of 3, one run if it takes over 20 s; the three
    parts are also recorded). A probe first times ot.dist and 10
    sinkhorn_log iterations; prev = (n, iterations) of the previous size or
    None. With prev, the projection dist + per-iteration time * prev's
    iterations decides whether POT runs at all (not if over `budget`);
    numItermax is capped so that the iterations take about `budget`
    seconds. The L1 error of both marginals of P (and POT's own L2 measure
    of the column marginal) are computed outside the timings."""
    from scipy.special import xlogy
    n = x.shape[0]
    a = np.full(n, 1.0 / n)
    t0 = time.perf_counter()
    M = ot.dist(x, y)
    t_dist = time.perf_counter() - t0
    probe_iters = 10
    _, t_probe, _ = pot_call(ot.sinkhorn, a, a, M, reg, method="sinkhorn_log",
                             numItermax=probe_iters, stopThr=0.0)
    per_iter = t_probe / probe_iters
    out = {"n": n, "reg": reg, "stopThr": stop_thr, "probe_dist_s": t_dist,
           "probe_time_per_iter_s": per_iter, "budget_s": budget,
           "ran": False}
    if prev is not None:
        proj = t_dist + per_iter * prev[1]
        out.update({"projected_s": proj, "projected_iterations": prev[1],
                    "projected_from_n": prev[0]})
        if proj > budget:
            log("POT Monge gap n=%d: not run (projected %.3g s > %g s)"
                % (n, proj, budget))
            return out
    del M
    num_iter_max = min(max_iter, max(10, int(budget / per_iter) // 10 * 10))
    log("POT Monge gap n=%d reg=%g stopThr=%g: ot.dist %.3g s, %.3g "
        "s/iteration (probe), numItermax=%d" % (n, reg, stop_thr, t_dist,
                                                 per_iter, num_iter_max))
    disp = float(np.mean(np.sum((x - y) ** 2, axis=1)))
    best = None
    for r in range(3):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            M = ot.dist(x, y)
            t1 = time.perf_counter()
            P, lg = ot.sinkhorn(a, a, M, reg, method="sinkhorn_log",
                                numItermax=num_iter_max, stopThr=stop_thr,
                                log=True)
            t2 = time.perf_counter()
            W = float(np.sum(P * M) + reg * np.sum(xlogy(P, P)))
            gap = float(np.mean(np.sum((x - y) ** 2, axis=1))) - W
            t3 = time.perf_counter()
        total = t3 - t0
        if best is None or total < best["time_s"]:
            l1, l2 = marginal_errors(P, a, a)
            iters = int(lg["niter"]) + 1
            converged = len(lg["err"]) > 0 and lg["err"][-1] < stop_thr
            best = {"time_s": total, "dist_s": t1 - t0,
                    "sinkhorn_s": t2 - t1, "w_s": t3 - t2,
                    "iterations": iters, "converged": bool(converged),
                    "capped": bool(not converged and iters >= num_iter_max
                                   and num_iter_max < max_iter),
                    "numItermax": num_iter_max,
                    "last_err_l2": float(lg["err"][-1]) if lg["err"]
                    else None,
                    "marginal_error_l1": l1, "col_error_l2": l2,
                    "transport_cost": float(np.sum(P * M)),
                    "ot_cost": W, "displacement_cost": disp,
                    "monge_gap": gap,
                    "warnings": sorted(set(str(w.message) for w in caught)),
                    "repeats": r + 1}
        del M, P, lg
        if total > 20.0:
            break
    out.update(best)
    out["ran"] = True
    return out


def bench_mongegap(exe, root, sizes, fit_steps, budget, quick, raw):
    dim = MG_DIM
    t1 = Table("Entropic Monge gap to POT's marginal error: d=%d, reg=%g x "
               "mean cost" % (dim, MG_REL_REG),
               ["n", "reg", "POT its", "POT s", "POT sinkhorn s",
                "POT L1 err", "otkit its/stages", "otkit s", "otkit L1 err",
                "otkit status", "otkit threads",
                "POT/otkit (target >= %g)" % MG_TARGET, "gap POT",
                "gap otkit", "gap rel. diff", "otkit s with grad",
                "otkit its no eps-scaling"],
               ["Problems: x ~ N(0, I_%d) (n points, seeded), y_i = T(x_i) "
                "= x_i + 0.5 tanh(x_i W) with one fixed W (W_kl ~ N(0, "
                "1/%d), seeded); squared Euclidean cost, uniform weights; "
                "reg = %g x the mean of ||x_i - y_j||^2 over all pairs "
                "(computed by the driver in closed form), passed to both as "
                "an absolute value." % (dim, dim, MG_REL_REG),
                "Quantity: gap = mean_i ||x_i - y_i||^2 - W_eps, W_eps = "
                "<P, C> + reg sum P log P at the Sinkhorn plan P (the "
                "entropic estimator of otkit/mongegap.h; about reg log n for "
                "a map this close to optimal, so the gap is dominated by "
                "the entropy at this reg).",
                "Protocol 'reaching the same marginal error': POT runs "
                "first: M = ot.dist(x, y); P = ot.sinkhorn(a, a, M, reg, "
                "method='sinkhorn_log', stopThr=%g) (L2 of the column "
                "marginal, checked every 10 its); W = sum(P*M) + reg * "
                "sum(xlogy(P, P)); its L1 error (both marginals) is measured "
                "on P, then otkit runs otk_monge_gap(grad = NULL) with "
                "settings.reg = reg, settings.sinkhorn.tol = that error, "
                "max_iter %d, defaults otherwise (costs on the fly, no "
                "n x n matrix; log domain; eps scaling auto)."
                % (MG_STOP_THR, MG_MAX_ITER),
                "Times: POT time.perf_counter() around the three lines "
                "above (ot.dist + sinkhorn_log + W), best of 3 (one run if "
                "over 20 s); 'POT sinkhorn s' is the sinkhorn_log call "
                "alone. otkit: info.outcome.time_s of otk_monge_gap, best of 3; "
                "'with grad' also returns dM/dy (one more pass over the "
                "pairs, single-threaded).",
                "otkit L1 err, stages and 'its no eps-scaling' come from an "
                "untimed otk_sinkhorn on the same point-cloud cost with the "
                "same settings (same iterations as the gap's solve), and "
                "one with eps_scaling = 0. gap rel. diff: |gap_otkit - "
                "gap_POT| / gap_POT."])
    t2 = Table("Monge-gap map fitting (otk_mg_fit): training speed at batch "
               "%d" % MG_FIT_BATCH,
               ["d", "batch", "hidden", "steps", "otkit s", "steps/s",
                "Sinkhorn its/step", "fit reg", "gap reg", "last loss",
                "last gap", "status", "gap solve after fit"],
               ["otk_mg_fit of T(x) = x + MLP(x), hidden [64, 64], GELU, "
                "LeCun init (seed 0), lambda = 1, %s steps, batch %d, "
                "default fit settings otherwise (otk_mg_fit_default_settings: "
                "Adam lr 3e-3 with the cosine schedule; gap reg 0.01 x mean "
                "cost and fitting reg 0.3 x mean target cost, fixed from the "
                "first batches; inner solves warm-started, tol 1e-3, "
                "max_iter 1000, checked every 2). Source: %d x batch "
                "points of N(0, I_d); target: as many of N(1, diag(s_k^2)), "
                "s_k = 0.5 + k/d (seeded, bench-mongegap fit)."
                % (fit_steps, MG_FIT_BATCH, 4),
                "steps/s = steps / info.outcome.time_s, %s from the same initial "
                "map. A step solves four %d x %d problems (the debiased "
                "divergence's three, the gap's one) and back-propagates; "
                "'Sinkhorn its/step' is info.sinkhorn_iterations / steps, "
                "over the four." % ("one run" if quick else "best of 3 runs",
                                    MG_FIT_BATCH, MG_FIT_BATCH),
                "gap solve after fit: an untimed otk_monge_gap on the first "
                "%d source points and their images under the fitted map, "
                "with the fit's gap reg and Sinkhorn settings: its status "
                "and iterations. The fit's own status is max_iter when inner "
                "solves of some training steps stopped at their cap "
                "(info.inner_not_converged)." % MG_FIT_BATCH])
    prev, last_err = None, None
    for n in sizes:
        d, x, y, reg = mongegap_problem(root, n, dim, SEED)
        pot = pot_monge_gap(x, y, reg, MG_STOP_THR, MG_MAX_ITER, budget, prev)
        tag = "n=%d" % n
        if pot["ran"]:
            tol = pot["marginal_error_l1"]
            prev = (n, pot["iterations"])
            last_err = (n, tol)
        else:
            tol = last_err[1]
        recs = run_otkit(exe, d, "gap", [n, dim, repr(reg), repr(tol)],
                         repeats=3)
        gaps = [r for r in recs if r["mode"] == "gap"]
        plain = [r for r in gaps if not r["with_grad"]]
        withg = [r for r in gaps if r["with_grad"]]
        chk = next(r for r in recs if r["mode"] == "gap-check")
        chk0 = next(r for r in recs if r["mode"] == "gap-check-noscaling")
        raw.append({"section": "mongegap", "n": n, "d": dim, "reg": reg,
                    "tol": tol, "pot": pot, "otkit": recs})
        rec = min(plain, key=lambda r: r["time_s"])
        recg = min(withg, key=lambda r: r["time_s"])
        both = pot["ran"]
        if both:
            pot_cells = [pot["iterations"], pot["time_s"], pot["sinkhorn_s"],
                         pot["marginal_error_l1"]]
        else:
            pot_cells = ["not run (projected %.3g s)" % pot["projected_s"],
                         None, None, None]
        t1.add(n, reg, *pot_cells,
               "%d/%d" % (chk["iterations"], chk["stages"]), rec["time_s"],
               chk["marginal_error"], rec["status"], otkit_threads(n, n),
               pot["time_s"] / rec["time_s"] if both else None,
               pot["monge_gap"] if both else None, rec["monge_gap"],
               rel_diff(rec["monge_gap"], pot["monge_gap"]) if both else None,
               recg["time_s"], chk0["iterations"])
        if not both:
            t1.notes.append(
                "%s: POT not run: projected %.3g s (ot.dist %.3g s + %.3g "
                "s/iteration probed x %d iterations of n=%d) > %g s budget; "
                "otkit ran to POT's L1 error at n=%d (%.3g)" % (
                    tag, pot["projected_s"], pot["probe_dist_s"],
                    pot["probe_time_per_iter_s"], pot["projected_iterations"],
                    pot["projected_from_n"], budget, last_err[0],
                    last_err[1]))
        else:
            if pot["capped"]:
                t1.notes.append("%s: POT capped at numItermax=%d (~%g s "
                                "budget); its time is a lower bound"
                                % (tag, pot["numItermax"], budget))
            elif not pot["converged"]:
                t1.notes.append("%s: POT did not reach stopThr in %d its"
                                % (tag, pot["iterations"]))
            if pot["warnings"]:
                t1.notes.append("%s: POT warnings: %s" % (
                    tag, "; ".join(pot["warnings"])))
        if rec["status"] != "converged":
            t1.notes.append("%s: otkit status %s" % (tag, rec["status"]))
        if len({(r["iterations"], r["monge_gap"]) for r in gaps}) > 1 or \
                chk["iterations"] != rec["iterations"]:
            t1.notes.append("%s: otkit runs differ (iterations/gap)" % tag)
        if rel_diff(chk["monge_gap"], rec["monge_gap"]) is None or \
                rel_diff(chk["monge_gap"], rec["monge_gap"]) > 1e-12:
            t1.notes.append("%s: otk_sinkhorn's objective gives gap %.17g, "
                            "otk_monge_gap %.17g" % (tag, chk["monge_gap"],
                                                     rec["monge_gap"]))
        del x, y
    t3 = Table("Monge-gap map fitting: time to L2-UVP <= %g%% at d = %d "
               "(default fit, 2048 samples)" % (MG_UVP_TARGET, MG_UVP_DIM),
               ["d", "steps", "batch", "reached at step", "fit s to target",
                "fit s (all steps)", "final L2-UVP %", "Sinkhorn its/step",
                "status"],
               ["bench-mongegap fit-uvp: otk_mg_fit with "
                "otk_mg_fit_default_settings (hidden [64, 64], lambda 1) on "
                "2048 samples of N(0, diag(a_k^2)) to N(1, diag(c_k^2)), "
                "a_k = 0.5 + k/d, c_k = 1.5 - k/(2d) (optimal map "
                "coordinatewise); L2-UVP on 2048 held-out points every 25 "
                "steps, its evaluation time subtracted from the fit's "
                "(info.outcome.time_s, wall clock); %s." % (
                    "one run" if quick else "best of 3 runs")])
    if quick:  # a full default fit: not a smoke test
        t3.notes.append("not run with --quick")
    else:
        recs = run_otkit(exe, None, "fit-uvp", [MG_UVP_DIM, MG_UVP_TARGET],
                         repeats=3)
        raw.append({"section": "mongegap-fit-uvp", "otkit": recs})
        rec = min(recs, key=lambda r: r["time_s"])
        t3.add(rec["d"], rec["steps"], rec["batch"],
               rec["reached_step"] or "not reached", rec["reached_s"],
               rec["time_s"], rec["final_uvp"],
               rec["sinkhorn_iterations"] / rec["steps"], rec["status"])
    for dim_fit in MG_FIT_DIMS:
        recs = run_otkit(exe, None, "fit", [dim_fit, fit_steps, MG_FIT_BATCH],
                         repeats=1 if quick else 3)
        raw.append({"section": "mongegap-fit", "d": dim_fit,
                    "steps": fit_steps, "batch": MG_FIT_BATCH,
                    "otkit": recs})
        rec = min(recs, key=lambda r: r["time_s"])
        t2.add(dim_fit, rec["batch"], "64,64", rec["steps"], rec["time_s"],
               rec["steps_per_s"], rec["iterations_per_step"],
               rec["fit_reg"], rec["gap_reg"], rec["loss"],
               rec["monge_gap"], rec["status"],
               "%s, %d its" % (rec["check_gap_status"],
                               rec["check_gap_iterations"]))
        tag = "d=%d" % dim_fit
        if rec["check_gap_status"] != "converged":
            t2.notes.append("%s: the gap solve on the fitted map stops at "
                            "%s after %d iterations (tol %g): the "
                            "training's gap solves likely do too, and "
                            "dominate its time" % (
                                tag, rec["check_gap_status"],
                                rec["check_gap_iterations"], rec["tol"]))
        if len({(r["steps"], r["sinkhorn_iterations"], r["loss"])
                for r in recs}) > 1:
            t2.notes.append("%s: otkit runs differ (iterations/loss)" % tag)
    return [t1, t2, t3, fit_cpu_table(exe, quick)]


MG_CPU_DIMS = (4, 8)        # the default-fit CPU runs (target <= 60 s)
MG_CPU_TARGET = 60.0


def fit_cpu_table(exe, quick):
    """CPU time (user + sys of the whole process, one run each, in order)
    of a default fit on 2048 samples (bench-mongegap fit-uvp's problem)."""
    t = Table("Monge-gap map fitting: CPU time of a default fit on 2048 "
              "samples (target <= %g s at d <= 8)" % MG_CPU_TARGET,
              ["d", "steps", "CPU s (user + sys)", "user s", "sys s",
               "wall s", "final L2-UVP %", "status", "CPU <= target"],
              ["bench-mongegap --repeats 1 fit-uvp D 0: otk_mg_fit with "
               "otk_mg_fit_default_settings (default threads) on the "
               "fit-uvp problem above; CPU from getrusage of the child "
               "process, so it includes the L2-UVP evaluations every 25 "
               "steps (an upper bound on the fit's own CPU)."])
    if quick:
        t.notes.append("not run with --quick")
        return t
    import resource
    for dim in MG_CPU_DIMS:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.perf_counter()
        recs = run_otkit(exe, None, "fit-uvp", [dim, 0.0], repeats=1)
        wall = time.perf_counter() - w0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        user = after.ru_utime - before.ru_utime
        sys_s = after.ru_stime - before.ru_stime
        rec = recs[0]
        t.add(dim, rec["steps"], user + sys_s, user, sys_s, wall,
              rec["final_uvp"], rec["status"],
              "yes" if user + sys_s <= MG_CPU_TARGET else "no")
    return t


# ------------------------------------------------------ bilevel (MAID) --

MAID_IMAGES = [os.path.join("examples", "data", f)
               for f in ("camera.pgm", "chelsea.ppm", "coffee.ppm")]
MAID_DATA = os.path.join("examples", "data", "digits.csv")
MAID_SEED = 0             # image noise, and the logreg train/validation split
MAID_NOISE = 0.1
MAID_SWEEP = ("1", "0.1", "1e-3", "1e-5")  # eps0 = delta0 of the MAID runs
MAID_HOAG = ("hoag-geometric", "hoag-quadratic", "hoag-cubic")
MAID_FIXED = ("fixed-eps0.1", "fixed-eps1e-3", "fixed-eps1e-5")
MAID_TARGETS = ("90%", "best+1%", "best+0.1%")
MAID_GATED = ("best+1%", "best+0.1%")  # the targets of the verdict
MAID_GATED_PROBLEMS = ("tv2d", "logreg", "foe")


def maid_sweep_names(mode):
    """The run names of one error mode over the eps0 sweep (bench_maid.c):
    'maid' / 'certified' is eps0 = 0.1, the others carry their eps0."""
    base = "maid" if mode == "practical" else "certified"
    return [base if e == "0.1" else "%s-eps%s" % (base, e)
            for e in MAID_SWEEP]


MAID_METHODS = tuple(maid_sweep_names("practical") +
                     maid_sweep_names("certified")) + MAID_FIXED + MAID_HOAG


def maid_reach_cell(rec):
    """LL+CG iterations at the first trace row under the target whose
    true f (a tight re-solve) confirms it."""
    if rec is None or not rec["reached"]:
        return "not reached"
    return str(rec["lower_plus_cg"])


def maid_cost(reach, target, method):
    r = reach.get((target, method))
    return r["lower_plus_cg"] if r and r["reached"] else None


def maid_best_hoag(reach, target):
    """(name, cost) of the cheapest HOAG schedule to the target, or
    (None, None) when none reaches it."""
    best = (None, None)
    for m in MAID_HOAG:
        c = maid_cost(reach, target, m)
        if c is not None and (best[1] is None or c < best[1]):
            best = (m, c)
    return best


def maid_problems(cfg, repo):
    images = [os.path.join(repo, f) for f in MAID_IMAGES]
    names = ", ".join(os.path.basename(f) for f in MAID_IMAGES)
    return [
        ("tv2d", "%s, centre squares averaged to %dx%d, noise %g"
         % (names, cfg["size"], cfg["size"], MAID_NOISE), cfg["tv_budget"],
         ["tv2d", cfg["size"], MAID_NOISE] + images),
        ("foe", "%s, centre squares averaged to %dx%d, noise %g; 8 filters "
         "5x5" % (names, cfg["foe_size"], cfg["foe_size"], MAID_NOISE),
         cfg["foe_budget"],
         ["--filters", 8, "--filter-size", 5, "foe", cfg["foe_size"],
          MAID_NOISE] + images),
        ("logreg", "digits.csv, its first %d rows (64 features, 10 classes), "
         "half train, half validation" % cfg["lr_rows"], cfg["lr_budget"],
         ["--lr-rows", cfg["lr_rows"], "logreg", 0,
          os.path.join(repo, MAID_DATA)]),
        ("quadratic", "the conditioned family, 50 x 4, condition number 200",
         cfg["q_budget"], ["quadratic", 50, 4, 200]),
    ]


def bench_maid(exe, cfg, raw):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    common = ["--seed", MAID_SEED, "--max-iter", cfg["max_iter"],
              "--caps", cfg["caps"]]
    verdict = Table(
        "Bilevel: LL+CG iterations to reach a target, default MAID against "
        "the best HOAG schedule",
        ["problem", "target", "target loss", "maid (default)",
         "best HOAG", "best HOAG: LL+CG", "maid <= best HOAG",
         "certified (eps0 0.1)"],
        ["Cells: cumulative lower-level (FISTA, or L-BFGS where mu is below "
         "ll_mu_floor: each evaluation of h and grad h) + CG iterations at "
         "the end "
         "of the first outer iteration whose trace upper loss is <= the "
         "target and whose true f at that theta (a tight re-solve, lower "
         "level to 1e-6, untimed) confirms it ('not reached': no such row "
         "within the budget). Targets, the same for every run of a "
         "problem: f_best = the lowest true f at the final theta of all "
         "fourteen runs, f0 = f at theta0; '90%' = f_best + 0.1 (f0 - "
         "f_best), 'best+1%' = 1.01 f_best, 'best+0.1%' = 1.001 f_best.",
         "The target of the practical mode: 'maid <= best HOAG' at best+1% "
         "and best+0.1% on tv2d, logreg and foe (the 90% row and the "
         "quadratic problem are reported, not gated)."])
    sweep = Table(
        "Bilevel: final true loss over the eps0 = delta0 sweep",
        ["problem", "mode"] + ["eps0 %s" % e for e in MAID_SWEEP] +
        ["spread %", "within 0.5%"],
        ["Cells: f at the final theta (tight re-solve) of MAID with the "
         "default settings and eps0 = delta0 as given, at the problem's "
         "budget. spread = (max - min) / min over the four runs."])
    t_time = Table(
        "Bilevel: time per lower-level/CG iteration against one pass over "
        "the data",
        ["problem", "method", "LL+CG its", "us/it wall", "us/it CPU",
         "it/pass", "grad calls/LL it", "hvp calls/CG it", "% ll_grad",
         "% ll_hvp", "% upper", "% cross", "% rest", "load"],
        ["us/it = info.outcome.time_s (wall) or the process CPU time of the "
         "otk_bilevel_solve call, divided by its LL+CG iterations; it/pass "
         "= us/it wall / the best time of one pass over the data (table "
         "below). Wall-clock times are inflated by other work on the "
         "machine (load = 1-minute load average at the start of the run; "
         "2 logical CPUs); CPU time is less so.",
         "Every problem callback was wrapped in a timer (two "
         "clock_gettime calls, ~50 ns each call): the '%' columns are its "
         "share of the run's wall time (ll_grad includes ll_value, which "
         "only the L-BFGS lower solver calls; cross = cross_t + cross_norm + "
         "lipschitz + ll_constants; rest = the solver's own vector "
         "operations, the timer and anything else). 'grad calls/LL it' > 1 "
         "shows the lower-level solves that end without iterating (a "
         "certified-on-entry check costs one ll_grad call and counts 0 "
         "iterations; so do the line-search trials) and CG's 2 extra "
         "matrix-vector products per solve (A q0 with q0 = 0, and the "
         "final true residual)."])
    t_kern = Table(
        "Bilevel: one callback call against one pass over the data",
        ["problem", "n", "p", "one pass over the data", "pass us",
         "ll_grad us (median)", "ll_grad/pass", "ll_hvp us (median)",
         "ll_hvp/pass", "upper us", "load"],
        ["Best (and median) of up to 2000 calls or about 0.2 s of calls, "
         "after one untimed call, at the final theta and x of the 'maid' "
         "run. tv2d pass: a sum of the n noisy pixels (8 accumulators, in "
         "cache). logreg pass: one cblas_dgemm X W (n_train x features "
         "times features x classes, OpenBLAS). logreg ll_grad is timed "
         "alternating between two W so that its softmax cache misses on "
         "every call (as in FISTA); ll_hvp at one W, cache warm (as in "
         "CG)."])
    tables = []
    for name, desc, budget, args in maid_problems(cfg, repo):
        recs = run_maid_bench(exe, common + ["--budget", budget] + args)
        raw.append({"section": "maid", "problem": name, "budget": budget,
                    "records": recs})
        inst = next(r for r in recs if r["mode"] == "instance")
        runs = {r["method"]: r for r in recs if r["mode"] == "run"}
        kern = next((r for r in recs if r["mode"] == "kernels"), None)
        reach = {(r["target_name"], r["method"]): r for r in recs
                 if r["mode"] == "reach"}
        first = reach[(MAID_TARGETS[0], "maid")]
        t = Table(
            "Bilevel %s: %s; budget %d LL+CG iterations" % (name, desc,
                                                           budget),
            ["run", "mode", "eps0", "status", "outer its (accepted)",
             "f at final theta", "LL its", "CG its", "time s"] +
            ["%s: LL+CG" % tn for tn in MAID_TARGETS],
            ["n = %d lower-level variables, p = %d hyperparameters; seed %d; "
             "f0 = %.6g, f_best = %.6g (%s); targets: %s." % (
                 inst["n"], inst["p"], MAID_SEED, first["f0"],
                 first["f_best"], first["best_method"], ", ".join(
                     "%s = %.6g" % (tn, reach[(tn, "maid")]["target"])
                     for tn in MAID_TARGETS)),
             "Every run: otk_bilevel_solve from the instance's theta0, x0 "
             "with the default settings except budget %d, max_iter %d, "
             "ll_max_iter = cg_max_iter = %d and the run's method, "
             "error_mode and eps0 = delta0 (HOAG: eps0 = 0.1). One run each "
             "(iteration counts are deterministic; times are not)." % (
                 budget, cfg["max_iter"], cfg["caps"])])
        for m in MAID_METHODS:
            r = runs.get(m)
            if r is None:
                continue
            status = r["status"]
            if r["cancelled_stuck"]:
                status = "stopped: stuck"
            elif r.get("cause"):
                status += " (%s)" % r["cause"]
            cells = [maid_reach_cell(reach.get((tn, m)))
                     for tn in MAID_TARGETS]
            t.add(m, r["error_mode"] if not m.startswith("hoag") else "-",
                  r["eps0"], status, "%d (%d)" % (r["iterations"],
                                                  r["accepted"]),
                  r["f_tight"], r["ll_iterations"], r["cg_iterations"],
                  r["time_s"], *cells)
            if kern is None:
                continue
            cost = r["ll_iterations"] + r["cg_iterations"]
            cs = r["callback_s"]
            calls = r["calls"]
            wall = r["time_s"]
            cross = (cs["cross_t"] + cs["cross_norm"] + cs["lipschitz"] +
                     cs["ll_constants"])
            # ll_value: the L-BFGS lower solver's, with ll_grad's share
            grad_s = cs["ll_grad"] + cs.get("ll_value", 0.0)
            rest = wall - grad_s - cs["ll_hvp"] - cs["upper"] - cross
            t_time.add(name, m, cost, ms(r["time_per_iteration_s"]) * 1e3
                       if cost else None,
                       ms(r["cpu_per_iteration_s"]) * 1e3 if cost else None,
                       r["time_per_iteration_s"] / kern["pass_s"]
                       if cost else None,
                       calls["ll_grad"] / r["ll_iterations"]
                       if r["ll_iterations"] else None,
                       calls["ll_hvp"] / r["cg_iterations"]
                       if r["cg_iterations"] else None,
                       100 * grad_s / wall, 100 * cs["ll_hvp"] / wall,
                       100 * cs["upper"] / wall, 100 * cross / wall,
                       100 * rest / wall, r["loadavg_start"])
        tables.append(t)
        for tn in MAID_TARGETS:
            hoag, hcost = maid_best_hoag(reach, tn)
            mine = maid_cost(reach, tn, "maid")
            ok = mine is not None and (hcost is None or mine <= hcost)
            gated = tn in MAID_GATED and name in MAID_GATED_PROBLEMS
            verdict.add(name, tn, reach[(tn, "maid")]["target"],
                        maid_reach_cell(reach.get((tn, "maid"))),
                        hoag or "none", hcost if hcost is not None
                        else "not reached",
                        ("yes" if ok else "no") + ("" if gated else
                                                   " (not gated)"),
                        maid_reach_cell(reach.get((tn, "certified"))))
        for mode in ("practical", "certified"):
            finals = [runs[m]["f_tight"] if m in runs else None
                      for m in maid_sweep_names(mode)]
            known = [f for f in finals if f is not None]
            spread = (100 * (max(known) - min(known)) / min(known)
                      if len(known) == len(finals) else None)
            sweep.add(name, mode, *finals, spread,
                      None if spread is None else
                      ("yes" if spread <= 0.5 else "no"))
        if kern is not None:
            t_kern.add(name, kern["n"], kern["p"], kern["pass"],
                       ms(kern["pass_s"]) * 1e3,
                       "%s (%s)" % (fmt(ms(kern["ll_grad_s"]) * 1e3),
                                    fmt(ms(kern["ll_grad_median_s"]) * 1e3)),
                       kern["ll_grad_per_pass"],
                       "%s (%s)" % (fmt(ms(kern["ll_hvp_s"]) * 1e3),
                                    fmt(ms(kern["ll_hvp_median_s"]) * 1e3)),
                       kern["ll_hvp_per_pass"], ms(kern["upper_s"]) * 1e3,
                       kern["loadavg_start"])
    return [verdict, sweep] + tables + [t_time, t_kern]


def run_maid_bench(exe, args):
    cmd = [exe] + [str(a) for a in args]
    log("otkit: " + " ".join(shlex.quote(c) for c in cmd))
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# ---------------------------------------------------------------- main --


# ------------------------------------------------- routing and finish --

ROUTING = dict(B=1024, n=64, m=8, ks=[8, 16], reg=0.1, dim=16, seed=7)
FINISH = dict(n=40, m=30, ks=[2, 3, 5], reg=1.0)


def routing_costs(B, n, m, dim, seed):
    """B stacked n x m routing costs: minus <token, expert> / dim."""
    rng = np.random.default_rng(seed)
    tok = rng.standard_normal((B, n, dim))
    exp = rng.standard_normal((B, dim, m))
    return -(tok @ exp) / dim


class TopKSquaredL2:
    """ot.smooth's regularizer interface for the sparsity-constrained
    semi-dual (POT 0.8 has no such class): per column, the k largest
    entries projected onto the simplex of mass b_j, zeros elsewhere."""

    def __init__(self, gamma, k):
        self.gamma, self.k = gamma, k

    def max_Omega(self, X, b):
        n, m = X.shape
        k = min(self.k, n)
        idx = np.argpartition(-X, k - 1, axis=0)[:k]
        cols = np.arange(m)[None, :]
        top = X[idx, cols] / (b * self.gamma)
        G = np.zeros_like(X)
        G[idx, cols] = ot.smooth.projection_simplex(top, axis=0)
        val = np.sum(X * G, axis=0) - 0.5 * self.gamma * b * np.sum(G * G,
                                                                    axis=0)
        return val, G

    def Omega(self, T):
        return 0.5 * self.gamma * np.sum(T ** 2)


def pot_routing(Cs, k, reg):
    """ot.smooth.solve_semi_dual with TopKSquaredL2 in a loop over the
    problems: problems per second and the worst L1 marginal error."""
    B, n, m = Cs.shape
    a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    regul = TopKSquaredL2(reg, k)
    worst = 0.0
    t0 = time.perf_counter()
    for C in Cs:
        alpha, _ = ot.smooth.solve_semi_dual(a, b, C, regul, tol=1e-9)
        P = ot.smooth.get_plan_from_semi_dual(alpha, b, C, regul)
        worst = max(worst, marginal_errors(P, a, b)[0])
    return B / (time.perf_counter() - t0), worst


def bench_routing(exe, root, quick, raw):
    c = dict(ROUTING, B=64) if quick else ROUTING
    Cs = routing_costs(c["B"], c["n"], c["m"], c["dim"], c["seed"])
    d = os.path.join(root, "routing")
    os.makedirs(d, exist_ok=True)
    write_raw(d, "C.bin", Cs)
    t = Table("Token-to-expert routing: %d problems of %d tokens x %d "
              "experts, otk_sparse_batch vs a loop vs POT"
              % (c["B"], c["n"], c["m"]),
              ["k", "batch problems/s", "loop problems/s", "batch/loop",
               "POT problems/s", "batch/POT", "otkit status (batch, loop)",
               "otkit iterations (batch)", "POT worst L1 err"],
              ["Costs: minus <token, expert> / %d of standard normal "
               "%d-dimensional features (numpy seed %d), uniform weights, "
               "reg = %g, at most k tokens per expert (column)."
               % (c["dim"], c["dim"], c["seed"], c["reg"]),
               "otkit: `bench-smooth --data DIR --reg %g routing B N M K`, "
               "default settings (tol 1e-9, certified), threads = 1 for "
               "both; batch = one otk_sparse_batch call, loop = one "
               "otk_sparse_solve per problem in one workspace; best of 3."
               % c["reg"],
               "POT: ot.smooth.solve_semi_dual(tol=1e-9) with a top-k "
               "simplex projection in ot.smooth's regularizer interface "
               "(POT 0.8 has none), then get_plan_from_semi_dual, in a "
               "Python loop over the same problems; one run."])
    for k in c["ks"]:
        recs = run_otkit(exe, d, "routing", [c["B"], c["n"], c["m"], k],
                         options=("--reg", c["reg"]))
        best = max(recs, key=lambda r: r["batch_problems_per_s"])
        loop = max(r["loop_problems_per_s"] for r in recs)
        pps, perr = pot_routing(Cs, k, c["reg"])
        raw.append({"section": "routing", "k": k, "otkit": recs,
                    "pot_problems_per_s": pps, "pot_worst_error": perr})
        t.add(k, best["batch_problems_per_s"], loop,
              ratio(best["batch_problems_per_s"], loop), pps,
              ratio(best["batch_problems_per_s"], pps),
              "%s, %s" % (best["status_batch"], best["status_loop"]),
              best["iterations_batch"], perr)
    return t


def bench_finish(exe, raw):
    c = FINISH
    t = Table("The certified solve against its L-BFGS phase: otk_sparse "
              "on %d x %d point clouds" % (c["n"], c["m"]),
              ["formulation", "k", "status", "relative gap", "L1 err",
               "iterations", "L-BFGS iterations", "total s", "L-BFGS s",
               "total/L-BFGS", "target"],
              ["Problem: `bench-smooth --reg %g finish %d %d FORM K` "
               "(x ~ N(0, I_2), y ~ N(0, I_2) + 1, squared Euclidean cost, "
               "weights uniform in [0.5, 1.5] normalised), default settings "
               "(tol 1e-9), threads = 1; best of 3 by total time."
               % (c["reg"], c["n"], c["m"]),
               "L-BFGS s: the time of the last progress callback, which "
               "runs once per L-BFGS iteration: the L-BFGS run to its "
               "stall (what otk_sparse returned before the finish), inside "
               "the same solve (on these problems L-BFGS stalls before the "
               "hand-over to the finish fires, docs/quadratic.md: "
               "iterations - L-BFGS iterations are the Newton steps). "
               "target: total <= 2 x L-BFGS."])
    for form in ("semi-dual", "dual"):
        for k in c["ks"]:
            recs = run_otkit(exe, None, "finish", [c["n"], c["m"], form, k],
                             options=("--reg", c["reg"]))
            r = min(recs, key=lambda q: q["time_s"])
            raw.append({"section": "finish", "records": recs})
            q = ratio(r["time_s"], r["lbfgs_s"])
            t.add(form, k, r["status"], r["relative_gap"],
                  r["marginal_error"], r["iterations"],
                  r["lbfgs_iterations"], r["time_s"], r["lbfgs_s"], q,
                  "met" if q is not None and q <= 2.0 else "missed")
    return t


def main():
    args = parse_args()
    if args.pot_points_worker:
        pot_points_worker(args.pot_points_worker)
        return 0
    if args.threads is not None:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    global np, ot
    try:
        import numpy
        import ot as pot
    except ImportError as e:
        sys.exit("run_bench.py: %s; use /usr/bin/python3 with Debian's "
                 "python3-pot and python3-numpy" % e)
    np, ot = numpy, pot

    sections = args.sections
    sinkhorn_sections = sections & {"dense", "log", "e2e", "points"}
    sinkhorn_sections |= sections & {"throughput", "iterations"}
    exes = {}
    for name, needed in (("bench-sinkhorn", sinkhorn_sections),
                         ("bench-exact", "exact" in sections),
                         ("bench-threads", "threads" in sections),
                         ("bench-smooth",
                          bool(sections & {"smooth", "routing", "finish"})),
                         ("bench-mongegap", "mongegap" in sections),
                         ("bench-maid", "maid" in sections)):
        if not needed:
            continue
        path = os.path.join(args.build, "bench", name)
        if not os.access(path, os.X_OK):
            sys.exit("run_bench.py: %s not found; build it with `ninja -C %s`"
                     % (path, args.build))
        exes[name] = os.path.abspath(path)
    exe = exes.get("bench-sinkhorn")
    machine = machine_info(exe, args.build)

    if args.pot_budget is None:
        args.pot_budget = 30.0 if args.quick else 600.0
    if args.pot_points_budget is None:
        args.pot_points_budget = 30.0 if args.quick else 300.0
    if args.pot_smooth_budget is None:
        args.pot_smooth_budget = 30.0 if args.quick else 300.0
    if args.pot_mongegap_budget is None:
        args.pot_mongegap_budget = 30.0 if args.quick else 300.0
    if args.quick:
        cfg = dict(fixed=[200, 400], log_sizes=[300], e2e_n=300,
                   points=[1000, 2000], pot_points_n=1000,
                   exact=[100, 200], exact_points_n=200, smooth=[100, 200],
                   mongegap=[128, 256], mongegap_fit_steps=10,
                   maid=dict(size=32, tv_budget=2000, foe_size=16,
                             foe_budget=2000, lr_rows=200, lr_budget=3000,
                             q_budget=2000, max_iter=2000, caps=100000))
    else:
        cfg = dict(fixed=[1000, 2000, 4000], log_sizes=[1000, 2000],
                   e2e_n=1000, points=[20000, 50000], pot_points_n=20000,
                   exact=[500, 1000, 2000, 4000, 10000], exact_points_n=4000,
                   smooth=[500, 1000, 2000], mongegap=[1024, 4096, 8192],
                   mongegap_fit_steps=30,
                   maid=dict(size=64, tv_budget=8000, foe_size=32,
                             foe_budget=8000, lr_rows=600, lr_budget=20000,
                             q_budget=5000, max_iter=2000, caps=100000))

    raw = {"machine": machine, "argv": sys.argv, "quick": args.quick,
           "sections": [s for s in SECTIONS if s in sections], "results": []}
    t_start = time.perf_counter()
    tables = []
    with tempfile.TemporaryDirectory(prefix="otkit-bench-") as root:
        if exe is not None:  # the bandwidth only serves section "dense"
            membw = run_otkit(exe, None, "membw", [], repeats=1)[0]
            raw["membw"] = membw
            machine["membw_gbps"] = round(membw["gbps"], 2)
            machine["otkit_version"] = membw.get("otkit_version", "unknown")
            log("memory read bandwidth: %.1f GB/s" % membw["gbps"])
        if (machine["loadavg_start"] or 0.0) > 0.5:
            log("warning: load average %.2f: other work is running, timings "
                "will be noisy" % machine["loadavg_start"])
        if "dense" in sections:
            tables.append(bench_dense_fixed(exe, root, cfg["fixed"], 200,
                                            0.01, membw["gbps"],
                                            raw["results"]))
            print(tables[-1].text(), flush=True)
        if "log" in sections:
            tables.append(bench_log_tol(exe, root, cfg["log_sizes"], 0.01,
                                        1e-9, args.pot_budget,
                                        raw["results"]))
            print(tables[-1].text(), flush=True)
        if "e2e" in sections:
            tables.append(bench_e2e(exe, root, cfg["e2e_n"], 1e-3, 1e-6,
                                    args.pot_budget, raw["results"]))
            print(tables[-1].text(), flush=True)
        if "points" in sections:
            tables.append(bench_points(exe, root, cfg["points"], 3, 0.1, 1e-6,
                                       args.points_max_iter,
                                       cfg["pot_points_n"],
                                       args.pot_points_budget,
                                       raw["results"]))
            print(tables[-1].text(), flush=True)
        if "throughput" in sections:
            if args.quick:
                rows = [("points", 1000, 3, 0.1, 20),
                        ("points", 1000, 3, 1e-3, 20),
                        ("dense", 1000, 3, 0.1, 20)]
            else:
                # its: a few seconds of timed sweeps or more (at n = 100000
                # four of about 11 s each, idle); every row also pays a
                # set-up and first sweep of about 3 sweeps and a final pass
                # of about 2
                rows = [("points", 5000, 3, 0.1, 40),
                        ("points", 20000, 3, 0.1, 10),
                        ("points", 50000, 3, 0.1, 4),
                        ("points", 100000, 3, 0.1, 4),
                        ("points", 5000, 3, 1e-3, 40),
                        ("points", 20000, 3, 1e-3, 10),
                        ("points", 5000, 16, 0.1, 20),
                        ("dense", 2000, 3, 0.1, 100),
                        ("dense", 5000, 3, 0.1, 20)]
            tables.append(bench_throughput(exe, rows, raw["results"]))
            print(tables[-1].text(), flush=True)
        if "iterations" in sections:
            tables.append(bench_iterations(exe, 500 if args.quick else 2000,
                                           3, 0.1, 1e-9, 20000,
                                           raw["results"]))
            print(tables[-1].text(), flush=True)
        if "exact" in sections:
            tables.append(bench_exact(exes["bench-exact"],
                                      optional_exe(args.build, "bench-lemon"),
                                      root, cfg["exact"],
                                      cfg["exact_points_n"], raw["results"]))
            print(tables[-1].text(), flush=True)
            if "otkit_version" not in machine:
                rec = raw["results"][-1]["otkit"][0]
                machine["otkit_version"] = rec.get("otkit_version", "unknown")
        if "threads" in sections:
            tables.append(bench_threads(
                exes["bench-threads"],
                THREADS_QUICK_CASES if args.quick else THREADS_CASES,
                2 if args.quick else 3, raw["results"]))
            print(tables[-1].text(), flush=True)
        if "smooth" in sections:
            tables += bench_smooth(exes["bench-smooth"], root, cfg["smooth"],
                                   SMOOTH_REG, SMOOTH_STOP_THR,
                                   SMOOTH_MAX_ITER, args.pot_smooth_budget,
                                   raw["results"], machine)
            for t in tables[-2:]:
                print(t.text(), flush=True)
        if "routing" in sections:
            tables.append(bench_routing(exes["bench-smooth"], root,
                                        args.quick, raw["results"]))
            print(tables[-1].text(), flush=True)
        if "finish" in sections:
            tables.append(bench_finish(exes["bench-smooth"], raw["results"]))
            print(tables[-1].text(), flush=True)
        if "mongegap" in sections:
            tables += bench_mongegap(exes["bench-mongegap"], root,
                                     cfg["mongegap"],
                                     cfg["mongegap_fit_steps"],
                                     args.pot_mongegap_budget, args.quick,
                                     raw["results"])
            for t in tables[-2:]:
                print(t.text(), flush=True)
            if "otkit_version" not in machine:
                rec = raw["results"][-1]["otkit"][0]
                machine["otkit_version"] = rec.get("otkit_version", "unknown")
        if "maid" in sections:
            tables += bench_maid(exes["bench-maid"], cfg["maid"],
                                 raw["results"])
            for t in tables[-5:]:
                print(t.text(), flush=True)
            if "otkit_version" not in machine:
                rec = next(r for r in raw["results"][-1]["records"]
                           if r["mode"] == "run")
                machine["otkit_version"] = rec.get("otkit_version", "unknown")
    elapsed = time.perf_counter() - t_start
    machine["loadavg_end"] = loadavg()

    cmd = "/usr/bin/python3 bench/run_bench.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:])
    mline = ", ".join("%s: %s" % kv for kv in machine.items())
    print("Machine: " + mline)
    print("Command: %s (%.0f s)" % (cmd, elapsed))
    if args.json:
        raw["elapsed_s"] = elapsed
        with open(args.json, "w") as fp:
            json.dump(raw, fp, indent=1)
    if args.markdown:
        md = ["## Results%s (%s)" % (" (--quick smoke test)" if args.quick
                                     else "", machine["date"]), "",
              "Command: `%s` (%.0f s in all)." % (cmd, elapsed), "",
              "Machine:", ""]
        md += ["- %s: %s" % kv for kv in machine.items()]
        md.append("")
        for t in tables:
            md.append(t.markdown())
        with open(args.markdown, "w") as fp:
            fp.write("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
