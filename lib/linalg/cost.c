/* The public cost object (its constructors and entries; its validation is
 * lib/core's otk__check_cost) and ground costs from point clouds: rows,
 * columns, entries and bounds. The differences x_i - y_j are formed
 * explicitly, except in the sweeps' tiles for 8 <= d <= 64 when the
 * centred ||x'||^2 + ||y'||^2 - 2 x'.y', which cancels, is provably close
 * enough for the reg at hand (see the blocked rows below). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "linalg/dispatch.h"
#include "linalg/linalg.h"
#include "linalg/vexp.h"

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

/* ---- Blocked rows for BLOCK_MIN_D <= d <= BLOCK_MAX_D ----
 *
 * One accumulator chain per entry over d coordinates is latency-bound for
 * large d (each multiply-add waits for the last). The blocked kernel
 * forms four rows by 8 (AVX2) or 16 (AVX-512) columns at once, each y
 * vector loaded once for the four rows, so 8 independent chains keep the
 * FMA units busy. Two forms:
 * - direct: sum_k (x_k - y_k)^2, the same operations in the same order as
 *   points_tile_body (the same entries bit for bit);
 * - expanded: ||x'||^2 + ||y'||^2 - 2 x'.y' with x' = x - c, y' = y - c
 *   (c the midpoint of both clouds' bounding box, so that offsets do not
 *   enter), one multiply-add per coordinate instead of a subtraction and
 *   a multiply-add. It cancels: see otk__cost_expanded_error for its
 *   bound, and it is used only when the bound moves the sweep's exponents
 *   by at most EXPANDED_MAX_ARG_ERR. */
#define BLOCK_MIN_D 8
#define BLOCK_MAX_D 64 /* four centred rows are kept on the stack */
#define BLOCK_ROWS 4
/* Largest s times the expanded form's error bound: plan entries move by
 * at most this much relatively (the default tol is 1e-9); the final pass
 * measures the residual with the direct form in any case. */
#define EXPANDED_MAX_ARG_ERR 1e-11

static int blocked(const otk_cost *cost)
{
    return cost->C == NULL && cost->d >= BLOCK_MIN_D &&
           cost->d <= BLOCK_MAX_D &&
           (cost->metric != OTK_METRIC_PNORM || cost->p == 2.0);
}

/* The expanded form needs a sum of squares (no square root). */
static int expandable(const otk_cost *cost)
{
    return blocked(cost) && cost->metric != OTK_METRIC_EUCLIDEAN;
}

/* After yt (d x m) for an expandable cost: -2 y'^T (d x m), ||y'_j||^2
 * (m), the centre c (d) and the error bound (1). */
typedef struct expanded_data {
    const double *y2t, *ny, *c;
    double bound;
} expanded_data;

static expanded_data expanded_parts(const otk_cost *cost, const double *yt)
{
    const size_t m = cost->m, d = cost->d;
    const double *p = yt + m * d;
    expanded_data e = {p, p + m * d, p + m * d + m, p[m * d + m + d]};
    return e;
}

size_t otk__cost_scratch_len(const otk_cost *cost)
{
    if (cost->C != NULL)
        return 0;
    return expandable(cost) ? otk__cost_scratch_max(cost->m, cost->d)
                            : cost->m * cost->d;
}

/* Squared norm of x - c, summed in order (the same arithmetic wherever it
 * is formed, so rows and bounds agree). */
static double centred_norm2(const double *x, const double *c, size_t d)
{
    double s = 0.0;
    for (size_t k = 0; k < d; k++) {
        double t = x[k] - c[k];
        s += t * t;
    }
    return s;
}

void otk__points_box(const double *x, size_t n, const double *y, size_t m,
                     size_t d, double *lo, double *hi)
{
    for (size_t k = 0; k < d; k++) {
        double mn = INFINITY, mx = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            mn = fmin(mn, x[i * d + k]);
            mx = fmax(mx, x[i * d + k]);
        }
        for (size_t j = 0; j < m; j++) {
            mn = fmin(mn, y[j * d + k]);
            mx = fmax(mx, y[j * d + k]);
        }
        lo[k] = mn;
        hi[k] = mx;
    }
}

