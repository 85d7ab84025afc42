"""otkit's own solvers: sparsity-constrained OT and the Monge gap."""
import numpy as np
import pytest

import otkit
from conftest import problem


@pytest.mark.parametrize("name", ["sparse_ot_dual", "sparse_ot_semi_dual"])
def test_sparse_has_k_per_column_and_k_n_is_quadratic(name):
    x, y, a, b = problem(4, 15, 12)
    M = otkit.dist(x, y)
    solve = getattr(otkit.sparse, name)
    # k = 3 is below the quadratic plan's column supports: the objective
    # is nonsmooth there and L-BFGS may stall (a warning, not tested here)
    P, log = solve(a, b, M, 0.5, 3, log=True, warn=False)
    assert ((P > 0).sum(axis=0) <= 3).all()
    assert log["max_col_nnz"] <= 3
    smooth = (otkit.smooth.smooth_ot_dual if name == "sparse_ot_dual" else
              otkit.smooth.smooth_ot_semi_dual)
    np.testing.assert_allclose(solve(a, b, M, 0.5, a.size), smooth(a, b, M,
                                                                   0.5),
                               atol=1e-9)
    form = "dual" if name == "sparse_ot_dual" else "semi_dual"
    plans = otkit.sparse.sparse_ot_batch([(a, b, M), (a, b, 2 * M)], 0.5, 3,
                                         formulation=form, warn=False)
    np.testing.assert_array_equal(plans[0], P)


def test_monge_gap_estimate_and_gradient():
    x, _, _, _ = problem(5, 20, 20)
    rng = np.random.default_rng(0)
    y = x + 0.3 * rng.normal(size=x.shape)
    assert abs(otkit.monge_gap(x, x, exact=True)) < 1e-12
    gap, grad, log = otkit.monge_gap(y * 0 + x, y, reg=0.05, grad=True,
                                     log=True)
    assert grad.shape == y.shape and log["reg"] == 0.05
    # the gradient against a central difference
    h = 1e-5
    e = np.zeros_like(y)
    e[3, 1] = h
    num = (otkit.monge_gap(x, y + e, reg=0.05)
           - otkit.monge_gap(x, y - e, reg=0.05)) / (2 * h)
    assert abs(num - grad[3, 1]) < 1e-6
    with pytest.raises(ValueError, match="^y: shape"):
        otkit.monge_gap(x, y[:-1])


def test_monge_map_fit_keeps_the_library_defaults():
    import ctypes
    from otkit import _lib
    defaults = _lib.MongeGapFitSettings()
    _lib.lib.otk_mg_fit_default_settings(ctypes.byref(defaults))
    rng = np.random.default_rng(2)
    source = rng.normal(size=(16, 2))
    T = otkit.MongeMap(2, hidden=(4,), seed=1)
    info = T.fit(source, source + 1.0, validate_every=50)
    assert info["steps"] == defaults.steps
    assert 1 <= info["best_step"] <= defaults.steps
    with pytest.raises(ValueError, match="^momentum: not a fit setting"):
        T.fit(source, source, momentum=0.9)


def test_monge_map_fit_apply_save_load(tmp_path):
    rng = np.random.default_rng(1)
    source = rng.normal(size=(64, 2))
    target = source * 0.5 + [3.0, 0.0]
    T = otkit.MongeMap(2, hidden=(8,), seed=1)
    steps = []
    info = T.fit(source, target, steps=30, batch=32, lr=1e-2,
                 progress=lambda r: steps.append(r["loss"]) and False)
    assert info["steps"] == 30 and len(steps) == 30
    assert info["last"]["loss"] == steps[-1]
    y = T(source)
    assert y.shape == source.shape
    T.save(tmp_path / "map.txt")
    np.testing.assert_array_equal(otkit.MongeMap.load(tmp_path / "map.txt")
                                  .apply(source), y)
    with pytest.raises(ValueError, match="^x: dimension 3"):
        T.apply(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"^lr \(settings.lr\)"):
        T.fit(source, target, lr=-1)
    (tmp_path / "bad.txt").write_text("otkit-map 1\nd x\n")
    with pytest.raises(ValueError, match="bad.txt:2: not a readable"):
        otkit.MongeMap.load(tmp_path / "bad.txt")
