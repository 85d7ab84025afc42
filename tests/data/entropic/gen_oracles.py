#!/usr/bin/python3
"""Generate the oracle cases for otkit's entropic (Sinkhorn) solver tests.

Run with Debian's interpreter (python3-pot 0.8.2, numpy, scipy):

    /usr/bin/python3 tests/data/entropic/gen_oracles.py

It (re)writes one folder per case next to this script, plus cases.txt.
Everything is deterministic: each case draws its data from its own
numpy.random.default_rng(seed).

Problem solved (otkit's convention, see include/otkit/entropic.h):

    min_P  <P, C> + reg KL(P | a b^T)  [+ tau KL(P 1 | a) + tau KL(P^T 1 | b)]

with KL(p | q) = sum p log(p / q) - p + q (0 log 0 = 0). The solution is

    P_ij = a_i b_j exp((f_i + g_j - C_ij) / reg),

and f, g are what we write (ott-jax's convention, not POT's).

Conversion from POT 0.8.2:

* Balanced (tau = inf): ot.sinkhorn(..., method='sinkhorn_log', log=True)
  returns log['log_u'], log['log_v'] with P = exp(log_u_i - C_ij/reg +
  log_v_j), so f = reg (log_u - log a), g = reg (log_v - log b). These are
  defined up to (f + t, g - t); we pick t so that sum(a f) == sum(b g).

* Unbalanced (tau_a = tau_b = tau finite): POT's sinkhorn_unbalanced uses
  the entropy reference 1 (KL(P | 1)), i.e. P = diag(u) exp(-M/reg) diag(v).
  Since reg KL(P | a b^T) = reg KL(P | 1) - reg <P, log a_i + log b_j> +
  const, our problem is POT's with M' = C - reg (log a_i + log b_j). Then
  P = u_i exp(-M'_ij / reg) v_j, f = reg log u, g = reg log v (unique).

Files per case (CSV, no header, comma separated, '%.17g'):
    a.csv (n), b.csv (m), C.csv (n x m), P.csv (n x m), f.csv (n), g.csv (m)
    x.csv (n x d), y.csv (m x d)        point-cloud cases only
    divergence.csv                      divergence case only
    params.csv   header "reg,tau_a,tau_b,transport_cost,objective,
                 dual_objective" + one numeric line ('inf' = balanced)

Subnormal values (a few underflowed entries of P at reg = 1e-3) are written
as 0. transport_cost, objective and dual_objective are recomputed here with numpy
from P, f, g (formulas in primal_dual below); the script asserts that primal
and dual agree (the oracle is converged) and that P satisfies the marginal /
first-order conditions.
"""

import os
import warnings

import sys

import numpy as np
import ot

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from oracle_common import Worst, generate, point_cost, uniform, weights  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FMT = '%.17g'

# Tolerances asserted for every case.
TOL_GAP = 1e-10        # |objective - dual| / max(|objective|, |dual|)
TOL_MARG = 1e-12       # balanced: max |P 1 - a|, |P^T 1 - b|
TOL_FOC = 1e-10        # unbalanced: relative first-order condition error
TOL_PLAN = 1e-10       # P vs a_i b_j exp((f_i + g_j - C_ij)/reg), relative

# Largest residuals seen, printed at the end.
worst = Worst('gap', 'marginal', 'foc', 'plan')
note = worst.note




# ---------------------------------------------------------------- data --





def random_cost(rng, n, m):
    """Uniform[0, 1) entries, scaled so that max C = 1."""
    C = rng.uniform(0.0, 1.0, size=(n, m))
    return C / C.max()




# ------------------------------------------------------------- solvers --

def kl(p, q):
    """sum p log(p/q) - p + q with 0 log 0 = 0 (p may have underflowed)."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    pos = p > 0
    s = np.sum(p[pos] * np.log(p[pos] / q[pos]))
    return s - p.sum() + q.sum()


def phi(f, tau):
    return f if np.isinf(tau) else tau * (1.0 - np.exp(-f / tau))


def primal_dual(a, b, C, reg, tau, P, f, g):
    """(transport_cost, objective, dual_objective) in otkit's convention."""
    cost = np.sum(P * C)
    obj = cost + reg * kl(P, np.outer(a, b))
    if not np.isinf(tau):
        obj += tau * kl(P.sum(axis=1), a) + tau * kl(P.sum(axis=0), b)
    dual = (np.sum(a * phi(f, tau)) + np.sum(b * phi(g, tau))
            - reg * (P.sum() - a.sum() * b.sum()))
    return cost, obj, dual


