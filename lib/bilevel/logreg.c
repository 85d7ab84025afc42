/*
 * Multinomial logistic regression with one l2 weight per parameter
 * (include/otkit/bilevel.h; notes E4, after HOAG's MNIST experiment).
 *
 * X is n x d (row-major), W is d x C (row-major), Z = X W, S = softmax
 * of each row of Z, Y the one-hot labels, e = e^theta (d C entries):
 *
 *     h(W, theta) = (1/n) sum_i CE_i + 1/2 sum_j e_j W_j^2,
 *     CE_i = lse(z_i) - z_{i,y_i},
 *     grad_W h = X^T (S - Y) / n + e .* W,
 *     A V      = X^T [S .* (X V) - S .* rowsum(S .* X V)] / n + e .* V,
 *     B^T q    = e .* W .* q        (B = diag(e .* W), d C x d C),
 *     g(W)     = mean CE over the validation set,
 *     grad g   = X_v^T (S_v - Y_v) / n_v.
 *
 * Constants, with ||X|| the spectral norm (computed once, by LAPACK):
 *
 *  - mu = min_j e_j. Mean CE is convex in W, so this is a true bound.
 *  - L = ||X||^2 / (2n) + max_j e_j. For one sample the Hessian of CE in
 *    z is H = diag(s) - s s^T, and u^T H u = Var_s(u) <= (max u - min
 *    u)^2 / 4 <= ||u||^2 / 2 (Popoviciu; (a - b)^2 <= 2 (a^2 + b^2)).
 *    With u_i = V^T x_i, <V, A_CE V> <= (1/2n) sum ||V^T x_i||^2 =
 *    ||X V||_F^2 / (2n) <= ||X||^2 ||V||_F^2 / (2n). The 1/2 is attained
 *    (s = (1/2, 1/2, 0, ...), u = (1, -1, 0, ...)), so no smaller factor
 *    holds for every W (at W = 0 the factor is 1/C).
 *  - L_g = ||X_v||^2 / (2 n_v), by the same argument; g is convex.
 *  - ||B|| = max_j |e_j W_j| (cross_norm), B being diagonal.
 *  - L_B = max_j e_j: B(W) = diag(e .* W) is linear in W. It depends on
 *    theta: the lipschitz callback gives it (and L_Ainv) at the theta at
 *    hand; the problem's L_B and L_Ainv fields hold the values at theta0.
 *  - L_Ainv <= L_A / mu^2, L_A the Lipschitz constant of A(., theta).
 *    The third derivative of lse along u is the third central moment
 *    k3 = E_s[(u - E_s u)^3], |k3| <= max|u - E_s u| Var_s(u) <=
 *    sqrt(2) ||u|| * ||u||^2 / 2 = ||u||^3 / sqrt(2). Summing over the
 *    samples, |D^3 h[V, V, V]| <= (1/(sqrt(2) n)) sum ||V^T x_i||^3 <=
 *    max_i ||x_i|| ||X||^2 ||V||^3 / (sqrt(2) n), and for a symmetric
 *    trilinear form the diagonal supremum is the norm, so
 *    L_A = max_i ||x_i|| ||X||^2 / (sqrt(2) n), independent of theta
 *    (the regulariser's Hessian does not depend on W); L_Ainv = L_A /
 *    (min_j e_j)^2.
 *    This is conservative (two-point distributions reach 0.39 of it),
 *    but it is a proven bound.
 *
 * Callbacks keep all scratch in the instance and allocate nothing; the
 * softmax of the last W seen by ll_grad or ll_hvp is cached so that the
 * CG iterations at one W cost two products with X instead of three. So
 * one instance must not be used from two threads at once.
 */
#include "bilevel_internal.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "linalg/linalg.h"

typedef struct logreg {
    otkb_owner owner;
    size_t n, nv, d, C, p;
    double *X, *Xv; /* n x d, nv x d: owned copies */
    int *y, *yv;
    double *e;     /* e^theta of the current call (p) */
    double *S, *R; /* softmax and residual / product scratch (n x C) */
    double *Sv;    /* validation softmax (nv x C) */
    double *Wc;    /* the W that S belongs to (p) */
    int s_valid;
    double xn2; /* ||X||_2^2, for ll_constants */
    double L_A; /* Lipschitz constant of A(., theta), for lipschitz */
} logreg;

static void logreg_destroy(void *self)
{
    logreg *lr = self;
    free(lr->X);
    free(lr->Xv);
    free(lr->y);
    free(lr->yv);
    free(lr->e);
    free(lr->S);
    free(lr->R);
    free(lr->Sv);
    free(lr->Wc);
    free(lr);
}

/* e = exp(theta); -1 when an entry over- or underflows (or is NaN), since
 * mu = 0 or L = inf would void the certificates. */
