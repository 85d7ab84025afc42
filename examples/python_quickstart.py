#!/usr/bin/env python3
"""otkit from Python, written like POT code: `import otkit as ot`.

Run from a build tree (or with the package installed):
    OTKIT_LIBRARY=build/lib/libotkit.so PYTHONPATH=python \\
        python3 examples/python_quickstart.py
"""
import numpy as np

import otkit as ot

# Two point clouds with random weights.
rng = np.random.default_rng(0)
xs = rng.normal(size=(200, 2))
xt = rng.normal(size=(150, 2)) + [2.0, 0.0]
a = rng.random(200)
a /= a.sum()
b = np.full(150, 1 / 150)

# The cost matrix, as ot.dist.
M = ot.dist(xs, xt)

# Exact OT: the plan and its cost.
G0 = ot.emd(a, b, M)
print("exact cost          ", ot.emd2(a, b, M), "nonzeros", (G0 > 0).sum())

# Entropic OT. log=True gives POT's dict plus otkit's info fields.
G, log = ot.sinkhorn(a, b, M, 0.05, log=True)
print("sinkhorn cost       ", np.sum(G * M), "iterations", log["niter"],
      log["status"])

# The same on the points, without forming M (costs computed on the fly).
G = ot.bregman.empirical_sinkhorn(xs, xt, 0.05, a, b)
print("divergence (POT)    ",
      ot.bregman.empirical_sinkhorn_divergence(xs, xt, 0.5, a, b))
print("divergence (debiased)",
      ot.bregman.empirical_sinkhorn_divergence(xs, xt, 0.5, a, b,
                                               debiased=True))

# Unbalanced: the mass of a doubled, KL penalty reg_m on the marginals.
Gu = ot.unbalanced.sinkhorn_unbalanced(2 * a, b, M, 0.05, 1.0)
print("unbalanced mass     ", Gu.sum())

# Quadratically regularized and sparsity-constrained plans.
Gq = ot.smooth.smooth_ot_semi_dual(a, b, M, 1.0)
Gk = ot.sparse.sparse_ot_semi_dual(a, b, M, 1.0, k=2, warn=False)
print("quadratic nonzeros  ", (Gq > 0).sum(), " k=2 nonzeros", (Gk > 0).sum())

# Progress and cancellation: stop after five checks.
P, log = ot.sinkhorn(a, b, M, 1e-3, stopThr=0, numItermax=10**6, log=True,
                     progress=lambda r: r["iteration"] >= 50)
print("cancelled at        ", log["iterations"], log["status"])

# The Monge gap of a map and its gradient with respect to the images.
gap, grad = ot.monge_gap(xs, xs + 0.1 * xs[:, ::-1], grad=True)
print("monge gap           ", gap)
