#!/usr/bin/python3
"""Generate the oracle cases for otkit's quadratically-regularized OT tests.

Run with Debian's interpreter (python3-pot 0.8.2, numpy, scipy), niced:

    nice /usr/bin/python3 tests/data/quadratic/gen_oracles.py

It (re)writes one folder per case next to this script, plus cases.txt.
Everything is deterministic: each case draws its data from its own
numpy.random.default_rng(seed).

Problem (otkit's convention: n rows = sources a, m columns = targets b; the
same orientation as POT, whose alpha has len(a) and beta len(b)):

    min_P  <P, C> + (gamma/2) ||P||_F^2   s.t.  P >= 0, P 1 = a, P^T 1 = b.

The objective is strongly convex, so the optimal plan is unique. Its dual
and semi-dual (Blondel, Seguy, Rolet 2018, eqs. 7 and 10; both maximized):

    D(alpha, beta) = <alpha,a> + <beta,b>
                     - 1/(2 gamma) sum_ij [alpha_i + beta_j - C_ij]_+^2
    S(alpha)       = <alpha,a> - sum_j max_Omega(alpha - C[:,j]; b_j),
    max_Omega(s; b) = <s,t> - (gamma/2)||t||^2,  t = b P_simplex(s/(gamma b)),

with plans P_ij = [alpha_i + beta_j - C_ij]_+ / gamma (dual) and
P[:,j] = b_j P_simplex((alpha - C[:,j]) / (gamma b_j)) (semi-dual; its
column sums are b exactly by construction).

Oracle, per formulation (POT 0.8.2, ot/smooth.py):

1. POT:  ot.smooth.smooth_ot_dual(a, b, C, gamma, reg_type='l2',
         stopThr=1e-14, numItermax=100000, log=True)  (and _semi_dual).
   POT hands stopThr to scipy's L-BFGS-B as `tol` (= ftol = gtol). It stops
   on the relative decrease of the objective ("REL_REDUCTION_OF_F"), which
   with an O(1) objective leaves marginal errors of 1e-8 .. 2e-5 (L1).
2. L-BFGS-B polish: scipy.optimize.minimize(method='L-BFGS-B') on POT's
   own dual_obj_grad / semi_dual_obj_grad (negated), from POT's solution,
   ftol = gtol = 1e-15, maxiter = maxfun = 1e6. It cannot get much further
   either: the objective stops decreasing in floating point (the objective's
   rounding error, ~1e-16, allows gradients up to ~sqrt(1e-16 / gamma)), and
   it ends with REL_REDUCTION_OF_F or ABNORMAL_TERMINATION_IN_LNSRCH.
3. Active-set Newton polish. Both objectives are concave and piecewise
   quadratic; on a fixed support they are quadratic, so one Newton step
   with the generalized Hessian lands on the optimum once the support is
   right:
     dual:      H = (1/gamma) [[diag(r), A], [A^T, diag(c)]], A_ij = [P_ij > 0],
                r, c its row / column counts; step (alpha, beta) += H^+ grad D
     semi-dual: H = (1/gamma) sum_j (diag(1_Sj) - 1_Sj 1_Sj^T / |S_j|),
                S_j the support of column j; step alpha += H^+ grad S
   (H^+ by numpy lstsq: H is singular along the shift, see below), with a
   backtracking safeguard (halve the step while the objective drops by more
   than 1e-12 relative and the gradient grows), repeated until the gradient
   (= the marginal violation) has not shrunk for 3 steps; the best iterate
   is kept. The gradients are POT's (dual_obj_grad, semi_dual_obj_grad).
   POT's support is already the right one in every case here: the first
   (full) Newton step reaches the rounding floor (L1 violation 1e-16 ..
   5e-14) and later steps only move within rounding.

Potentials are never unique: D(alpha + t, beta - t) = D and
S(alpha + t) = S (sum a = sum b). When the bipartite support graph of P
(row i -- column j where P_ij > 0) is connected, that shift is the only
freedom. When it has several connected components (square6_g1: 3,
points_12x9_g0.5: 2), each component k can be shifted on its own,
(alpha + t_k, beta - t_k) on its rows / columns, within an interval kept
by alpha_i + beta_j <= C_ij across components: the written potentials
are then one optimal choice among many. Both are written centred like
tests/data/entropic and exact: (alpha + t, beta - t) with
sum(a alpha) == sum(b beta). For the semi-dual, beta is the implied column
threshold, beta_j = (gamma b_j - sum_{i in S_j} (alpha_i - C_ij)) / |S_j|,
so that P[:,j] = [alpha + beta_j - C[:,j]]_+ / gamma; beta_semi is not
written. The centred alpha_semi equals alpha_dual to 1e-9 (asserted) when
the support graph is connected, and up to one shift per component
otherwise (asserted; the shifts are printed: up to 0.06).

Files per case (CSV, no header, comma separated, '%.17g'):
    a.csv (n), b.csv (m), C.csv (n x m)
    P_dual.csv (n x m), alpha_dual.csv (n), beta_dual.csv (m)
    P_semi.csv (n x m), alpha_semi.csv (n)
    x.csv (n x d), y.csv (m x d)        point-cloud case only
    params.csv  header "gamma,primal_dual,primal_semi,dual_value,
                semi_dual_value,nnz_dual,nnz_semi" + one line:
                <P,C> + gamma/2 ||P||^2 at P_dual and at P_semi, D(alpha_dual,
                beta_dual), S(alpha_semi), and the number of entries > 0 of
                P_dual and P_semi.

Asserted for every case: L1 marginal violation <= 1e-10 (both marginals of
P_dual; row marginal of P_semi, its column marginal to 1e-12); P_dual and
P_semi agree to 1e-8 (max abs); primal_dual, primal_semi, dual_value and
semi_dual_value agree to 1e-9 relative; the same supports (nnz_dual ==
nnz_semi, same pattern); (alpha_semi, implied beta) reproduces P_semi to
1e-13; centred alpha_semi == alpha_dual to 1e-9 (per component, see
above); the numpy objectives and plans equal POT's
(dual_obj_grad, semi_dual_obj_grad, get_plan_from_dual,
get_plan_from_semi_dual) to 1e-13. Independent of POT: case 1 is solved as
a QP by scipy SLSQP (plan matches to 1e-6), and the dense case
square10_g100 matches the closed form of the dense solution (1e-12).
"""

