"""The shared library, the ctypes declarations of its structs, and the
check that they match the library's own layout (otk_layout)."""
import ctypes
import ctypes.util
import os

import numpy as np

c_double_p = ctypes.POINTER(ctypes.c_double)
SIZE_MAX = ctypes.c_size_t(-1).value


class LayoutStructure(ctypes.Structure):
    """A Structure whose layout is checked against otk_layout at import."""


class Cost(LayoutStructure):
    _otk_name_ = "otk_cost"
    _fields_ = [("n", ctypes.c_size_t), ("m", ctypes.c_size_t),
                ("C", c_double_p), ("x", c_double_p), ("y", c_double_p),
                ("d", ctypes.c_size_t), ("metric", ctypes.c_int),
                ("p", ctypes.c_double), ("scale", ctypes.c_double)]


class PlanEntry(LayoutStructure):
    _otk_name_ = "otk_plan_entry"
    _fields_ = [("i", ctypes.c_size_t), ("j", ctypes.c_size_t),
                ("value", ctypes.c_double)]


class Outcome(LayoutStructure):
    _otk_name_ = "otk_outcome"
    _fields_ = [("status", ctypes.c_int), ("bad_argument", ctypes.c_char_p),
                ("bad_index", ctypes.c_size_t), ("cause", ctypes.c_char_p),
                ("time_s", ctypes.c_double)]


class Progress(LayoutStructure):
    _otk_name_ = "otk_progress"
    _fields_ = [("solver", ctypes.c_char_p), ("iteration", ctypes.c_size_t),
                ("error", ctypes.c_double), ("reg", ctypes.c_double),
                ("objective", ctypes.c_double), ("elapsed_s", ctypes.c_double),
                ("detail", ctypes.c_void_p)]


PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p,
                               ctypes.POINTER(Progress))


class Problem(LayoutStructure):
    _otk_name_ = "otk_problem"
    _fields_ = [("cost", ctypes.POINTER(Cost)), ("a", c_double_p),
                ("b", c_double_p), ("reg", ctypes.c_double)]


class Solution(LayoutStructure):
    _otk_name_ = "otk_solution"
    _fields_ = [("f", c_double_p), ("g", c_double_p), ("P", c_double_p),
                ("plan", ctypes.POINTER(PlanEntry)),
                ("capacity", ctypes.c_size_t)]


class SinkhornSettings(LayoutStructure):
    _otk_name_ = "otk_sinkhorn_settings"
    _fields_ = [("tol", ctypes.c_double), ("max_iter", ctypes.c_size_t),
                ("check_every", ctypes.c_size_t), ("tau_a", ctypes.c_double),
                ("tau_b", ctypes.c_double), ("domain", ctypes.c_int),
                ("eps_scaling", ctypes.c_int),
                ("eps_scaling_factor", ctypes.c_double),
                ("warm_start", ctypes.c_int), ("relaxation", ctypes.c_double),
                ("threads", ctypes.c_int), ("multiscale", ctypes.c_int),
                ("truncation", ctypes.c_double), ("progress", PROGRESS_FN),
                ("progress_user", ctypes.c_void_p)]


class SinkhornInfo(LayoutStructure):
    _otk_name_ = "otk_sinkhorn_info"
    _fields_ = [("outcome", Outcome), ("iterations", ctypes.c_size_t),
                ("stages", ctypes.c_size_t), ("domain", ctypes.c_int),
                ("marginal_error", ctypes.c_double),
                ("residual", ctypes.c_double),
                ("transport_cost", ctypes.c_double),
                ("objective", ctypes.c_double),
                ("dual_objective", ctypes.c_double),
                ("neglected_mass", ctypes.c_double)]


class ExactSettings(LayoutStructure):
    _otk_name_ = "otk_exact_settings"
    _fields_ = [("max_iter", ctypes.c_size_t), ("mass_tol", ctypes.c_double),
                ("warm_start", ctypes.c_int), ("progress", PROGRESS_FN),
                ("progress_user", ctypes.c_void_p)]


