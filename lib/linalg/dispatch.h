/*
 * Run-time CPU dispatch for the hot kernels. A kernel body is written once
 * as an always-inline function with GCC vector extensions; it is compiled
 * twice, once for the baseline x86-64 (SSE2) and once with AVX2+FMA, and
 * the wrapper picks the variant the CPU supports. (target_clones with
 * arch=haswell dispatches on the CPU model, not on its features, so AMD
 * CPUs with AVX2 would get the slow variant.)
 */
#ifndef OTK_DISPATCH_H
#define OTK_DISPATCH_H

#if defined(__GNUC__) && defined(__x86_64__)
#define OTK_X86_64 1
#define OTK_HAVE_AVX2_VARIANT 1
#define OTK_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define OTK_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
static inline int otk__cpu_has_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
/* The exponential kernels also have an AVX-512F variant (8 lanes and
 * vscalefpd), as accurate as the others. */
static inline int otk__cpu_has_avx512(void)
{
    return __builtin_cpu_supports("avx512f");
}
#else
#define OTK_X86_64 0
#define OTK_HAVE_AVX2_VARIANT 0
#endif

#define OTK_INLINE static inline __attribute__((always_inline))

/* Four doubles as one GCC vector (two SSE2 registers on the baseline, one
 * AVX register in the AVX2 variants), loaded and stored unaligned. */
typedef double otk_v4d __attribute__((vector_size(32)));

OTK_INLINE otk_v4d otk__load4(const double *p)
{
    otk_v4d v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

OTK_INLINE void otk__store4(double *p, otk_v4d v)
{
    __builtin_memcpy(p, &v, sizeof v);
}

#endif
