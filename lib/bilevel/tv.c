/*
 * TV denoising problem families (otk_bilevel_tv1d_create,
 * otk_bilevel_tv2d_create). Both share one model, with N = images,
 * s = 1/N, lambda = e^theta0, nu = e^theta1:
 *
 *     h(x, theta) = s [1/2 ||x - y||^2 + w sum_e phi_nu((Dx)_e)
 *                      + 1/2 l2 ||x||^2],
 *     g(x)        = s 1/2 ||x - x_true||^2,
 *
 * where 1-D has w = lambda and l2 = e^theta2, 2-D has w = lambda / 2 and
 * l2 = 0 (no third hyperparameter). A 1-D problem is a 2-D one with
 * rows = 1: D holds the forward differences x_j - x_i along each row of
 * each image (horizontal) and, when rows >= 2, down each column
 * (vertical), never across the border of an image (no wrap-around).
 * D and D^T are never stored: every operator below is a loop over these
 * differences, O(n).
 *
 * phi_nu(t) = sqrt(t^2 + nu^2) and its bounds are in bilevel_internal.h:
 * 0 < phi'' <= 1/nu, |phi'''| <= c / nu^2 with c = 48 / (25 sqrt 5) ~
 * 0.8587, and psi = d(phi')/d theta1 = -t phi''(t) with |psi'| <= 1/nu.
 * The images, the noise and g are shared with foe.c (denoise.c).
 *
 * Derivatives, with t = Dx:
 *     grad_x h = s [(1 + l2) x - y + w D^T phi'(t)],
 *     A v      = s [(1 + l2) v + w D^T (phi''(t) .* Dv)],
 *     B        = s [w D^T phi'(t), w D^T psi(t), l2 x]  (last column 1-D
 *                only; d lambda / d theta0 = lambda, d l2 / d theta2 = l2).
 *
 * Constants (||D||^2 <= 4 for the 1-D path differences, the largest
 * Laplacian eigenvalue of a path being < 4; <= 8 for the grid, the sum
 * of the two directions; ||D||_{2->inf} <= sqrt 2 since
 * |x_j - x_i| <= sqrt(2 (x_i^2 + x_j^2))):
 *     mu  = s (1 + l2)                      (the TV Hessian is PSD),
 *     L   = s (1 + w ||D||^2 / nu + l2)     (phi'' <= 1/nu),
 *     L_g = s, g convex,
 *     L_B = s sqrt(2 (w ||D||^2 / nu)^2 + l2^2): each column of B is
 *           Lipschitz in x, the first with s w ||D||^2 sup|phi''|, the
 *           second with s w ||D||^2 sup|psi'|, the third with s l2, and
 *           ||.||_2 <= ||.||_F combines them;
 *     L_A = s w ||D||^2 (c / nu^2) sqrt 2: ||A(x) - A(x')|| <=
 *           s w ||D||^2 max_e |phi''(t_e) - phi''(t'_e)| and
 *           ||D(x - x')||_inf <= sqrt 2 ||x - x'||;
 *     L_Ainv = L_A / mu^2, from A^-1 - A'^-1 = A^-1 (A' - A) A'^-1.
 * These depend on theta (they grow like lambda / nu and lambda / nu^2):
 * the lipschitz callback gives them for the theta at hand, and the
 * problem's L_B and L_Ainv fields hold their values at theta0.
 *
 * The callbacks keep no scratch and allocate nothing, so one problem may
 * be used from several threads at once. They return -1 when theta makes
 * the model unrepresentable: non-finite theta, e^theta overflowing, or
 * nu^2 below DBL_MIN (theta1 < about -354), where phi_nu loses its
 * smoothness in double precision.
 */
#include <float.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bilevel_internal.h"

typedef struct tv_data {
    otkb_denoise im; /* first: sizes, s = im.inv_n, clean, y */
    int one_d;       /* 1-D: p = 3, w = lambda, l2 = e^theta2 */
    double dsq;      /* the bound of ||D||^2: 4 (1-D) or 8 (2-D) */
} tv_data;

/* The theta-dependent scalars of the model. */
typedef struct tv_par {
    double lambda, nu, nu2, w, l2;
} tv_par;