import os
import sys
import warnings

import numpy as np
import ot
import scipy
from ot.smooth import (SquaredL2, dual_obj_grad, get_plan_from_dual,
                       get_plan_from_semi_dual, projection_simplex,
                       semi_dual_obj_grad)
from scipy.optimize import minimize

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from oracle_common import Worst, generate, point_cost, uniform, weights  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FMT = '%.17g'

TOL_MARG = 1e-10       # L1 marginal violation (dual: both; semi: rows)
TOL_COL_SEMI = 1e-12   # L1 column-marginal violation of P_semi
TOL_PLANS = 1e-8       # max |P_dual - P_semi|
TOL_GAP = 1e-9         # primal / dual / semi-dual values, relative spread
TOL_POT = 1e-9         # max |alpha_semi - alpha_dual| (centred)
TOL_SELF = 1e-13       # numpy formulas vs POT's functions
TOL_QP = 1e-6          # SLSQP plan vs oracle (case 1)
TOL_CLOSED = 1e-12     # closed-form dense plan vs oracle (square10_g100)

worst = Worst('marg_dual', 'marg_semi', 'plans', 'gap', 'potentials', 'self')
note = worst.note


# ---------------------------------------------------------------- data --

def random_cost(rng, n, m):
    """Uniform[0, 1) entries, scaled so that max C = 1."""
    C = rng.uniform(0.0, 1.0, size=(n, m))
    return C / C.max()


# ---------------------------------------------- objectives and plans --

def plan_dual(alpha, beta, C, gamma):
    return np.maximum(alpha[:, None] + beta[None, :] - C, 0.0) / gamma


def plan_semi(alpha, b, C, gamma):
    G = projection_simplex((alpha[:, None] - C) / (gamma * b[None, :]),
                           axis=0)
    return G * b[None, :]


def primal_value(C, gamma, P):
    return np.sum(P * C) + 0.5 * gamma * np.sum(P * P)


