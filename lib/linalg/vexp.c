/*
 * Vectorized exponential and log-sum-exp kernels: the inner loops of the
 * log-domain Sinkhorn iteration, so every cycle here counts.
 *
 * exp(x): x = k ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2, so r
 * is exact), exp(r) by a degree-13 Taylor polynomial (truncation error
 * below 5e-18 relative), and 2^k applied as two factors 2^(k/2) 2^(k-k/2)
 * so that the result underflows gradually and overflows to inf exactly
 * like libm's. Arguments are clamped to [-746, 710], outside of which the
 * result is 0 or inf anyway; NaN propagates.
 *
 * GCC vector extensions keep the code portable: each function is built
 * twice (target_clones) and the AVX2+FMA variant is chosen at load time
 * on CPUs that have it; elsewhere the generic SSE2 code runs.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "linalg/linalg.h"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) &&       \
    !defined(__SANITIZE_ADDRESS__)
#define OTK_KERNEL __attribute__((target_clones("arch=haswell", "default")))
#else
#define OTK_KERNEL
#endif

typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4i __attribute__((vector_size(32)));

#define EXP_LO (-746.0)
#define EXP_HI 710.0
#define LOG2E 1.4426950408889634
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define SHIFTER 6755399441055744.0 /* 1.5 * 2^52: rounds to an integer */

/* Taylor coefficients 1/k!, k = 13 down to 2. */
#define C13 1.6059043836821614599e-10
#define C12 2.0876756987868098979e-09
#define C11 2.5052108385441718775e-08
#define C10 2.7557319223985890653e-07
#define C9 2.7557319223985890653e-06
#define C8 2.4801587301587301587e-05
#define C7 1.9841269841269841270e-04
#define C6 1.3888888888888888889e-03
#define C5 8.3333333333333333333e-03
#define C4 4.1666666666666666667e-02
#define C3 1.6666666666666666667e-01
#define C2 0.5

static inline double exp_scalar(double x)
{
    x = x < EXP_LO ? EXP_LO : x;
    x = x > EXP_HI ? EXP_HI : x;
    double kd = x * LOG2E + SHIFTER;
    int64_t kbits, sbits;
    double shifter = SHIFTER;
    memcpy(&kbits, &kd, 8);
    memcpy(&sbits, &shifter, 8);
    kd -= SHIFTER;
    double r = (x - kd * LN2_HI) - kd * LN2_LO;
    double p = C13;
    p = p * r + C12;
    p = p * r + C11;
    p = p * r + C10;
    p = p * r + C9;
    p = p * r + C8;
    p = p * r + C7;
    p = p * r + C6;
    p = p * r + C5;
    p = p * r + C4;
    p = p * r + C3;
    p = p * r + C2;
    p = p * r + 1.0;
    p = p * r + 1.0;
    int64_t k = kbits - sbits;
    int64_t k1 = k >> 1, k2 = k - k1;
    int64_t b1 = (k1 + 1023) << 52, b2 = (k2 + 1023) << 52;
    double s1, s2;
    memcpy(&s1, &b1, 8);
    memcpy(&s2, &b2, 8);
    return p * s1 * s2;
}

static inline v4d select4(v4i mask, v4d yes, v4d no)
{
    return (v4d)(((v4i)yes & mask) | ((v4i)no & ~mask));
}

static inline v4d exp4(v4d x)
{
    const v4d lo = {EXP_LO, EXP_LO, EXP_LO, EXP_LO};
    const v4d hi = {EXP_HI, EXP_HI, EXP_HI, EXP_HI};
    const v4d shifter = {SHIFTER, SHIFTER, SHIFTER, SHIFTER};
    x = select4(x < lo, lo, x);
    x = select4(x > hi, hi, x);
    v4d kd = x * LOG2E + shifter;
    v4i k = (v4i)kd - (v4i)shifter;
    kd -= shifter;
    v4d r = (x - kd * LN2_HI) - kd * LN2_LO;
    v4d p = C13 * r + C12;
    p = p * r + C11;
    p = p * r + C10;
    p = p * r + C9;
    p = p * r + C8;
    p = p * r + C7;
    p = p * r + C6;
    p = p * r + C5;
    p = p * r + C4;
    p = p * r + C3;
    p = p * r + C2;
    p = p * r + 1.0;
    p = p * r + 1.0;
    v4i k1 = k >> 1, k2 = k - k1;
    v4d s1 = (v4d)((k1 + 1023) << 52), s2 = (v4d)((k2 + 1023) << 52);
    return p * s1 * s2;
}

static inline v4d load4(const double *p)
{
    v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store4(double *p, v4d v) { memcpy(p, &v, sizeof v); }

OTK_KERNEL
double otk__exp_shift_sum(const double *x, double shift, double *y,
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

OTK_KERNEL
void otk__lse_affine(const double *h, double s, const double *c, double *e,
                     size_t len, double *max, double *sum)
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
    *max = m;
    if (m == -INFINITY) {
        memset(e, 0, len * sizeof *e);
        *sum = 0.0;
        return;
    }
    *sum = otk__exp_shift_sum(e, m, e, len);
}

double otk__lse(const double *t, size_t len)
{
    double m = -INFINITY;
    for (size_t j = 0; j < len; j++)
        m = t[j] > m ? t[j] : m;
    if (m == -INFINITY || !isfinite(m))
        return m;
    double s = 0.0;
    for (size_t j = 0; j < len; j++)
        s += exp_scalar(t[j] - m);
    return m + log(s);
}