static void prepare_expanded(const otk_cost *cost, double *yt)
{
    const size_t m = cost->m, n = cost->n, d = cost->d;
    double *y2t = yt + m * d, *ny = y2t + m * d, *c = ny + m;
    /* the box's low corner in y2t (overwritten below), its high one in c,
     * then c the midpoint */
    otk__points_box(cost->x, n, cost->y, m, d, y2t, c);
    for (size_t k = 0; k < d; k++)
        c[k] = 0.5 * y2t[k] + 0.5 * c[k]; /* no overflow */
    double rx = 0.0, ry = 0.0;
    for (size_t i = 0; i < n; i++)
        rx = fmax(rx, centred_norm2(cost->x + i * d, c, d));
    for (size_t j = 0; j < m; j++) {
        const double *yj = cost->y + j * d;
        ny[j] = centred_norm2(yj, c, d);
        ry = fmax(ry, ny[j]);
        for (size_t k = 0; k < d; k++)
            y2t[k * m + j] = -2.0 * (yj[k] - c[k]);
    }
    double r = sqrt(rx) + sqrt(ry);
    /* (d + 3) eps (|x'| + |y'|)^2 scale to first order in eps; the factor
     * 1 + 1e-9 covers the higher orders and the rounding of r itself. */
    c[d] = (double)(d + 3) * DBL_EPSILON * r * r * fabs(cost->scale) *
           (1.0 + 1e-9);
}

void otk__cost_prepare(const otk_cost *cost, double *yt)
{
    if (cost->C != NULL)
        return;
    for (size_t j = 0; j < cost->m; j++)
        for (size_t k = 0; k < cost->d; k++)
            yt[k * cost->m + j] = cost->y[j * cost->d + k];
    if (expandable(cost))
        prepare_expanded(cost, yt);
}

double otk__cost_expanded_error(const otk_cost *cost, const double *yt)
{
    return expandable(cost) ? expanded_parts(cost, yt).bound : INFINITY;
}

/* From sums of |x_k - y_k|^p to C - cshift, in place. */
OTK_INLINE void finish_tile(const otk_cost *cost, size_t len, double cshift,
                            double *out)
{
    if (cost->metric == OTK_METRIC_EUCLIDEAN)
        for (size_t j = 0; j < len; j++)
            out[j] = sqrt(out[j]);
    if (cost->scale != 1.0)
        for (size_t j = 0; j < len; j++)
            out[j] *= cost->scale;
    if (cshift != 0.0)
        for (size_t j = 0; j < len; j++)
            out[j] -= cshift;
}

/* The direct sums of squared differences: x_i against L consecutive
 * columns j, j + 1, ... of the tile y0 (offset rows of yt), summed over k
 * in order with x_i in registers, as one vector of L lanes; the last
 * columns of a tile as a vector too, its missing lanes 0 (sqdist_part_L:
 * the columns j .. j + len - 1, len < L). The only place these sums are
 * formed, always a lane of a vector, so that rows, tiles and the fused
 * kernels below agree bit for bit whatever the position of a column (in
 * the FMA builds each step is one fused multiply-add in every lane; a
 * scalar loop may be compiled otherwise). */
#define SQDIST_BODY(L, V, target)                                              \
    target OTK_INLINE V sqdist_##L(const double *xi, const double *y0,         \
                                   size_t m, size_t d, size_t j)               \
    {                                                                          \
        V acc = {0};                                                           \
        for (size_t k = 0; k < d; k++) {                                       \
            V y;                                                               \
            __builtin_memcpy(&y, y0 + k * m + j, sizeof y);                    \
            V t = xi[k] - y;                                                   \
            acc += t * t;                                                      \
        }                                                                      \
        return acc;                                                            \
    }                                                                          \
    target OTK_INLINE V sqdist_part_##L(const double *xi, const double *y0,    \
                                        size_t m, size_t d, size_t j,          \
                                        size_t len)                            \
    {                                                                          \
        V acc = {0};                                                           \
        for (size_t k = 0; k < d; k++) {                                       \
            V y = {0};                                                         \
            for (size_t q = 0; q < len; q++)                                   \
                y[q] = y0[k * m + j + q];                                      \
            V t = xi[k] - y;                                                   \
            acc += t * t;                                                      \
        }                                                                      \
        return acc;                                                            \
    }
