/*
 * Projections onto the simplex and top-k selection: the per-column kernels
 * of the quadratically-regularized and sparsity-constrained solvers.
 *
 * Both work in expected linear time by partitioning around pivots, as a
 * quickselect does, instead of sorting: the simplex threshold is found by
 * Duchi et al.'s pivot method (ICML 2008, "Efficient projections onto the
 * l1-ball"), and the k largest entries by a quickselect whose ordering is
 * (value descending, index ascending), so ties are broken the same way on
 * every run and platform.
 */
#include <math.h>
#include <stddef.h>

#include "linalg/linalg.h"

/* "Entry p ranks before entry q": larger value first, then lower index. */
static inline int before(const double *v, size_t p, size_t q)
{
    return v[p] > v[q] || (v[p] == v[q] && p < q);
}

static inline void swap(size_t *x, size_t *y)
{
    size_t t = *x;
    *x = *y;
    *y = t;
}

/* Median of three ranks (by `before`) as the pivot: deterministic, and
 * immune to sorted and reversed inputs. */
static size_t pick_pivot(const double *v, const size_t *idx, size_t lo,
                         size_t hi)
{
    size_t a = idx[lo], b = idx[lo + (hi - lo) / 2], c = idx[hi - 1];
    if (before(v, a, b)) {
        if (before(v, b, c))
            return lo + (hi - lo) / 2;
        return before(v, a, c) ? hi - 1 : lo;
    }
    if (before(v, a, c))
        return lo;
    return before(v, b, c) ? hi - 1 : lo + (hi - lo) / 2;
}

void otk__top_k(const double *v, size_t len, size_t k, size_t *idx)
{
    for (size_t i = 0; i < len; i++)
        idx[i] = i;
    if (k >= len)
        return;
    size_t lo = 0, hi = len; /* the k-th ranked entry lies in [lo, hi) */
    while (hi - lo > 1) {
        size_t p = pick_pivot(v, idx, lo, hi);
        swap(&idx[p], &idx[hi - 1]);
        size_t pivot = idx[hi - 1], store = lo;
        for (size_t i = lo; i + 1 < hi; i++)
            if (before(v, idx[i], pivot))
                swap(&idx[i], &idx[store++]);
        swap(&idx[store], &idx[hi - 1]);
        /* idx[lo, store) rank before the pivot, idx[store] is the pivot */
        if (store == k || store + 1 == k)
            return;
        if (store > k)
            hi = store;
        else
            lo = store + 1;
    }
}

double otk__simplex_threshold(const double *v, size_t len, double z,
                              size_t *idx)
{
    /* theta with sum_i max(v_i - theta, 0) = z. Candidates for the support
     * live in idx[lo, hi); s and rho are the sum and count of the entries
     * already known to be in it. */
    for (size_t i = 0; i < len; i++)
        idx[i] = i;
    size_t lo = 0, hi = len, rho = 0;
    double s = 0.0;
    while (lo < hi) {
        size_t p = pick_pivot(v, idx, lo, hi);
        swap(&idx[p], &idx[lo]);
        const double pv = v[idx[lo]];
        /* move the entries >= the pivot to the front, after the pivot */
        size_t store = lo + 1;
        double gs = pv;
        for (size_t i = lo + 1; i < hi; i++)
            if (v[idx[i]] >= pv) {
                gs += v[idx[i]];
                swap(&idx[i], &idx[store++]);
            }
        size_t g = store - lo; /* pivot and the entries above it */
        if ((s + gs) - (double)(rho + g) * pv < z) {
            /* all of them are in the support: look below */
            s += gs;
            rho += g;
            lo = store;
        } else {
            /* the pivot is not (or is exactly at the edge): look above */
            lo++;
            hi = store;
        }
    }
    return rho > 0 ? (s - z) / (double)rho : -INFINITY;
}

double otk__project_simplex(const double *v, size_t len, double z, double *y,
                            size_t *idx)
{
    double theta = otk__simplex_threshold(v, len, z, idx);
    for (size_t i = 0; i < len; i++) {
        double t = v[i] - theta;
        y[i] = t > 0.0 ? t : 0.0;
    }
    return theta;
}
