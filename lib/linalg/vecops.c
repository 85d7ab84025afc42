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

#if OTK_HAVE_AVX2_VARIANT
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