class ExactInfo(LayoutStructure):
    _otk_name_ = "otk_exact_info"
    _fields_ = [("outcome", Outcome), ("iterations", ctypes.c_size_t),
                ("nnz", ctypes.c_size_t), ("transport_cost", ctypes.c_double),
                ("dual_objective", ctypes.c_double),
                ("marginal_error", ctypes.c_double),
                ("rescaled", ctypes.c_int), ("warm_started", ctypes.c_int)]


class QuadraticSettings(LayoutStructure):
    _otk_name_ = "otk_quadratic_settings"
    _fields_ = [("formulation", ctypes.c_int), ("tol", ctypes.c_double),
                ("max_iter", ctypes.c_size_t), ("history", ctypes.c_int),
                ("threads", ctypes.c_int), ("warm_start", ctypes.c_int),
                ("progress", PROGRESS_FN), ("progress_user", ctypes.c_void_p)]


class QuadraticInfo(LayoutStructure):
    _otk_name_ = "otk_quadratic_info"
    _fields_ = [("outcome", Outcome), ("iterations", ctypes.c_size_t),
                ("evaluations", ctypes.c_size_t),
                ("marginal_error", ctypes.c_double),
                ("transport_cost", ctypes.c_double),
                ("objective", ctypes.c_double),
                ("dual_objective", ctypes.c_double), ("nnz", ctypes.c_size_t),
                ("max_col_nnz", ctypes.c_size_t),
                ("dual_gap", ctypes.c_double),
                ("relative_gap", ctypes.c_double)]


class MongeGapSettings(LayoutStructure):
    _otk_name_ = "otk_mg_settings"
    _fields_ = [("metric", ctypes.c_int), ("p", ctypes.c_double),
                ("exact", ctypes.c_int), ("reg", ctypes.c_double),
                ("relative_reg", ctypes.c_double),
                ("sinkhorn", SinkhornSettings)]


class MongeGapInfo(LayoutStructure):
    _otk_name_ = "otk_mg_info"
    _fields_ = [("outcome", Outcome), ("monge_gap", ctypes.c_double),
                ("displacement_cost", ctypes.c_double),
                ("ot_cost", ctypes.c_double), ("reg", ctypes.c_double),
                ("iterations", ctypes.c_size_t)]


class MongeGapFitProgress(LayoutStructure):
    _otk_name_ = "otk_mg_fit_progress"
    _fields_ = [("step", ctypes.c_size_t), ("loss", ctypes.c_double),
                ("fitting", ctypes.c_double), ("monge_gap", ctypes.c_double)]


class MongeGapFitSettings(LayoutStructure):
    _otk_name_ = "otk_mg_fit_settings"
    _fields_ = [("gap", MongeGapSettings), ("gap_reg_scale", ctypes.c_int),
                ("lambda", ctypes.c_double),
                ("fit_reg", ctypes.c_double),
                ("relative_fit_reg", ctypes.c_double),
                ("steps", ctypes.c_size_t), ("batch", ctypes.c_size_t),
                ("lr", ctypes.c_double), ("lr_schedule", ctypes.c_int),
                ("beta1", ctypes.c_double),
                ("beta2", ctypes.c_double), ("adam_eps", ctypes.c_double),
                ("seed", ctypes.c_ulong),
                ("validate_every", ctypes.c_size_t),
                ("validation_fraction", ctypes.c_double),
                ("progress", PROGRESS_FN),
                ("progress_user", ctypes.c_void_p)]


class MongeGapFitInfo(LayoutStructure):
    _otk_name_ = "otk_mg_fit_info"
    _fields_ = [("outcome", Outcome), ("steps", ctypes.c_size_t),
                ("last", MongeGapFitProgress), ("fit_reg", ctypes.c_double),
                ("gap_reg", ctypes.c_double),
                ("sinkhorn_iterations", ctypes.c_size_t),
                ("inner_not_converged", ctypes.c_size_t),
                ("best_step", ctypes.c_size_t),
                ("validation_loss", ctypes.c_double)]


