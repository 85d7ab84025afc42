/* Dense helpers for the Gaussian benchmark (gauss_linalg.c, GSL). All
 * matrices are d x d, row-major. Each returns 0, or -1 on failure. */
#ifndef MONGE_GAP_GAUSS_LINALG_H
#define MONGE_GAP_GAUSS_LINALG_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

/* S = Q diag(l) Q^T with Q random orthogonal (QR of a Gaussian matrix), l_k ~
 * U[lo, hi]. */
int gl_random_covariance(gsl_rng *rng, size_t d, double lo, double hi,
                         double *S);
/* out = S^{1/2} for S symmetric positive definite. */
int gl_sqrt(size_t d, const double *S, double *out);
/* The optimal (Brenier) map's matrix between N(., S1) and N(., S2),
 * A = S1^-1/2 (S1^1/2 S2 S1^1/2)^1/2 S1^-1/2, and the relative Frobenius
 * error of A S1 A = S2 in *residual. */
int gl_gaussian_map(size_t d, const double *S1, const double *S2, double *A,
                    double *residual);

#endif
