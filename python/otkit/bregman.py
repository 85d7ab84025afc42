"""Entropic OT under POT 0.8.2's names (ot.bregman)."""
import ctypes

import numpy as np

from . import _call, _lib, _solvers
from .utils import dist

# POT's methods -> (otkit domain, epsilon scaling), each POT's iteration:
# sinkhorn(_knopp) scales a kernel (otkit's scaling domain, which falls back
# to the log domain if the scalings stop being finite), sinkhorn_log is the
# log domain, sinkhorn_stabilized the automatic choice, and only
# sinkhorn_epsilon_scaling scales epsilon. All solve the same problem to
# the same tolerance, in POT's kind of iteration, which at moderate reg is
# also the fastest (docs/python.md).
METHODS = {"sinkhorn": (2, 0), "sinkhorn_knopp": (2, 0),
           "sinkhorn_log": (1, 0), "sinkhorn_stabilized": (0, 0),
           "sinkhorn_epsilon_scaling": (0, 1)}


def _settings(method, stopThr, numItermax, threads):
    if method not in METHODS:
        raise ValueError(f"method: {method!r} is not one of "
                         f"{sorted(METHODS)}")
    domain, eps = METHODS[method]
    return _solvers.sinkhorn_settings(stopThr, numItermax, threads,
                                      domain=domain, eps_scaling=eps)


def _log(prep, info, errors):
    """POT's log keys (u, v, log_u, log_v, alpha, beta, err, niter) and
    otkit's: f, g (otkit's potentials) and the info fields."""
    a, b = prep.weights_or_uniform()
    reg = prep.problem.reg
    with np.errstate(divide="ignore", over="ignore"):
        log_u = np.log(a) + prep.f / reg
        log_v = np.log(b) + prep.g / reg
        log = {"err": errors, "niter": info.iterations, "log_u": log_u,
               "log_v": log_v, "u": np.exp(log_u), "v": np.exp(log_v),
               "alpha": reg * log_u, "beta": reg * log_v,
               "f": prep.f, "g": prep.g}
    log.update(_lib.info_dict(info))
    return log


def sinkhorn(a, b, M, reg, method="sinkhorn", numItermax=1000, stopThr=1e-9,
             verbose=False, log=False, warn=True, threads=0, progress=None,
             **kwargs):
    """The entropic plan of POT's ot.sinkhorn (any method), or (plan, log)
    with log=True. threads: 0 the default, k > 0 k threads. progress: a
    function of a dict (solver, iteration, error, reg, objective,
    elapsed_s) called at each check; a true return (or an exception, which
    is re-raised) stops the solve."""
    prep = _solvers.Prepared(a, b, M=M, reg=reg)
    s = _settings(method, stopThr, numItermax, threads)
    info, errors = _solvers.sinkhorn(prep, s, _verbose(progress, verbose),
                                     warn)
    return (prep.P, _log(prep, info, errors)) if log else prep.P


def sinkhorn2(a, b, M, reg, method="sinkhorn", numItermax=1000,
              stopThr=1e-9, verbose=False, log=False, warn=False, threads=0,
              progress=None, **kwargs):
    """POT's ot.sinkhorn2: the transport cost <P, M> of the entropic plan
    (without the entropy term, as POT 0.8.2), or (cost, log)."""
    P, lg = sinkhorn(a, b, M, reg, method, numItermax, stopThr, verbose,
                     True, warn, threads, progress)
    value = lg["transport_cost"]
    return (value, lg) if log else value


def _verbose(progress, verbose):
    if not verbose:
        return progress

    def show(rec):
        print(f"{rec['iteration']:5d}|{rec['error']:8e}|")
        return progress(rec) if progress is not None else 0
    return show


