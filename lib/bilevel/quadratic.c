/*
 * The quadratic bilevel problem with an analytic solution (otkit/bilevel.h,
 * the paper's section 4.1). Everything the callbacks need is precomputed
 * as dim x dim matrices, so one callback costs O(dim^2), except g, which
 * uses A1 directly to avoid the cancellation of an expanded quadratic.
 */
#include "bilevel_internal.h"

#include "linalg/linalg.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct quad_data {
    otkb_owner owner;
    size_t rows, dim;
    double *A1, *b1;      /* rows x dim, rows: for g */
    double *H;            /* A2^T A2 (dim x dim): the lower-level Hessian */
    double *K;            /* A2^T A3: the cross derivative B */
    double *c;            /* A2^T b2 */
    double *A2, *A3, *b2; /* kept for h's value (finite-difference checks) */
    double *r;            /* rows scratch */
    double mu, L, norm_K;
} quad_data;

static void quad_destroy(void *self)
{
    quad_data *d = self;
    free(d->A1);
    free(d->b1);
    free(d->H);
    free(d->K);
    free(d->c);
    free(d->A2);
    free(d->A3);
    free(d->b2);
    free(d->r);
    free(d);
}

/* y = M v for a row-major rows x cols matrix (trans: M^T v). */
static void matvec(const double *M, size_t rows, size_t cols, int trans,
                   const double *v, double *y)
{
    otk__gemm(trans, 0, trans ? cols : rows, 1, trans ? rows : cols, 1.0, M, v,
              0.0, y);
}

static int quad_grad(void *user, const double *theta, const double *x,
                     double *grad)
{
    const quad_data *d = user;
    size_t k = d->dim;
    /* H x + K theta - A2^T b2 */
    for (size_t i = 0; i < k; i++)
        grad[i] = otk__dot(k, d->H + i * k, x) +
                  otk__dot(k, d->K + i * k, theta) - d->c[i];
    return 0;
}

static int quad_hvp(void *user, const double *theta, const double *x,
                    const double *v, double *out)
{
    const quad_data *d = user;
    (void)theta;
    (void)x;
    matvec(d->H, d->dim, d->dim, 0, v, out);
    return 0;
}

static int quad_cross_t(void *user, const double *theta, const double *x,
                        const double *q, double *out)
{
    const quad_data *d = user;
    (void)theta;
    (void)x;
    matvec(d->K, d->dim, d->dim, 1, q, out);
    return 0;
}

static int quad_upper(void *user, const double *x, double *g, double *grad)
{
    quad_data *d = user;
    matvec(d->A1, d->rows, d->dim, 0, x, d->r);
    for (size_t i = 0; i < d->rows; i++)
        d->r[i] -= d->b1[i];
    *g = 0.5 * otk__dot(d->rows, d->r, d->r);
    if (grad)
        matvec(d->A1, d->rows, d->dim, 1, d->r, grad);
    return 0;
}

static int quad_value(void *user, const double *theta, const double *x,
                      double *h)
{
    quad_data *d = user;
    double *t = malloc(d->rows * sizeof *t);
    if (!t)
        return -1;
    matvec(d->A2, d->rows, d->dim, 0, x, d->r);
    matvec(d->A3, d->rows, d->dim, 0, theta, t);
    double s = 0;
    for (size_t i = 0; i < d->rows; i++) {
        double e = d->r[i] + t[i] - d->b2[i];
        s += e * e;
    }
    free(t);
    *h = 0.5 * s;
    return 0;
}

static int quad_constants(void *user, const double *theta, double *mu,
                          double *L)
{
    const quad_data *d = user;
    (void)theta;
    *mu = d->mu;
    *L = d->L;
    return 0;
}

static int quad_cross_norm(void *user, const double *theta, const double *x,
                           double *norm)
{
    const quad_data *d = user;
    (void)theta;
    (void)x;
    *norm = d->norm_K;
    return 0;
}

/* ||M||_2 = sqrt(lambda_max(M^T M)) for a square dim x dim M. */
static int spectral_norm(const double *M, size_t dim, double *norm)
{
    double *mtm = malloc(dim * dim * sizeof *mtm), lo, hi;
    if (!mtm)
        return -1;
    otk__gemm(1, 0, dim, dim, dim, 1.0, M, M, 0.0, mtm);
    int rc = otk__sym_eig_range(dim, mtm, &lo, &hi);
    free(mtm);
    *norm = sqrt(fmax(hi, 0));
    return rc;
}

/* theta* = argmin ||M theta - d||, M = A1 H^{-1} K,
 * d = A1 H^{-1} A2^T b2 - b1, and f* = 1/2 ||M theta* - d||^2. */
