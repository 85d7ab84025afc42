/* Row-level vector operations for the library's threaded loops. */
#include <string.h>

#include "linalg/dispatch.h"
#include "linalg/linalg.h"

typedef double v4d __attribute__((vector_size(32)));

OTK_INLINE v4d load4(const double *p)
{
    v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}

OTK_INLINE double dot_body(size_t len, const double *x, const double *y)
{
    /* four independent sums keep several loads in flight */
    v4d a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
    size_t j = 0;
    for (; j + 16 <= len; j += 16) {
        a0 += load4(x + j) * load4(y + j);
        a1 += load4(x + j + 4) * load4(y + j + 4);
        a2 += load4(x + j + 8) * load4(y + j + 8);
        a3 += load4(x + j + 12) * load4(y + j + 12);
    }
    a0 = (a0 + a1) + (a2 + a3);
    double s = (a0[0] + a0[1]) + (a0[2] + a0[3]);
    for (; j < len; j++)
        s += x[j] * y[j];
    return s;
}

OTK_INLINE void axpy_body(size_t len, double alpha, const double *x, double *y)
{
    size_t j = 0;
    for (; j + 4 <= len; j += 4) {
        v4d v = load4(y + j) + alpha * load4(x + j);
        memcpy(y + j, &v, sizeof v);
    }
    for (; j < len; j++)
        y[j] += alpha * x[j];
}

/* Four consecutive rows (x, x + len, ...) at once: their dot products
 * with v, and y += sum_k alpha_k row_k. Four row streams in flight and one
 * pass over v or y instead of four. */
OTK_INLINE void dot4_body(size_t len, const double *x, const double *v,
                          double out[4])
{
    const double *x1 = x + len, *x2 = x1 + len, *x3 = x2 + len;
    v4d a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
    size_t j = 0;
    for (; j + 4 <= len; j += 4) {
        v4d vv = load4(v + j);
        a0 += load4(x + j) * vv;
        a1 += load4(x1 + j) * vv;
        a2 += load4(x2 + j) * vv;
        a3 += load4(x3 + j) * vv;
    }
    out[0] = (a0[0] + a0[1]) + (a0[2] + a0[3]);
    out[1] = (a1[0] + a1[1]) + (a1[2] + a1[3]);
    out[2] = (a2[0] + a2[1]) + (a2[2] + a2[3]);
    out[3] = (a3[0] + a3[1]) + (a3[2] + a3[3]);
    for (; j < len; j++) {
        out[0] += x[j] * v[j];
        out[1] += x1[j] * v[j];
        out[2] += x2[j] * v[j];
        out[3] += x3[j] * v[j];
    }
}

/* Rows k of x at x + k ld. */
OTK_INLINE void axpy4_body(size_t len, size_t ld, const double alpha[4],
                           const double *x, double *y)
{
    const double *x1 = x + ld, *x2 = x1 + ld, *x3 = x2 + ld;
    const double c0 = alpha[0], c1 = alpha[1], c2 = alpha[2], c3 = alpha[3];
    size_t j = 0;
    for (; j + 4 <= len; j += 4) {
        v4d t = load4(y + j) + c0 * load4(x + j) + c1 * load4(x1 + j) +
                c2 * load4(x2 + j) + c3 * load4(x3 + j);
        memcpy(y + j, &t, sizeof t);
    }
    for (; j < len; j++)
        y[j] += c0 * x[j] + c1 * x1[j] + c2 * x2[j] + c3 * x3[j];
}

#if OTK_HAVE_AVX2_VARIANT
OTK_TARGET_AVX2 static void dot4_avx2(size_t len, const double *x,
                                      const double *v, double out[4])
{
    dot4_body(len, x, v, out);
}

OTK_TARGET_AVX2 static void axpy4_avx2(size_t len, size_t ld,
                                       const double alpha[4], const double *x,
                                       double *y)
{
    axpy4_body(len, ld, alpha, x, y);
}

OTK_TARGET_AVX2 static double dot_avx2(size_t len, const double *x,
                                       const double *y)
{
    return dot_body(len, x, y);
}

OTK_TARGET_AVX2 static void axpy_avx2(size_t len, double alpha, const double *x,
                                      double *y)
{
    axpy_body(len, alpha, x, y);
}
#endif

double otk__vdot(size_t len, const double *x, const double *y)
{
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx2())
        return dot_avx2(len, x, y);
#endif
    return dot_body(len, x, y);
}

void otk__vaxpy(size_t len, double alpha, const double *x, double *y)
{
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx2()) {
        axpy_avx2(len, alpha, x, y);
        return;
    }
#endif
    axpy_body(len, alpha, x, y);
}

void otk__vdot4(size_t len, const double *x, const double *v, double out[4])
{
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx2()) {
        dot4_avx2(len, x, v, out);
        return;
    }
#endif
    dot4_body(len, x, v, out);
}

void otk__vaxpy4(size_t len, const double alpha[4], const double *x, double *y)
{
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx2()) {
        axpy4_avx2(len, len, alpha, x, y);
        return;
    }
#endif
    axpy4_body(len, len, alpha, x, y);
}

/* Columns per tile of otk__vaxpy4_back: a multiple of 4, so that every
 * column takes the same path (4-wide body or scalar tail) as in
 * otk__vaxpy4; 4 rows and y of a tile are 20 KiB, within L1. */
#define AXPY4_BACK_TILE 512

void otk__vaxpy4_back(size_t len, const double alpha[4], const double *x,
                      double *y)
{
#if OTK_HAVE_AVX2_VARIANT
    const int avx2 = otk__cpu_has_avx2();
#endif
    for (size_t j1 = len, j0; j1 > 0; j1 = j0) {
        j0 = (j1 - 1) / AXPY4_BACK_TILE * AXPY4_BACK_TILE;
#if OTK_HAVE_AVX2_VARIANT
        if (avx2) {
            axpy4_avx2(j1 - j0, len, alpha, x + j0, y + j0);
            continue;
        }
#endif
        axpy4_body(j1 - j0, len, alpha, x + j0, y + j0);
    }
}
