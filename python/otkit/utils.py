"""POT's ot.dist (ot.utils.dist) in numpy."""
import numpy as np

from . import _lib


def dist(x1, x2=None, metric="sqeuclidean", p=2, w=None):
    """The n x m matrix of metric(x1_i, x2_j), as POT 0.8.2's ot.dist:
    'sqeuclidean' and 'euclidean' by POT's formula (|x|^2 + |y|^2 - 2 x.y,
    clipped at 0), 'cityblock', 'minkowski' (p; ||x - y||_p as scipy's),
    'chebyshev' directly. otkit's own point costs (empirical_sinkhorn) are
    sqeuclidean, euclidean and cityblock."""
    x1 = _lib.as_array(x1, "x1", 2)
    x2 = x1 if x2 is None else _lib.as_array(x2, "x2", 2)
    if x1.shape[1] != x2.shape[1]:
        raise ValueError(f"x2: dimension {x2.shape[1]} but x1 has "
                         f"{x1.shape[1]}")
    if w is not None:
        raise ValueError("w: weighted metrics are not supported")
    if metric in ("sqeuclidean", "euclidean"):
        d = np.dot(x1, x2.T)
        d *= -2
        d += np.sum(x1 ** 2, axis=1)[:, None]
        d += np.sum(x2 ** 2, axis=1)[None, :]
        np.maximum(d, 0, out=d)
        return d if metric == "sqeuclidean" else np.sqrt(d)
    diff = np.abs(x1[:, None, :] - x2[None, :, :])
    if metric == "cityblock":
        return diff.sum(axis=2)
    if metric == "chebyshev":
        return diff.max(axis=2)
    if metric == "minkowski":
        return (diff ** p).sum(axis=2) ** (1.0 / p)
    raise ValueError(f"metric: {metric!r} is not one of chebyshev, "
                     "cityblock, euclidean, minkowski, sqeuclidean")