typedef double v8d __attribute__((vector_size(64)));
SQDIST_BODY(4, otk_v4d, )
#if OTK_HAVE_AVX2_VARIANT
/* (a 64-byte vector is returned in a register only where AVX-512 is on) */
SQDIST_BODY(8, v8d, OTK_TARGET_AVX512)
#endif

/* out[j] = C(i, j0 + j) - cshift for j < len: a tile of columns formed
 * in one pass over its yt entries; a full row is the tile j0 = 0,
 * len = m, cshift = 0. */
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
        for (; j + 4 <= len; j += 4)
            otk__store4(out + j, sqdist_4(xi, y0, m, d, j));
        if (j < len) {
            otk_v4d c = sqdist_part_4(xi, y0, m, d, j, len - j);
            for (size_t q = 0; j + q < len; q++)
                out[j + q] = c[q];
        }
    }
    finish_tile(cost, len, cshift, out);
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

/* ---- Fused distances and exponentials for d < BLOCK_MIN_D ----
 *
 * e_j = exp((h_j - s (C(i, j0 + j) - cshift)) - shift) for j < len, and
 * their sum: the cost goes from registers straight into the exponential
 * (no cost tile written and read back, no separate pass for the shift),
 * y and h come from L1. Each entry and the sum are the same operations as
 * points_tile followed by otk__exp_affine_sum over the tile (vexp.c): the
 * same sums of squares, square root (Euclidean) and subtraction of cshift,
 * then the same multiply-add, exponential and lanes of the sum. For scale
 * 1 only: a scale times the sum could be fused with the subtraction of
 * cshift into one rounding where the tile rounds twice. */
static int fusable(const otk_cost *cost)
{
    return cost->C == NULL && cost->d < BLOCK_MIN_D && cost->scale == 1.0 &&
           (cost->metric != OTK_METRIC_PNORM || cost->p == 2.0);
}

/* The fused kernels' arguments: row i's x, the tile's y and h, where e
 * goes. */
typedef struct fused_row {
    const double *x, *y0, *h;
    size_t m, len;
    double cshift, s, shift;
    double *e;
} fused_row;

/* The bodies below take d and root (a Euclidean square root) as
 * constants (FUSED_SWITCH), so that the sum over k is unrolled and x_i
 * sits in registers. The subtraction of cshift is always made: c - 0 is
 * c, bit for bit. */
OTK_INLINE otk_v4d sqrt4(otk_v4d v)
{
    for (int l = 0; l < 4; l++)
        v[l] = sqrt(v[l]);
    return v;
}

OTK_INLINE double points_exp_body(const fused_row *f, size_t d, int root)
{
    const double *h = f->h, s = f->s, shift = f->shift, cshift = f->cshift;
    double xi[BLOCK_MIN_D], *e = f->e;
    for (size_t k = 0; k < d; k++)
        xi[k] = f->x[k]; /* a copy that no store to e can alias */
    otk_v4d acc = {0, 0, 0, 0};
    size_t j = 0;
    for (; j + 4 <= f->len; j += 4) {
        otk_v4d c = sqdist_4(xi, f->y0, f->m, d, j);
        c = (root ? sqrt4(c) : c) - cshift;
        otk_v4d t = exp4((otk__load4(h + j) - s * c) - shift);
        otk__store4(e + j, t);
        acc += t;
    }
    double sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    if (j < f->len) {
        otk_v4d cv = sqdist_part_4(xi, f->y0, f->m, d, j, f->len - j);
        for (size_t q = 0; j + q < f->len; q++) {
            double c = (root ? sqrt(cv[q]) : cv[q]) - cshift;
            e[j + q] = exp_scalar((h[j + q] - s * c) - shift);
            sum += e[j + q];
        }
    }
    return sum;
}

/* body(f, d, root) for the runtime d < BLOCK_MIN_D and root. */
#define FUSED_CASE(body, f, d)                                                 \
    case 2 * d: return body(f, d, 0);                                          \
    case 2 * d + 1:                                                            \
        return body(f, d, 1);