def dual_value(a, b, C, gamma, alpha, beta):
    X = np.maximum(alpha[:, None] + beta[None, :] - C, 0.0)
    return (np.dot(alpha, a) + np.dot(beta, b)
            - np.sum(X * X) / (2.0 * gamma))


def semi_dual_value(a, b, C, gamma, alpha):
    S = alpha[:, None] - C
    T = plan_semi(alpha, b, C, gamma)
    max_omega = np.sum(S * T, axis=0) - 0.5 * gamma * np.sum(T * T, axis=0)
    return np.dot(alpha, a) - np.sum(max_omega)


def l1_rows(P, a):
    return np.sum(np.abs(P.sum(axis=1) - a))


def l1_cols(P, b):
    return np.sum(np.abs(P.sum(axis=0) - b))


def centre(alpha, beta, a, b):
    """(alpha + t, beta - t) with sum(a alpha) == sum(b beta)."""
    t = (np.dot(b, beta) - np.dot(a, alpha)) / (a.sum() + b.sum())
    return alpha + t, beta - t


def implied_beta(alpha, b, C, gamma, P):
    """Column thresholds of the semi-dual plan: P = [alpha+beta-C]_+/gamma."""
    S = P > 0
    k = S.sum(axis=0)
    assert np.all(k > 0)
    return (gamma * b - np.sum(np.where(S, alpha[:, None] - C, 0.0),
                               axis=0)) / k


def components(S):
    """Connected components of the bipartite graph with edge set S (n x m).

    Returns a label per row and per column (array of n + m ints).
    """
    n, m = S.shape
    parent = list(range(n + m))

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for i, j in zip(*np.nonzero(S)):
        parent[find(i)] = find(n + j)
    roots = [find(k) for k in range(n + m)]
    return np.unique(roots, return_inverse=True)[1]


# ------------------------------------------------------------- solvers --

def lbfgs(fun, x0):
    """scipy L-BFGS-B at the tightest settings, minimizing fun (f, grad)."""
    res = minimize(fun, x0, method='L-BFGS-B', jac=True,
                   options=dict(ftol=1e-15, gtol=1e-15, maxiter=10 ** 6,
                                maxfun=10 ** 6))
    return res.x, res


def newton(value_grad, hessian, x0, max_iter=50):
    """Active-set (semismooth) Newton ascent on a concave piecewise quadratic.

    value_grad(x) -> (value, gradient) of the maximized objective;
    hessian(x) -> H with -H its generalized Hessian at x. Returns the
    iterate with the smallest L1 gradient and the step that produced it.
    """
    x = x0.copy()
    val, g = value_grad(x)
    best = (np.sum(np.abs(g)), x, 0)
    stall = 0
    for it in range(1, max_iter + 1):
        d = np.linalg.lstsq(hessian(x), g, rcond=None)[0]
        step = 1.0
        while True:
            xn = x + step * d
            vn, gn = value_grad(xn)
            # Accept unless the objective clearly drops (its own rounding
            # is ~1e-14 relative for |C| ~ 25) without the gradient
            # shrinking.
            if (vn >= val - 1e-12 * max(1.0, abs(val))
                    or np.sum(np.abs(gn)) < np.sum(np.abs(g))
                    or step < 1e-12):
                break
            step *= 0.5
        x, val, g = xn, vn, gn
        viol = np.sum(np.abs(g))
        if viol < best[0]:
            best, stall = (viol, x, it), 0
        else:
            stall += 1
            if stall >= 3:
                break
    return best[1], best[2]