static int exp_theta(logreg *lr, const double *theta, double *lo, double *hi)
{
    double mn = INFINITY, mx = 0;
    for (size_t j = 0; j < lr->p; j++) {
        double v = exp(theta[j]);
        if (!(v > 0 && v < INFINITY)) /* NaN theta fails here too */
            return -1;
        lr->e[j] = v;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    if (lo)
        *lo = mn;
    if (hi)
        *hi = mx;
    return 0;
}

/*
 * S = softmax(X W) row by row (n x C) with a stable log-sum-exp, and the
 * mean cross-entropy in *ce. The mean is taken as CE_0 + sum (CE_i -
 * CE_0) / n, so equal losses (W = 0: log C each) give that value exactly.
 * -1 when X W overflows.
 */
static int forward(const double *X, const int *y, size_t n, size_t d, size_t C,
                   const double *W, double *S, double *ce)
{
    otk__gemm(0, 0, n, C, d, 1.0, X, W, 0.0, S);
    double ref = 0, acc = 0;
    for (size_t i = 0; i < n; i++) {
        double *z = S + i * C;
        double m = z[0];
        for (size_t k = 1; k < C; k++)
            m = z[k] > m ? z[k] : m;
        double zy = z[y[i]];
        double s = otk__exp_shift_sum(z, m, z, C);
        /* (m - zy) first: exact log s when the label has the top score */
        double ce_i = (m - zy) + log(s);
        if (!isfinite(ce_i))
            return -1;
        for (size_t k = 0; k < C; k++)
            z[k] /= s;
        if (i == 0)
            ref = ce_i;
        else
            acc += ce_i - ref;
    }
    *ce = ref + acc / (double)n;
    return 0;
}

/* S for W, recomputed only when W differs from the cached one. */
static int train_softmax(logreg *lr, const double *W)
{
    if (lr->s_valid && memcmp(W, lr->Wc, lr->p * sizeof *W) == 0)
        return 0;
    double ce;
    lr->s_valid = 0;
    if (forward(lr->X, lr->y, lr->n, lr->d, lr->C, W, lr->S, &ce))
        return -1;
    memcpy(lr->Wc, W, lr->p * sizeof *W);
    lr->s_valid = 1;
    return 0;
}

/* grad = X^T (S - Y) / n for a softmax S (scratch R, n x C). */
static void ce_gradient(const double *X, const int *y, size_t n, size_t d,
                        size_t C, const double *S, double *R, double *grad)
{
    if (R != S)
        memcpy(R, S, n * C * sizeof *R);
    for (size_t i = 0; i < n; i++)
        R[i * C + (size_t)y[i]] -= 1.0;
    otk__gemm(1, 0, d, C, n, 1.0 / (double)n, X, R, 0.0, grad);
}

static int lr_grad(void *user, const double *theta, const double *x,
                   double *grad)
{
    logreg *lr = user;
    if (exp_theta(lr, theta, NULL, NULL) || train_softmax(lr, x))
        return -1;
    ce_gradient(lr->X, lr->y, lr->n, lr->d, lr->C, lr->S, lr->R, grad);
    for (size_t j = 0; j < lr->p; j++)
        grad[j] += lr->e[j] * x[j];
    return 0;
}

static int lr_value(void *user, const double *theta, const double *x, double *h)
{
    logreg *lr = user;
    double ce;
    if (exp_theta(lr, theta, NULL, NULL))
        return -1;
    /* forward() overwrites S, so the cache no longer matches */
    lr->s_valid = 0;
    if (forward(lr->X, lr->y, lr->n, lr->d, lr->C, x, lr->S, &ce))
        return -1;
    memcpy(lr->Wc, x, lr->p * sizeof *x);
    lr->s_valid = 1;
    double reg = 0;
    for (size_t j = 0; j < lr->p; j++)
        reg += lr->e[j] * x[j] * x[j];
    *h = ce + 0.5 * reg;
    return isfinite(*h) ? 0 : -1;
}

static int lr_hvp(void *user, const double *theta, const double *x,
                  const double *v, double *out)
{
    logreg *lr = user;
    size_t n = lr->n, C = lr->C;
    if (exp_theta(lr, theta, NULL, NULL) || train_softmax(lr, x))
        return -1;
    double *T = lr->R;
    otk__gemm(0, 0, n, C, lr->d, 1.0, lr->X, v, 0.0, T);
    for (size_t i = 0; i < n; i++) {
        const double *s = lr->S + i * C;
        double *t = T + i * C, dot = 0;
        for (size_t k = 0; k < C; k++) {
            t[k] *= s[k];
            dot += t[k];
        }
        for (size_t k = 0; k < C; k++)
            t[k] -= s[k] * dot;
    }
    otk__gemm(1, 0, lr->d, C, n, 1.0 / (double)n, lr->X, T, 0.0, out);
    for (size_t j = 0; j < lr->p; j++)
        out[j] += lr->e[j] * v[j];
    return 0;
}

static int lr_cross_t(void *user, const double *theta, const double *x,
                      const double *q, double *out)
{
    logreg *lr = user;
    if (exp_theta(lr, theta, NULL, NULL))
        return -1;
    for (size_t j = 0; j < lr->p; j++)
        out[j] = lr->e[j] * x[j] * q[j];
    return 0;
}

static int lr_cross_norm(void *user, const double *theta, const double *x,
                         double *norm)
{
    logreg *lr = user;
    if (exp_theta(lr, theta, NULL, NULL))
        return -1;
    double m = 0;
    for (size_t j = 0; j < lr->p; j++) {
        double b = fabs(lr->e[j] * x[j]);
        m = b > m ? b : m;
    }
    *norm = m;
    return isfinite(m) ? 0 : -1;
}

static int lr_upper(void *user, const double *x, double *g, double *grad)
{
    logreg *lr = user;
    if (forward(lr->Xv, lr->yv, lr->nv, lr->d, lr->C, x, lr->Sv, g))
        return -1;
    if (grad)
        ce_gradient(lr->Xv, lr->yv, lr->nv, lr->d, lr->C, lr->Sv, lr->Sv, grad);
    return 0;
}

static int lr_constants(void *user, const double *theta, double *mu, double *L)
{
    logreg *lr = user;
    double lo, hi;
    if (exp_theta(lr, theta, &lo, &hi))
        return -1;
    *mu = lo;
    *L = lr->xn2 / (2.0 * (double)lr->n) + hi;
    return isfinite(*L) ? 0 : -1;
}

static int lr_lipschitz(void *user, const double *theta, double *L_B,
                        double *L_Ainv)
{
    logreg *lr = user;
    double lo, hi;
    if (exp_theta(lr, theta, &lo, &hi))
        return -1;
    *L_B = hi;
    *L_Ainv = lr->L_A / (lo * lo);
    return isfinite(*L_Ainv) ? 0 : -1;
}

/*
 * ||X||_2^2 = largest eigenvalue of the Gram matrix of the smaller side
 * (X^T X, d x d, or X X^T, n x n), by LAPACK (otk__sym_eig_range). X is
 * scaled by its largest entry first so that the Gram matrix cannot
 * overflow; the result gets a relative margin of 1e-6 for the rounding of
 * the Gram product and of the eigensolver (both far below it). The
 * result may overflow to inf (the caller rejects that).
 */
static otk_status spectral_norm2(const double *X, size_t n, size_t d,
                                 double *out)
{
    double amax = 0;
    for (size_t i = 0; i < n * d; i++)
        amax = fabs(X[i]) > amax ? fabs(X[i]) : amax;
    if (amax == 0) {
        *out = 0;
        return OTK_CONVERGED;
    }
    size_t m = d <= n ? d : n;
    double *Xs = malloc(n * d * sizeof *Xs);
    double *G = malloc(m * m * sizeof *G);
    double lo, hi;
    int rc = -1;
    if (Xs && G) {
        for (size_t i = 0; i < n * d; i++)
            Xs[i] = X[i] / amax;
        if (d <= n)
            otk__gemm(1, 0, d, d, n, 1.0, Xs, Xs, 0.0, G);
        else
            otk__gemm(0, 1, n, n, d, 1.0, Xs, Xs, 0.0, G);
        rc = otk__sym_eig_range(m, G, &lo, &hi);
    }
    free(Xs);
    free(G);
    /* on finite symmetric input, failure is in practice an allocation */
    if (rc != 0)
        return OTK_ERR_NO_MEMORY;
    *out = fmax(hi, 0.0) * (1.0 + 1e-6) * amax * amax;
    return OTK_CONVERGED;
}

static otk_status check_labels(const int *y, size_t n, size_t classes)
{
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || (size_t)y[i] >= classes)
            return OTK_ERR_INVALID_INPUT;
    return OTK_CONVERGED;
}

