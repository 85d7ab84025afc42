"""Unbalanced entropic OT under POT 0.8.2's names (ot.unbalanced).

POT 0.8.2 solves  min <P, M> + reg sum P (log P - 1) + reg_m KL(P 1 | a)
+ reg_m KL(P^T 1 | b); otkit's entropy is relative to a b^T, so the call
is otkit's problem with the cost M + reg (log a_i + log b_j) and tau_a =
tau_b = reg_m (docs/entropic.md). Points of zero weight get zero rows or
columns, as in POT."""
import numpy as np

from . import _lib, _solvers


def _solve(a, b, M, reg, reg_m, numItermax, stopThr, threads, progress,
           warn):
    M = _lib.as_array(M, "M", 2)
    n, m = M.shape
    a = _lib.weights(a, n, "a", "M's rows")
    b = _lib.weights(b, m, "b", "M's columns")
    a = np.full(n, 1.0 / n) if a is None else a
    b = np.full(m, 1.0 / m) if b is None else b
    rows, cols = a > 0, b > 0
    try:
        reg = float(reg)
        tau = float(reg_m)
    except (TypeError, ValueError):
        raise ValueError("reg, reg_m: not numbers") from None
    if not rows.any() or not cols.any():
        raise ValueError("a, b: every weight is zero")
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = reg * (np.log(a[rows])[:, None] + np.log(b[cols])[None, :])
    sub = M[np.ix_(rows, cols)] + shift
    prep = _solvers.Prepared(a[rows], b[cols], M=sub, reg=reg)
    # POT's default method scales a kernel (bregman.METHODS["sinkhorn"])
    s = _solvers.sinkhorn_settings(stopThr, numItermax, threads, tau=tau,
                                   domain=2, eps_scaling=0)
    info, errors = _solvers.sinkhorn(prep, s, progress, warn,
                                     names={"settings.tau_a": "reg_m",
                                            "settings.tau_b": "reg_m"})
    P = np.zeros((n, m))
    P[np.ix_(rows, cols)] = prep.P
    logu = np.full(n, -np.inf)
    logv = np.full(m, -np.inf)
    logu[rows] = prep.f / reg
    logv[cols] = prep.g / reg
    log = {"err": errors, "niter": info.iterations, "logu": logu,
           "logv": logv, "transport_cost": float(np.sum(P * M))}
    log.update({k: v for k, v in _lib.info_dict(info).items()
                if k != "transport_cost"})
    return P, log


def sinkhorn_unbalanced(a, b, M, reg, reg_m, method="sinkhorn",
                        numItermax=1000, stopThr=1e-6, verbose=False,
                        log=False, threads=0, progress=None, warn=True,
                        **kwargs):
    """The plan of POT's ot.unbalanced.sinkhorn_unbalanced (any method:
    they solve one problem), or (plan, log) with log=True."""
    P, lg = _solve(a, b, M, reg, reg_m, numItermax, stopThr, threads,
                   progress, warn)
    return (P, lg) if log else P


def sinkhorn_unbalanced2(a, b, M, reg, reg_m, method="sinkhorn",
                         numItermax=1000, stopThr=1e-6, verbose=False,
                         log=False, threads=0, progress=None, warn=True,
                         **kwargs):
    """POT's sinkhorn_unbalanced2: <P, M> of that plan."""
    P, lg = _solve(a, b, M, reg, reg_m, numItermax, stopThr, threads,
                   progress, warn)
    return (lg["transport_cost"], lg) if log else lg["transport_cost"]
