import numpy as np
import pytest


def problem(seed, n=20, m=30, d=2):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d)) + 0.5
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    return x, y, a / a.sum(), b / b.sum()


@pytest.fixture(params=[0, 1, 2])
def prob(request):
    return problem(request.param)
