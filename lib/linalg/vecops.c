/* Row-level vector operations for the library's threaded loops. */
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

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
    v4d a0 = {0, 0, 0, 0}, a1 = a0;
    size_t j = 0;
    for (; j + 8 <= len; j += 8) {
        a0 += load4(x + j) * load4(y + j);
        a1 += load4(x + j + 4) * load4(y + j + 4);
    }
    a0 += a1;
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

/* y += alpha x while computing xn . v: the row just used (in cache) and
 * the next row (from memory) go through one loop, so the next row's load
 * overlaps this row's arithmetic. Eight lanes per step: one zmm register
 * with AVX-512, two ymm with AVX2, four xmm on the baseline. */
typedef double v8d __attribute__((vector_size(64)));

OTK_INLINE v8d load8(const double *p)
{
    v8d v;
    memcpy(&v, p, sizeof v);
    return v;
}

OTK_INLINE double axpy_dot_body(size_t len, double alpha, const double *x,
                                double *y, const double *xn, const double *v)
{
    v8d a0 = {0, 0, 0, 0, 0, 0, 0, 0}, a1 = a0;
    size_t j = 0;
    for (; j + 16 <= len; j += 16) {
        v8d y0 = load8(y + j) + alpha * load8(x + j);
        v8d y1 = load8(y + j + 8) + alpha * load8(x + j + 8);
        memcpy(y + j, &y0, sizeof y0);
        memcpy(y + j + 8, &y1, sizeof y1);
        a0 += load8(xn + j) * load8(v + j);
        a1 += load8(xn + j + 8) * load8(v + j + 8);
    }
    a0 += a1;
    double s = ((a0[0] + a0[1]) + (a0[2] + a0[3])) +
               ((a0[4] + a0[5]) + (a0[6] + a0[7]));
    for (; j < len; j++) {
        y[j] += alpha * x[j];
        s += xn[j] * v[j];
    }
    return s;
}

#if OTK_HAVE_AVX2_VARIANT
OTK_TARGET_AVX512 static double axpy_dot_avx512(size_t len, double alpha,
                                                const double *x, double *y,
                                                const double *xn,
                                                const double *v)
{
    return axpy_dot_body(len, alpha, x, y, xn, v);
}

OTK_TARGET_AVX2 static double axpy_dot_avx2(size_t len, double alpha,
                                            const double *x, double *y,
                                            const double *xn, const double *v)
{
    return axpy_dot_body(len, alpha, x, y, xn, v);
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

double otk__vaxpy_dot(size_t len, double alpha, const double *x, double *y,
                      const double *xn, const double *v)
{
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx512())
        return axpy_dot_avx512(len, alpha, x, y, xn, v);
    if (otk__cpu_has_avx2())
        return axpy_dot_avx2(len, alpha, x, y, xn, v);
#endif
    return axpy_dot_body(len, alpha, x, y, xn, v);
}

int otk__threads(int requested)
{
#ifdef _OPENMP
    if (requested > 0)
        return requested;
    int t = omp_get_max_threads();
    return t > 0 ? t : 1;
#else
    (void)requested;
    return 1;
#endif
}
