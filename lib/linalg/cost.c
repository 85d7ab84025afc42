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

/* out[j] = C(i, j0 + j) - cshift for j < len. The squared differences
 * are summed over k in order for each column with x_i in registers, so a
 * tile of columns is formed in one pass over its yt entries; a full row is
 * the tile j0 = 0, len = m, cshift = 0. */
OTK_INLINE void points_tile_body(const otk_cost *cost, const double *yt,
                                 size_t i, size_t j0, size_t len, double cshift,
                                 double *out)
{
    const size_t m = cost->m, d = cost->d;
    const double *xi = cost->x + i * d, *y0 = yt + j0;
    if (cost->metric == OTK_METRIC_PNORM && cost->p != 2.0) {
        for (size_t j = 0; j < len; j++)
            out[j] = 0.0;
        for (size_t k = 0; k < d; k++) {
            const double *row = y0 + k * m, xk = xi[k];
            for (size_t j = 0; j < len; j++)
                out[j] += abs_pow(xk - row[j], cost->p);
        }
    } else {
        size_t j = 0;
        for (; j + 4 <= len; j += 4) {
            otk_v4d acc = {0, 0, 0, 0};
            for (size_t k = 0; k < d; k++) {
                otk_v4d t = xi[k] - otk__load4(y0 + k * m + j);
                acc += t * t;
            }
            otk__store4(out + j, acc);
        }
        for (; j < len; j++) {
            double acc = 0.0;
            for (size_t k = 0; k < d; k++) {
                double t = xi[k] - y0[k * m + j];
                acc += t * t;
            }
            out[j] = acc;
        }
        if (cost->metric == OTK_METRIC_EUCLIDEAN)
            for (j = 0; j < len; j++)
                out[j] = sqrt(out[j]);
    }
    if (cost->scale != 1.0)
        for (size_t j = 0; j < len; j++)
            out[j] *= cost->scale;
    if (cshift != 0.0)
        for (size_t j = 0; j < len; j++)
            out[j] -= cshift;
}

#if OTK_HAVE_AVX2_VARIANT
OTK_TARGET_AVX2 static void points_tile_avx2(const otk_cost *cost,
                                             const double *yt, size_t i,
                                             size_t j0, size_t len,
                                             double cshift, double *out)
{
    points_tile_body(cost, yt, i, j0, len, cshift, out);
}
#endif

static void points_tile(const otk_cost *cost, const double *yt, size_t i,
                        size_t j0, size_t len, double cshift, double *out)
{
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx2()) {
        points_tile_avx2(cost, yt, i, j0, len, cshift, out);
        return;
    }
#endif
    points_tile_body(cost, yt, i, j0, len, cshift, out);
}

const double *otk__cost_row(const otk_cost *cost, const double *yt, size_t i,
                            double *out)
{
    if (cost->C != NULL)
        return cost->C + i * cost->m;
    points_tile(cost, yt, i, 0, cost->m, 0.0, out);
    return out;
}

/* Columns per tile: the tile's yt entries, h, and the cost tile itself
 * (d + 2 doubles per column) stay within about 16 KiB of L1, so the rows
 * of a block reuse them from there. A multiple of 8 (whole vectors). */
static size_t tile_columns(const otk_cost *cost)
{
    size_t d = cost->C != NULL ? 0 : cost->d;
    size_t t = 2048 / (d + 2) / 8 * 8;
    return t < 64 ? 64 : t;
}

size_t otk__cost_exp_scratch_len(const otk_cost *cost)
{
    size_t t = tile_columns(cost);
    return t < cost->m ? t : cost->m;
}

void otk__cost_rows_exp(const otk_cost *cost, const double *yt, size_t i0,
                        size_t rows, double cshift, const double *h, double s,
                        const double *shift, double *e, double *sum,
                        double *tile)
{
    const size_t m = cost->m, step = tile_columns(cost);
    for (size_t r = 0; r < rows; r++)
        sum[r] = 0.0;
    for (size_t j0 = 0; j0 < m; j0 += step) {
        const size_t len = m - j0 < step ? m - j0 : step;
        for (size_t r = 0; r < rows; r++) {
            if (!isfinite(shift[r]))
                continue;
            const size_t i = i0 + r;
            const double *c = tile;
            if (cost->C == NULL)
                points_tile(cost, yt, i, j0, len, cshift, tile);
            else if (cshift != 0.0)
                for (size_t j = 0; j < len; j++)
                    tile[j] = cost->C[i * m + j0 + j] - cshift;
            else
                c = cost->C + i * m + j0;
            sum[r] += otk__exp_affine_sum(h + j0, s, c, shift[r],
                                          e + r * m + j0, len);
        }
    }
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