#define FUSED_SWITCH(body, f, d, root)                                         \
    switch (2 * (d) + ((root) != 0)) {                                         \
        FUSED_CASE(body, f, 1)                                                 \
        FUSED_CASE(body, f, 2)                                                 \
        FUSED_CASE(body, f, 3)                                                 \
        FUSED_CASE(body, f, 4)                                                 \
        FUSED_CASE(body, f, 5)                                                 \
        FUSED_CASE(body, f, 6)                                                 \
        FUSED_CASE(body, f, 7)                                                 \
    default: return body(f, d, root);                                          \
    }

static double points_exp_base(const fused_row *f, size_t d, int root)
{
    FUSED_SWITCH(points_exp_body, f, d, root);
}

#if OTK_HAVE_AVX2_VARIANT
OTK_TARGET_AVX2 static double points_exp_avx2(const fused_row *f, size_t d,
                                              int root)
{
    FUSED_SWITCH(points_exp_body, f, d, root);
}

/* As exp_affine_sum_avx512 (vexp.c): 8 lanes, the last partial vector
 * masked. */
OTK_TARGET_AVX512 OTK_INLINE double points_exp8_body(const fused_row *f,
                                                     size_t d, int root)
{
    const double *h = f->h;
    double xi[BLOCK_MIN_D];
    for (size_t k = 0; k < d; k++)
        xi[k] = f->x[k];
    __m512d acc = _mm512_setzero_pd(), vs = _mm512_set1_pd(f->s);
    __m512d vshift = _mm512_set1_pd(f->shift), vcs = _mm512_set1_pd(f->cshift);
    size_t j = 0;
    for (; j + 8 <= f->len; j += 8) {
        __m512d c = (__m512d)sqdist_8(xi, f->y0, f->m, d, j);
        c = _mm512_sub_pd(root ? _mm512_sqrt_pd(c) : c, vcs);
        __m512d t = _mm512_fnmadd_pd(vs, c, _mm512_loadu_pd(h + j));
        t = exp8(_mm512_sub_pd(t, vshift));
        _mm512_storeu_pd(f->e + j, t);
        acc = _mm512_add_pd(acc, t);
    }
    if (j < f->len) {
        __mmask8 k = (__mmask8)((1u << (f->len - j)) - 1u);
        __m512d c = (__m512d)sqdist_part_8(xi, f->y0, f->m, d, j, f->len - j);
        c = _mm512_sub_pd(root ? _mm512_sqrt_pd(c) : c, vcs);
        c = _mm512_maskz_mov_pd(k, c); /* as a masked load of the tile */
        __m512d t = _mm512_fnmadd_pd(vs, c, _mm512_maskz_loadu_pd(k, h + j));
        t = exp8(_mm512_sub_pd(t, vshift));
        _mm512_mask_storeu_pd(f->e + j, k, t);
        acc = _mm512_mask_add_pd(acc, k, acc, t);
    }
    return _mm512_reduce_add_pd(acc);
}

OTK_TARGET_AVX512 static double points_exp_avx512(const fused_row *f, size_t d,
                                                  int root)
{
    FUSED_SWITCH(points_exp8_body, f, d, root);
}
#endif

static double points_exp(const otk_cost *cost, const double *yt, size_t i,
                         size_t j0, size_t len, double cshift, const double *h,
                         double s, double shift, double *e)
{
    const fused_row f = {
        cost->x + i * cost->d, yt + j0, h, cost->m, len, cshift, s, shift, e};
    const int root = cost->metric == OTK_METRIC_EUCLIDEAN;
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx512())
        return points_exp_avx512(&f, cost->d, root);
    if (otk__cpu_has_avx2())
        return points_exp_avx2(&f, cost->d, root);
#endif
    return points_exp_base(&f, cost->d, root);
}

/* Four rows of a blocked tile: their x (centred for the expanded form),
 * their squared norms (expanded form) and where their entries go. */
typedef struct block_rows {
    const double *x[BLOCK_ROWS];
    double nx[BLOCK_ROWS];
    double *out[BLOCK_ROWS];
    /* finish_tile's work when it is only "- cshift" (no square root, scale
     * 1), done in registers: the same subtraction */
    int finished;
    double cshift;
} block_rows;

