/* BLAS through OpenBLAS's CBLAS. This is the only file that includes
 * <cblas.h>; GSL headers must never be included next to it. */
#define _GNU_SOURCE
#include <cblas.h>
#include <dlfcn.h>
#include <limits.h>

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

void otk__gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k,
               double alpha, const double *a, const double *b, double beta,
               double *c)
{
    /* row-major: op(A) is m x k, op(B) is k x n, C is m x n */
    const int lda = trans_a ? (int)m : (int)k, ldb = trans_b ? (int)k : (int)n;
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
                alpha, a, lda, b, ldb, beta, c, (int)n);
}

const char *otk__blas_library(void)
{
    Dl_info info;
    if (dladdr((void *)cblas_ddot, &info) && info.dli_fname != NULL)
        return info.dli_fname;
    return "";
}
