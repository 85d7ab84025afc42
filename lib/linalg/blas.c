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

const char *otk__blas_library(void)
{
    Dl_info info;
    if (dladdr((void *)cblas_ddot, &info) && info.dli_fname != NULL)
        return info.dli_fname;
    return "";
}
