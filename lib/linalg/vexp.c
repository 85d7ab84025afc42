/*
 * Vectorized exponential and log-sum-exp kernels: the inner loops of the
 * log-domain Sinkhorn iteration, so every cycle here counts. The
 * exponential itself is in vexp.h.
 *
 * GCC vector extensions keep the code portable; each kernel is built for
 * the baseline and for AVX2+FMA (and some for AVX-512F) and picked at run
 * time (dispatch.h).
 */
#include <math.h>
#include <string.h>

#include "linalg/vexp.h"
#include "linalg/linalg.h"

#define load4 otk__load4
#define store4 otk__store4

OTK_INLINE double exp_shift_sum_body(const double *x, double shift, double *y,
                                     size_t len)
{
    v4d acc = {0, 0, 0, 0};
    size_t j = 0;
    for (; j + 4 <= len; j += 4) {
        v4d e = exp4(load4(x + j) - shift);
        store4(y + j, e);
        acc += e;
    }
    double sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (; j < len; j++) {
        y[j] = exp_scalar(x[j] - shift);
        sum += y[j];
    }
    return sum;
}

OTK_INLINE double affine_max_body(const double *h, double s, const double *c,
                                  double *e, size_t len)
{
    const v4d ninf = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    v4d mx = ninf;
    size_t j = 0;
    for (; j + 4 <= len; j += 4) {
        v4d t = load4(h + j) - s * load4(c + j);
        store4(e + j, t);
        mx = select4(t > mx, t, mx);
    }
    double m = fmax(fmax(mx[0], mx[1]), fmax(mx[2], mx[3]));
    for (; j < len; j++) {
        e[j] = h[j] - s * c[j];
        m = e[j] > m ? e[j] : m;
    }
    return m;
}

/* One pass: e_j = exp(h_j - s c'_j - shift), returns sum_j e_j, with
 * c' = c - cshift rounded when sub (a constant after inlining), else c:
 * the same operations as a pass over a stored copy of c - cshift. */
OTK_INLINE double exp_affine_sum_body(const double *h, double s,
                                      const double *c, double cshift,
                                      double shift, double *e, size_t len,
                                      int sub)
{
    v4d acc = {0, 0, 0, 0};
    size_t j = 0;
    for (; j + 4 <= len; j += 4) {
        __builtin_prefetch(c + j + PREFETCH_AHEAD, 0, 3);
        v4d cj = load4(c + j);
        if (sub)
            cj -= cshift;
        v4d t = exp4((load4(h + j) - s * cj) - shift);
        store4(e + j, t);
        acc += t;
    }
    double sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (; j < len; j++) {
        double cj = sub ? c[j] - cshift : c[j];
        e[j] = exp_scalar((h[j] - s * cj) - shift);
        sum += e[j];
    }
    return sum;
}

#if OTK_HAVE_AVX2_VARIANT

OTK_TARGET_AVX512 OTK_INLINE double
exp_affine_sum_avx512_body(const double *h, double s, const double *c,
                           double cshift, double shift, double *e, size_t len,
                           int sub)
{
    __m512d acc = _mm512_setzero_pd(), vs = _mm512_set1_pd(s);
    __m512d vshift = _mm512_set1_pd(shift), vcs = _mm512_set1_pd(cshift);
    size_t j = 0;
    for (; j + 8 <= len; j += 8) {
        _mm_prefetch((const char *)(c + j + PREFETCH_AHEAD), _MM_HINT_T0);
        __m512d cj = _mm512_loadu_pd(c + j);
        if (sub)
            cj = _mm512_sub_pd(cj, vcs);
        __m512d t = _mm512_fnmadd_pd(vs, cj, _mm512_loadu_pd(h + j));
        t = exp8(_mm512_sub_pd(t, vshift));
        _mm512_storeu_pd(e + j, t);
        acc = _mm512_add_pd(acc, t);
    }
    if (j < len) {
        __mmask8 k = (__mmask8)((1u << (len - j)) - 1u);
        __m512d cj = _mm512_maskz_loadu_pd(k, c + j);
        if (sub)
            cj = _mm512_sub_pd(cj, vcs);
        __m512d t = _mm512_fnmadd_pd(vs, cj, _mm512_maskz_loadu_pd(k, h + j));
        t = exp8(_mm512_sub_pd(t, vshift));
        _mm512_mask_storeu_pd(e + j, k, t);
        acc = _mm512_mask_add_pd(acc, k, acc, t);
    }
    return _mm512_reduce_add_pd(acc);
}