def check_plan(a, b, C, reg, P, f, g):
    """P must be a_i b_j exp((f_i + g_j - C_ij)/reg)."""
    Q = np.outer(a, b) * np.exp((f[:, None] + g[None, :] - C) / reg)
    err = np.max(np.abs(P - Q) / np.maximum(Q, 1e-300))
    note('plan', err)
    assert err < TOL_PLAN, ('plan', err)


def solve_balanced(a, b, C, reg):
    with warnings.catch_warnings():
        # Non-convergence must be an error, not a warning.
        warnings.simplefilter('error')
        P, log = ot.sinkhorn(a, b, C, reg, method='sinkhorn_log',
                             numItermax=1_000_000, stopThr=1e-14, log=True)
    f = reg * (log['log_u'] - np.log(a))
    g = reg * (log['log_v'] - np.log(b))
    # Fix the shift (f + t, g - t) so that sum(a f) == sum(b g).
    t = (np.sum(b * g) - np.sum(a * f)) / (a.sum() + b.sum())
    f, g = f + t, g - t

    marg = max(np.max(np.abs(P.sum(axis=1) - a)),
               np.max(np.abs(P.sum(axis=0) - b)))
    note('marginal', marg)
    assert marg < TOL_MARG, ('marginal', marg)
    check_plan(a, b, C, reg, P, f, g)
    return P, f, g, log['niter'] + 1  # niter is the last index


def solve_unbalanced(a, b, C, reg, tau):
    # POT 0.8.2: sinkhorn_unbalanced(a, b, M, reg, reg_m, method='sinkhorn',
    # numItermax, stopThr, verbose, log) -> (u K v, log with 'logu', 'logv',
    # 'err'); reg_m is one scalar penalty for both marginals.
    Mp = C - reg * (np.log(a)[:, None] + np.log(b)[None, :])
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        P, log = ot.unbalanced.sinkhorn_unbalanced(
            a, b, Mp, reg, tau, method='sinkhorn',
            numItermax=1_000_000, stopThr=1e-15, log=True)
    f = reg * log['logu']
    g = reg * log['logv']

    check_plan(a, b, C, reg, P, f, g)
    # First-order conditions: P 1 = a exp(-f/tau), P^T 1 = b exp(-g/tau).
    ra, rb = a * np.exp(-f / tau), b * np.exp(-g / tau)
    foc = max(np.max(np.abs(P.sum(axis=1) - ra) / ra),
              np.max(np.abs(P.sum(axis=0) - rb) / rb))
    note('foc', foc)
    assert foc < TOL_FOC, ('foc', foc)
    return P, f, g, len(log['err'])


def solve(a, b, C, reg, tau=np.inf):
    """Solve, check, and return (P, f, g, (cost, objective, dual))."""
    if np.isinf(tau):
        P, f, g, iters = solve_balanced(a, b, C, reg)
    else:
        P, f, g, iters = solve_unbalanced(a, b, C, reg, tau)
    cost, obj, dual = primal_dual(a, b, C, reg, tau, P, f, g)
    gap = abs(obj - dual) / max(abs(obj), abs(dual))
    note('gap', gap)
    assert gap < TOL_GAP, ('gap', obj, dual, gap)
    print('    %dx%d reg=%g tau=%g: %d iterations, objective %.12g, '
          'rel. gap %.2e' % (C.shape + (reg, tau, iters, obj, gap)))
    return P, f, g, (cost, obj, dual)


# -------------------------------------------------------------- output --