/* Raw sums (before finish_tile) of columns [j, j + L nv) for the first
 * nr rows, in vectors V of L lanes (VI: as many int64): yk is yt (direct)
 * or -2 y'^T (expanded), both offset to the tile. nr and nv are
 * constants, so that the nr nv accumulators stay in registers. V must be
 * a vector the target has registers for (an emulated 8-lane vector on
 * AVX2 lives in memory), hence one body per width. */
#define BLOCK_MAX_VECTORS 8
#define BLOCK_BODY(L, V, VI)                                                   \
    OTK_INLINE void block_vectors_##L(const block_rows *b, const double *yk,   \
                                      const double *ny, size_t m, size_t d,    \
                                      size_t j, int expanded, int nr, int nv)  \
    {                                                                          \
        V acc[BLOCK_ROWS][BLOCK_MAX_VECTORS], y[BLOCK_MAX_VECTORS];            \
        for (int r = 0; r < nr; r++)                                           \
            for (int v = 0; v < nv; v++) {                                     \
                acc[r][v] = (V){0};                                            \
                if (expanded) {                                                \
                    __builtin_memcpy(&y[v], ny + j + L * v, sizeof(V));        \
                    acc[r][v] = b->nx[r] + y[v];                               \
                }                                                              \
            }                                                                  \
        for (size_t k = 0; k < d; k++) {                                       \
            for (int v = 0; v < nv; v++)                                       \
                __builtin_memcpy(&y[v], yk + k * m + j + L * v, sizeof(V));    \
            for (int r = 0; r < nr; r++) {                                     \
                const double xk = b->x[r][k];                                  \
                for (int v = 0; v < nv; v++) {                                 \
                    if (expanded) {                                            \
                        acc[r][v] += xk * y[v];                                \
                    } else {                                                   \
                        V t = xk - y[v];                                       \
                        acc[r][v] += t * t;                                    \
                    }                                                          \
                }                                                              \
            }                                                                  \
        }                                                                      \
        for (int r = 0; r < nr; r++)                                           \
            for (int v = 0; v < nv; v++) {                                     \
                V a = acc[r][v];                                               \
                if (expanded) /* cancellation may leave a tiny negative */     \
                    a = (V)((VI)a & (VI)(a > 0.0));                            \
                if (b->finished)                                               \
                    a -= b->cshift;                                            \
                __builtin_memcpy(b->out[r] + j + L * v, &a, sizeof a);         \
            }                                                                  \
    }                                                                          \
    OTK_INLINE void block_tile_body_##L(                                       \
        const block_rows *b, const double *yk, const double *ny, size_t m,     \
        size_t d, size_t len, int expanded, int nr, int nv)                    \
    {                                                                          \
        size_t j = 0;                                                          \
        for (; j + L * (size_t)nv <= len; j += L * (size_t)nv)                 \
            block_vectors_##L(b, yk, ny, m, d, j, expanded, nr, nv);           \
        for (; j + L <= len; j += L)                                           \
            block_vectors_##L(b, yk, ny, m, d, j, expanded, nr, 1);            \
        block_columns(b, yk, ny, m, d, j, len, expanded, nr);                  \
    }

/* The same sums one column at a time, for columns [j, len). */
OTK_INLINE void block_columns(const block_rows *b, const double *yk,
                              const double *ny, size_t m, size_t d, size_t j,
                              size_t len, int expanded, int nr)
{
    for (; j < len; j++)
        for (int r = 0; r < nr; r++) {
            double acc = expanded ? b->nx[r] + ny[j] : 0.0;
            for (size_t k = 0; k < d; k++) {
                if (expanded) {
                    acc += b->x[r][k] * yk[k * m + j];
                } else {
                    double t = b->x[r][k] - yk[k * m + j];
                    acc += t * t;
                }
            }
            acc = expanded && !(acc > 0.0) ? 0.0 : acc;
            b->out[r][j] = b->finished ? acc - b->cshift : acc;
        }
}

