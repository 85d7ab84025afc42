"""otkit's Monge gap (Uscidda and Cuturi 2023; otkit/mongegap.h)."""
import ctypes
import os

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


ACTIVATIONS = {"gelu": 0, "relu": 1, "leaky_relu": 2, "tanh": 3}


class MongeMap:
    """A residual map T(x) = x + MLP(x) on R^d (otk_mg_map), fitted by
    minimizing S(T#source, target) + lambda M(T; source) (otk_mg_fit)."""

    def __init__(self, d, hidden=(64, 64), activation="gelu", seed=0,
                 _handle=None):
        if _handle is None:
            if activation not in ACTIVATIONS:
                raise ValueError(f"activation: {activation!r} is not one of "
                                 f"{sorted(ACTIVATIONS)}")
            sizes = (ctypes.c_size_t * max(len(hidden), 1))(*hidden)
            _handle = _lib.lib.otk_mg_map_create(
                int(d), sizes, len(hidden), ACTIVATIONS[activation],
                int(seed))
            if not _handle:
                raise ValueError("d, hidden: the map cannot be made (d and "
                                 "every hidden size >= 1, at most 64 layers)")
        self._handle = _handle
        self.d = _lib.lib.otk_mg_map_dim(_handle)

    def __del__(self):
        if getattr(self, "_handle", None):
            _lib.lib.otk_mg_map_free(self._handle)
            self._handle = None

    def apply(self, x):
        """T(x) for the rows of x (n x d)."""
        x = _lib.as_array(x, "x", 2)
        if x.shape[1] != self.d:
            raise ValueError(f"x: dimension {x.shape[1]} but the map has "
                             f"{self.d}")
        y = np.empty_like(x)
        info = _lib.Outcome(status=_lib.lib.otk_mg_map_apply(
            self._handle, _lib.ptr(x), x.shape[0], _lib.ptr(y)),
            bad_index=_lib.SIZE_MAX)
        _call.check(info)
        return y

    __call__ = apply

    def fit(self, source, target, lambda_=1.0, steps=None, batch=None,
            lr=None, seed=0, reg=0.0, fit_reg=0.0, progress=None, warn=True,
            **settings):
        """Fit the map in place (Adam on mini-batches); returns the info
        dict. steps, batch, lr: None keeps otk_mg_fit's defaults (the
        header gives them); reg: the Monge gap's reg (0: relative),
        fit_reg: the fitting divergence's; settings: any other field of
        otk_mg_fit_settings (beta1, beta2, adam_eps, relative_fit_reg,
        lr_schedule, gap_reg_scale, validate_every, validation_fraction).
        progress gets a dict per step (with loss, fitting, monge_gap); a
        true return stops."""
        src = _lib.as_array(source, "source", 2)
        tgt = _lib.as_array(target, "target", 2)
        for name, arr in (("source", src), ("target", tgt)):
            if arr.shape[1] != self.d:
                raise ValueError(f"{name}: dimension {arr.shape[1]} but the "
                                 f"map has {self.d}")
        s = _lib.MongeGapFitSettings()
        _lib.lib.otk_mg_fit_default_settings(ctypes.byref(s))
        setattr(s, "lambda", float(lambda_))
        for key, value, kind in (("steps", steps, int), ("batch", batch, int),
                                 ("lr", lr, float)):
            if value is not None:
                setattr(s, key, kind(value))
        s.seed = int(seed)
        s.gap.reg, s.fit_reg = float(reg), float(fit_reg)
        kinds = {"beta1": float, "beta2": float, "adam_eps": float,
                 "relative_fit_reg": float, "validation_fraction": float,
                 "lr_schedule": int, "gap_reg_scale": int,
                 "validate_every": int}
        for key, value in settings.items():
            if key not in kinds:
                raise ValueError(f"{key}: not a fit setting")
            setattr(s, key, kinds[key](value))

        def detail(pointer):
            rec = ctypes.cast(pointer, ctypes.POINTER(
                _lib.MongeGapFitProgress)).contents
            return {k: getattr(rec, k) for k, _ in rec._fields_}
        cb = _call.Callback(progress, detail=detail)
        cb.install(s)
        info = _lib.MongeGapFitInfo()
        cb.run(_lib.lib.otk_mg_fit, self._handle, _lib.ptr(src),
               src.shape[0], _lib.ptr(tgt), tgt.shape[0], ctypes.byref(s),
               ctypes.byref(info))
        _call.check(info.outcome, {"settings.lambda": "lambda_",
                                   "settings.gap.reg": "reg",
                                   **{f"settings.{k}": k for k in
                                      ("steps", "batch", "lr", "fit_reg",
                                       *kinds)}},
                    "an inner Sinkhorn solve of the fit did not converge",
                    warn)
        return _lib.info_dict(info)

    def save(self, path):
        status = _lib.lib.otk_mg_map_save(self._handle, os.fsencode(path))
        if status != 0:
            raise OSError(f"{path}: cannot write the map")

    @classmethod
    def load(cls, path):
        status, line = ctypes.c_int(), ctypes.c_size_t()
        handle = _lib.lib.otk_mg_map_load(os.fsencode(path),
                                          ctypes.byref(status),
                                          ctypes.byref(line))
        if not handle:
            where = f"{path}:{line.value}" if line.value else str(path)
            raise ValueError(f"{where}: not a readable otkit map")
        return cls(0, _handle=handle)
