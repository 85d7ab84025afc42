"""Thin wrappers of the C solvers: arrays in, arrays and info out. The
POT-named functions (bregman, lp, smooth, unbalanced) are built on these."""
import ctypes

import numpy as np

from . import _call, _lib

# otkit's argument names -> the Python ones, for error messages.
NAMES = {"cost.C": "M", "cost.x": "X_s", "cost.y": "X_t", "cost.n": "M",
         "cost.m": "M"}
METRICS = {"sqeuclidean": (0, 2.0), "euclidean": (1, 2.0),
           "cityblock": (2, 1.0)}

SINKHORN_NOT_CONVERGED = (
    "Sinkhorn did not converge. You might want to increase the number of "
    "iterations `numItermax` or the regularization parameter `reg`.")


class Prepared:
    """A problem's arrays and the C structs pointing at them (the arrays
    are kept alive here for the duration of the call)."""

    def __init__(self, a, b, M=None, X_s=None, X_t=None, metric=None,
                 reg=0.0):
        if M is not None:
            self.M = _lib.as_array(M, "M", 2)
            n, m = self.M.shape
            self.cost = _lib.Cost(n=n, m=m, C=_lib.ptr(self.M), scale=1.0)
        else:
            self.xs = _lib.as_array(X_s, "X_s", 2)
            self.xt = _lib.as_array(X_t, "X_t", 2)
            if self.xs.shape[1] != self.xt.shape[1]:
                raise ValueError(f"X_t: dimension {self.xt.shape[1]} but "
                                 f"X_s has {self.xs.shape[1]}")
            if metric not in METRICS:
                raise ValueError(f"metric: {metric!r} is not one of "
                                 f"{sorted(METRICS)}")
            code, p = METRICS[metric]
            n, m = self.xs.shape[0], self.xt.shape[0]
            self.cost = _lib.Cost(n=n, m=m, x=_lib.ptr(self.xs),
                                  y=_lib.ptr(self.xt), d=self.xs.shape[1],
                                  metric=code, p=p, scale=1.0)
        if n == 0 or m == 0:
            raise ValueError("M: the problem has no points")
        self.n, self.m = n, m
        self.a = _lib.weights(a, n, "a", "the cost's rows")
        self.b = _lib.weights(b, m, "b", "the cost's columns")
        try:
            reg = float(reg)
        except (TypeError, ValueError):
            raise ValueError(f"reg: {reg!r} is not a number") from None
        self.problem = _lib.Problem(cost=ctypes.pointer(self.cost),
                                    a=_lib.ptr(self.a), b=_lib.ptr(self.b),
                                    reg=reg)

    def outputs(self, plan=True):
        self.f = np.empty(self.n)
        self.g = np.empty(self.m)
        self.P = np.empty((self.n, self.m)) if plan else None
        self.solution = _lib.Solution(f=_lib.ptr(self.f), g=_lib.ptr(self.g),
                                      P=_lib.ptr(self.P))
        return ctypes.byref(self.solution)

    def weights_or_uniform(self):
        a = self.a if self.a is not None else np.full(self.n, 1.0 / self.n)
        b = self.b if self.b is not None else np.full(self.m, 1.0 / self.m)
        return a, b


def count(value, name):
    """A POT iteration budget as a size_t (None or inf: no limit)."""
    if value is None or value == float("inf"):
        return _lib.SIZE_MAX
    if int(value) != value or value < 1:
        raise ValueError(f"{name}: {value!r} is not a positive integer")
    return int(value)


def sinkhorn_settings(tol, max_iter, threads, tau=float("inf"),
                      domain=0, eps_scaling=-1, names=("stopThr",
                                                       "numItermax")):
    s = _lib.SinkhornSettings()
    _lib.lib.otk_sinkhorn_default_settings(ctypes.byref(s))
    s.tol = float(tol)
    s.max_iter = count(max_iter, names[1])
    s.tau_a = s.tau_b = float(tau)
    s.domain = domain
    s.eps_scaling = eps_scaling
    s.threads = int(threads)
    return s


def sinkhorn(prep, settings, progress=None, warn=True, plan=True,
             not_converged=SINKHORN_NOT_CONVERGED, names=None):
    """Runs otk_sinkhorn; returns (info, err list). prep gets f, g, P."""
    errors = []
    cb = _call.Callback(progress, errors)
    cb.install(settings)
    info = _lib.SinkhornInfo()
    solution = prep.outputs(plan)
    cb.run(_lib.lib.otk_sinkhorn, ctypes.byref(prep.problem),
           ctypes.byref(settings), solution, ctypes.byref(info))
    _call.check(info.outcome, {**NAMES, "settings.tol": "stopThr",
                               "settings.max_iter": "numItermax",
                               **(names or {})},
                not_converged, warn, stacklevel=4)
    return info, errors


def exact(prep, max_iter, progress=None, warn=True):
    s = _lib.ExactSettings()
    _lib.lib.otk_exact_default_settings(ctypes.byref(s))
    s.max_iter = count(max_iter, "numItermax")
    cb = _call.Callback(progress)
    cb.install(s)
    info = _lib.ExactInfo()
    solution = prep.outputs()
    cb.run(_lib.lib.otk_exact, ctypes.byref(prep.problem), ctypes.byref(s),
           solution, ctypes.byref(info))
    _call.check(info.outcome, {**NAMES, "settings.max_iter": "numItermax"},
                "numItermax reached before optimality. Try to increase "
                "numItermax.", warn, stacklevel=4)
    return info


def quadratic(prep, formulation, tol, max_iter, threads, k=None,
              progress=None, warn=True):
    """otk_quadratic (k None) or otk_sparse (at most k per column)."""
    s = _lib.QuadraticSettings()
    _lib.lib.otk_quadratic_default_settings(ctypes.byref(s))
    if formulation not in ("semi_dual", "dual"):
        raise ValueError(f"formulation: {formulation!r} is not 'dual' or "
                         "'semi_dual'")
    s.formulation = 1 if formulation == "dual" else 0
    s.tol = float(tol)
    s.max_iter = count(max_iter, "numItermax")
    s.threads = int(threads)
    cb = _call.Callback(progress)
    cb.install(s)
    info = _lib.QuadraticInfo()
    solution = prep.outputs()
    args = (ctypes.byref(prep.problem),)
    if k is None:
        cb.run(_lib.lib.otk_quadratic, *args, ctypes.byref(s), solution,
               ctypes.byref(info))
    else:
        if int(k) != k or k < 1:
            raise ValueError(f"k: {k!r} is not a positive integer")
        cb.run(_lib.lib.otk_sparse, *args, int(k), ctypes.byref(s),
               solution, ctypes.byref(info))
    _call.check(info.outcome, {**NAMES, "settings.tol": "stopThr",
                               "settings.max_iter": "numItermax"},
                "the smooth OT solver did not converge: increase "
                "numItermax or stopThr", warn, stacklevel=4)
    return info