typedef int64_t v8i __attribute__((vector_size(64)));
BLOCK_BODY(4, otk_v4d, v4i)
BLOCK_BODY(8, v8d, v8i)

/* Each variant in three shapes: four rows direct or expanded (the
 * sweeps), one row direct (otk__cost_row). nv: vectors per row, so that
 * 8 to 12 accumulators are in flight. */
#define BLOCK_VARIANTS(suffix, target, L, nv4, nv1)                            \
    target static void block_##suffix(const block_rows *b, const double *yk,   \
                                      const double *ny, size_t m, size_t d,    \
                                      size_t len, int shape)                   \
    {                                                                          \
        if (shape == BLOCK_DIRECT)                                             \
            block_tile_body_##L(b, yk, NULL, m, d, len, 0, BLOCK_ROWS, nv4);   \
        else if (shape == BLOCK_EXPANDED)                                      \
            block_tile_body_##L(b, yk, ny, m, d, len, 1, BLOCK_ROWS, nv4);     \
        else                                                                   \
            block_tile_body_##L(b, yk, NULL, m, d, len, 0, 1, nv1);            \
    }
enum { BLOCK_DIRECT, BLOCK_EXPANDED, BLOCK_ONE_ROW };
BLOCK_VARIANTS(base, , 4, 1, 2)
#if OTK_HAVE_AVX2_VARIANT
BLOCK_VARIANTS(avx2, OTK_TARGET_AVX2, 4, 2, 8)
BLOCK_VARIANTS(avx512, OTK_TARGET_AVX512, 8, 3, 8)
#endif

/* Raw sums of columns [0, len) of the rows of b in the given shape; yk
 * and ny offset to the tile. */
static void block_tile(const block_rows *b, const double *yk, const double *ny,
                       size_t m, size_t d, size_t len, int shape)
{
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx512()) {
        block_avx512(b, yk, ny, m, d, len, shape);
        return;
    }
    if (otk__cpu_has_avx2()) {
        block_avx2(b, yk, ny, m, d, len, shape);
        return;
    }
#endif
    block_base(b, yk, ny, m, d, len, shape);
}

const double *otk__cost_row(const otk_cost *cost, const double *yt, size_t i,
                            double *out)
{
    if (cost->C != NULL)
        return cost->C + i * cost->m;
    if (blocked(cost)) {
        /* the same entries as points_tile's, without its one chain */
        block_rows b = {{cost->x + i * cost->d}, {0}, {out}, 0, 0.0};
        block_tile(&b, yt, NULL, cost->m, cost->d, cost->m, BLOCK_ONE_ROW);
        finish_tile(cost, cost->m, 0.0, out);
    } else {
        points_tile(cost, yt, i, 0, cost->m, 0.0, out);
    }
    return out;
}

/* Columns per tile: the tile's yt entries, h, and the cost tile itself
 * (d + 2 doubles per column; d + 6 for the blocked tiles: -2 y'^T, ||y'||^2,
 * h and four rows) stay within about 16 KiB of L1, so the rows of a block
 * reuse them from there. A multiple of 16 (whole vectors). */
static size_t tile_columns(const otk_cost *cost)
{
    size_t d = cost->C != NULL ? 0 : cost->d;
    size_t t = 2048 / (d + (blocked(cost) ? 6 : 2)) / 16 * 16;
    return t < 64 ? 64 : t;
}

size_t otk__cost_exp_scratch_len(const otk_cost *cost)
{
    size_t t = tile_columns(cost);
    return t < cost->m ? t : cost->m;
}

int otk__cost_uses_expanded(const otk_cost *cost, const double *yt, double s)
{
    return expandable(cost) &&
           fabs(s) * otk__cost_expanded_error(cost, yt) <= EXPANDED_MAX_ARG_ERR;
}

/* The four rows i0 .. i0 + rows - 1 (rows <= 4) of a blocked tile: rows
 * that are skipped or missing are formed from row i0 into dummy (a tile
 * of scratch). xc: room for the centred rows. */