static int tv_params(const tv_data *d, const double *theta, tv_par *par)
{
    par->lambda = exp(theta[0]);
    par->nu = exp(theta[1]);
    par->nu2 = par->nu * par->nu;
    par->l2 = d->one_d ? exp(theta[2]) : 0.0;
    par->w = d->one_d ? par->lambda : 0.5 * par->lambda;
    /* !(a <= b) is also true for NaN */
    if (!(par->lambda <= DBL_MAX) || !(par->nu2 >= DBL_MIN) ||
        !(par->nu2 <= DBL_MAX) || !(par->l2 <= DBL_MAX))
        return -1;
    return 0;
}

/*
 * Runs the statement list (...) once for every forward difference
 * x[J] - x[I]: first the vertical ones of each image (none when
 * rows = 1), then the horizontal ones of every row (rows of all images
 * are stacked contiguously). A macro so that each operator is one fused,
 * allocation-free loop.
 */
#define TV_FOR_EACH_DIFF(d, I, J, ...)                                         \
    do {                                                                       \
        const size_t tv_area_ = (d)->im.rows * (d)->im.cols;                   \
        for (size_t tv_b_ = 0; tv_b_ < (d)->im.n; tv_b_ += tv_area_)           \
            for (size_t I = tv_b_, J = tv_b_ + (d)->im.cols;                   \
                 J < tv_b_ + tv_area_; I++, J++) {                             \
                __VA_ARGS__                                                    \
            }                                                                  \
        for (size_t tv_r_ = 0; tv_r_ < (d)->im.n; tv_r_ += (d)->im.cols)       \
            for (size_t I = tv_r_, J = tv_r_ + 1; J < tv_r_ + (d)->im.cols;    \
                 I++, J++) {                                                   \
                __VA_ARGS__                                                    \
            }                                                                  \
    } while (0)

static int tv_ll_value(void *user, const double *theta, const double *x,
                       double *h)
{
    const tv_data *d = user;
    tv_par par;
    if (tv_params(d, theta, &par))
        return -1;
    double fit = 0, ridge = 0, tv = 0;
    for (size_t i = 0; i < d->im.n; i++) {
        double e = x[i] - d->im.y[i];
        fit += e * e;
        ridge += x[i] * x[i];
    }
    TV_FOR_EACH_DIFF(d, i, j, { tv += otkb_phi(x[j] - x[i], par.nu2); });
    *h = d->im.inv_n * (0.5 * fit + par.w * tv + 0.5 * par.l2 * ridge);
    return 0;
}

static int tv_ll_grad(void *user, const double *theta, const double *x,
                      double *grad)
{
    const tv_data *d = user;
    tv_par par;
    if (tv_params(d, theta, &par))
        return -1;
    const double s = d->im.inv_n, sw = s * par.w, diag = 1.0 + par.l2;
    for (size_t i = 0; i < d->im.n; i++)
        grad[i] = s * (diag * x[i] - d->im.y[i]);
    /* D^T u: difference e = x_j - x_i adds u_e to entry j, -u_e to i */
    TV_FOR_EACH_DIFF(d, i, j, {
        double u = sw * otkb_dphi(x[j] - x[i], par.nu2);
        grad[j] += u;
        grad[i] -= u;
    });
    return 0;
}

static int tv_ll_hvp(void *user, const double *theta, const double *x,
                     const double *v, double *out)
{
    const tv_data *d = user;
    tv_par par;
    if (tv_params(d, theta, &par))
        return -1;
    const double s = d->im.inv_n, sw = s * par.w, diag = s * (1.0 + par.l2);
    for (size_t i = 0; i < d->im.n; i++)
        out[i] = diag * v[i];
    TV_FOR_EACH_DIFF(d, i, j, {
        double u = sw * otkb_d2phi(x[j] - x[i], par.nu2) * (v[j] - v[i]);
        out[j] += u;
        out[i] -= u;
    });
    return 0;
}

static int tv_cross_t(void *user, const double *theta, const double *x,
                      const double *q, double *out)
{
    const tv_data *d = user;
    tv_par par;
    if (tv_params(d, theta, &par))
        return -1;
    /* <D^T u, q> = <u, Dq>: no adjoint needed */
    double a0 = 0, a1 = 0;
    TV_FOR_EACH_DIFF(d, i, j, {
        double t = x[j] - x[i], dq = q[j] - q[i];
        a0 += otkb_dphi(t, par.nu2) * dq;
        a1 -= t * otkb_d2phi(t, par.nu2) * dq;
    });
    const double sw = d->im.inv_n * par.w;
    out[0] = sw * a0;
    out[1] = sw * a1;
    if (d->one_d) {
        double xq = 0;
        for (size_t i = 0; i < d->im.n; i++)
            xq += x[i] * q[i];
        out[2] = d->im.inv_n * par.l2 * xq;
    }
    return 0;
}