def empirical_sinkhorn(X_s, X_t, reg, a=None, b=None, metric="sqeuclidean",
                       numIterMax=10000, stopThr=1e-9, isLazy=False,
                       batchSize=100, verbose=False, log=False, warn=True,
                       threads=0, progress=None, **kwargs):
    """POT's ot.bregman.empirical_sinkhorn: the plan between point clouds.
    As POT, isLazy=False forms the n x m cost matrix (utils.dist) and
    iterates as ot.sinkhorn does (a kernel, METHODS["sinkhorn"]); with
    isLazy=True otkit computes the costs on the fly (no n x m array;
    batchSize is accepted and not needed) and, as POT, returns the
    log-scalings (log u, log v) instead of the plan."""
    names = ("stopThr", "numIterMax")
    if isLazy:
        prep = _solvers.Prepared(a, b, X_s=X_s, X_t=X_t, metric=metric,
                                 reg=reg)
        s = _solvers.sinkhorn_settings(stopThr, numIterMax, threads,
                                       names=names)
    else:
        prep = _solvers.Prepared(a, b, M=dist(X_s, X_t, metric), reg=reg)
        domain, eps = METHODS["sinkhorn"]
        s = _solvers.sinkhorn_settings(stopThr, numIterMax, threads,
                                       domain=domain, eps_scaling=eps,
                                       names=names)
    info, errors = _solvers.sinkhorn(prep, s, _verbose(progress, verbose),
                                     warn, plan=not isLazy,
                                     names={"settings.max_iter":
                                            "numIterMax"})
    lg = _log(prep, info, errors)
    out = (lg["log_u"], lg["log_v"]) if isLazy else prep.P
    if log:
        return (*out, lg) if isLazy else (out, lg)
    return out


def empirical_sinkhorn2(X_s, X_t, reg, a=None, b=None, metric="sqeuclidean",
                        numIterMax=10000, stopThr=1e-9, isLazy=False,
                        batchSize=100, verbose=False, log=False, warn=True,
                        threads=0, progress=None, **kwargs):
    """POT's empirical_sinkhorn2: the transport cost <P, M>."""
    P, lg = empirical_sinkhorn(X_s, X_t, reg, a, b, metric, numIterMax,
                               stopThr, False, batchSize, verbose, True, warn,
                               threads, progress)
    return (lg["transport_cost"], lg) if log else lg["transport_cost"]


def empirical_sinkhorn_divergence(X_s, X_t, reg, a=None, b=None,
                                  metric="sqeuclidean", numIterMax=10000,
                                  stopThr=1e-9, verbose=False, log=False,
                                  warn=True, debiased=False, threads=0,
                                  progress=None, **kwargs):
    """The Sinkhorn divergence between point clouds.

    debiased=False (POT 0.8.2's definition, returned by default):
        max(0, W(a, b) - (W(a, a) + W(b, b)) / 2), W the transport costs
        <P, M> of the three entropic plans (no entropy terms).
    debiased=True (otkit's otk_sinkhorn_divergence): the same with the
        regularized objectives OT (with reg KL(P | a b^T)) in place of W,
        not clipped: nonnegative, zero for identical inputs.
    Both come from the same three solves. log=True adds a dict with both
    values and the three solves' info ('xy', 'xx', 'yy')."""
    prep = _solvers.Prepared(a, b, X_s=X_s, X_t=X_t, metric=metric, reg=reg)
    s = _solvers.sinkhorn_settings(stopThr, numIterMax, threads,
                                   names=("stopThr", "numIterMax"))
    cb = _call.Callback(_verbose(progress, verbose))
    cb.install(s)
    infos = (_lib.SinkhornInfo * 3)()
    value = ctypes.c_double()
    cb.run(_lib.lib.otk_sinkhorn_divergence, ctypes.byref(prep.problem),
           None, None, ctypes.byref(s), ctypes.byref(value), None, infos)
    worst = max((i.outcome for i in infos), key=lambda o: (o.status < 0,
                                                           o.status))
    if infos[0].outcome.status < 0:
        worst = infos[0].outcome
    _call.check(worst, {**_solvers.NAMES, "settings.tol": "stopThr",
                        "settings.max_iter": "numIterMax"},
                _solvers.SINKHORN_NOT_CONVERGED, warn)
    w = [i.transport_cost for i in infos]
    pot = max(0.0, w[0] - 0.5 * (w[1] + w[2]))
    result = value.value if debiased else pot
    if log:
        lg = {"divergence_pot": pot, "divergence_debiased": value.value,
              "xy": _lib.info_dict(infos[0]), "xx": _lib.info_dict(infos[1]),
              "yy": _lib.info_dict(infos[2])}
        return result, lg
    return result
