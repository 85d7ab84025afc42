/* Grid clustering (cluster.h): one counting pass to number the cells,
 * one sort of the points by cell, one pass for each cluster's box, mass
 * and mean. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entropic/cluster.h"

typedef struct keyed {
    uint64_t key;
    size_t index;
} keyed;

static int by_key(const void *p, const void *q)
{
    const keyed *a = p, *b = q;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* The cell of point x: mixed radix over the dimensions. */
static uint64_t cell_key(const double *x, size_t d, const double *origin,
                         const uint64_t *cells, double width)
{
    uint64_t key = 0;
    for (size_t k = 0; k < d; k++) {
        double t = floor((x[k] - origin[k]) / width);
        uint64_t c = t <= 0.0 ? 0 : (uint64_t)t;
        if (c >= cells[k])
            c = cells[k] - 1;
        key = key * cells[k] + c;
    }
    return key;
}

void otk__clusters_free(otk__clusters *c)
{
    free(c->perm);
    free(c->of);
    free(c->start);
    free(c->pts);
    free(c->ptsT);
    free(c->w);
    free(c->lo);
    free(c->hi);
    free(c->center);
    free(c->mass);
    memset(c, 0, sizeof *c);
}

/* Sorted order of the points by cell; NULL when memory is short or the
 * grid is too fine. */
static keyed *sort_by_cell(const double *x, size_t n, size_t d,
                           const double *origin, const double *extent,
                           double width)
{
    uint64_t cells[64], total = 1;
    if (d > 64)
        return NULL;
    for (size_t k = 0; k < d; k++) {
        double c = floor(extent[k] / width) + 1.0;
        if (!(c < 4e18))
            return NULL;
        cells[k] = (uint64_t)c;
        if (total > (UINT64_C(1) << 62) / cells[k])
            return NULL;
        total *= cells[k];
    }
    keyed *order = malloc(n * sizeof *order);
    if (order == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        order[i].key = cell_key(x + i * d, d, origin, cells, width);
        order[i].index = i;
    }
    qsort(order, n, sizeof *order, by_key);
    return order;
}

/* Boxes, masses and means of the clusters, from the sorted points. */
static void summarize(otk__clusters *c)
{
    const size_t d = c->d;
    for (size_t q = 0; q < c->count; q++) {
        double *lo = c->lo + q * d, *hi = c->hi + q * d;
        double *mean = c->center + q * d, mass = 0.0;
        for (size_t k = 0; k < d; k++) {
            lo[k] = INFINITY;
            hi[k] = -INFINITY;
            mean[k] = 0.0;
        }
        const size_t s0 = c->start[q], s1 = c->start[q + 1];
        for (size_t s = s0; s < s1; s++) {
            const double *p = c->pts + s * d;
            mass += c->w[s];
            for (size_t k = 0; k < d; k++) {
                lo[k] = fmin(lo[k], p[k]);
                hi[k] = fmax(hi[k], p[k]);
                mean[k] += c->w[s] * p[k];
            }
        }
        /* the mean must lie in the box: weightless clusters (and rounding)
         * use the plain mean, clamped */
        for (size_t k = 0; k < d; k++) {
            double v = mass > 0.0 ? mean[k] / mass : 0.5 * (lo[k] + hi[k]);
            mean[k] = fmin(fmax(v, lo[k]), hi[k]);
        }
        c->mass[q] = mass;
    }
}

int otk__cluster_grid(const double *x, const double *w, size_t n, size_t d,
                      const double *origin, const double *extent, double width,
                      otk__clusters *out)
{
    memset(out, 0, sizeof *out);
    keyed *order = sort_by_cell(x, n, d, origin, extent, width);
    if (order == NULL)
        return -1;
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += i == 0 || order[i].key != order[i - 1].key;
    out->n = n;
    out->d = d;
    out->count = count;
    out->perm = malloc(n * sizeof *out->perm);
    out->of = malloc(n * sizeof *out->of);
    out->start = malloc((count + 1) * sizeof *out->start);
    out->pts = malloc(n * d * sizeof *out->pts);
    out->ptsT = malloc(n * d * sizeof *out->ptsT);
    out->w = malloc(n * sizeof *out->w);
    out->lo = malloc(count * d * sizeof *out->lo);
    out->hi = malloc(count * d * sizeof *out->hi);
    out->center = malloc(count * d * sizeof *out->center);
    out->mass = malloc(count * sizeof *out->mass);
    if (!out->perm || !out->of || !out->start || !out->pts || !out->ptsT ||
        !out->w || !out->lo || !out->hi || !out->center || !out->mass) {
        free(order);
        otk__clusters_free(out);
        return -1;
    }
    size_t q = 0;
    for (size_t s = 0; s < n; s++) {
        if (s > 0 && order[s].key != order[s - 1].key)
            q++;
        if (s == 0 || order[s].key != order[s - 1].key)
            out->start[q] = s;
        const size_t i = order[s].index;
        out->perm[s] = i;
        out->of[s] = q;
        out->w[s] = w != NULL ? w[i] : 1.0 / (double)n;
        for (size_t k = 0; k < d; k++) {
            out->pts[s * d + k] = x[i * d + k];
            out->ptsT[k * n + s] = x[i * d + k];
        }
    }
    out->start[count] = n;
    free(order);
    summarize(out);
    return 0;
}

/* max(0, a, b) without libm's fmax (a call: these run O(clusters^2)
 * times a stage); the same value for numbers. */
static double gap_of(double a, double b)
{
    const double m = a > b ? a : b;
    return m > 0.0 ? m : 0.0;
}

double otk__box_dist2(const otk__clusters *P, size_t p, const otk__clusters *Q,
                      size_t q)
{
    const size_t d = P->d;
    const double *plo = P->lo + p * d, *phi = P->hi + p * d;
    const double *qlo = Q->lo + q * d, *qhi = Q->hi + q * d;
    double s = 0.0;
    for (size_t k = 0; k < d; k++) {
        const double gap = gap_of(qlo[k] - phi[k], plo[k] - qhi[k]);
        s += gap * gap;
    }
    return s;
}

double otk__point_box_dist2(const double *x, const otk__clusters *Q, size_t q)
{
    const size_t d = Q->d;
    const double *lo = Q->lo + q * d, *hi = Q->hi + q * d;
    double s = 0.0;
    for (size_t k = 0; k < d; k++) {
        const double gap = gap_of(lo[k] - x[k], x[k] - hi[k]);
        s += gap * gap;
    }
    return s;
}