static int analytic_optimum(const quad_data *d, double *theta_star,
                            double *f_star)
{
    size_t k = d->dim, rows = d->rows;
    double *rhs = malloc(k * (k + 1) * sizeof *rhs); /* [K | c] */
    double *M = malloc(rows * (k + 1) * sizeof *M);
    double *Mt = malloc(rows * k * sizeof *Mt), *dv = malloc(rows * sizeof *dv);
    int rc = -1;
    if (!rhs || !M || !Mt || !dv)
        goto done;
    for (size_t i = 0; i < k; i++) {
        memcpy(rhs + i * (k + 1), d->K + i * k, k * sizeof *rhs);
        rhs[i * (k + 1) + k] = d->c[i];
    }
    if (otk__spd_solve(k, k + 1, d->H, rhs) != 0) /* H^{-1} [K | c] */
        goto done;
    otk__gemm(0, 0, rows, k + 1, k, 1.0, d->A1, rhs, 0.0, M);
    for (size_t i = 0; i < rows; i++) {
        memcpy(Mt + i * k, M + i * (k + 1), k * sizeof *Mt);
        dv[i] = M[i * (k + 1) + k] - d->b1[i];
    }
    if (otk__least_squares(rows, k, Mt, dv, theta_star) != 0)
        goto done;
    double s = 0;
    for (size_t i = 0; i < rows; i++) {
        double e = otk__dot(k, Mt + i * k, theta_star) - dv[i];
        s += e * e;
    }
    *f_star = 0.5 * s;
    rc = 0;
done:
    free(rhs);
    free(M);
    free(Mt);
    free(dv);
    return rc;
}

/* Columns of Q (rows x dim, row-major) made orthonormal by modified
 * Gram-Schmidt; -1 when a column is (numerically) dependent. */
static int orthonormalize(double *Q, size_t rows, size_t dim)
{
    for (size_t j = 0; j < dim; j++) {
        for (size_t i = 0; i < j; i++) {
            double r = 0;
            for (size_t t = 0; t < rows; t++)
                r += Q[t * dim + i] * Q[t * dim + j];
            for (size_t t = 0; t < rows; t++)
                Q[t * dim + j] -= r * Q[t * dim + i];
        }
        double nrm = 0;
        for (size_t t = 0; t < rows; t++)
            nrm += Q[t * dim + j] * Q[t * dim + j];
        if (!(nrm > 1e-20))
            return -1;
        for (size_t t = 0; t < rows; t++)
            Q[t * dim + j] /= sqrt(nrm);
    }
    return 0;
}

/* The conditioned family's matrices: A1 = Q, A2 = Q D, A3 = Q D S with Q
 * orthonormal (Gaussian draws, then Gram-Schmidt), D = diag U[1, 2) and
 * S = diag cond^(-i / (2 (dim - 1))), so that M = A1 (A2^T A2)^{-1} A2^T
 * A3 = Q S and M^T M = S^2 has condition number cond. */
static int conditioned_draws(quad_data *d, double cond, gsl_rng *rng)
{
    size_t rows = d->rows, dim = d->dim;
    for (size_t i = 0; i < rows * dim; i++)
        d->A1[i] = gsl_ran_gaussian(rng, 1.0);
    if (orthonormalize(d->A1, rows, dim) != 0)
        return -1;
    for (size_t j = 0; j < dim; j++) {
        double dj = 1 + gsl_rng_uniform(rng);
        double sj =
            dim > 1 ? pow(cond, -0.5 * (double)j / (double)(dim - 1)) : 1;
        for (size_t t = 0; t < rows; t++) {
            d->A2[t * dim + j] = d->A1[t * dim + j] * dj;
            d->A3[t * dim + j] = d->A2[t * dim + j] * sj;
        }
    }
    return 0;
}

static otk_status quad_create(size_t rows, size_t dim, double cond,
                              unsigned long seed, otk_bilevel_instance *out);

otk_status otk_bilevel_quadratic_create(size_t rows, size_t dim,
                                        unsigned long seed,
                                        otk_bilevel_instance *out)
{
    return quad_create(rows, dim, 0, seed, out);
}

otk_status otk_bilevel_quadratic_conditioned_create(size_t rows, size_t dim,
                                                    double cond,
                                                    unsigned long seed,
                                                    otk_bilevel_instance *out)
{
    if (!(cond >= 1) || isinf(cond)) {
        if (out)
            otkb_instance_clear(out);
        return OTK_ERR_INVALID_ARGUMENT;
    }
    return quad_create(rows, dim, cond, seed, out);
}

