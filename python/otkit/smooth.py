"""Quadratically regularized OT under POT 0.8.2's names (ot.smooth):
min <P, M> + (reg / 2) ||P||^2 (reg_type='l2'; otkit's reg is POT's
gamma, Blondel et al. 2018), solved by otkit's L-BFGS on the dual or the
semi-dual."""
from . import _lib, _solvers


def _smooth(a, b, M, reg, reg_type, formulation, stopThr, numItermax,
            threads, progress):
    if reg_type.lower() not in ("l2", "squaredl2"):
        raise ValueError(f"reg_type: {reg_type!r} is not supported (only "
                         "'l2'; for the entropic one use ot.sinkhorn)")
    prep = _solvers.Prepared(a, b, M=M, reg=reg)
    info = _solvers.quadratic(prep, formulation, stopThr, numItermax,
                              threads, progress=progress)
    log = {"alpha": prep.f, "beta": prep.g}
    log.update(_lib.info_dict(info))
    return prep.P, log


def smooth_ot_dual(a, b, M, reg, reg_type="l2", method="L-BFGS-B",
                   stopThr=1e-9, numItermax=10000, verbose=False, log=False,
                   threads=0, progress=None):
    """POT's ot.smooth.smooth_ot_dual: the plan, or (plan, log) with the
    potentials alpha, beta. stopThr is otkit's tol (relative L1 marginal
    error of the plan), numItermax its L-BFGS iterations (default 10000,
    POT's 500 is scipy's budget and too small for otkit's tolerance)."""
    P, lg = _smooth(a, b, M, reg, reg_type, "dual", stopThr, numItermax,
                    threads, progress)
    return (P, lg) if log else P


def smooth_ot_semi_dual(a, b, M, reg, reg_type="l2", method="L-BFGS-B",
                        stopThr=1e-9, numItermax=10000, verbose=False,
                        log=False, threads=0, progress=None):
    """POT's ot.smooth.smooth_ot_semi_dual (log: alpha, and beta as
    recovered by otkit)."""
    P, lg = _smooth(a, b, M, reg, reg_type, "semi_dual", stopThr,
                    numItermax, threads, progress)
    return (P, lg) if log else P