static int tv_ll_constants(void *user, const double *theta, double *mu,
                           double *L)
{
    const tv_data *d = user;
    tv_par par;
    if (tv_params(d, theta, &par))
        return -1;
    *mu = d->im.inv_n * (1.0 + par.l2);
    *L = d->im.inv_n * (1.0 + par.w * d->dsq / par.nu + par.l2);
    return isfinite(*L) ? 0 : -1;
}

/* Adds the difference t, signed +1 when it ends at the pixel (x_k minus
 * a neighbour) and -1 when it starts there, to the pixel's entries of
 * D^T phi'(t) and D^T psi(t). */
static inline void tv_adjoint_add(double t, double sign, double nu2, double *a0,
                                  double *a1)
{
    double q = t * t + nu2, r = sqrt(q);
    *a0 += sign * t / r;
    *a1 -= sign * t * nu2 / (q * r);
}

/*
 * An upper bound of ||B||_2: B^T B is the p x p Gram matrix G of B's
 * columns, and ||B||_2^2 = lambda_max(G) <= min(trace G, max row sum of
 * |G|) (G is PSD; the spectral radius is below every induced norm). The
 * columns' entries are formed pixel by pixel from the (up to four)
 * differences touching the pixel, which evaluates each difference twice
 * but needs no scratch vector.
 */
static int tv_cross_norm(void *user, const double *theta, const double *x,
                         double *norm)
{
    const tv_data *d = user;
    tv_par par;
    if (tv_params(d, theta, &par))
        return -1;
    const size_t rows = d->im.rows, cols = d->im.cols;
    double g00 = 0, g01 = 0, g11 = 0, g02 = 0, g12 = 0, g22 = 0;
    size_t k = 0;
    for (size_t img = 0; img < d->im.images; img++)
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++, k++) {
                double a0 = 0, a1 = 0;
                if (c > 0)
                    tv_adjoint_add(x[k] - x[k - 1], 1.0, par.nu2, &a0, &a1);
                if (c + 1 < cols)
                    tv_adjoint_add(x[k + 1] - x[k], -1.0, par.nu2, &a0, &a1);
                if (r > 0)
                    tv_adjoint_add(x[k] - x[k - cols], 1.0, par.nu2, &a0, &a1);
                if (r + 1 < rows)
                    tv_adjoint_add(x[k + cols] - x[k], -1.0, par.nu2, &a0, &a1);
                g00 += a0 * a0;
                g01 += a0 * a1;
                g11 += a1 * a1;
                g02 += a0 * x[k];
                g12 += a1 * x[k];
                g22 += x[k] * x[k];
            }
    const double sw = d->im.inv_n * par.w, sl = d->im.inv_n * par.l2;
    g00 *= sw * sw;
    g01 *= sw * sw;
    g11 *= sw * sw;
    double bound;
    if (d->one_d) {
        g02 *= sw * sl;
        g12 *= sw * sl;
        g22 *= sl * sl;
        double r0 = g00 + fabs(g01) + fabs(g02);
        double r1 = fabs(g01) + g11 + fabs(g12);
        double r2 = fabs(g02) + fabs(g12) + g22;
        bound = fmin(g00 + g11 + g22, fmax(r0, fmax(r1, r2)));
    } else {
        bound = fmin(g00 + g11, fabs(g01) + fmax(g00, g11));
    }
    *norm = sqrt(bound);
    return isfinite(*norm) ? 0 : -1;
}

/* The certified Lipschitz constants of B and A^-1 in x at theta (see
 * the derivation at the top). */
static void tv_lipschitz(const tv_data *d, const tv_par *par, double *L_B,
                         double *L_Ainv)
{
    const double s = d->im.inv_n, col = par->w * d->dsq / par->nu;
    *L_B = s * sqrt(2.0 * col * col + par->l2 * par->l2);
    double mu = s * (1.0 + par->l2);
    double L_A = s * par->w * d->dsq * OTKB_PHI3 * sqrt(2.0) / par->nu2;
    *L_Ainv = L_A / (mu * mu);
}

