"""MAID on a bilevel problem written in Python (ctypes callbacks)."""
import numpy as np
import pytest

import otkit


def quadratic_problem(seed=0, n=6, p=3):
    """h(x, theta) = x'Qx/2 - x'B theta, g(x) = |x - x*|^2 / 2 with
    x* = xhat(theta*): the optimum is theta* with f = 0."""
    rng = np.random.default_rng(seed)
    R = rng.normal(size=(n, n))
    Q = R @ R.T / n + np.eye(n)
    B = rng.normal(size=(n, p))
    theta_star = rng.normal(size=p)
    x_star = np.linalg.solve(Q, B @ theta_star)
    eig = np.linalg.eigvalsh(Q)
    fns = dict(
        ll_grad=lambda t, x: Q @ x - B @ t,
        ll_hvp=lambda t, x, v: Q @ v,
        cross_t=lambda t, x, q: -B.T @ q,
        upper=lambda x: (0.5 * np.sum((x - x_star) ** 2), x - x_star),
        ll_constants=lambda t: (eig[0], eig[-1]),
        cross_norm=lambda t, x: np.linalg.norm(B, 2))
    return fns, theta_star, n, p


def test_maid_finds_the_optimum():
    fns, theta_star, n, p = quadratic_problem()
    rows = []
    theta, x, info = otkit.bilevel.maid(
        **fns, theta0=np.zeros(p), x0=np.zeros(n), L_g=1.0, g_convex=True,
        max_iter=300, progress=rows.append)
    assert info["upper_loss"] < 1e-8
    np.testing.assert_allclose(theta, theta_star, atol=1e-3)
    assert rows[0]["iteration"] == 0 and rows[-1]["theta"].shape == (p,)
    assert info["iterations"] == len(rows) - 1


def test_a_callback_exception_is_reraised():
    fns, _, n, p = quadratic_problem()
    calls = []

    def upper(x):
        calls.append(1)
        if len(calls) == 5:
            raise ZeroDivisionError("in upper")
        return fns["upper"](x)

    with pytest.raises(ZeroDivisionError, match="in upper"):
        otkit.bilevel.maid(**{**fns, "upper": upper}, theta0=np.zeros(p),
                           x0=np.zeros(n), L_g=1.0)


def test_progress_cancels_and_settings_are_named():
    fns, _, n, p = quadratic_problem()
    theta, x, info = otkit.bilevel.maid(
        **fns, theta0=np.zeros(p), x0=np.zeros(n), L_g=1.0,
        progress=lambda r: r["iteration"] >= 2)
    assert info["status"] == "cancelled" and info["iterations"] == 2
    with pytest.raises(ValueError, match=r"^eps0 \(settings.eps0\)"):
        otkit.bilevel.maid(**fns, theta0=np.zeros(p), x0=np.zeros(n),
                           L_g=1.0, eps0=-1.0)
    with pytest.raises(ValueError, match="^nonsense: not a bilevel setting"):
        otkit.bilevel.maid(**fns, theta0=np.zeros(p), x0=np.zeros(n),
                           nonsense=1)