# Bilevel callbacks (otkit/bilevel.h): 0 on success, nonzero stops.
_V = ctypes.c_void_p
_CD = ctypes.POINTER(ctypes.c_double)
LL_GRAD_FN = ctypes.CFUNCTYPE(ctypes.c_int, _V, _CD, _CD, _CD)
LL_HVP_FN = ctypes.CFUNCTYPE(ctypes.c_int, _V, _CD, _CD, _CD, _CD)
CROSS_T_FN = LL_HVP_FN
UPPER_FN = ctypes.CFUNCTYPE(ctypes.c_int, _V, _CD, _CD, _CD)
LL_CONSTANTS_FN = ctypes.CFUNCTYPE(ctypes.c_int, _V, _CD, _CD, _CD)
CROSS_NORM_FN = ctypes.CFUNCTYPE(ctypes.c_int, _V, _CD, _CD, _CD)
LL_VALUE_FN = CROSS_NORM_FN
LL_SOLVE_FN = ctypes.CFUNCTYPE(ctypes.c_int, _V, _CD, ctypes.c_double, _CD,
                               ctypes.POINTER(ctypes.c_size_t))
LIPSCHITZ_FN = LL_CONSTANTS_FN


class BilevelProblem(LayoutStructure):
    _otk_name_ = "otk_bilevel_problem"
    _fields_ = [("n", ctypes.c_size_t), ("p", ctypes.c_size_t),
                ("user", _V), ("ll_grad", LL_GRAD_FN),
                ("ll_hvp", LL_HVP_FN), ("cross_t", CROSS_T_FN),
                ("upper", UPPER_FN), ("ll_constants", LL_CONSTANTS_FN),
                ("cross_norm", CROSS_NORM_FN), ("ll_value", LL_VALUE_FN),
                ("ll_solve", LL_SOLVE_FN), ("L_g", ctypes.c_double),
                ("L_B", ctypes.c_double), ("L_Ainv", ctypes.c_double),
                ("lipschitz", LIPSCHITZ_FN), ("g_convex", ctypes.c_int)]


_SZ, _D, _I = ctypes.c_size_t, ctypes.c_double, ctypes.c_int


class BilevelSettings(LayoutStructure):
    _otk_name_ = "otk_bilevel_settings"
    _fields_ = [("method", _I), ("lower_solver", _I), ("eps0", _D),
                ("delta0", _D), ("error_mode", _I), ("alpha0", _D),
                ("rho_under", _D), ("rho_over", _D), ("rho_fast", _D),
                ("qn_pairs", _SZ),
                ("nu_under", _D), ("nu_over", _D),
                ("eta", _D), ("check_descent", _I), ("armijo_c", _D),
                ("max_backtrack", _SZ), ("max_rounds", _SZ),
                ("max_refinements", _SZ), ("eps_min", _D),
                ("delta_min", _D), ("max_iter", _SZ), ("budget", _D),
                ("grad_tol", _D), ("ll_max_iter", _SZ),
                ("cg_max_iter", _SZ), ("cg_warm_start", _I),
                ("ll_mu_floor", _D), ("hoag_decrease", _D),
                ("theta_bound", _D), ("progress", PROGRESS_FN),
                ("progress_user", _V)]


class BilevelInfo(LayoutStructure):
    _otk_name_ = "otk_bilevel_info"
    _fields_ = [("outcome", Outcome), ("iterations", _SZ),
                ("accepted", _SZ), ("upper_loss", _D),
                ("ll_iterations", _SZ), ("cg_iterations", _SZ),
                ("eps", _D), ("delta", _D), ("grad_norm", _D)]


class BilevelTraceRow(LayoutStructure):
    _otk_name_ = "otk_bilevel_trace_row"
    _fields_ = [("iteration", _SZ), ("upper_loss", _D), ("upper_bound", _D),
                ("lower_bound", _D), ("eps", _D), ("delta", _D),
                ("step", _D), ("omega", _D), ("grad_norm", _D),
                ("ll_iterations", _SZ), ("cg_iterations", _SZ),
                ("backtracks", _SZ), ("accepted", _I), ("time_s", _D),
                ("theta", _CD)]