static int tv_lipschitz_at(void *user, const double *theta, double *L_B,
                           double *L_Ainv)
{
    const tv_data *d = user;
    tv_par par;
    if (tv_params(d, theta, &par) != 0)
        return -1;
    tv_lipschitz(d, &par, L_B, L_Ainv);
    return 0;
}

static const otk_bilevel_problem tv_ops = {
    .ll_grad = tv_ll_grad,
    .ll_hvp = tv_ll_hvp,
    .cross_t = tv_cross_t,
    .ll_constants = tv_ll_constants,
    .cross_norm = tv_cross_norm,
    .ll_value = tv_ll_value,
    .lipschitz = tv_lipschitz_at,
};

/*
 * Builds the instance for images x rows x cols (n = the product, already
 * checked against overflow): the clean data are a copy of `images_in`
 * (2-D) or random boxes (1-D, images_in NULL), then the noise. One
 * generator serves both, boxes first.
 */
static otk_status tv_build(const double *images_in, size_t images, size_t rows,
                           size_t cols, int one_d, double noise,
                           unsigned long seed, otk_bilevel_instance *out)
{
    const size_t p = one_d ? 3 : 2;
    gsl_rng *rng;
    tv_data *d = otkb_denoise_new(out, sizeof *d, &tv_ops, images, rows, cols,
                                  p, 0, images_in, seed, &rng);
    if (!d)
        return OTK_ERR_NO_MEMORY;
    d->one_d = one_d;
    d->dsq = one_d ? 4.0 : 8.0;

    if (!images_in) {
        /* centre U[len/4, len], half-width U[len/8, 3 len/8]; the box is
         * the samples within the half-width of the centre, clipped (never
         * empty for len >= 8; a very short signal may stay all zero) */
        const double len = (double)cols;
        memset(d->im.clean, 0, d->im.n * sizeof *d->im.clean);
        for (size_t k = 0; k < images; k++) {
            double centre = 0.25 * len + 0.75 * len * gsl_rng_uniform(rng);
            double half = 0.125 * len + 0.25 * len * gsl_rng_uniform(rng);
            double lo = fmax(ceil(centre - half), 0.0);
            double hi = fmin(floor(centre + half), len - 1.0);
            for (size_t i = (size_t)lo; hi >= lo && i <= (size_t)hi; i++)
                d->im.clean[k * cols + i] = 1.0;
        }
    }
    otkb_denoise_noise(&d->im, rng, noise);
    gsl_rng_free(rng);

    for (size_t j = 0; j < p; j++)
        out->theta0[j] = -5.0;
    tv_par par;
    tv_params(d, out->theta0, &par); /* finite at theta0 = -5 */

    tv_lipschitz(d, &par, &out->problem.L_B, &out->problem.L_Ainv);
    return OTK_CONVERGED;
}

otk_status otk_bilevel_tv1d_create(size_t signals, size_t length, double noise,
                                   unsigned long seed,
                                   otk_bilevel_instance *out)
{
    if (!out)
        return OTK_ERR_INVALID_ARGUMENT;
    otkb_instance_clear(out);
    /* 2n doubles must be addressable */
    if (signals < 1 || length < 2 ||
        signals > SIZE_MAX / (2 * sizeof(double)) / length)
        return OTK_ERR_INVALID_ARGUMENT;
    otk_status st = otkb_denoise_check(NULL, 0, noise);
    if (st != OTK_CONVERGED)
        return st;
    return tv_build(NULL, signals, 1, length, 1, noise, seed, out);
}

otk_status otk_bilevel_tv2d_create(const double *images, size_t count,
                                   size_t rows, size_t cols, double noise,
                                   unsigned long seed,
                                   otk_bilevel_instance *out)
{
    if (!out)
        return OTK_ERR_INVALID_ARGUMENT;
    otkb_instance_clear(out);
    if (!images || count < 1 || rows < 2 || cols < 2 ||
        rows > SIZE_MAX / (2 * sizeof(double)) / cols ||
        count > SIZE_MAX / (2 * sizeof(double)) / (rows * cols))
        return OTK_ERR_INVALID_ARGUMENT;
    otk_status st = otkb_denoise_check(images, count * rows * cols, noise);
    if (st != OTK_CONVERGED)
        return st;
    return tv_build(images, count, rows, cols, 0, noise, seed, out);
}
