/*
 * The exponential of one double (exp_scalar), of four (exp4, GCC vector
 * extensions, for the baseline and AVX2+FMA builds) and of eight lanes
 * (exp8, AVX-512F): the inner loop of every log-domain kernel, in
 * vexp.c and in the fused cost-and-exponential kernels of cost.c, which
 * include it so that their entries agree bit for bit.
 *
 * exp(x): x = k ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2, so r
 * is exact), exp(r) by a degree-13 Taylor polynomial (truncation error
 * below 5e-18 relative), and 2^k applied as two factors 2^(k/2) 2^(k-k/2)
 * so that the result underflows gradually and overflows to inf exactly
 * like libm's. Arguments below -746 give 0 without any arithmetic on them
 * (an underflowing product is several times slower than an exp), above
 * 710 they are clamped (the result is inf anyway); NaN propagates.
 */
#ifndef OTK_VEXP_H
#define OTK_VEXP_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "linalg/dispatch.h"
#if OTK_X86_64
#include <immintrin.h>
#endif

typedef otk_v4d v4d;
typedef int64_t v4i __attribute__((vector_size(32)));

#define EXP_LO (-746.0)
#define EXP_HI 710.0
#define LOG2E 1.4426950408889634
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define SHIFTER 6755399441055744.0 /* 1.5 * 2^52: rounds to an integer */
/* How far ahead (in doubles) the exp-heavy loops prefetch the cost row:
 * the arithmetic per cache line is long enough that the hardware
 * prefetcher alone falls behind. */
#define PREFETCH_AHEAD 512

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

OTK_INLINE double exp_scalar(double x)
{
    if (x < EXP_LO)
        return 0.0; /* without the underflowing product (see exp4) */
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
    /* Unsigned shifts: k is out of range (and the shift would be
     * undefined for signed values) only when x was NaN. */
    uint64_t b1 = (uint64_t)(k1 + 1023) << 52, b2 = (uint64_t)(k2 + 1023) << 52;
    double s1, s2;
    memcpy(&s1, &b1, 8);
    memcpy(&s2, &b2, 8);
    return p * s1 * s2;
}

OTK_INLINE v4d select4(v4i mask, v4d yes, v4d no)
{
    return (v4d)(((v4i)yes & mask) | ((v4i)no & ~mask));
}

OTK_INLINE v4d exp4(v4d x)
{
    const v4d lo = {EXP_LO, EXP_LO, EXP_LO, EXP_LO};
    const v4d hi = {EXP_HI, EXP_HI, EXP_HI, EXP_HI};
    const v4d shifter = {SHIFTER, SHIFTER, SHIFTER, SHIFTER};
    /* Lanes whose result is 0 are computed at x = 0 and zeroed at the
     * end: letting 2^k1 2^k2 underflow to 0 takes the CPU's slow path for
     * tiny results (a microcode assist, several times the cost of an exp),
     * and at small reg most of a Sinkhorn row lies there. */
    const v4i zero = x < lo;
    x = select4(zero, (v4d){0, 0, 0, 0}, x);
    x = select4(x > hi, hi, x);
    v4d kd = (x * LOG2E + shifter) - shifter; /* round(x / ln2) */
    v4d r = (x - kd * LN2_HI) - kd * LN2_LO;
    /* Estrin's scheme: the same polynomial as exp_scalar's Horner loop,
     * evaluated with a dependency depth of 5 instead of 13. */
    v4d r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    v4d q01 = (1.0 + r) + r2 * (C2 + C3 * r);
    v4d q23 = (C4 + C5 * r) + r2 * (C6 + C7 * r);
    v4d q45 = (C8 + C9 * r) + r2 * (C10 + C11 * r);
    v4d q6 = C12 + C13 * r;
    v4d p = (q01 + r4 * q23) + r8 * (q45 + r4 * q6);
    /* 2^k as 2^k1 * 2^k2, k1 = round(k/2), done in floating point because
     * SSE2 and AVX2 have no 64-bit arithmetic right shift. */
    v4d k1 = (kd * 0.5 + shifter) - shifter, k2 = kd - k1;
    v4i e1 = ((v4i)(k1 + shifter) - (v4i)shifter + 1023) << 52;
    v4i e2 = ((v4i)(k2 + shifter) - (v4i)shifter + 1023) << 52;
    return (v4d)((v4i)(p * (v4d)e1 * (v4d)e2) & ~zero);
}

