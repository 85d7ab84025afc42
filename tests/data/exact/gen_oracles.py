#!/usr/bin/python3
"""Generate the oracle cases for otkit's exact (unregularized) OT tests.

Run with Debian's interpreter (python3-pot 0.8.2, numpy, scipy):

    /usr/bin/python3 tests/data/exact/gen_oracles.py

It (re)writes one folder per case next to this script, plus cases.txt.
Everything is deterministic: each case draws its data from its own
numpy.random.default_rng(seed).

Problem (the Kantorovich linear program):

    min_P <P, C>   s.t.  P >= 0,  P 1 = a,  P^T 1 = b,

with dual  max_{f, g} <a, f> + <b, g>  s.t.  f_i + g_j <= C_ij.

Oracle: POT 0.8.2's network simplex,

    P, log = ot.emd(a, b, C, numItermax=10**7, log=True)
    cost   = ot.emd2(a, b, C, numItermax=10**7)
    f, g   = log['u'], log['v']

POT conventions worth knowing (checked in ot/lp/__init__.py, 0.8.2):

* ot.emd asserts sum(a) == sum(b) only to 7 decimals
  (np.testing.assert_almost_equal, i.e. |diff| < 1.5e-7) and then silently
  rescales b <- b * sum(a) / sum(b). ot.emd2 does neither (no check, no
  rescaling), so the unequal-mass case calls both on the rescaled b. The
  C++ core itself accepts |sum(a) - sum(b)| <= 1e-8 (absolute) and returns
  a plan that misses the marginals by that much; above it reports
  "infeasible", which emd2 turns into a UserWarning and a cost of 0.
* The duals are centred (center_dual=True): (u + t, v - t) with t chosen so
  that sum(a u) == sum(b v), the same convention as tests/data/entropic.
  (center_ot_dual's docstring says "beta = beta0 + c"; the code correctly
  does beta0 - c.)
* The C++ solver drops zero-weight rows/columns; POT then fills their duals
  with estimate_dual_null_weights (lowers them until dual-feasible) and
  re-centres. Those entries are feasible but arbitrary.
* The plan is a basic solution (support is a forest, at most n + m - 1
  entries); in degenerate problems (e.g. assignments) it has fewer. The
  simplex (LEMON-derived) keeps an artificial root node in its basis, so
  in degenerate cases the duals come from artificial arcs: in
  permutation10 all u_i are equal and v_j = C_{perm_j, j} - u.

f and g are written for reference only: optimal duals are never unique
(shift by t at least; more when degenerate or with zero weights), so tests
should check them by feasibility + complementary slackness + zero gap, not
by equality.

Uniqueness flag (params.csv 'unique'). With r_ij = C_ij - f_i - g_j >= 0,
every optimal plan lives on the face F = {feasible P : P_ij = 0 where
r_ij > TOL_RC} (complementary slackness with POT's optimal dual), and every
feasible P in F is optimal. POT's support S is a forest, so F = {P} iff no
optimal plan can put mass on a tight arc (r_ij <= TOL_RC) outside S, i.e.
iff for no such arc (i, j) the residual graph (row i -> col j over tight
arcs, col j -> row i over arcs of S) has a path from col j to row i
(that path plus (i, j) is a cycle along which mass can be moved at zero
cost). This exact test is cross-checked by an LP (scipy linprog, HiGHS)
maximizing the mass on tight arcs outside S over F. It also accepts
degenerate but unique plans (permutations, zero weights), where the simpler
sufficient test "|S| == n + m - 1 and r_ij > TOL_RC off S" says 0; both are
printed.

Files per case (CSV, no header, comma separated, '%.17g'):
    a.csv (n), b.csv (m), C.csv (n x m), P.csv (n x m), f.csv (n), g.csv (m)
    x.csv (n x d), y.csv (m x d)     point cases only (1-D: one column)
    perm.csv (m)                     permutation10: source index (0-based)
                                     matched to each target j
    params.csv   header "transport_cost,unique" + one line
                 (cost = ot.emd2 value, unique = 1 or 0)

Asserted for every case: result_code == 1 and warning None; P >= 0;
|P 1 - a|, |P^T 1 - b| <= 1e-12; f_i + g_j <= C_ij + 1e-9 everywhere and
= C_ij (to 1e-9) on the support; sum(a f) + sum(b g) == cost to 1e-10
relative (+ 1e-14 sum(a) max|C| absolute, needed by permutation10);
emd2's cost == sum(P * C) to 1e-12 relative; point costs by
direct differences == ot.dist to 1e-12; plus per-case structure checks
(permutation, monotone 1-D coupling, expected uniqueness).
"""

