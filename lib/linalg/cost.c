/* The public cost object (its constructors and entries; its validation is
 * lib/core's otk__check_cost) and ground costs from point clouds: rows,
 * columns, entries and bounds. The differences x_i - y_j are formed
 * explicitly (never through ||x||^2 + ||y||^2 - 2 x.y, which cancels badly
 * when reg is small). */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "linalg/dispatch.h"
#include "linalg/linalg.h"

/* |t|^p for the p-norm metric, with the common exponents done exactly. */
OTK_INLINE double abs_pow(double t, double p)
{
    t = fabs(t);
    if (p == 1.0)
        return t;
    if (p == 2.0)
        return t * t;
    return pow(t, p);
}

/* Cost of one pair from its difference accumulation. */
static double pair_cost(const otk_cost *cost, const double *x, const double *y)
{
    double s = 0.0;
    for (size_t k = 0; k < cost->d; k++) {
        double t = x[k] - y[k];
        s += cost->metric == OTK_METRIC_PNORM ? abs_pow(t, cost->p) : t * t;
    }
    if (cost->metric == OTK_METRIC_EUCLIDEAN)
        s = sqrt(s);
    return cost->scale * s;
}

size_t otk__cost_scratch_len(const otk_cost *cost)
{
    return cost->C != NULL ? 0 : cost->m * cost->d;
}

void otk__cost_prepare(const otk_cost *cost, double *yt)
{
    if (cost->C != NULL)
        return;
    for (size_t j = 0; j < cost->m; j++)
        for (size_t k = 0; k < cost->d; k++)
            yt[k * cost->m + j] = cost->y[j * cost->d + k];
}

OTK_INLINE void points_row_body(const otk_cost *cost, const double *yt,
                                size_t i, double *out)
{
    const size_t m = cost->m, d = cost->d;
    const double *xi = cost->x + i * d;
    for (size_t j = 0; j < m; j++)
        out[j] = 0.0;
    if (cost->metric == OTK_METRIC_PNORM && cost->p != 2.0) {
        for (size_t k = 0; k < d; k++) {
            const double *row = yt + k * m, xk = xi[k];
            for (size_t j = 0; j < m; j++)
                out[j] += abs_pow(xk - row[j], cost->p);
        }
    } else {
        for (size_t k = 0; k < d; k++) {
            const double *row = yt + k * m, xk = xi[k];
            for (size_t j = 0; j < m; j++) {
                double t = xk - row[j];
                out[j] += t * t;
            }
        }
        if (cost->metric == OTK_METRIC_EUCLIDEAN)
            for (size_t j = 0; j < m; j++)
                out[j] = sqrt(out[j]);
    }
    if (cost->scale != 1.0)
        for (size_t j = 0; j < m; j++)
            out[j] *= cost->scale;
}

#if OTK_HAVE_AVX2_VARIANT
OTK_TARGET_AVX2 static void
points_row_avx2(const otk_cost *cost, const double *yt, size_t i, double *out)
{
    points_row_body(cost, yt, i, out);
}
#endif

const double *otk__cost_row(const otk_cost *cost, const double *yt, size_t i,
                            double *out)
{
    if (cost->C != NULL)
        return cost->C + i * cost->m;
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx2()) {
        points_row_avx2(cost, yt, i, out);
        return out;
    }
#endif
    points_row_body(cost, yt, i, out);
    return out;
}

void otk__cost_col(const otk_cost *cost, size_t j, double *out)
{
    for (size_t i = 0; i < cost->n; i++)
        out[i] = otk__cost_entry(cost, i, j);
}

double otk__cost_entry(const otk_cost *cost, size_t i, size_t j)
{
    if (cost->C != NULL)
        return cost->C[i * cost->m + j];
    return pair_cost(cost, cost->x + i * cost->d, cost->y + j * cost->d);
}

otk_cost otk_cost_dense(size_t n, size_t m, const double *C)
{
    otk_cost c = {n, m, C, NULL, NULL, 0, OTK_METRIC_SQEUCLIDEAN, 2.0, 1.0};
    return c;
}

otk_cost otk_cost_points(size_t n, size_t m, size_t d, const double *x,
                         const double *y, otk_metric metric, double p)
{
    otk_cost c = {n, m, NULL, x, y, d, metric, p, 1.0};
    return c;
}

double otk_cost_entry(const otk_cost *cost, size_t i, size_t j)
{
    return otk__cost_entry(cost, i, j);
}

void otk__cost_rows_bounds(const otk_cost *cost, const double *yt, size_t i0,
                           size_t i1, double *row, double *lo, double *hi)
{
    const size_t m = cost->m;
    double mn = INFINITY, mx = -INFINITY;
    for (size_t i = i0; i < i1; i++) {
        const double *r = otk__cost_row(cost, yt, i, row);
        for (size_t j = 0; j < m; j++) {
            mn = r[j] < mn ? r[j] : mn;
            mx = r[j] > mx ? r[j] : mx;
        }
    }
    if (cost->C == NULL && i0 < i1) {
        /* otk__cost_entry sums the same terms in the same order, but the
         * AVX2 rows may fuse multiply-adds: the two can differ by a few
         * ulp per term of the sum (all terms >= 0). Widen by that much, so
         * that every entry, however computed, lies within. */
        const double rel = 4.0 * ((double)cost->d + 2.0) * DBL_EPSILON;
        mn -= rel * fabs(mn);
        mx += rel * fabs(mx);
    }
    *lo = mn;
    *hi = mx;
}

/* A bound from the bounding box of both clouds, O((n + m) d): for when no
 * memory is left for the exact pass. lo = 0. */
static void box_bounds(const otk_cost *cost, double *lo, double *hi)
{
    /* The largest difference per coordinate over both clouds bounds every
     * pair's difference; the metric is monotone in each |difference|. */
    double span = 0.0, s = 0.0;
    for (size_t k = 0; k < cost->d; k++) {
        double mn = INFINITY, mx = -INFINITY;
        for (size_t i = 0; i < cost->n; i++) {
            double v = cost->x[i * cost->d + k];
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
        for (size_t j = 0; j < cost->m; j++) {
            double v = cost->y[j * cost->d + k];
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
        span = mx - mn;
        s += cost->metric == OTK_METRIC_PNORM ? abs_pow(span, cost->p)
                                              : span * span;
    }
    if (cost->metric == OTK_METRIC_EUCLIDEAN)
        s = sqrt(s);
    *lo = 0.0;
    *hi = cost->scale * s;
}

void otk__cost_bounds(const otk_cost *cost, double *lo, double *hi)
{
    if (cost->C != NULL) {
        otk__cost_rows_bounds(cost, NULL, 0, cost->n, NULL, lo, hi);
        return;
    }
    /* One blocked pass over all pairs, as a solver iteration makes. */
    double *yt = malloc((otk__cost_scratch_len(cost) + cost->m) * sizeof *yt);
    if (yt == NULL) {
        box_bounds(cost, lo, hi);
        return;
    }
    otk__cost_prepare(cost, yt);
    otk__cost_rows_bounds(cost, yt, 0, cost->n,
                          yt + otk__cost_scratch_len(cost), lo, hi);
    free(yt);
}
