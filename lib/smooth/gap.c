/* The certificate of the smooth engine (see finish.h), and the growth of
 * its buffers. */
#include <math.h>
#include <stdlib.h>

#include "smooth/finish.h"

/*
 * The bound on D* - D(x) (see finish.h): sum_v |g_v| r_v, r_v the
 * distance from x_v to an interval that holds x*_v for some maximizer x*.
 * At a maximum some plan T of the supergradient set meets both marginals.
 * Dual: a column's largest entry alpha_i + beta_j - c_ij is in every top-k
 * selection, so it is at most reg b_j, and an entry T carries is > 0.
 * Semi-dual: an entry T carries is within reg b_j of its column's largest
 * alpha_i - c_ij. Every row of a_i > 0 carries mass, so for two such rows
 * alpha_i1 - alpha_i2 < osc = (max C - min C) + reg max b: their optimal
 * alpha lie in [A - osc, A], A their largest, which the common shift of
 * the potentials makes equal to x's. Then the dual's beta_j of b_j > 0
 * lies in [min C - A, max C + reg max b - A]. A potential of zero weight
 * can be lowered to A - osc (alpha) or min C - A (beta) without changing
 * the objective, and its gradient is <= 0 (it only carries mass away), so
 * only its excess above that level counts.
 */
double otk__finish_gap(const otk__finish_problem *p, const double *x,
                       const double *g)
{
    const size_t n = p->n, m = p->m;
    double bmax = 0.0, top = -INFINITY;
    for (size_t j = 0; j < m; j++)
        bmax = p->b[j] > bmax ? p->b[j] : bmax;
    for (size_t i = 0; i < n; i++)
        if (p->a[i] > 0.0 && x[i] > top)
            top = x[i];
    const double osc = (p->cmax - p->cmin) + p->reg * bmax;
    double gap = 0.0;
    for (size_t i = 0; i < n; i++) {
        double below = top - x[i], r;
        if (p->a[i] > 0.0)
            r = fmax(below, osc - below);
        else
            r = fmax(0.0, osc - below);
        gap += fabs(g[i]) * r;
    }
    if (!p->dual)
        return gap;
    const double lo = p->cmin - top, hi = p->cmax + p->reg * bmax - top;
    for (size_t j = 0; j < m; j++) {
        double beta = x[n + j], r;
        if (p->b[j] > 0.0)
            r = fmax(fabs(beta - lo), fabs(beta - hi));
        else
            r = fmax(0.0, beta - lo);
        gap += fabs(g[n + j]) * r;
    }
    return gap;
}

int otk__smooth_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t want = need > 2 * *cap ? need : 2 * *cap;
    void *q = realloc(*p, want * size);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = want;
    return 0;
}