static void block_rows_setup(const otk_cost *cost, const double *yt, size_t i0,
                             size_t rows, const double *shift, int expanded,
                             double *e, double *dummy,
                             double xc[BLOCK_ROWS][BLOCK_MAX_D], block_rows *b)
{
    const size_t d = cost->d, m = cost->m;
    const double *c = expanded ? expanded_parts(cost, yt).c : NULL;
    for (size_t r = 0; r < BLOCK_ROWS; r++) {
        const int real = r < rows && isfinite(shift[r]);
        const double *x = cost->x + (i0 + (r < rows ? r : 0)) * d;
        b->out[r] = real ? e + r * m : dummy;
        b->x[r] = x;
        b->nx[r] = 0.0;
        if (expanded) {
            for (size_t k = 0; k < d; k++)
                xc[r][k] = x[k] - c[k];
            b->x[r] = xc[r];
            b->nx[r] = centred_norm2(x, c, d);
        }
    }
}

void otk__cost_rows_expanded(const otk_cost *cost, const double *yt, size_t i0,
                             size_t rows, double *out)
{
    const double shift[BLOCK_ROWS] = {0, 0, 0, 0};
    double xc[BLOCK_ROWS][BLOCK_MAX_D];
    block_rows b;
    block_rows_setup(cost, yt, i0, rows, shift, 1, out, out, xc, &b);
    b.finished = 0;
    const expanded_data ex = expanded_parts(cost, yt);
    block_tile(&b, ex.y2t, ex.ny, cost->m, cost->d, cost->m, BLOCK_EXPANDED);
    for (size_t r = 0; r < rows; r++)
        finish_tile(cost, cost->m, 0.0, out + r * cost->m);
}

void otk__cost_rows_exp(const otk_cost *cost, const double *yt, size_t i0,
                        size_t rows, double cshift, const double *h, double s,
                        const double *shift, double *e, double *sum,
                        double *tile)
{
    const size_t m = cost->m, step = tile_columns(cost);
    const int block = blocked(cost), fused = fusable(cost);
    const int expanded = block && otk__cost_uses_expanded(cost, yt, s);
    double xc[BLOCK_ROWS][BLOCK_MAX_D];
    block_rows b;
    if (block) {
        block_rows_setup(cost, yt, i0, rows, shift, expanded, e, tile, xc, &b);
        b.finished = cost->metric != OTK_METRIC_EUCLIDEAN && cost->scale == 1.0;
        b.cshift = cshift;
    }
    const double *yk = expanded ? expanded_parts(cost, yt).y2t : yt;
    const double *ny = expanded ? expanded_parts(cost, yt).ny : NULL;
    for (size_t r = 0; r < rows; r++)
        sum[r] = 0.0;
    for (size_t j0 = 0; j0 < m; j0 += step) {
        const size_t len = m - j0 < step ? m - j0 : step;
        if (block) {
            block_rows bt = b;
            for (int r = 0; r < BLOCK_ROWS; r++)
                bt.out[r] += bt.out[r] == tile ? 0 : j0;
            block_tile(&bt, yk + j0, ny != NULL ? ny + j0 : NULL, m, cost->d,
                       len, expanded ? BLOCK_EXPANDED : BLOCK_DIRECT);
            for (size_t r = 0; r < rows && !b.finished; r++)
                if (bt.out[r] != tile)
                    finish_tile(cost, len, cshift, bt.out[r]);
        }
        for (size_t r = 0; r < rows; r++) {
            if (!isfinite(shift[r]))
                continue;
            const size_t i = i0 + r;
            double *er = e + r * m + j0;
            const double *c = tile;
            if (fused) {
                sum[r] += points_exp(cost, yt, i, j0, len, cshift, h + j0, s,
                                     shift[r], er);
                continue;
            }
            if (cost->C != NULL) {
                c = cost->C + i * m + j0;
                sum[r] +=
                    cshift != 0.0
                        ? otk__exp_affine_shift_sum(h + j0, s, c, cshift,
                                                    shift[r], er, len)
                        : otk__exp_affine_sum(h + j0, s, c, shift[r], er, len);
                continue;
            }
            if (block)
                c = er;
            else
                points_tile(cost, yt, i, j0, len, cshift, tile);
            sum[r] += otk__exp_affine_sum(h + j0, s, c, shift[r], er, len);
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
