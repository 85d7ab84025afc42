"""Exact OT under POT 0.8.2's names (ot.emd, ot.emd2)."""
from . import _lib, _solvers


def _emd(a, b, M, numItermax, progress):
    prep = _solvers.Prepared(a, b, M=M)
    info = _solvers.exact(prep, numItermax, progress)
    log = {"cost": info.transport_cost, "u": prep.f, "v": prep.g,
           "warning": (None if info.outcome.status == 0 else
                       "numItermax reached before optimality. Try to "
                       "increase numItermax."),
           "result_code": 1 if info.outcome.status == 0 else 3}
    log.update(_lib.info_dict(info))
    return prep.P, log


def emd(a, b, M, numItermax=100000, log=False, center_dual=True,
        numThreads=1, progress=None):
    """The optimal plan (network simplex), as POT's ot.emd; the duals u, v
    of the log are always centred (<a, u> = <b, v>, POT's center_dual);
    numThreads is accepted and unused (one thread)."""
    P, lg = _emd(a, b, M, numItermax, progress)
    return (P, lg) if log else P


def emd2(a, b, M, processes=1, numItermax=100000, log=False,
         return_matrix=False, center_dual=True, numThreads=1, progress=None):
    """The optimal transport cost <P, M>, as POT's ot.emd2."""
    P, lg = _emd(a, b, M, numItermax, progress)
    if return_matrix:
        lg["G"] = P
    return (lg["cost"], lg) if log else lg["cost"]