def solve_dual(a, b, C, gamma):
    n = len(a)
    regul = SquaredL2(gamma=gamma)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        P0, log = ot.smooth.smooth_ot_dual(
            a, b, C, gamma, reg_type='l2', stopThr=1e-14,
            numItermax=100000, log=True)
    res0 = log['res']
    alpha, beta = log['alpha'], log['beta']
    assert np.array_equal(P0, plan_dual(alpha, beta, C, gamma))
    v0 = l1_rows(P0, a) + l1_cols(P0, b)

    def neg(x):
        obj, ga, gb = dual_obj_grad(x[:n], x[n:], a, b, C, regul)
        return -obj, -np.concatenate((ga, gb))

    x1, res1 = lbfgs(neg, np.concatenate((alpha, beta)))
    P1 = plan_dual(x1[:n], x1[n:], C, gamma)
    v1 = l1_rows(P1, a) + l1_cols(P1, b)

    def value_grad(x):
        obj, ga, gb = dual_obj_grad(x[:n], x[n:], a, b, C, regul)
        return obj, np.concatenate((ga, gb))

    def hessian(x):
        A = (x[:n, None] + x[None, n:] - C > 0).astype(float)
        return np.block([[np.diag(A.sum(axis=1)), A],
                         [A.T, np.diag(A.sum(axis=0))]]) / gamma

    x2, steps = newton(value_grad, hessian, x1)
    alpha, beta = centre(x2[:n], x2[n:], a, b)
    P = plan_dual(alpha, beta, C, gamma)
    v2 = l1_rows(P, a) + l1_cols(P, b)
    print('    dual:      L1 marginal violation POT %.1e (%d it, %s) -> '
          'L-BFGS-B %.1e (%d it, %s) -> Newton %.1e (best at step %d)'
          % (v0, res0.nit, res0.message, v1, res1.nit, res1.message,
             v2, steps))
    return alpha, beta, P


def solve_semi(a, b, C, gamma):
    regul = SquaredL2(gamma=gamma)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        P0, log = ot.smooth.smooth_ot_semi_dual(
            a, b, C, gamma, reg_type='l2', stopThr=1e-14,
            numItermax=100000, log=True)
    res0 = log['res']
    alpha = log['alpha']
    assert np.max(np.abs(P0 - plan_semi(alpha, b, C, gamma))) <= 1e-17
    v0 = l1_rows(P0, a)

    def neg(x):
        obj, g = semi_dual_obj_grad(x, a, b, C, regul)
        return -obj, -g

    x1, res1 = lbfgs(neg, alpha)
    v1 = l1_rows(plan_semi(x1, b, C, gamma), a)

    def value_grad(x):
        return semi_dual_obj_grad(x, a, b, C, regul)

    def hessian(x):
        S = (plan_semi(x, b, C, gamma) > 0).astype(float)
        k = S.sum(axis=0)
        return (np.diag(S.sum(axis=1)) - (S / k) @ S.T) / gamma

    alpha, steps = newton(value_grad, hessian, x1)
    P = plan_semi(alpha, b, C, gamma)
    beta = implied_beta(alpha, b, C, gamma, P)
    alpha, beta = centre(alpha, beta, a, b)
    P = plan_semi(alpha, b, C, gamma)
    v2 = l1_rows(P, a)
    print('    semi-dual: L1 row-marginal violation POT %.1e (%d it, %s) -> '
          'L-BFGS-B %.1e (%d it, %s) -> Newton %.1e (best at step %d)'
          % (v0, res0.nit, res0.message, v1, res1.nit, res1.message,
             v2, steps))
    return alpha, beta, P


# ------------------------------------------------------------- checks --

