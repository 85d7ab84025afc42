/*
 * The few LAPACK routines otkit needs, from the LAPACK that Debian's
 * OpenBLAS carries (meson.build checks for it). LAPACK is column-major;
 * the wrappers take row-major arrays and transpose where it matters.
 */
#include "linalg.h"

#include <stdlib.h>
#include <string.h>

void dsyev_(const char *jobz, const char *uplo, const int *n, double *a,
            const int *lda, double *w, double *work, const int *lwork,
            int *info);
void dgels_(const char *trans, const int *m, const int *n, const int *nrhs,
            double *a, const int *lda, double *b, const int *ldb, double *work,
            const int *lwork, int *info);
void dgetrf_(const int *m, const int *n, double *a, const int *lda, int *ipiv,
             int *info);
void dgetrs_(const char *trans, const int *n, const int *nrhs, const double *a,
             const int *lda, const int *ipiv, double *b, const int *ldb,
             int *info);
void dposv_(const char *uplo, const int *n, const int *nrhs, double *a,
            const int *lda, double *b, const int *ldb, int *info);

int otk__sym_eig_range(size_t n, const double *A, double *lo, double *hi)
{
    int nn = (int)n, info = 0, lwork = -1;
    double query;
    double *a = malloc(n * n * sizeof *a), *w = malloc(n * sizeof *w);
    if (!a || !w) {
        free(a);
        free(w);
        return -1;
    }
    /* symmetric: row-major equals column-major */
    memcpy(a, A, n * n * sizeof *a);
    dsyev_("N", "U", &nn, a, &nn, w, &query, &lwork, &info);
    lwork = (int)query;
    double *work = info == 0 ? malloc((size_t)lwork * sizeof *work) : NULL;
    if (work)
        dsyev_("N", "U", &nn, a, &nn, w, work, &lwork, &info);
    int rc = work && info == 0 ? 0 : -1;
    if (rc == 0) {
        *lo = w[0]; /* ascending */
        *hi = w[n - 1];
    }
    free(work);
    free(a);
    free(w);
    return rc;
}

int otk__least_squares(size_t rows, size_t cols, const double *A,
                       const double *b, double *x)
{
    int m = (int)rows, n = (int)cols, one = 1, info = 0, lwork = -1;
    double query;
    double *a = malloc(rows * cols * sizeof *a),
           *bb = malloc(rows * sizeof *bb);
    if (!a || !bb) {
        free(a);
        free(bb);
        return -1;
    }
    for (size_t i = 0; i < rows; i++) /* to column-major */
        for (size_t j = 0; j < cols; j++)
            a[j * rows + i] = A[i * cols + j];
    memcpy(bb, b, rows * sizeof *bb);
    dgels_("N", &m, &n, &one, a, &m, bb, &m, &query, &lwork, &info);
    lwork = (int)query;
    double *work = info == 0 ? malloc((size_t)lwork * sizeof *work) : NULL;
    if (work)
        dgels_("N", &m, &n, &one, a, &m, bb, &m, work, &lwork, &info);
    int rc = work && info == 0 ? 0 : -1;
    if (rc == 0)
        memcpy(x, bb, cols * sizeof *x);
    free(work);
    free(a);
    free(bb);
    return rc;
}

int otk__spd_solve(size_t n, size_t nrhs, const double *A, double *B)
{
    int nn = (int)n, nr = (int)nrhs, info = 0;
    double *a = malloc(n * n * sizeof *a), *b = malloc(n * nrhs * sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return -1;
    }
    memcpy(a, A, n * n * sizeof *a);
    for (size_t i = 0; i < n; i++) /* B to column-major */
        for (size_t j = 0; j < nrhs; j++)
            b[j * n + i] = B[i * nrhs + j];
    dposv_("U", &nn, &nr, a, &nn, b, &nn, &info);
    if (info == 0)
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < nrhs; j++)
                B[i * nrhs + j] = b[j * n + i];
    free(a);
    free(b);
    return info == 0 ? 0 : -1;
}

int otk__lu_factor(size_t n, double *A, int *ipiv)
{
    int nn = (int)n, info = 0;
    /* row-major A is column-major A^T: factor A^T, solve with its
     * transpose (otk__lu_apply) */
    dgetrf_(&nn, &nn, A, &nn, ipiv, &info);
    return info == 0 ? 0 : -1;
}

int otk__lu_apply(size_t n, const double *LU, const int *ipiv, double *y)
{
    int nn = (int)n, one = 1, info = 0;
    dgetrs_("T", &nn, &one, LU, &nn, ipiv, y, &nn, &info);
    return info == 0 ? 0 : -1;
}