import collections
import os
import warnings

import sys

import numpy as np
import ot

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from oracle_common import Worst, generate, point_cost, uniform, weights  # noqa: E402
import scipy
from scipy.optimize import linprog

HERE = os.path.dirname(os.path.abspath(__file__))
FMT = '%.17g'
ITERMAX = 10 ** 7

TOL_MARG = 1e-12       # max |P 1 - a|, |P^T 1 - b|
TOL_DUAL = 1e-9        # f_i + g_j - C_ij <= TOL_DUAL; |.| <= TOL_DUAL on S
TOL_GAP = 1e-10        # |<a,f> + <b,g> - cost| <= TOL_GAP |cost| + ...
TOL_GAP_ABS = 1e-14    # ... + TOL_GAP_ABS sum(a) max|C|
TOL_COST = 1e-12       # |emd2 - sum(P C)| / |cost|
TOL_RC = 1e-9          # reduced cost <= TOL_RC counts as tight
TOL_LP = 1e-8          # LP cross-check: extra mass above this = not unique

worst = Worst('marginal', 'dual_viol', 'slack_on_support', 'gap', 'cost')
note = worst.note




# ---------------------------------------------------------------- data --







# ------------------------------------------------------------ checks --

def is_forest(S):
    """True if the bipartite graph with edge set S (bool n x m) is acyclic."""
    n, m = S.shape
    parent = list(range(n + m))

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for i, j in zip(*np.nonzero(S)):
        ri, rj = find(i), find(n + j)
        if ri == rj:
            return False
        parent[ri] = rj
    return True


def unique_by_paths(S, T):
    """Exact uniqueness test (see module docstring).

    S: support of the basic optimal plan (a forest); T: tight arcs
    (reduced cost <= TOL_RC, contains S). Unique iff no tight arc (i, j)
    outside S closes a cycle i -> j ~> i in the residual graph.
    """
    n, m = S.shape
    rows_of_col = [np.nonzero(S[:, j])[0] for j in range(m)]   # col -> row
    cols_of_row = [np.nonzero(T[i, :])[0] for i in range(n)]   # row -> col
    for i0, j0 in zip(*np.nonzero(T & ~S)):
        seen_r, seen_c = set(), {j0}
        queue = collections.deque([j0])
        while queue:
            j = queue.popleft()
            for i in rows_of_col[j]:
                if i == i0:
                    return False
                if i not in seen_r:
                    seen_r.add(i)
                    for jj in cols_of_row[i]:
                        if jj not in seen_c:
                            seen_c.add(jj)
                            queue.append(jj)
    return True


def extra_mass_lp(a, b, S, T):
    """max mass on tight arcs outside S over the optimal face (HiGHS LP)."""
    n, m = S.shape
    arcs = list(zip(*np.nonzero(T)))
    extra = np.array([0.0 if S[i, j] else -1.0 for i, j in arcs])
    if not np.any(extra):
        return 0.0
    A = np.zeros((n + m, len(arcs)))
    for k, (i, j) in enumerate(arcs):
        A[i, k] = 1.0
        A[n + j, k] = 1.0
    res = linprog(extra, A_eq=A, b_eq=np.concatenate([a, b]),
                  bounds=(0, None), method='highs')
    assert res.status == 0, res.message
    return max(0.0, -res.fun)


def check_and_classify(a, b, C, P, f, g, cost):
    """All the assertions of the module docstring; returns the flag."""
    n, m = C.shape
    assert np.all(P >= 0.0)
    marg = max(np.max(np.abs(P.sum(axis=1) - a)),
               np.max(np.abs(P.sum(axis=0) - b)))
    note('marginal', marg)
    assert marg <= TOL_MARG, ('marginal', marg)

    pc = np.sum(P * C)
    rel = abs(cost - pc) / abs(cost)
    note('cost', rel)
    assert rel <= TOL_COST, ('emd2 vs sum(P C)', cost, pc)

    R = C - f[:, None] - g[None, :]            # reduced costs
    viol = max(0.0, -R.min())
    note('dual_viol', viol)
    assert viol <= TOL_DUAL, ('dual infeasible', viol)
    S = P > 0
    slack = np.max(np.abs(R[S]))
    note('slack_on_support', slack)
    assert slack <= TOL_DUAL, ('complementary slackness', slack)
    dual = np.dot(a, f) + np.dot(b, g)
    # Relative to the cost, plus an absolute floor at the rounding level of
    # C: POT builds the potentials by summing costs along its basis tree,
    # and in permutation10 (cost 1.4e-6, degenerate basis arcs with C ~ 2e-2)
    # that leaves a 4e-16 absolute (3e-10 relative) gap.
    gap = abs(dual - cost) / abs(cost)
    note('gap', gap)
    assert (abs(dual - cost) <= TOL_GAP * abs(cost)
            + TOL_GAP_ABS * a.sum() * np.abs(C).max()), ('gap', dual, cost)
    # POT's centring: sum(a f) == sum(b g).
    assert abs(np.dot(a, f) - np.dot(b, g)) <= 1e-12 * max(1.0, abs(cost))

    assert is_forest(S), 'support of a basic plan must be a forest'
    T = R <= TOL_RC
    assert np.all(T[S])
    unique = unique_by_paths(S, T)
    extra = extra_mass_lp(a, b, S, T)
    assert (extra <= TOL_LP) == unique, ('LP cross-check', unique, extra)
    simple = bool(S.sum() == n + m - 1 and not np.any(T & ~S))
    assert unique or not simple
    print('    %dx%d cost %.12g, rel. gap %.2g, |S| %d (n+m-1 = %d), '
          'tight off S %d, min P on S %.3g, min r off T %.3g; unique %d '
          '(simple test %d, LP extra mass %.2g)'
          % (n, m, cost, gap, S.sum(), n + m - 1, np.sum(T & ~S),
             P[S].min(), R[~T].min() if np.any(~T) else np.inf,
             unique, simple, extra))
    return int(unique)