class LayoutField(ctypes.Structure):
    # Not itself checked: it is how the check reads the library.
    _fields_ = [("type", ctypes.c_char_p), ("field", ctypes.c_char_p),
                ("offset", ctypes.c_size_t), ("size", ctypes.c_size_t)]


STRUCTS = [Cost, PlanEntry, Outcome, Progress, Problem, Solution,
           SinkhornSettings, SinkhornInfo, ExactSettings, ExactInfo,
           QuadraticSettings, QuadraticInfo, MongeGapSettings, MongeGapInfo,
           MongeGapFitProgress, MongeGapFitSettings, MongeGapFitInfo,
           BilevelProblem, BilevelSettings, BilevelInfo, BilevelTraceRow]


def library_layout(lib):
    """otk_layout as {struct: {field or None: (offset, size)}}."""
    lib.otk_layout.restype = ctypes.POINTER(LayoutField)
    lib.otk_layout.argtypes = [ctypes.POINTER(ctypes.c_size_t)]
    count = ctypes.c_size_t()
    records = lib.otk_layout(ctypes.byref(count))
    layout = {}
    for r in records[:count.value]:
        field = r.field.decode() if r.field is not None else None
        layout.setdefault(r.type.decode(), {})[field] = (r.offset, r.size)
    return layout


def check_layout(layout, structs=STRUCTS):
    """Raise ImportError naming the first struct or field whose offset or
    size differs between the ctypes declaration and the library."""
    for cls in structs:
        name = cls._otk_name_
        c = layout.get(name)
        if c is None:
            raise ImportError(f"otkit: the library does not describe {name}")
        if c[None][1] != ctypes.sizeof(cls):
            raise ImportError(
                f"otkit: sizeof({name}) is {c[None][1]} in the library but "
                f"{ctypes.sizeof(cls)} in the Python declaration")
        declared = {f[0] for f in cls._fields_}
        for field in c:
            if field is not None and field not in declared:
                raise ImportError(f"otkit: {name}.{field} is missing from "
                                  "the Python declaration")
        for field, _ in cls._fields_:
            if field not in c:
                raise ImportError(f"otkit: {name}.{field} is not in the "
                                  "library's struct")
            desc = getattr(cls, field)
            if (desc.offset, desc.size) != c[field]:
                raise ImportError(
                    f"otkit: {name}.{field} is at offset {c[field][0]} with "
                    f"size {c[field][1]} in the library but at offset "
                    f"{desc.offset} with size {desc.size} in the Python "
                    "declaration")


def _candidates():
    """Where to look for libotkit, in order."""
    env = os.environ.get("OTKIT_LIBRARY")
    if env:
        return [env]  # an explicit choice is the only one tried
    out = []
    try:
        from . import _build_config as cfg
    except ImportError:
        cfg = None
    if cfg is not None:
        # The installed package sits in SITEDIR/otkit; the library in
        # LIBDIR. The relative path keeps working under meson --destdir
        # or a moved prefix; the absolute one is the fallback.
        here = os.path.dirname(os.path.abspath(__file__))
        rel = os.path.relpath(cfg.LIBDIR, os.path.join(cfg.SITEDIR, "otkit"))
        out.append(os.path.normpath(os.path.join(here, rel, cfg.LIBNAME)))
        out.append(os.path.join(cfg.LIBDIR, cfg.LIBNAME))
    found = ctypes.util.find_library("otkit")
    if found:
        out.append(found)
    return out


def load():
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path}: {e}")
    raise ImportError("otkit: cannot load libotkit (set OTKIT_LIBRARY to its "
                      "path); tried: " + ("; ".join(tried) or "nothing"))


lib = load()
check_layout(library_layout(lib))


