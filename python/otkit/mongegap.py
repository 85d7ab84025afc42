"""otkit's Monge gap (Uscidda and Cuturi 2023; otkit/mongegap.h)."""
import ctypes

import numpy as np

from . import _call, _lib

METRICS = {"sqeuclidean": 0, "euclidean": 1, "pnorm": 2}


def monge_gap(x, y, reg=0.0, exact=False, metric="sqeuclidean", p=2.0,
              relative_reg=0.01, grad=False, stopThr=1e-9, numItermax=10000,
              threads=0, progress=None, log=False, warn=True):
    """The Monge gap of the pairs (x_i, y_i = T(x_i)), x and y n x d:
    M = (1/n) sum c(x_i, y_i) - W(x, y). exact=True uses the exact W,
    else the entropic one with reg (0: relative_reg times the mean cost).
    grad=True returns (M, dM/dy); log=True adds the info dict."""
    x = _lib.as_array(x, "x", 2)
    y = _lib.as_array(y, "y", 2)
    if x.shape != y.shape:
        raise ValueError(f"y: shape {y.shape} but x has {x.shape}")
    if metric not in METRICS:
        raise ValueError(f"metric: {metric!r} is not one of "
                         f"{sorted(METRICS)}")
    s = _lib.MongeGapSettings()
    _lib.lib.otk_mg_default_settings(ctypes.byref(s))
    s.metric, s.p, s.exact = METRICS[metric], float(p), int(bool(exact))
    s.reg, s.relative_reg = float(reg), float(relative_reg)
    s.sinkhorn.tol = float(stopThr)
    s.sinkhorn.max_iter = int(numItermax)
    s.sinkhorn.threads = int(threads)
    cb = _call.Callback(progress)
    cb.install(s.sinkhorn)
    n, d = x.shape
    g = np.empty((n, d)) if grad else None
    info = _lib.MongeGapInfo()
    cb.run(_lib.lib.otk_monge_gap, _lib.ptr(x), _lib.ptr(y), n, d,
           ctypes.byref(s), _lib.ptr(g), ctypes.byref(info))
    _call.check(info.outcome, {"settings.reg": "reg",
                               "settings.sinkhorn.tol": "stopThr",
                               "settings.sinkhorn.max_iter": "numItermax"},
                "a Sinkhorn solve of the Monge gap did not converge", warn)
    out = (info.monge_gap, g) if grad else info.monge_gap
    if log:
        return (*out, _lib.info_dict(info)) if grad else (out,
                                                          _lib.info_dict(info))
    return out
