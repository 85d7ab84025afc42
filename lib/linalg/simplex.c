/*
 * Projections onto the simplex and top-k selection: the per-column kernels
 * of the quadratically-regularized and sparsity-constrained solvers.
 *
 * Neither sorts: the simplex threshold comes from Michelot's iteration on
 * the entries that can be in the support (a few passes), and the k largest
 * entries from a quickselect whose ordering is (value descending, index
 * ascending), so ties are broken the same way on every run and platform.
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

double otk__simplex_threshold_on(const double *v, size_t *set, size_t count,
                                 double z, size_t *support)
{
    /* Michelot's iteration: theta = (sum over the set - z) / |set|, drop
     * the entries <= theta, repeat. From a superset of the support theta
     * rises monotonically to the threshold and stops when nothing is
     * dropped (Condat 2016, section 2). */
    double sum = 0.0;
    for (size_t r = 0; r < count; r++)
        sum += v[set[r]];
    double theta = (sum - z) / (double)count;
    for (;;) {
        size_t kept = 0;
        double kept_sum = 0.0;
        for (size_t r = 0; r < count; r++)
            if (v[set[r]] > theta) {
                set[kept++] = set[r];
                kept_sum += v[set[r]];
            }
        if (kept == count || kept == 0) {
            if (support != NULL)
                *support = kept;
            return theta;
        }
        count = kept;
        theta = (kept_sum - z) / (double)count;
    }
}

size_t otk__simplex_candidates(const double *v, size_t len, double z,
                               size_t *set)
{
    /* theta >= max v - z, so nothing at or below that is in the support */
    double mx = -INFINITY;
    for (size_t i = 0; i < len; i++)
        mx = v[i] > mx ? v[i] : mx;
    const double floor_ = mx - z;
    size_t count = 0;
    for (size_t i = 0; i < len; i++)
        if (v[i] > floor_)
            set[count++] = i;
    return count;
}

double otk__simplex_threshold(const double *v, size_t len, double z,
                              size_t *idx, size_t *support)
{
    size_t count = otk__simplex_candidates(v, len, z, idx);
    return otk__simplex_threshold_on(v, idx, count, z, support);
}

double otk__project_simplex(const double *v, size_t len, double z, double *y,
                            size_t *idx)
{
    double theta = otk__simplex_threshold(v, len, z, idx, NULL);
    for (size_t i = 0; i < len; i++) {
        double t = v[i] - theta;
        y[i] = t > 0.0 ? t : 0.0;
    }
    return theta;
}