def _declare(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


P = ctypes.POINTER
_declare("otk_version", ctypes.c_char_p)
_declare("otk_status_string", ctypes.c_char_p, ctypes.c_int)
_declare("otk_status_name", ctypes.c_char_p, ctypes.c_int)
_declare("otk_sinkhorn_default_settings", None, P(SinkhornSettings))
_declare("otk_sinkhorn", ctypes.c_int, P(Problem), P(SinkhornSettings),
         P(Solution), P(SinkhornInfo))
_declare("otk_sinkhorn_divergence", ctypes.c_int, P(Problem), P(Cost),
         P(Cost), P(SinkhornSettings), c_double_p, P(Solution),
         P(SinkhornInfo))
_declare("otk_exact_default_settings", None, P(ExactSettings))
_declare("otk_exact", ctypes.c_int, P(Problem), P(ExactSettings),
         P(Solution), P(ExactInfo))
_declare("otk_quadratic_default_settings", None, P(QuadraticSettings))
_declare("otk_quadratic", ctypes.c_int, P(Problem), P(QuadraticSettings),
         P(Solution), P(QuadraticInfo))
_declare("otk_sparse", ctypes.c_int, P(Problem), ctypes.c_size_t,
         P(QuadraticSettings), P(Solution), P(QuadraticInfo))
_declare("otk_mg_default_settings", None, P(MongeGapSettings))
_declare("otk_monge_gap", ctypes.c_int, c_double_p, c_double_p,
         ctypes.c_size_t, ctypes.c_size_t, P(MongeGapSettings), c_double_p,
         P(MongeGapInfo))
_declare("otk_mg_fit_default_settings", None, P(MongeGapFitSettings))
_declare("otk_mg_map_create", ctypes.c_void_p, ctypes.c_size_t,
         P(ctypes.c_size_t), ctypes.c_size_t, ctypes.c_int, ctypes.c_ulong)
_declare("otk_mg_map_free", None, ctypes.c_void_p)
_declare("otk_mg_map_dim", ctypes.c_size_t, ctypes.c_void_p)
_declare("otk_mg_map_apply", ctypes.c_int, ctypes.c_void_p, c_double_p,
         ctypes.c_size_t, c_double_p)
_declare("otk_mg_map_save", ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)
_declare("otk_mg_map_load", ctypes.c_void_p, ctypes.c_char_p, P(ctypes.c_int),
         P(ctypes.c_size_t))
_declare("otk_mg_fit", ctypes.c_int, ctypes.c_void_p, c_double_p,
         ctypes.c_size_t, c_double_p, ctypes.c_size_t,
         P(MongeGapFitSettings), P(MongeGapFitInfo))
_declare("otk_bilevel_default_settings", None, P(BilevelSettings))
_declare("otk_bilevel_solve", ctypes.c_int, P(BilevelProblem),
         P(BilevelSettings), c_double_p, c_double_p, P(BilevelInfo))

version = lib.otk_version().decode()

# Status values (otkit/base.h).
CONVERGED, MAX_ITER, CANCELLED, STALLED = 0, 1, 2, 3
ERR_INVALID_ARGUMENT, ERR_NO_MEMORY, ERR_INVALID_INPUT = -1, -2, -3
ERR_MASS_MISMATCH, ERR_NUMERICAL = -4, -5


def ptr(array):
    """A double* into a C-contiguous float64 array, or NULL for None."""
    if array is None:
        return None
    return array.ctypes.data_as(c_double_p)


def as_array(x, name, ndim):
    """x as a C-contiguous float64 array of ndim dimensions: the same
    object when it already is one (no copy), converted otherwise."""
    arr = np.ascontiguousarray(x, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape "
                         f"{arr.shape}")
    return arr


def weights(w, length, name, other):
    """A weight vector of `length` entries, or None (uniform) when w is
    None or empty, as POT accepts."""
    if w is None:
        return None
    arr = as_array(w, name, 1)
    if arr.size == 0:
        return None
    if arr.size != length:
        raise ValueError(f"{name}: {arr.size} weights but {other} has "
                         f"{length}")
    return arr


def info_dict(info):
    """The fields of an info record as a dict (outcome flattened)."""
    out = {}
    for field, _ in info._fields_:
        value = getattr(info, field)
        if field == "outcome":
            out["status"] = lib.otk_status_name(value.status).decode()
            out["cause"] = value.cause.decode() if value.cause else None
            out["time_s"] = value.time_s
        elif isinstance(value, ctypes.Structure):
            out[field] = {k: getattr(value, k) for k, _ in value._fields_}
        else:
            out[field] = value
    return out
