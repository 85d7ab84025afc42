"""Bad arguments raise ValueError naming the argument; not converged warns
(UserWarning) and returns the last iterate; no copies of good arrays."""
import warnings

import numpy as np
import pytest

import otkit
from otkit import _lib
from conftest import problem


def test_bad_reg_is_named():
    _, _, a, b = problem(0)
    M = np.ones((a.size, b.size))
    with pytest.raises(ValueError, match=r"^reg: invalid argument"):
        otkit.sinkhorn(a, b, M, -1.0)


def test_bad_cost_entry_is_named_with_its_index():
    x, y, a, b = problem(0)
    M = otkit.dist(x, y)
    M[0, 3] = np.nan
    with pytest.raises(ValueError, match=r"^M \(cost.C\) at index 3: input"):
        otkit.emd(a, b, M)


def test_mass_mismatch_and_negative_weights():
    x, y, a, b = problem(1)
    M = otkit.dist(x, y)
    with pytest.raises(ValueError, match="total mass"):
        otkit.sinkhorn(a * 2, b, M, 0.1)
    a = a.copy()
    a[2] = -1
    with pytest.raises(ValueError, match=r"^a at index 2"):
        otkit.emd(a, b, M)


def test_shapes_and_settings_are_named():
    x, y, a, b = problem(2)
    M = otkit.dist(x, y)
    with pytest.raises(ValueError, match=r"^b: "):
        otkit.sinkhorn(a, b[:-1], M, 0.1)
    with pytest.raises(ValueError, match=r"^M: expected a 2-d array"):
        otkit.sinkhorn(a, b, M.ravel(), 0.1)
    with pytest.raises(ValueError, match=r"^stopThr \(settings.tol\)"):
        otkit.sinkhorn(a, b, M, 0.1, stopThr=-1)
    with pytest.raises(ValueError, match=r"^numItermax"):
        otkit.emd(a, b, M, numItermax=0)
    with pytest.raises(ValueError, match=r"^method"):
        otkit.sinkhorn(a, b, M, 0.1, method="greenkhorn")
    with pytest.raises(ValueError, match=r"^k \(|^k: "):
        otkit.sparse.sparse_ot_dual(a, b, M, 0.1, a.size + 1)


def test_not_converged_warns_and_returns_the_last_iterate():
    x, y, a, b = problem(0)
    M = otkit.dist(x, y)
    with pytest.warns(UserWarning, match="Sinkhorn did not converge"):
        P, log = otkit.sinkhorn(a, b, M, 0.01, numItermax=20, log=True,
                                method="sinkhorn_log")
    assert log["status"] == "max_iter" and np.all(np.isfinite(P))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        otkit.sinkhorn(a, b, M, 0.01, numItermax=20, warn=False)
    with pytest.warns(UserWarning, match="numItermax reached"):
        G, lg = otkit.emd(a, b, M, numItermax=3, log=True)
    assert lg["result_code"] == 3


def test_contiguous_float64_is_not_copied(monkeypatch):
    x, y, a, b = problem(0)
    M = otkit.dist(x, y)
    assert _lib.as_array(M, "M", 2) is M
    assert _lib.as_array(M.T, "M", 2) is not M.T  # converted instead
    # a Fortran-ordered or float32 cost gives the same plan
    P = otkit.emd(a, b, M)
    np.testing.assert_array_equal(otkit.emd(a, b, np.asfortranarray(M)), P)
    Q = otkit.emd(a, b, M.astype(np.float32))
    assert Q.shape == P.shape