def write_case(name, a, b, C, reg, P, f, g, vals, tau=np.inf, extra=None):
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    arrays = dict(a=a, b=b, C=C, P=P, f=f, g=g)
    arrays.update(extra or {})
    for key, arr in arrays.items():
        arr = np.asarray(arr, dtype=float)
        assert np.all(np.isfinite(arr)), (name, key)
        # Flush subnormals (only P entries that underflowed, reg = 1e-3) to
        # 0: C's strtod reports ERANGE on them, which a strict reader would
        # treat as an error. The change is below 2.3e-308 in absolute value.
        arr = np.where(np.abs(arr) < np.finfo(float).tiny, 0.0, arr)
        np.savetxt(os.path.join(d, key + '.csv'), np.atleast_1d(arr),
                   fmt=FMT, delimiter=',')
    row = [reg, tau, tau] + list(vals)
    with open(os.path.join(d, 'params.csv'), 'w') as fh:
        fh.write('reg,tau_a,tau_b,transport_cost,objective,dual_objective\n')
        fh.write(','.join(FMT % v for v in row) + '\n')


# --------------------------------------------------------------- cases --

def dense_case(name, seed, n, m, reg, uniform_weights=False):
    rng = np.random.default_rng(seed)
    if uniform_weights:
        a, b = uniform(n), uniform(m)
    else:
        a, b = weights(rng, n), weights(rng, m)
    C = random_cost(rng, n, m)
    P, f, g, vals = solve(a, b, C, reg)
    write_case(name, a, b, C, reg, P, f, g, vals)


def points_case(name, seed, n, m, d, metric, reg, shift, uniform_weights):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = rng.standard_normal((m, d)) + shift
    if uniform_weights:
        a, b = uniform(n), uniform(m)
    else:
        a, b = weights(rng, n), weights(rng, m)
    C = point_cost(x, y, metric)
    P, f, g, vals = solve(a, b, C, reg)
    write_case(name, a, b, C, reg, P, f, g, vals, extra=dict(x=x, y=y))


def unbalanced_case(name, seed, n, m, reg, tau, mass_a, mass_b):
    rng = np.random.default_rng(seed)
    a, b = weights(rng, n, mass_a), weights(rng, m, mass_b)
    C = random_cost(rng, n, m)
    P, f, g, vals = solve(a, b, C, reg, tau)
    write_case(name, a, b, C, reg, P, f, g, vals, tau=tau)


def divergence_case(name, seed, n, m, d, reg):
    """S = OT(a,b) - OT(a,a)/2 - OT(b,b)/2 (equal masses: no mass term)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = rng.standard_normal((m, d)) + 1.0
    a, b = uniform(n), uniform(m)
    C = point_cost(x, y, 'sqeuclidean')
    P, f, g, vals = solve(a, b, C, reg)
    obj_xx = solve(a, a, point_cost(x, x, 'sqeuclidean'), reg)[3][1]
    obj_yy = solve(b, b, point_cost(y, y, 'sqeuclidean'), reg)[3][1]
    div = vals[1] - 0.5 * obj_xx - 0.5 * obj_yy
    print('    divergence %.12g' % div)
    assert div > 0.0
    write_case(name, a, b, C, reg, P, f, g, vals,
               extra=dict(x=x, y=y, divergence=[div]))


CASES = [
    ('square5_reg1',
     lambda n: dense_case(n, 1, 5, 5, 1.0, uniform_weights=True)),
    ('rect7x4_reg0.1', lambda n: dense_case(n, 2, 7, 4, 0.1)),
    ('rect30x20_reg0.05', lambda n: dense_case(n, 3, 30, 20, 0.05)),
    ('rect20x25_reg0.01', lambda n: dense_case(n, 4, 20, 25, 0.01)),
    ('square15_reg1e-3', lambda n: dense_case(n, 5, 15, 15, 1e-3)),
    ('points_sqeuclid_12x9',
     lambda n: points_case(n, 6, 12, 9, 2, 'sqeuclidean', 0.5, 1.0, True)),
    ('points_euclid_10x8',
     lambda n: points_case(n, 7, 10, 8, 3, 'euclidean', 0.2, 0.0, False)),
    ('unbalanced_10x8_tau1',
     lambda n: unbalanced_case(n, 8, 10, 8, 0.1, 1.0, 1.0, 1.5)),
    ('unbalanced_6x6_tau0.3',
     lambda n: unbalanced_case(n, 9, 6, 6, 0.05, 0.3, 1.0, 0.8)),
    ('divergence_points_8x6',
     lambda n: divergence_case(n, 10, 8, 6, 2, 0.3)),
]


def main():
    generate(HERE, CASES, worst,
             [('POT', ot.__version__), ('numpy', np.__version__)])


if __name__ == '__main__':
    main()