# ------------------------------------------------------------- solver --

def solve(a, b, C):
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        P, log = ot.emd(a, b, C, numItermax=ITERMAX, log=True)
        cost = ot.emd2(a, b, C, numItermax=ITERMAX)
    assert log['result_code'] == 1, log
    assert log['warning'] is None, log
    return P, log['u'], log['v'], float(cost)


# -------------------------------------------------------------- output --

def write_case(name, arrays, cost, unique):
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    for key, arr in arrays.items():
        arr = np.asarray(arr, dtype=float)
        assert np.all(np.isfinite(arr)), (name, key)
        assert not np.any((arr != 0) & (np.abs(arr) < np.finfo(float).tiny))
        np.savetxt(os.path.join(d, key + '.csv'), np.atleast_1d(arr),
                   fmt=FMT, delimiter=',')
    with open(os.path.join(d, 'params.csv'), 'w') as fh:
        fh.write('transport_cost,unique\n')
        fh.write('%s,%d\n' % (FMT % cost, unique))


def run(name, a, b, C, b_file=None, expect_unique=None, extra=None):
    """Solve, check, write. b_file: b as written (default b)."""
    P, f, g, cost = solve(a, b, C)
    unique = check_and_classify(a, b, C, P, f, g, cost)
    if expect_unique is not None:
        assert unique == expect_unique, (name, unique)
    arrays = dict(a=a, b=b if b_file is None else b_file, C=C, P=P, f=f, g=g)
    arrays.update(extra or {})
    write_case(name, arrays, cost, unique)
    return P


# --------------------------------------------------------------- cases --

def dense_case(name, seed, n, m, uniform_weights=False, scale=1.0):
    rng = np.random.default_rng(seed)
    if uniform_weights:
        a, b = uniform(n), uniform(m)
    else:
        a, b = weights(rng, n), weights(rng, m)
    C = scale * rng.uniform(0.0, 1.0, size=(n, m))
    run(name, a, b, C)


def zero_weights_case(name, seed):
    rng = np.random.default_rng(seed)
    a, b = weights(rng, 12), weights(rng, 10)
    a[3] = 0.0
    b[[0, 7]] = 0.0
    a, b = a / a.sum(), b / b.sum()
    C = rng.uniform(0.0, 1.0, size=(12, 10))
    P = run(name, a, b, C)
    assert np.all(P[3, :] == 0) and np.all(P[:, [0, 7]] == 0)


def permutation_case(name, seed, n):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(n, 2))
    perm = rng.permutation(n)
    y = x[perm] + 1e-3 * rng.standard_normal((n, 2))
    a = b = uniform(n)
    C = point_cost(x, y)
    expected = np.zeros((n, n))
    expected[perm, np.arange(n)] = 1.0 / n
    P = run(name, a, b, C, expect_unique=1,
            extra=dict(x=x, y=y, perm=perm))
    assert np.array_equal(P, expected), 'plan is not the permutation'


def ties_case(name, seed, n):
    rng = np.random.default_rng(seed)
    a = b = uniform(n)
    C = rng.integers(0, 4, size=(n, n)).astype(float)
    run(name, a, b, C, expect_unique=0)


def points_case(name, seed, n, m, d, shift):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = rng.standard_normal((m, d)) + shift
    a, b = weights(rng, n), weights(rng, m)
    C = point_cost(x, y)
    run(name, a, b, C, extra=dict(x=x, y=y))


