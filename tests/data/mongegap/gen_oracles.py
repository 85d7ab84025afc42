"""Monge-gap oracles computed with POT 0.8.2, independently of otkit.

Run with Debian's interpreter: /usr/bin/python3 tests/data/mongegap/gen_oracles.py

The entropic Monge gap of paired samples (x_i, y_i = T(x_i)), uniform
weights 1/n, squared Euclidean cost (ott-jax's monge_gap_from_samples):

    M = (1/n) sum_i ||x_i - y_i||^2 - W_eps,
    W_eps = <P, C> + eps sum_ij P_ij log P_ij   (= <P,C> - eps H(P)),

with P from POT's log-domain Sinkhorn (ot.sinkhorn, method='sinkhorn_log')
run to a tight tolerance. Each case folder holds x.csv, y.csv (n x d) and
values.csv: one line "reg,displacement,W_eps,monge_gap".
"""
import os
import sys

import numpy as np
import ot

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))
from oracle_common import point_cost  # noqa: E402


def write(path, arr):
    np.savetxt(path, np.atleast_2d(arr), delimiter=',', fmt='%.17g')


def case(name, seed, n, d, reg):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    # a map that is not a gradient of a convex function: a twist
    angle = 0.8 * np.tanh(x[:, :1])
    y = np.concatenate([np.cos(angle) * x[:, :1] - np.sin(angle) * x[:, 1:2],
                        np.sin(angle) * x[:, :1] + np.cos(angle) * x[:, 1:2]],
                       axis=1) + 0.5
    C = point_cost(x, y)
    a = np.full(n, 1.0 / n)
    P = ot.sinkhorn(a, a, C, reg, method='sinkhorn_log', numItermax=10**6,
                    stopThr=1e-15)
    assert np.abs(P.sum(0) - a).sum() < 1e-12 and np.abs(P.sum(1) - a).sum() < 1e-12
    pos = P > 0
    W = (P * C).sum() + reg * (P[pos] * np.log(P[pos])).sum()
    disp = np.mean(((x - y) ** 2).sum(axis=1))
    folder = os.path.join(HERE, name)
    os.makedirs(folder, exist_ok=True)
    write(os.path.join(folder, 'x.csv'), x)
    write(os.path.join(folder, 'y.csv'), y)
    write(os.path.join(folder, 'values.csv'), [reg, disp, W, disp - W])
    print(name, 'reg', reg, 'disp', disp, 'W', W, 'gap', disp - W)


def main():
    case('sqeuclid_30x2', 1, 30, 2, 0.1)


if __name__ == '__main__':
    main()