otk_status otk_bilevel_logreg_create(const double *x_train, const int *y_train,
                                     size_t n_train, const double *x_val,
                                     const int *y_val, size_t n_val,
                                     size_t features, size_t classes,
                                     otk_bilevel_instance *out)
{
    if (!out)
        return OTK_ERR_INVALID_ARGUMENT;
    /* a failed create leaves an empty instance, safe to free */
    otkb_instance_clear(out);
    if (!x_train || !y_train || !x_val || !y_val || n_train == 0 ||
        n_val == 0 || features == 0 || classes < 2)
        return OTK_ERR_INVALID_ARGUMENT;
    /* BLAS takes int sizes; and no size_t product may wrap */
    const size_t imax = (size_t)INT_MAX;
    if (n_train > imax || n_val > imax || features > imax || classes > imax ||
        features > SIZE_MAX / sizeof(double) / classes ||
        n_train > SIZE_MAX / sizeof(double) / features ||
        n_val > SIZE_MAX / sizeof(double) / features ||
        n_train > SIZE_MAX / sizeof(double) / classes ||
        n_val > SIZE_MAX / sizeof(double) / classes ||
        (features <= n_train ? features : n_train) >
            SIZE_MAX / sizeof(double) / features)
        return OTK_ERR_INVALID_ARGUMENT;
    if (otk__first_nonfinite(x_train, n_train * features) != SIZE_MAX ||
        otk__first_nonfinite(x_val, n_val * features) != SIZE_MAX ||
        check_labels(y_train, n_train, classes) != OTK_CONVERGED ||
        check_labels(y_val, n_val, classes) != OTK_CONVERGED)
        return OTK_ERR_INVALID_INPUT;

    const size_t p = features * classes;
    double xn2, xvn2;
    otk_status st = spectral_norm2(x_train, n_train, features, &xn2);
    if (st == OTK_CONVERGED)
        st = spectral_norm2(x_val, n_val, features, &xvn2);
    if (st != OTK_CONVERGED)
        return st;
    double rmax = 0; /* max_i ||x_i|| over the training rows */
    for (size_t i = 0; i < n_train; i++) {
        const double *r = x_train + i * features;
        double a = 0;
        for (size_t k = 0; k < features; k++)
            a = fmax(a, fabs(r[k]));
        double s = 0;
        if (a > 0)
            for (size_t k = 0; k < features; k++)
                s += (r[k] / a) * (r[k] / a);
        rmax = fmax(rmax, a * sqrt(s));
    }
    const double mu0 = exp(-3.0);
    const double L_A = rmax * xn2 / (sqrt(2.0) * (double)n_train);
    /* features so large that the constants overflow cannot be certified */
    if (!isfinite(xn2) || !isfinite(xvn2) || !isfinite(L_A / (mu0 * mu0)))
        return OTK_ERR_INVALID_INPUT;

    st = otkb_instance_init(out, p, p);
    if (st != OTK_CONVERGED)
        return st;
    logreg *lr = calloc(1, sizeof *lr);
    if (!lr) {
        otk_bilevel_instance_free(out);
        return OTK_ERR_NO_MEMORY;
    }
    lr->owner.destroy = logreg_destroy;
    out->data = lr;
    lr->n = n_train;
    lr->nv = n_val;
    lr->d = features;
    lr->C = classes;
    lr->p = p;
    lr->xn2 = xn2;
    lr->X = malloc(n_train * features * sizeof *lr->X);
    lr->Xv = malloc(n_val * features * sizeof *lr->Xv);
    lr->y = malloc(n_train * sizeof *lr->y);
    lr->yv = malloc(n_val * sizeof *lr->yv);
    lr->e = malloc(p * sizeof *lr->e);
    lr->S = malloc(n_train * classes * sizeof *lr->S);
    lr->R = malloc(n_train * classes * sizeof *lr->R);
    lr->Sv = malloc(n_val * classes * sizeof *lr->Sv);
    lr->Wc = malloc(p * sizeof *lr->Wc);
    if (!lr->X || !lr->Xv || !lr->y || !lr->yv || !lr->e || !lr->S || !lr->R ||
        !lr->Sv || !lr->Wc) {
        otk_bilevel_instance_free(out);
        return OTK_ERR_NO_MEMORY;
    }
    memcpy(lr->X, x_train, n_train * features * sizeof *lr->X);
    memcpy(lr->Xv, x_val, n_val * features * sizeof *lr->Xv);
    memcpy(lr->y, y_train, n_train * sizeof *lr->y);
    memcpy(lr->yv, y_val, n_val * sizeof *lr->yv);

    for (size_t j = 0; j < p; j++)
        out->theta0[j] = -3.0; /* x0 stays 0 */

    otk_bilevel_problem *pb = &out->problem;
    pb->n = p;
    pb->p = p;
    pb->user = lr;
    pb->ll_grad = lr_grad;
    pb->ll_hvp = lr_hvp;
    pb->cross_t = lr_cross_t;
    pb->upper = lr_upper;
    pb->ll_constants = lr_constants;
    pb->cross_norm = lr_cross_norm;
    pb->ll_value = lr_value;
    pb->ll_solve = NULL;
    pb->lipschitz = lr_lipschitz;
    lr->L_A = L_A;
    pb->L_g = xvn2 / (2.0 * (double)n_val);
    pb->L_B = mu0;                  /* max e^theta0; see the top */
    pb->L_Ainv = L_A / (mu0 * mu0); /* min e^theta0 = mu0 as well */
    pb->g_convex = 1;
    return OTK_CONVERGED;
}
