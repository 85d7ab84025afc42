"""otkit's sparsity-constrained OT (Liu, Puigcerver, Blondel 2023): the
quadratically regularized plan with at most k nonzeros per column
(otkit/sparse.h). Its marginals are met only approximately in general:
the log's marginal_error says by how much."""
from . import _lib, _solvers


def _sparse(a, b, M, reg, k, formulation, stopThr, numItermax, threads,
            progress, log, warn=True):
    prep = _solvers.Prepared(a, b, M=M, reg=reg)
    info = _solvers.quadratic(prep, formulation, stopThr, numItermax,
                              threads, k=k, progress=progress,
                              warn=warn)
    if not log:
        return prep.P
    lg = {"alpha": prep.f, "beta": prep.g}
    lg.update(_lib.info_dict(info))
    return prep.P, lg


def sparse_ot_dual(a, b, M, reg, k, stopThr=1e-9, numItermax=10000,
                   log=False, threads=0, progress=None, warn=True):
    """The plan from the dual of the relaxation (k nonzeros per column)."""
    return _sparse(a, b, M, reg, k, "dual", stopThr, numItermax, threads,
                   progress, log, warn)


def sparse_ot_semi_dual(a, b, M, reg, k, stopThr=1e-9, numItermax=10000,
                        log=False, threads=0, progress=None, warn=True):
    """The plan from the semi-dual (column j = b_j times the k-sparse
    projection onto the simplex)."""
    return _sparse(a, b, M, reg, k, "semi_dual", stopThr, numItermax,
                   threads, progress, log, warn)


def sparse_ot_batch(problems, reg, k, formulation="semi_dual", **kwargs):
    """Several problems (a list of (a, b, M)) with one reg and k: a list
    of plans (or of (plan, log) with log=True)."""
    solve = sparse_ot_dual if formulation == "dual" else sparse_ot_semi_dual
    return [solve(a, b, M, reg, k, **kwargs) for a, b, M in problems]