def monotone_coupling(x, a, y, b):
    """North-west corner rule on sorted points, in original indices."""
    ix, iy = np.argsort(x), np.argsort(y)
    ra, rb = a[ix].copy(), b[iy].copy()
    P = np.zeros((len(x), len(y)))
    i = j = 0
    while i < len(x) and j < len(y):
        t = min(ra[i], rb[j])
        P[ix[i], iy[j]] += t
        ra[i] -= t
        rb[j] -= t
        if ra[i] <= rb[j]:       # row exhausted (ties: advance the row)
            i += 1
        else:
            j += 1
    return P


def line_case(name, seed, n, m, uniform_weights):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 10.0, size=n)
    y = rng.uniform(0.0, 10.0, size=m)
    if uniform_weights:
        a, b = uniform(n), uniform(m)
    else:
        a, b = weights(rng, n), weights(rng, m)
    C = point_cost(x, y)
    assert np.array_equal(C, (x[:, None] - y[None, :]) ** 2)
    expected = monotone_coupling(x, a, y, b)
    P = run(name, a, b, C, expect_unique=1, extra=dict(x=x, y=y))
    err = np.max(np.abs(P - expected))
    P1d = ot.emd_1d(x, y, a, b, metric='sqeuclidean')
    err1d = np.max(np.abs(P1d - expected))
    print('    |P - monotone| %.3g, |emd_1d - monotone| %.3g' % (err, err1d))
    if uniform_weights and n == m:
        order = np.zeros(n, dtype=int)
        order[np.argsort(x)] = np.argsort(y)   # x_i -> y_order[i]
        perm = np.zeros((n, n))
        perm[np.arange(n), order] = 1.0 / n
        assert np.array_equal(expected, perm)
        assert np.array_equal(P, perm), 'plan is not the sorted matching'
    assert err <= 1e-15 and err1d <= 1e-15, (err, err1d)


def tiny_case(name, seed):
    rng = np.random.default_rng(seed)
    a = np.array([1.0])
    b = weights(rng, 3)
    C = rng.uniform(0.0, 1.0, size=(1, 3))
    P = run(name, a, b, C, expect_unique=1)
    # Not bit-exact: POT rescales b by sum(a)/sum(b) (sum(b) = 1 - 2.2e-16
    # here) and its simplex computes flows by differences; 1-ulp errors.
    err = np.max(np.abs(P[0] - b))
    print('    |P[0] - b| %.3g' % err)
    assert err <= 1e-15


def unequal_mass_case(name, seed):
    rng = np.random.default_rng(seed)
    a = weights(rng, 6)
    b_file = weights(rng, 5, mass=a.sum() * (1.0 + 1e-12))
    b = b_file * a.sum() / b_file.sum()
    print('    sum(b)/sum(a) - 1 = %.3g (file), %.3g (solved)'
          % (b_file.sum() / a.sum() - 1, b.sum() / a.sum() - 1))
    C = rng.uniform(0.0, 1.0, size=(6, 5))
    P = run(name, a, b, C, b_file=b_file)
    # ot.emd on the unnormalized b rescales internally: same plan.
    P_raw = ot.emd(a, b_file, C, numItermax=ITERMAX)
    assert np.max(np.abs(P_raw - P)) <= 1e-15
    assert np.max(np.abs(P.sum(axis=0) - b_file)) <= 1e-12


CASES = [
    ('square5', lambda n: dense_case(n, 1, 5, 5, uniform_weights=True)),
    ('rect7x4', lambda n: dense_case(n, 2, 7, 4)),
    ('rect30x20', lambda n: dense_case(n, 3, 30, 20)),
    ('rect40x35', lambda n: dense_case(n, 4, 40, 35, scale=100.0)),
    ('zero_weights', lambda n: zero_weights_case(n, 5)),
    ('permutation10', lambda n: permutation_case(n, 6, 10)),
    ('ties_integer', lambda n: ties_case(n, 7, 8)),
    ('points_sqeuclid_25x18', lambda n: points_case(n, 8, 25, 18, 2, 1.0)),
    ('line12', lambda n: line_case(n, 9, 12, 12, True)),
    ('line_weights_9x6', lambda n: line_case(n, 10, 9, 6, False)),
    ('tiny_1x3', lambda n: tiny_case(n, 11)),
    ('unequal_mass_ok', lambda n: unequal_mass_case(n, 12)),
]


def main():
    generate(HERE, CASES, worst,
             [('POT', ot.__version__), ('numpy', np.__version__),
              ('scipy', scipy.__version__)])


if __name__ == '__main__':
    main()
