/* BLAS through OpenBLAS's CBLAS. This is the only file that includes
 * <cblas.h>; GSL headers must never be included next to it. */
#define _GNU_SOURCE
#include <cblas.h>
#include <dlfcn.h>
#include <limits.h>
#include <math.h>

#include "linalg/linalg.h"

/* Lengths above INT_MAX go through in INT_MAX chunks (LP64 BLAS). */
double otk__dot(size_t len, const double *x, const double *y)
{
    double s = 0.0;
    while (len > 0) {
        size_t k = len > (size_t)INT_MAX ? (size_t)INT_MAX : len;
        s += cblas_ddot((int)k, x, 1, y, 1);
        x += k;
        y += k;
        len -= k;
    }
    return s;
}

void otk__axpy(size_t len, double alpha, const double *x, double *y)
{
    while (len > 0) {
        size_t k = len > (size_t)INT_MAX ? (size_t)INT_MAX : len;
        cblas_daxpy((int)k, alpha, x, 1, y, 1);
        x += k;
        y += k;
        len -= k;
    }
}

/* OpenBLAS (the pthread build Debian installs) runs a product on the
 * calling thread when m n k <= 65536 x OPENBLAS_GEMM_MULTITHREAD_THRESHOLD
 * (4 in Debian's build); above that it wakes its thread pool, whose
 * workers then poll for more work (sched_yield: system time) for a while
 * after each call. For the small products of a training loop (a 256 x 64
 * x 64 layer) that polling costs more CPU than the whole product, and it
 * takes a core from the library's own OpenMP loops, so products up to
 * SERIAL_MAX multiply-adds are issued in tiles under the threshold (test
 * gemm_tiles_stay_on_the_calling_thread). Every entry is still one
 * kernel's sum over all of k, so results differ from one call's only by
 * rounding (OpenBLAS's small-matrix kernels on AVX-512 round beta C in
 * the same pass). Larger products are one call and may use the pool,
 * where its cost pays. The choice is made per call: no process-wide
 * setting is changed. */
#ifndef OPENBLAS_GEMM_MULTITHREAD_THRESHOLD
#define OPENBLAS_GEMM_MULTITHREAD_THRESHOLD 4
#endif
#define SERIAL_TILE (65536.0 * OPENBLAS_GEMM_MULTITHREAD_THRESHOLD)
#define SERIAL_MAX 67108864.0 /* 2^26 multiply-adds, ~10 ms on one core */

void otk__gemm_tile_shape(size_t m, size_t n, size_t k, size_t *rows,
                          size_t *cols)
{
    const double work = (double)m * (double)n * (double)k;
    *rows = m;
    *cols = n;
    if (work <= SERIAL_TILE || work > SERIAL_MAX || (double)k >= SERIAL_TILE)
        return; /* one call: on the calling thread already, or large */
    /* square-ish tiles r x s with r s k < SERIAL_TILE: each call packs
     * (r + s) k entries for r s k multiply-adds */
    size_t s = (size_t)sqrt((SERIAL_TILE - 1.0) / (double)k);
    s = s < 1 ? 1 : s > n ? n : s;
    size_t r = (size_t)((SERIAL_TILE - 1.0) / ((double)s * (double)k));
    *rows = r < 1 ? 1 : r > m ? m : r;
    *cols = s;
}

void otk__gemm_tiled(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                     double alpha, const double *a, const double *b,
                     double beta, double *c, size_t rows, size_t cols)
{
    /* row-major: op(A) is m x k, op(B) is k x n, C is m x n */
    const int lda = trans_a ? (int)m : (int)k, ldb = trans_b ? (int)k : (int)n;
    for (size_t i = 0; i < m; i += rows) {
        const size_t r = m - i < rows ? m - i : rows;
        /* rows i.. of op(A): columns of A when transposed */
        const double *ai = trans_a ? a + i : a + i * (size_t)lda;
        for (size_t j = 0; j < n; j += cols) {
            const size_t s = n - j < cols ? n - j : cols;
            const double *bj = trans_b ? b + j * (size_t)ldb : b + j;
            cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                        trans_b ? CblasTrans : CblasNoTrans, (int)r, (int)s,
                        (int)k, alpha, ai, lda, bj, ldb, beta, c + i * n + j,
                        (int)n);
        }
    }
}

void otk__gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k,
               double alpha, const double *a, const double *b, double beta,
               double *c)
{
    size_t rows, cols;
    otk__gemm_tile_shape(m, n, k, &rows, &cols);
    otk__gemm_tiled(trans_a, trans_b, m, n, k, alpha, a, b, beta, c, rows,
                    cols);
}

const char *otk__blas_library(void)
{
    Dl_info info;
    if (dladdr((void *)cblas_ddot, &info) && info.dli_fname != NULL)
        return info.dli_fname;
    return "";
}