OTK_TARGET_AVX512 static double exp_affine_sum_avx512(const double *h, double s,
                                                      const double *c,
                                                      double shift, double *e,
                                                      size_t len)
{
    return exp_affine_sum_avx512_body(h, s, c, 0.0, shift, e, len, 0);
}

OTK_TARGET_AVX512 static double
exp_affine_shift_sum_avx512(const double *h, double s, const double *c,
                            double cshift, double shift, double *e, size_t len)
{
    return exp_affine_sum_avx512_body(h, s, c, cshift, shift, e, len, 1);
}

OTK_TARGET_AVX512 static double
exp_shift_sum_avx512(const double *x, double shift, double *y, size_t len)
{
    __m512d acc = _mm512_setzero_pd(), vshift = _mm512_set1_pd(shift);
    size_t j = 0;
    for (; j + 8 <= len; j += 8) {
        __m512d t = exp8(_mm512_sub_pd(_mm512_loadu_pd(x + j), vshift));
        _mm512_storeu_pd(y + j, t);
        acc = _mm512_add_pd(acc, t);
    }
    if (j < len) {
        __mmask8 k = (__mmask8)((1u << (len - j)) - 1u);
        __m512d t =
            exp8(_mm512_sub_pd(_mm512_maskz_loadu_pd(k, x + j), vshift));
        _mm512_mask_storeu_pd(y + j, k, t);
        acc = _mm512_mask_add_pd(acc, k, acc, t);
    }
    return _mm512_reduce_add_pd(acc);
}

OTK_TARGET_AVX2 static double exp_affine_sum_avx2(const double *h, double s,
                                                  const double *c, double shift,
                                                  double *e, size_t len)
{
    return exp_affine_sum_body(h, s, c, 0.0, shift, e, len, 0);
}

OTK_TARGET_AVX2 static double
exp_affine_shift_sum_avx2(const double *h, double s, const double *c,
                          double cshift, double shift, double *e, size_t len)
{
    return exp_affine_sum_body(h, s, c, cshift, shift, e, len, 1);
}

OTK_TARGET_AVX2 static double exp_shift_sum_avx2(const double *x, double shift,
                                                 double *y, size_t len)
{
    return exp_shift_sum_body(x, shift, y, len);
}

OTK_TARGET_AVX2 static double affine_max_avx2(const double *h, double s,
                                              const double *c, double *e,
                                              size_t len)
{
    return affine_max_body(h, s, c, e, len);
}
#endif

double otk__exp_shift_sum(const double *x, double shift, double *y, size_t len)
{
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx512())
        return exp_shift_sum_avx512(x, shift, y, len);
    if (otk__cpu_has_avx2())
        return exp_shift_sum_avx2(x, shift, y, len);
#endif
    return exp_shift_sum_body(x, shift, y, len);
}

double otk__exp_affine_sum(const double *h, double s, const double *c,
                           double shift, double *e, size_t len)
{
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx512())
        return exp_affine_sum_avx512(h, s, c, shift, e, len);
    if (otk__cpu_has_avx2())
        return exp_affine_sum_avx2(h, s, c, shift, e, len);
#endif
    return exp_affine_sum_body(h, s, c, 0.0, shift, e, len, 0);
}

double otk__exp_affine_shift_sum(const double *h, double s, const double *c,
                                 double cshift, double shift, double *e,
                                 size_t len)
{
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx512())
        return exp_affine_shift_sum_avx512(h, s, c, cshift, shift, e, len);
    if (otk__cpu_has_avx2())
        return exp_affine_shift_sum_avx2(h, s, c, cshift, shift, e, len);
#endif
    return exp_affine_sum_body(h, s, c, cshift, shift, e, len, 1);
}

void otk__lse_affine(const double *h, double s, const double *c, double *e,
                     size_t len, double *max, double *sum)
{
    double m;
#if OTK_HAVE_AVX2_VARIANT
    if (otk__cpu_has_avx2())
        m = affine_max_avx2(h, s, c, e, len);
    else
#endif
        m = affine_max_body(h, s, c, e, len);
    *max = m;
    if (m == -INFINITY) {
        memset(e, 0, len * sizeof *e);
        *sum = 0.0;
        return;
    }
    *sum = otk__exp_shift_sum(e, m, e, len);
}

double otk__lse(double *t, size_t len)
{
    double m = -INFINITY;
    for (size_t j = 0; j < len; j++)
        m = t[j] > m ? t[j] : m;
    if (m == -INFINITY || !isfinite(m))
        return m;
    return m + log(otk__exp_shift_sum(t, m, t, len));
}
