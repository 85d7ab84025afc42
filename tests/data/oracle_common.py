"""Helpers shared by the oracle generators under tests/data/*/.

Only data making and the residual log live here; each generator keeps its
own solver calls and checks.
"""
import os

import numpy as np
import ot


class Worst:
    """The largest residual seen per check, printed at the end of a run."""

    def __init__(self, *keys):
        self.values = {k: 0.0 for k in keys}

    def note(self, key, value):
        self.values[key] = max(self.values[key], value)


def weights(rng, n, mass=1.0):
    """Positive non-uniform weights summing to `mass` (ratios <= 5)."""
    w = rng.uniform(0.2, 1.0, size=n)
    return mass * w / w.sum()


def uniform(n):
    return np.full(n, 1.0 / n)


def point_cost(x, y, metric='sqeuclidean'):
    """||x_i - y_j||^2 or ||x_i - y_j|| by direct differences.

    Cross-checked against ot.dist, which uses |x|^2 + |y|^2 - 2 x.y and so
    carries a little cancellation error; the direct form is what otkit's
    point-cloud cost evaluates, so it is the one written to C.csv. 1-D
    points may be given as flat arrays.
    """
    x2 = x.reshape(len(x), -1)
    y2 = y.reshape(len(y), -1)
    d2 = ((x2[:, None, :] - y2[None, :, :]) ** 2).sum(axis=2)
    C = d2 if metric == 'sqeuclidean' else np.sqrt(d2)
    err = np.max(np.abs(C - ot.dist(x2, y2, metric=metric)))
    assert err <= 1e-12, ('ot.dist', metric, err)
    return C


def generate(here, cases, worst, versions):
    """Run every (name, make) case, list the names in here/cases.txt, and
    print the versions used and the largest residual per check."""
    print(', '.join('%s %s' % (name, v) for name, v in versions))
    for name, make in cases:
        print(name)
        make(name)
    with open(os.path.join(here, 'cases.txt'), 'w') as fh:
        fh.write(''.join(name + '\n' for name, _ in cases))
    print('max residuals: ' + ', '.join(
        '%s %.2e' % kv for kv in worst.values.items()))
