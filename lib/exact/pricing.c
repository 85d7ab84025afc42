/*
 * The pricing kernel of the network simplex (see pricing.h). Nearly all
 * of a solve is this scan, so it is one pass of vector arithmetic: every
 * lane keeps its own minimum and the index where it first reached it, and
 * the lanes are merged at the end by (value, then smallest index), which
 * is the first index of the overall minimum, as a scalar scan finds it.
 * The body is written once with GCC vector extensions of four doubles
 * (wider generic vectors are split into scalar code by GCC) and compiled
 * for the baseline and for AVX2 (lib/linalg/dispatch.h). The scan reads
 * two doubles per lane and does four vector operations on them, so it is
 * bound by memory, not by the vector width: no AVX-512 variant.
 */
#include <math.h>
#include <string.h>

#include "exact/pricing.h"
#include "linalg/dispatch.h"

typedef double v4d __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));

OTK_INLINE v4d load4(const double *p)
{
    v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Lane-wise: where r is below the lane's minimum, take r and its index.
 * The comparison is false for NaN, as in the scalar scan. */
OTK_INLINE void lane_min(v4d r, v4l idx, v4d *best, v4l *at)
{
    v4l lt = r < *best;
    *best = (v4d)((lt & (v4l)r) | (~lt & (v4l)*best));
    *at = (lt & idx) | (~lt & *at);
}

/* Merges a lane into (*best, *where): a smaller value, or the same value
 * at a smaller index. */
OTK_INLINE void merge(double v, size_t i, double *best, size_t *where)
{
    if (v < *best || (v == *best && i < *where)) {
        *best = v;
        *where = i;
    }
}

/* Lanes keep the start j of the 16 entries where they took their minimum:
 * chain v's lane l was entry j + 4 v + l (one index vector for all
 * chains keeps the loop in registers). */
OTK_INLINE double row_min_body(const double *c, double p, const double *q,
                               size_t len, size_t *at)
{
    const v4d inf = {INFINITY, INFINITY, INFINITY, INFINITY};
    const v4l step = {16, 16, 16, 16};
    v4l cur = {0, 0, 0, 0}, a0 = cur, a1 = cur, a2 = cur, a3 = cur;
    v4d b0 = inf, b1 = inf, b2 = inf, b3 = inf;
    size_t j = 0;
    /* four independent chains hide the latency of compare and blend */
    for (; j + 16 <= len; j += 16) {
        lane_min((load4(c + j) + p) - load4(q + j), cur, &b0, &a0);
        lane_min((load4(c + j + 4) + p) - load4(q + j + 4), cur, &b1, &a1);
        lane_min((load4(c + j + 8) + p) - load4(q + j + 8), cur, &b2, &a2);
        lane_min((load4(c + j + 12) + p) - load4(q + j + 12), cur, &b3, &a3);
        cur += step;
    }
    const v4d b[4] = {b0, b1, b2, b3};
    const v4l a[4] = {a0, a1, a2, a3};
    double best = INFINITY;
    size_t where = len;
    for (int v = 0; v < 4; v++)
        for (int l = 0; l < 4; l++)
            merge(b[v][l], (size_t)a[v][l] + 4 * (size_t)v + (size_t)l, &best,
                  &where);
    /* the tail's indices follow every lane's: only a smaller value wins */
    for (; j < len; j++) {
        double r = (c[j] + p) - q[j];
        if (r < best) {
            best = r;
            where = j;
        }
    }
    *at = best < INFINITY ? where : len;
    return best;
}

#if OTK_HAVE_AVX2_VARIANT
OTK_TARGET_AVX2 static double
row_min_avx2(const double *c, double p, const double *q, size_t len, size_t *at)
{
    return row_min_body(c, p, q, len, at);
}
#endif

double otk__ns_row_min(const double *c, double p, const double *q, size_t len,
                       size_t *at)
{
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx2())
        return row_min_avx2(c, p, q, len, at);
#endif
    return row_min_body(c, p, q, len, at);
}