def check(a, b, C, gamma, alpha_d, beta_d, P_d, alpha_s, beta_s, P_s):
    """The assertions of the module docstring; returns params.csv values."""
    regul = SquaredL2(gamma=gamma)
    assert np.all(P_d >= 0) and np.all(P_s >= 0)

    md = l1_rows(P_d, a) + l1_cols(P_d, b)
    ms, ms_col = l1_rows(P_s, a), l1_cols(P_s, b)
    note('marg_dual', md)
    note('marg_semi', ms)
    assert md <= TOL_MARG, ('dual marginals', md)
    assert ms <= TOL_MARG, ('semi row marginal', ms)
    assert ms_col <= TOL_COL_SEMI, ('semi column marginal', ms_col)

    dplan = np.max(np.abs(P_d - P_s))
    note('plans', dplan)
    assert dplan <= TOL_PLANS, ('plans differ', dplan)

    Sd, Ss = P_d > 0, P_s > 0
    assert np.array_equal(Sd, Ss), ('supports differ',
                                    np.sum(Sd != Ss))
    # The semi-dual plan is the dual plan of (alpha_s, implied beta_s).
    err = np.max(np.abs(P_s - plan_dual(alpha_s, beta_s, C, gamma)))
    assert err <= 1e-13, ('semi plan vs implied beta', err)
    # Potentials: equal after centring when the support graph is connected;
    # otherwise equal up to one shift (alpha + t_k, beta - t_k) per
    # connected component k (t_k = 0 for one component with centring).
    n = len(a)
    label = components(Sd)
    ncomp = label.max() + 1
    diff = np.concatenate((alpha_s - alpha_d, beta_d - beta_s))
    shift = np.array([np.mean(diff[label == k]) for k in range(ncomp)])
    dpot = np.max(np.abs(diff - shift[label]))
    if ncomp == 1:
        dpot = np.max(np.abs(diff))
    note('potentials', dpot)
    assert dpot <= TOL_POT, ('potentials differ', dpot)

    vals = [primal_value(C, gamma, P_d), primal_value(C, gamma, P_s),
            dual_value(a, b, C, gamma, alpha_d, beta_d),
            semi_dual_value(a, b, C, gamma, alpha_s)]
    spread = (max(vals) - min(vals)) / max(abs(v) for v in vals)
    note('gap', spread)
    assert spread <= TOL_GAP, ('values disagree', vals, spread)

    # numpy formulas == POT's functions.
    pot_d = dual_obj_grad(alpha_d, beta_d, a, b, C, regul)[0]
    pot_s = semi_dual_obj_grad(alpha_s, a, b, C, regul)[0]
    self_err = max(abs(pot_d - vals[2]) / abs(vals[2]),
                   abs(pot_s - vals[3]) / abs(vals[3]),
                   np.max(np.abs(get_plan_from_dual(alpha_d, beta_d, C, regul)
                                 - P_d)),
                   np.max(np.abs(get_plan_from_semi_dual(alpha_s, b, C, regul)
                                 - P_s)))
    note('self', self_err)
    assert self_err <= TOL_SELF, ('numpy vs POT', self_err)

    # How far the support is from changing (KKT margins).
    X = alpha_d[:, None] + beta_d[None, :] - C
    off = X[~Sd].max() / gamma if np.any(~Sd) else -np.inf
    n, m = C.shape
    print('    %dx%d gamma=%g: value %.15g, rel. spread %.1e, |P_d - P_s| '
          '%.1e; nnz %d of %d, min P on support %.3g, max '
          '[alpha+beta-C]/gamma off support %.3g'
          % (n, m, gamma, vals[0], spread, dplan, Sd.sum(), n * m,
             P_d[Sd].min(), off))
    print('    support graph: %d connected component(s); |alpha_s - alpha_d| '
          '%.1e%s' % (ncomp, dpot, '' if ncomp == 1 else
                      ' per component, component shifts up to %.3g'
                      % np.max(np.abs(shift))))
    return vals + [int(Sd.sum()), int(Ss.sum())], ncomp


def slsqp_check(a, b, C, gamma, P_ref):
    """Independent of POT: the primal QP by scipy SLSQP."""
    n, m = C.shape
    A = np.zeros((n + m - 1, n * m))       # one balance constraint dropped
    for i in range(n):
        A[i, i * m:(i + 1) * m] = 1.0
    for j in range(m - 1):
        A[n + j, j::m] = 1.0
    rhs = np.concatenate((a, b[:-1]))
    c = C.ravel()
    res = minimize(lambda p: (c @ p + 0.5 * gamma * p @ p, c + gamma * p),
                   np.outer(a, b).ravel(), jac=True, method='SLSQP',
                   bounds=[(0.0, None)] * (n * m),
                   constraints=[dict(type='eq', fun=lambda p: A @ p - rhs,
                                     jac=lambda p: A)],
                   options=dict(ftol=1e-15, maxiter=1000))
    assert res.success, res.message
    err = np.max(np.abs(res.x.reshape(n, m) - P_ref))
    print('    SLSQP primal QP (%d it): max |P - P_oracle| %.1e'
          % (res.nit, err))
    assert err <= TOL_QP, ('SLSQP', err)


