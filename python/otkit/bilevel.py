"""otkit's bilevel solvers (MAID and its baselines, otkit/bilevel.h) on a
problem given by Python functions:

    min_theta g(xhat(theta)),  xhat(theta) = argmin_x h(x, theta),

with h mu-strongly convex in x. The functions take and return numpy
arrays (the arguments are views of the library's arrays, valid during
the call only):

    ll_grad(theta, x)     -> grad_x h (n)
    ll_hvp(theta, x, v)   -> A v, A = d2h/dx2 (n)
    cross_t(theta, x, q)  -> B^T q, B = d2h/dx dtheta (p)
    upper(x)              -> (g(x), grad g(x))
    ll_constants(theta)   -> (mu, L) of h(., theta)
    cross_norm(theta, x)  -> ||B||_2 or a bound (MAID's descent test)

An exception in one of them (Ctrl-C included) stops the solve and is
re-raised."""
import ctypes

import numpy as np

from . import _call, _lib

METHODS = {"maid": 0, "fixed": 1, "hoag_geometric": 2, "hoag_quadratic": 3,
           "hoag_cubic": 4}


class _Callbacks:
    """The C function pointers of one problem; the first exception raised
    by a Python function is kept for `solve` to re-raise."""

    def __init__(self, n, p, functions):
        self.n, self.p = n, p
        self.error = None
        self.c = {}
        f = functions
        vec = self._vector
        self.c["ll_grad"] = _lib.LL_GRAD_FN(self._guard(
            lambda t, x, out: self._put(
                out, n, f["ll_grad"](vec(t, p), vec(x, n)))))
        self.c["ll_hvp"] = _lib.LL_HVP_FN(self._guard(
            lambda t, x, v, out: self._put(
                out, n, f["ll_hvp"](vec(t, p), vec(x, n), vec(v, n)))))
        self.c["cross_t"] = _lib.CROSS_T_FN(self._guard(
            lambda t, x, q, out: self._put(
                out, p, f["cross_t"](vec(t, p), vec(x, n), vec(q, n)))))
        self.c["upper"] = _lib.UPPER_FN(self._guard(self._upper))
        self.c["ll_constants"] = _lib.LL_CONSTANTS_FN(self._guard(
            self._constants))
        if f.get("cross_norm") is not None:
            self.c["cross_norm"] = _lib.CROSS_NORM_FN(self._guard(
                lambda t, x, out: self._scalar(
                    out, f["cross_norm"](vec(t, p), vec(x, n)))))
        self.functions = f

    @staticmethod
    def _vector(pointer, size):
        return np.ctypeslib.as_array(pointer, shape=(size,))

    @staticmethod
    def _put(out, size, value):
        np.ctypeslib.as_array(out, shape=(size,))[:] = value

    @staticmethod
    def _scalar(out, value):
        out[0] = float(value)

    def _upper(self, x, g, grad):
        value, gradient = self.functions["upper"](self._vector(x, self.n))
        g[0] = float(value)
        if grad:
            self._put(grad, self.n, gradient)

    def _constants(self, theta, mu, L):
        mu[0], L[0] = map(float, self.functions["ll_constants"](
            self._vector(theta, self.p)))

    def _guard(self, function):
        def call(_user, *args):
            try:
                if self.error is not None:
                    return 1
                function(*args)
                return 0
            except BaseException as e:
                self.error = e
                return 1
        return call


def _trace_row(detail, p):
    row = ctypes.cast(detail, ctypes.POINTER(_lib.BilevelTraceRow)).contents
    out = {k: getattr(row, k) for k, _ in row._fields_ if k != "theta"}
    out["theta"] = np.ctypeslib.as_array(row.theta, shape=(p,)).copy()
    return out


def maid(ll_grad, ll_hvp, cross_t, upper, ll_constants, theta0, x0,
         cross_norm=None, L_g=0.0, L_B=0.0, L_Ainv=0.0, g_convex=False,
         method="maid", progress=None, warn=False, **settings):
    """Run MAID (or method = 'fixed', 'hoag_geometric', 'hoag_quadratic',
    'hoag_cubic') from theta0 and the lower-level start x0. settings:
    any field of otk_bilevel_settings by name (eps0, delta0, alpha0,
    max_iter, budget, grad_tol, ...). progress gets a dict per outer
    iteration (with the trace row's fields and theta); a true return
    cancels. Returns (theta, x, info dict). Ending at max_iter or the
    budget is the normal end (warn=True warns for it and stalls)."""
    theta = np.array(theta0, dtype=np.float64, copy=True).ravel()
    x = np.array(x0, dtype=np.float64, copy=True).ravel()
    n, p = x.size, theta.size
    if n == 0 or p == 0:
        raise ValueError("theta0, x0: empty")
    cbs = _Callbacks(n, p, {"ll_grad": ll_grad, "ll_hvp": ll_hvp,
                            "cross_t": cross_t, "upper": upper,
                            "ll_constants": ll_constants,
                            "cross_norm": cross_norm})
    problem = _lib.BilevelProblem(n=n, p=p, L_g=float(L_g), L_B=float(L_B),
                                  L_Ainv=float(L_Ainv),
                                  g_convex=int(bool(g_convex)), **cbs.c)
    s = _lib.BilevelSettings()
    _lib.lib.otk_bilevel_default_settings(ctypes.byref(s))
    if method not in METHODS:
        raise ValueError(f"method: {method!r} is not one of "
                         f"{sorted(METHODS)}")
    s.method = METHODS[method]
    names = {f for f, _ in s._fields_} - {"method", "progress",
                                          "progress_user"}
    for key, value in settings.items():
        if key not in names:
            raise ValueError(f"{key}: not a bilevel setting")
        setattr(s, key, value)
    cb = _call.Callback(progress, detail=lambda d: _trace_row(d, p))
    cb.install(s)
    info = _lib.BilevelInfo()
    cb.run(_lib.lib.otk_bilevel_solve, ctypes.byref(problem),
           ctypes.byref(s), _lib.ptr(theta), _lib.ptr(x), ctypes.byref(info))
    if cbs.error is not None:
        raise cbs.error
    _call.check(info.outcome, {f"settings.{k}": k for k in names},
                "the bilevel solve stopped before its tolerance", warn)
    return theta, x, _lib.info_dict(info)
