/*
 * Dense linear algebra for the Gaussian benchmark of monge_gap_figures.c:
 * random covariances and the affine optimal map between two Gaussians.
 * GSL's matrix and eigen routines live here, apart from the rest of the
 * program (never include <cblas.h> with <gsl/gsl_matrix.h>).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "gauss_linalg.h"

/* S^{power} for a symmetric positive definite d x d S (row-major), by
 * S = V diag(w) V^T: out = V diag(w^power) V^T. Returns 0, or -1 if S has
 * an eigenvalue <= 0 or memory is short. */
static int spd_power(size_t d, const double *S, double power, double *out)
{
    gsl_matrix *A = gsl_matrix_alloc(d, d), *V = gsl_matrix_alloc(d, d);
    gsl_vector *w = gsl_vector_alloc(d);
    gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc(d);
    int rc = -1;
    if (A == NULL || V == NULL || w == NULL || ws == NULL)
        goto done;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) /* symmetrise against rounding */
            gsl_matrix_set(A, i, j, 0.5 * (S[i * d + j] + S[j * d + i]));
    if (gsl_eigen_symmv(A, w, V, ws) != 0)
        goto done;
    for (size_t k = 0; k < d; k++)
        if (!(gsl_vector_get(w, k) > 0.0))
            goto done;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double s = 0.0;
            for (size_t k = 0; k < d; k++)
                s += gsl_matrix_get(V, i, k) *
                     pow(gsl_vector_get(w, k), power) * gsl_matrix_get(V, j, k);
            out[i * d + j] = s;
        }
    rc = 0;
done:
    gsl_eigen_symmv_free(ws);
    gsl_vector_free(w);
    gsl_matrix_free(V);
    gsl_matrix_free(A);
    return rc;
}

static void matmul(size_t d, const double *A, const double *B, double *C)
{
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double s = 0.0;
            for (size_t k = 0; k < d; k++)
                s += A[i * d + k] * B[k * d + j];
            C[i * d + j] = s;
        }
}

int gl_random_covariance(gsl_rng *rng, size_t d, double lo, double hi,
                         double *S)
{
    gsl_matrix *Z = gsl_matrix_alloc(d, d), *Q = gsl_matrix_alloc(d, d),
               *R = gsl_matrix_alloc(d, d);
    gsl_vector *tau = gsl_vector_alloc(d);
    double *lam = malloc(d * sizeof *lam);
    int rc = -1;
    if (Z == NULL || Q == NULL || R == NULL || tau == NULL || lam == NULL)
        goto done;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            gsl_matrix_set(Z, i, j, gsl_ran_gaussian(rng, 1.0));
    if (gsl_linalg_QR_decomp(Z, tau) != 0 ||
        gsl_linalg_QR_unpack(Z, tau, Q, R) != 0)
        goto done;
    /* Q from the QR factors of a Gaussian matrix (the signs of Q's
     * columns do not matter in Q diag(l) Q^T) */
    for (size_t k = 0; k < d; k++)
        lam[k] = lo + (hi - lo) * gsl_rng_uniform(rng);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double s = 0.0;
            for (size_t k = 0; k < d; k++)
                s += gsl_matrix_get(Q, i, k) * lam[k] * gsl_matrix_get(Q, j, k);
            S[i * d + j] = s;
        }
    rc = 0;
done:
    free(lam);
    gsl_vector_free(tau);
    gsl_matrix_free(R);
    gsl_matrix_free(Q);
    gsl_matrix_free(Z);
    return rc;
}

int gl_sqrt(size_t d, const double *S, double *out)
{
    return spd_power(d, S, 0.5, out);
}

int gl_gaussian_map(size_t d, const double *S1, const double *S2, double *A,
                    double *residual)
{
    double *r1 = malloc(5 * d * d * sizeof *r1);
    if (r1 == NULL)
        return -1;
    double *ir1 = r1 + d * d, *M = ir1 + d * d, *T = M + d * d, *U = T + d * d;
    int rc = -1;
    if (spd_power(d, S1, 0.5, r1) != 0 || spd_power(d, S1, -0.5, ir1) != 0)
        goto done;
    matmul(d, r1, S2, T); /* S1^1/2 S2 S1^1/2 */
    matmul(d, T, r1, M);
    if (spd_power(d, M, 0.5, T) != 0)
        goto done;
    matmul(d, ir1, T, U); /* A = S1^-1/2 (...)^1/2 S1^-1/2 */
    matmul(d, U, ir1, A);
    /* check A S1 A = S2 (relative Frobenius error) */
    matmul(d, A, S1, T);
    matmul(d, T, A, U);
    double num = 0.0, den = 0.0;
    for (size_t k = 0; k < d * d; k++) {
        num += (U[k] - S2[k]) * (U[k] - S2[k]);
        den += S2[k] * S2[k];
    }
    *residual = sqrt(num / den);
    rc = 0;
done:
    free(r1);
    return rc;
}