def closed_form_check(a, b, C, gamma, P_ref):
    """Dense optimum (all P_ij > 0): solve the equality-constrained QP."""
    n, m = C.shape
    Cc = (C - C.mean(axis=1, keepdims=True) - C.mean(axis=0, keepdims=True)
          + C.mean())
    Q = a[:, None] / m + b[None, :] / n - 1.0 / (n * m) - Cc / gamma
    assert np.all(Q > 0), 'closed form not valid: the plan is not dense'
    err = np.max(np.abs(Q - P_ref))
    dev = np.max(np.abs(P_ref - np.outer(a, b)))
    print('    closed-form dense plan: max |P - P_oracle| %.1e; '
          'max |P - a b^T| %.3g (a_i b_j = %.3g)' % (err, dev, a[0] * b[0]))
    assert err <= TOL_CLOSED, ('closed form', err)


# -------------------------------------------------------------- output --

def write_case(name, arrays, gamma, vals):
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    for key, arr in arrays.items():
        arr = np.asarray(arr, dtype=float)
        assert np.all(np.isfinite(arr)), (name, key)
        assert not np.any((arr != 0) & (np.abs(arr) < np.finfo(float).tiny))
        np.savetxt(os.path.join(d, key + '.csv'), np.atleast_1d(arr),
                   fmt=FMT, delimiter=',')
    with open(os.path.join(d, 'params.csv'), 'w') as fh:
        fh.write('gamma,primal_dual,primal_semi,dual_value,semi_dual_value,'
                 'nnz_dual,nnz_semi\n')
        fh.write(','.join([FMT % v for v in [gamma] + vals[:4]]
                          + ['%d' % v for v in vals[4:]]) + '\n')


def run(name, a, b, C, gamma, extra=None, qp=False, dense=False):
    alpha_d, beta_d, P_d = solve_dual(a, b, C, gamma)
    alpha_s, beta_s, P_s = solve_semi(a, b, C, gamma)
    vals, ncomp = check(a, b, C, gamma, alpha_d, beta_d, P_d,
                        alpha_s, beta_s, P_s)
    if qp:
        slsqp_check(a, b, C, gamma, P_d)
    if dense:
        closed_form_check(a, b, C, gamma, P_d)
    arrays = dict(a=a, b=b, C=C, P_dual=P_d, alpha_dual=alpha_d,
                  beta_dual=beta_d, P_semi=P_s, alpha_semi=alpha_s)
    arrays.update(extra or {})
    write_case(name, arrays, gamma, vals)


# --------------------------------------------------------------- cases --

def dense_case(name, seed, n, m, gamma, uniform_weights=False, **kw):
    rng = np.random.default_rng(seed)
    if uniform_weights:
        a, b = uniform(n), uniform(m)
    else:
        a, b = weights(rng, n), weights(rng, m)
    C = random_cost(rng, n, m)
    run(name, a, b, C, gamma, **kw)


def points_case(name, seed, n, m, d, gamma, shift):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = rng.standard_normal((m, d)) + shift
    a, b = uniform(n), uniform(m)
    C = point_cost(x, y, 'sqeuclidean')
    run(name, a, b, C, gamma, extra=dict(x=x, y=y))


CASES = [
    ('square6_g1',
     lambda n: dense_case(n, 1, 6, 6, 1.0, uniform_weights=True, qp=True)),
    ('rect8x5_g0.1', lambda n: dense_case(n, 2, 8, 5, 0.1)),
    # Seeds 3, 4, 6: the same a, b, C (and x, y) as entropic's
    # rect30x20_reg0.05, rect20x25_reg0.01 and points_sqeuclid_12x9.
    ('rect30x20_g0.05', lambda n: dense_case(n, 3, 30, 20, 0.05)),
    ('rect20x25_g0.01', lambda n: dense_case(n, 4, 20, 25, 0.01)),
    ('points_12x9_g0.5', lambda n: points_case(n, 6, 12, 9, 2, 0.5, 1.0)),
    ('square10_g10',
     lambda n: dense_case(n, 5, 10, 10, 10.0, uniform_weights=True)),
    # Same data as square10_g10; gamma large enough for a fully dense plan.
    ('square10_g100',
     lambda n: dense_case(n, 5, 10, 10, 100.0, uniform_weights=True,
                          dense=True)),
]


def main():
    generate(HERE, CASES, worst,
             [('POT', ot.__version__), ('numpy', np.__version__),
              ('scipy', scipy.__version__)])


if __name__ == '__main__':
    main()