/* cond 0: the paper's uniform draws; else conditioned_draws. */
static otk_status quad_create(size_t rows, size_t dim, double cond,
                              unsigned long seed, otk_bilevel_instance *out)
{
    if (!out)
        return OTK_ERR_INVALID_ARGUMENT;
    otkb_instance_clear(out);
    if (dim == 0 || rows < dim)
        return OTK_ERR_INVALID_ARGUMENT;
    quad_data *d = calloc(1, sizeof *d);
    if (!d)
        return OTK_ERR_NO_MEMORY;
    d->owner.destroy = quad_destroy;
    d->rows = rows;
    d->dim = dim;
    size_t rk = rows * dim, kk = dim * dim;
    d->A1 = malloc(rk * sizeof(double));
    d->A2 = malloc(rk * sizeof(double));
    d->A3 = malloc(rk * sizeof(double));
    d->b1 = malloc(rows * sizeof(double));
    d->b2 = malloc(rows * sizeof(double));
    d->r = malloc(rows * sizeof(double));
    d->H = malloc(kk * sizeof(double));
    d->K = malloc(kk * sizeof(double));
    d->c = malloc(dim * sizeof(double));
    double *xs = malloc(3 * dim * sizeof(double));
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    otk_status st = OTK_ERR_NO_MEMORY;
    if (!d->A1 || !d->A2 || !d->A3 || !d->b1 || !d->b2 || !d->r || !d->H ||
        !d->K || !d->c || !xs || !rng)
        goto fail;
    gsl_rng_set(rng, seed);
    /* The draws in the reference's order: A1, A2, A3, x1, x2, theta_e,
     * then the noise. */
    double *mats[3] = {d->A1, d->A2, d->A3};
    st = OTK_ERR_NUMERICAL;
    if (cond > 0 && conditioned_draws(d, cond, rng) != 0)
        goto fail;
    for (int m = 0; m < 3 && cond == 0; m++)
        for (size_t i = 0; i < rk; i++)
            mats[m][i] = gsl_rng_uniform(rng);
    st = OTK_ERR_NO_MEMORY;
    for (size_t i = 0; i < 3 * dim; i++)
        xs[i] = gsl_rng_uniform(rng);
    const double *x1 = xs, *x2 = xs + dim, *theta_e = xs + 2 * dim;
    matvec(d->A1, rows, dim, 0, x1, d->b1);
    matvec(d->A2, rows, dim, 0, x2, d->b2);
    matvec(d->A3, rows, dim, 0, theta_e, d->r);
    for (size_t i = 0; i < rows; i++)
        d->b1[i] += 0.01 * gsl_ran_gaussian(rng, 1.0);
    for (size_t i = 0; i < rows; i++)
        d->b2[i] += d->r[i] + 0.01 * gsl_ran_gaussian(rng, 1.0);

    otk__gemm(1, 0, dim, dim, rows, 1.0, d->A2, d->A2, 0.0, d->H);
    otk__gemm(1, 0, dim, dim, rows, 1.0, d->A2, d->A3, 0.0, d->K);
    matvec(d->A2, rows, dim, 1, d->b2, d->c);
    double *G = malloc(kk * sizeof *G), glo, ghi;
    if (!G)
        goto fail;
    otk__gemm(1, 0, dim, dim, rows, 1.0, d->A1, d->A1, 0.0, G);
    int rc = otk__sym_eig_range(dim, G, &glo, &ghi);
    free(G);
    st = OTK_ERR_NUMERICAL;
    if (rc != 0 || otk__sym_eig_range(dim, d->H, &d->mu, &d->L) != 0 ||
        spectral_norm(d->K, dim, &d->norm_K) != 0 || !(d->mu > 0))
        goto fail;

    st = otkb_instance_init(out, dim, dim);
    if (st != OTK_CONVERGED)
        goto fail;
    out->theta_star = malloc(dim * sizeof(double));
    if (!out->theta_star) {
        st = OTK_ERR_NO_MEMORY;
        goto fail_instance;
    }
    if (analytic_optimum(d, out->theta_star, &out->f_star) != 0) {
        st = OTK_ERR_NUMERICAL;
        goto fail_instance;
    }
    for (size_t i = 0; i < dim; i++) {
        out->theta0[i] = 1;
        out->x0[i] = x2[i];
    }
    otk_bilevel_problem *pb = &out->problem;
    pb->n = dim;
    pb->p = dim;
    pb->user = d;
    pb->ll_grad = quad_grad;
    pb->ll_hvp = quad_hvp;
    pb->cross_t = quad_cross_t;
    pb->upper = quad_upper;
    pb->ll_constants = quad_constants;
    pb->cross_norm = quad_cross_norm;
    pb->ll_value = quad_value;
    pb->L_g = ghi;
    pb->L_B = 0; /* B and A do not depend on x */
    pb->L_Ainv = 0;
    pb->g_convex = 1;
    out->data = d;
    free(xs);
    gsl_rng_free(rng);
    return OTK_CONVERGED;

fail_instance:
    otk_bilevel_instance_free(out);
fail:
    free(xs);
    if (rng)
        gsl_rng_free(rng);
    quad_destroy(d);
    return st;
}
