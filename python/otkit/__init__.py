"""otkit: optimal-transport solvers with POT 0.8.2's names.

    import otkit as ot
    P = ot.sinkhorn(a, b, M, reg)

Pure Python over the shared library libotkit (ctypes). docs/python.md
lists the functions and how they differ from POT's."""
from . import _lib
from . import bilevel, bregman, lp, smooth, sparse, unbalanced, utils
from .bregman import (empirical_sinkhorn, empirical_sinkhorn2,
                      empirical_sinkhorn_divergence, sinkhorn, sinkhorn2)
from .lp import emd, emd2
from .mongegap import MongeMap, monge_gap
from .utils import dist

__version__ = _lib.version
__all__ = ["sinkhorn", "sinkhorn2", "emd", "emd2", "dist", "monge_gap", "MongeMap",
           "empirical_sinkhorn", "empirical_sinkhorn2",
           "empirical_sinkhorn_divergence", "bregman", "lp", "smooth",
           "sparse", "unbalanced", "utils", "bilevel"]