#if OTK_HAVE_AVX2_VARIANT
/*
 * AVX-512 variant: 8 lanes and a table. x = (16 k + j) ln2/16 + r with
 * |r| <= ln2/32; exp(x) = 2^k * 2^(j/16) * exp(r), the 16 values 2^(j/16)
 * (correctly rounded) held in two registers and picked by vpermt2pd,
 * exp(r) by a degree-7 polynomial (truncation below 2e-18), and 2^k
 * applied by vscalefpd, which underflows gradually and overflows to inf by
 * itself. The clamp is max/min with operands ordered so NaN propagates.
 */
#define LN2_HI_16 (LN2_HI / 16.0) /* exact: a power-of-two division */
#define LN2_LO_16 (LN2_LO / 16.0)
static const double exp2_sixteenths[16] = {
    1.0,
    1.0442737824274138,
    1.0905077326652577,
    1.1387886347566916,
    1.189207115002721,
    1.241857812073484,
    1.2968395546510096,
    1.3542555469368927,
    1.4142135623730951,
    1.4768261459394993,
    1.5422108254079407,
    1.6104903319492543,
    1.681792830507429,
    1.7562521603732995,
    1.8340080864093424,
    1.9152065613971474,
};

OTK_TARGET_AVX512 static inline __m512d exp8(__m512d x)
{
    /* as in exp4: results that are 0 come from x = 0, then zeroed (an
     * underflowing vscalefpd takes the slow path for tiny results); NaN
     * lanes are kept (the comparison is true for them) */
    __mmask8 keep = _mm512_cmp_pd_mask(x, _mm512_set1_pd(EXP_LO), _CMP_NLT_UQ);
    x = _mm512_maskz_mov_pd(keep, x);
    x = _mm512_min_pd(_mm512_set1_pd(EXP_HI), x);
    __m512d kd =
        _mm512_roundscale_pd(_mm512_mul_pd(x, _mm512_set1_pd(16.0 * LOG2E)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512d r = _mm512_fnmadd_pd(kd, _mm512_set1_pd(LN2_HI_16), x);
    r = _mm512_fnmadd_pd(kd, _mm512_set1_pd(LN2_LO_16), r);
    /* j = kd mod 16 sits in the low mantissa bits of kd + 1.5 * 2^52 */
    __m512i j = _mm512_castpd_si512(_mm512_add_pd(kd, _mm512_set1_pd(SHIFTER)));
    __m512d t = _mm512_permutex2var_pd(_mm512_loadu_pd(exp2_sixteenths), j,
                                       _mm512_loadu_pd(exp2_sixteenths + 8));
    __m512d k =
        _mm512_roundscale_pd(_mm512_mul_pd(kd, _mm512_set1_pd(1.0 / 16)),
                             _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512d r2 = _mm512_mul_pd(r, r), r4 = _mm512_mul_pd(r2, r2);
#define OTK_PAIR(a, b) _mm512_fmadd_pd(_mm512_set1_pd(b), r, _mm512_set1_pd(a))
    __m512d q01 = OTK_PAIR(1.0, 1.0), q23 = OTK_PAIR(C2, C3);
    __m512d q45 = OTK_PAIR(C4, C5), q67 = OTK_PAIR(C6, C7);
#undef OTK_PAIR
    __m512d p = _mm512_fmadd_pd(r4, _mm512_fmadd_pd(r2, q67, q45),
                                _mm512_fmadd_pd(r2, q23, q01));
    return _mm512_maskz_scalef_pd(keep, _mm512_mul_pd(t, p), k);
}
#endif

#endif
