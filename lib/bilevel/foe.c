/*
 * Field-of-Experts denoising (otk_bilevel_foe_create; notes E3, scaled
 * down). Images, noise and g as in tv.c (denoise.c): N = images, y =
 * clean + noise.
 *
 * Filters. Filter k has s x s taps c_k[a][b] (theta, row by row). Its
 * operator C_k is the 'valid' filter of the CNN convention (PyTorch's
 * Conv2d, a cross-correlation), applied to every image separately:
 *     (C_k x)(i, j) = sum_{a,b < s} c_k[a][b] x(i + a, j + b),
 * 0 <= i <= rows - s, 0 <= j <= cols - s: no padding, M = N (rows - s +
 * 1) (cols - s + 1) outputs in all. (A convolution in the strict sense
 * flips the taps; that only renames them.) With S_ab the restriction
 * (S_ab x)(i, j) = x(i + a, j + b), C_k = sum_ab c_k[a][b] S_ab, and
 * S_ab^T puts an output-sized array back at offset (a, b).
 *
 * Model, with a_k = 1/2 e^theta_0 e^theta_k / N (the 1/N included),
 * nu_k = e^theta_{K+k}, u_k = C_k x and phi, phi', phi'', psi = -t phi''
 * = d phi' / d log nu as in bilevel_internal.h (|phi'| < 1, 0 < phi'' <=
 * 1/nu, |phi'''| <= c3 / nu^2 with c3 = 48 / (25 sqrt 5), |psi'| <= 1/nu):
 *     h        = (1/N) 1/2 ||x - y||^2 + sum_k a_k sum phi_nu_k(u_k),
 *     grad_x h = (x - y) / N + sum_k a_k C_k^T phi'(u_k),
 *     A v      = v / N + sum_k a_k C_k^T (phi''(u_k) .* C_k v),
 *     g        = (1/N) 1/2 ||x - x_true||^2,  grad g = (x - x_true) / N.
 * B^T q = d/dtheta <grad_x h, q>, with <grad_x h, q> = <x - y, q> / N +
 * sum_k a_k <phi'(C_k x), C_k q> and d a_k / d theta_0 = d a_k /
 * d theta_k = a_k, d nu_k / d theta_{K+k} = nu_k, and d(C_k z) /
 * d c_k[a][b] = S_ab z:
 *     theta_0:          sum_k a_k <phi'(u_k), C_k q>,
 *     theta_k:          a_k <phi'(u_k), C_k q>,
 *     theta_{K+k}:      a_k <psi(u_k), C_k q>,
 *     tap c_k[a][b]:    a_k [<phi''(u_k) .* C_k q, S_ab x>
 *                            + <phi'(u_k), S_ab q>],
 * so B's columns are b_k = a_k C_k^T phi'(u_k) (theta_k), sum_k b_k
 * (theta_0), d_k = a_k C_k^T psi(u_k) (theta_{K+k}) and
 *     t_kab = a_k [C_k^T (phi''(u_k) .* S_ab x) + S_ab^T phi'(u_k)].
 *
 * Norms of the filters. ||C_k z||_2 <= sum_ab |c_ab| ||S_ab z||_2 <=
 * ||c_k||_1 ||z||_2 (triangle inequality, ||S_ab|| <= 1: Young's bound),
 * so ||C_k||_2 = ||C_k^T||_2 <= ||c_k||_1. Entrywise, |(C_k z)(i, j)| <=
 * ||c_k||_2 ||z||_2 (Cauchy-Schwarz on one window) and ||C_k^T w||_inf <=
 * ||c_k||_1 ||w||_inf (a pixel receives each tap at most once).
 *
 * Constants:
 *  - mu = 1/N: the FoE term is convex (phi convex, C_k x linear). It is
 *    attained when some v has C_k v = 0 for all k, e.g. a constant v and
 *    zero-mean taps (as at the start).
 *  - L = 1/N + sum_k a_k ||c_k||_1^2 / nu_k (phi'' <= 1/nu).
 *  - L_g = 1/N, g convex.
 *  - L_A = sum_k a_k ||c_k||_1^2 ||c_k||_2 c3 / nu_k^2: ||A(x) - A(x')||
 *    <= sum_k a_k ||C_k||^2 max |phi''(u_k) - phi''(u'_k)| and
 *    ||C_k (x - x')||_inf <= ||c_k||_2 ||x - x'||. L_Ainv = L_A / mu^2
 *    (A^-1 - A'^-1 = A^-1 (A' - A) A'^-1). Global in x.
 *  - L_B, combining the columns' Lipschitz constants by ||.||_2 <=
 *    ||.||_F. With l_k = a_k ||c_k||_1^2 / nu_k: b_k and d_k are
 *    Lipschitz with l_k (sup phi'', sup |psi'| <= 1/nu), sum_k b_k with
 *    sum_k l_k. A tap column is not globally Lipschitz: it holds
 *    phi''(u_k) .* S_ab x, and phi''(u_k) can stay 1/nu while x grows
 *    (u_k = 0 for a constant image and zero-mean taps). With d = x - x',
 *        t_kab(x) - t_kab(x') = a_k [S_ab^T (phi'(u) - phi'(u'))
 *            + C_k^T (phi''(u) .* S_ab d)
 *            + C_k^T ((phi''(u) - phi''(u')) .* S_ab x')],
 *    norms <= a_k ||c_k||_1 ||d|| / nu_k, the same, and a_k ||c_k||_1
 *    (c3 / nu_k^2) ||C_k d||_2 ||x'||_inf <= a_k ||c_k||_1^2 c3 R ||d|| /
 *    nu_k^2 when ||x'||_inf <= R. So
 *        L_B^2 = (sum_k l_k)^2 + 2 sum_k l_k^2
 *                + s^2 sum_k (a_k ||c_k||_1 / nu_k)^2
 *                        (2 + c3 ||c_k||_1 R / nu_k)^2
 *    bounds ||B(x) - B(x')|| / ||x - x'|| whenever ||x'||_inf <= R. We
 *    take R = ||y||_inf + sum_k N a_k ||c_k||_1, which bounds the lower
 *    solution: grad_x h = 0 gives xhat = y - N sum_k a_k C_k^T phi'(u_k),
 *    and |phi'| < 1. The omega bound (Theorem 2.1) needs B's Lipschitz
 *    property only between the iterate x and xhat, so L_B is certified
 *    there for any eps; it is not a global constant.
 *  - cross_norm: ||B||_2 <= ||B||_F = sqrt(sum of squared column
 *    norms). The 2K + 1 columns b_k, d_k, sum b_k are formed exactly
 *    (2K products with C_k^T). For the K s^2 tap columns, forming each
 *    exactly would cost s^2 / 2 gradients; instead
 *        ||t_kab|| <= a_k (||c_k||_1 ||phi''(u_k) .* S_ab x|| + ||phi'(u_k)||)
 *    (||S_ab^T w|| = ||w||), whose s^2 inner norms are one O(M s^2) pass.
 *    On the tests' noisy data this is about 2.5 ||B||_F (and ||B||_F
 *    about 1.2 ||B||_2); it is exact up to rounding where phi'' ~ 0. In
 *    omega the L_B term dominates the looseness, not this one.
 *
 * Cost: ll_value 1, ll_grad 2, ll_hvp 3, cross_t and cross_norm 4
 * passes of K s^2 M multiply-adds (direct loops, no FFT: s is small);
 * ll_constants and lipschitz O(K s^2). One ll_grad on 4 images of
 * 64 x 64 with K = 8, s = 5 takes about 2.5 ms on one core.
 *
 * The callbacks allocate nothing: u_k, C_k v, two image-sized vectors
 * (for cross_norm) and a row of partial sums live in the instance, along with
 * the per-filter scalars of the current theta. So one instance must not be used
 * from two threads at once. They return -1 when theta makes the model
 * unrepresentable: a non-finite entry, e^theta overflowing, or nu_k^2
 * below DBL_MIN.
 */
#include <float.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bilevel_internal.h"

typedef struct foe_data {
    otkb_denoise im;     /* first: sizes, inv_n = 1/N, clean, y */
    size_t K, s, s2;     /* filters, filter size, s^2 */
    size_t orows, ocols; /* output size per image */
    size_t area, oarea;  /* rows cols, orows ocols */
    size_t m;            /* outputs in all: images oarea */
    double y_inf;        /* ||y||_inf, for the box of L_B */
    /* in the block after clean and y; scratch, overwritten by every
     * callback (not thread-safe) */
    double *u, *w;                  /* m each */
    double *col, *acc;              /* n each (cross_norm) */
    double *a, *nu, *nu2, *l1, *l2; /* K each: a_k, nu_k, nu_k^2, norms */
    double *taps;                   /* s^2: per-filter tap sums */
    double *row;                    /* ocols: foe_tap_add's lanes */
} foe_data;

/* Fills the per-filter scalars of theta; -1 when not representable. */
static int foe_params(foe_data *d, const double *theta)
{
    const size_t K = d->K, s2 = d->s2;
    const double scale = exp(theta[0]);
    if (!(scale <= DBL_MAX))
        return -1;
    for (size_t k = 0; k < K; k++) {
        double wk = exp(theta[1 + k]), nu = exp(theta[1 + K + k]);
        double a = 0.5 * d->im.inv_n * scale * wk;
        if (!(wk <= DBL_MAX) || !(a <= DBL_MAX) || !(nu * nu >= DBL_MIN) ||
            !(nu * nu <= DBL_MAX))
            return -1;
        const double *c = theta + 1 + 2 * K + k * s2;
        double n1 = 0, n2 = 0;
        for (size_t j = 0; j < s2; j++) {
            n1 += fabs(c[j]);
            n2 += c[j] * c[j];
        }
        if (!(n2 <= DBL_MAX)) /* also NaN taps */
            return -1;
        d->a[k] = a;
        d->nu[k] = nu;
        d->nu2[k] = nu * nu;
        d->l1[k] = n1;
        d->l2[k] = sqrt(n2);
    }
    return 0;
}

/* u = C x for the taps c (s x s), every image. */
static void foe_corr(const foe_data *d, const double *c,
                     const double *restrict x, double *restrict u)
{
    const size_t s = d->s, cols = d->im.cols, oc = d->ocols;
    for (size_t img = 0; img < d->im.images; img++) {
        const double *xi = x + img * d->area;
        double *ui = u + img * d->oarea;
        for (size_t i = 0; i < d->orows; i++) {
            double *restrict ur = ui + i * oc;
            memset(ur, 0, oc * sizeof *ur);
            for (size_t a = 0; a < s; a++) {
                const double *xr = xi + (i + a) * cols;
                for (size_t b = 0; b < s; b++) {
                    const double cab = c[a * s + b];
                    const double *restrict xb = xr + b;
                    for (size_t j = 0; j < oc; j++)
                        ur[j] += cab * xb[j];
                }
            }
        }
    }
}

/* out += C^T w for the taps c, every image. */
static void foe_corr_adj_add(const foe_data *d, const double *c,
                             const double *restrict w, double *restrict out)
{
    const size_t s = d->s, cols = d->im.cols, oc = d->ocols;
    for (size_t img = 0; img < d->im.images; img++) {
        const double *wi = w + img * d->oarea;
        double *oi = out + img * d->area;
        for (size_t i = 0; i < d->orows; i++) {
            const double *restrict wr = wi + i * oc;
            for (size_t a = 0; a < s; a++) {
                double *orow = oi + (i + a) * cols;
                for (size_t b = 0; b < s; b++) {
                    const double cab = c[a * s + b];
                    double *restrict ob = orow + b;
                    for (size_t j = 0; j < oc; j++)
                        ob[j] += cab * wr[j];
                }
            }
        }
    }
}

/* taps[a s + b] += <w, S_ab z> for all s^2 offsets (w output-sized).
 * Per offset, the products are summed down the columns into d->row
 * (ocols lanes, so the inner loop vectorizes without reassociation)
 * and the lanes added at the end. */
static void foe_tap_add(const foe_data *d, const double *restrict w,
                        const double *restrict z, double *restrict taps)
{
    const size_t s = d->s, cols = d->im.cols, oc = d->ocols;
    double *restrict acc = d->row;
    for (size_t img = 0; img < d->im.images; img++) {
        const double *wi = w + img * d->oarea;
        const double *zi = z + img * d->area;
        for (size_t a = 0; a < s; a++)
            for (size_t b = 0; b < s; b++) {
                memset(acc, 0, oc * sizeof *acc);
                for (size_t i = 0; i < d->orows; i++) {
                    const double *restrict wr = wi + i * oc;
                    const double *restrict zr = zi + (i + a) * cols + b;
                    for (size_t j = 0; j < oc; j++)
                        acc[j] += wr[j] * zr[j];
                }
                double sum = 0;
                for (size_t j = 0; j < oc; j++)
                    sum += acc[j];
                taps[a * s + b] += sum;
            }
    }
}

static const double *foe_filter(const foe_data *d, const double *theta,
                                size_t k)
{
    return theta + 1 + 2 * d->K + k * d->s2;
}

static int foe_ll_value(void *user, const double *theta, const double *x,
                        double *h)
{
    foe_data *d = user;
    if (foe_params(d, theta))
        return -1;
    double fit = 0;
    for (size_t i = 0; i < d->im.n; i++) {
        double e = x[i] - d->im.y[i];
        fit += e * e;
    }
    double sum = 0;
    for (size_t k = 0; k < d->K; k++) {
        foe_corr(d, foe_filter(d, theta, k), x, d->u);
        const double nu2 = d->nu2[k];
        double f = 0;
        for (size_t i = 0; i < d->m; i++)
            f += otkb_phi(d->u[i], nu2);
        sum += d->a[k] * f;
    }
    *h = 0.5 * d->im.inv_n * fit + sum;
    return isfinite(*h) ? 0 : -1;
}

static int foe_ll_grad(void *user, const double *theta, const double *x,
                       double *grad)
{
    foe_data *d = user;
    if (foe_params(d, theta))
        return -1;
    for (size_t i = 0; i < d->im.n; i++)
        grad[i] = d->im.inv_n * (x[i] - d->im.y[i]);
    for (size_t k = 0; k < d->K; k++) {
        const double *c = foe_filter(d, theta, k);
        const double a = d->a[k], nu2 = d->nu2[k];
        foe_corr(d, c, x, d->u);
        for (size_t i = 0; i < d->m; i++)
            d->u[i] = a * otkb_dphi(d->u[i], nu2);
        foe_corr_adj_add(d, c, d->u, grad);
    }
    return 0;
}

static int foe_ll_hvp(void *user, const double *theta, const double *x,
                      const double *v, double *out)
{
    foe_data *d = user;
    if (foe_params(d, theta))
        return -1;
    for (size_t i = 0; i < d->im.n; i++)
        out[i] = d->im.inv_n * v[i];
    for (size_t k = 0; k < d->K; k++) {
        const double *c = foe_filter(d, theta, k);
        const double a = d->a[k], nu2 = d->nu2[k];
        foe_corr(d, c, x, d->u);
        foe_corr(d, c, v, d->w);
        for (size_t i = 0; i < d->m; i++)
            d->w[i] *= a * otkb_d2phi(d->u[i], nu2);
        foe_corr_adj_add(d, c, d->w, out);
    }
    return 0;
}

static int foe_cross_t(void *user, const double *theta, const double *x,
                       const double *q, double *out)
{
    foe_data *d = user;
    if (foe_params(d, theta))
        return -1;
    const size_t K = d->K, s2 = d->s2;
    double total = 0;
    for (size_t k = 0; k < K; k++) {
        const double *c = foe_filter(d, theta, k);
        const double a = d->a[k], nu2 = d->nu2[k];
        foe_corr(d, c, x, d->u);
        foe_corr(d, c, q, d->w);
        /* <phi'(u), Cq> and <psi(u), Cq>; then u <- phi'(u) and
         * w <- phi''(u) .* Cq for the taps */
        double s1 = 0, s2sum = 0;
        for (size_t i = 0; i < d->m; i++) {
            double t = d->u[i], r2 = t * t + nu2, r = sqrt(r2);
            double p1 = t / r, p2 = nu2 / (r2 * r);
            s1 += p1 * d->w[i];
            s2sum -= t * p2 * d->w[i];
            d->u[i] = p1;
            d->w[i] *= p2;
        }
        out[1 + k] = a * s1;
        out[1 + K + k] = a * s2sum;
        total += a * s1;
        memset(d->taps, 0, s2 * sizeof *d->taps);
        foe_tap_add(d, d->w, x, d->taps);
        foe_tap_add(d, d->u, q, d->taps);
        double *ot = out + 1 + 2 * K + k * s2;
        for (size_t j = 0; j < s2; j++)
            ot[j] = a * d->taps[j];
    }
    out[0] = total;
    return 0;
}

static int foe_ll_constants(void *user, const double *theta, double *mu,
                            double *L)
{
    foe_data *d = user;
    if (foe_params(d, theta))
        return -1;
    double sum = 0;
    for (size_t k = 0; k < d->K; k++)
        sum += d->a[k] * d->l1[k] * d->l1[k] / d->nu[k];
    *mu = d->im.inv_n;
    *L = d->im.inv_n + sum;
    return isfinite(*L) ? 0 : -1;
}

/* ||B||_F bound of the top comment: exact columns b_k, d_k, sum_k b_k
 * (in acc), the tap columns bounded. */
static int foe_cross_norm(void *user, const double *theta, const double *x,
                          double *norm)
{
    foe_data *d = user;
    if (foe_params(d, theta))
        return -1;
    const size_t n = d->im.n, m = d->m, s2 = d->s2;
    double fro = 0;
    memset(d->acc, 0, n * sizeof *d->acc);
    for (size_t k = 0; k < d->K; k++) {
        const double *c = foe_filter(d, theta, k);
        const double a = d->a[k], nu2 = d->nu2[k];
        foe_corr(d, c, x, d->u);
        /* b_k: w = a phi'(u) */
        double dp2 = 0;
        for (size_t i = 0; i < m; i++) {
            double p1 = otkb_dphi(d->u[i], nu2);
            dp2 += p1 * p1;
            d->w[i] = a * p1;
        }
        memset(d->col, 0, n * sizeof *d->col);
        foe_corr_adj_add(d, c, d->w, d->col);
        for (size_t i = 0; i < n; i++) {
            fro += d->col[i] * d->col[i];
            d->acc[i] += d->col[i];
        }
        /* d_k: w = a psi(u) */
        for (size_t i = 0; i < m; i++)
            d->w[i] = -a * d->u[i] * otkb_d2phi(d->u[i], nu2);
        memset(d->col, 0, n * sizeof *d->col);
        foe_corr_adj_add(d, c, d->w, d->col);
        for (size_t i = 0; i < n; i++)
            fro += d->col[i] * d->col[i];
        /* taps: ||phi''(u) .* S_ab x||^2 = <phi''(u)^2, S_ab (x .* x)> */
        for (size_t i = 0; i < m; i++) {
            double p2 = otkb_d2phi(d->u[i], nu2);
            d->w[i] = p2 * p2;
        }
        for (size_t i = 0; i < n; i++)
            d->col[i] = x[i] * x[i];
        memset(d->taps, 0, s2 * sizeof *d->taps);
        foe_tap_add(d, d->w, d->col, d->taps);
        const double dpn = sqrt(dp2);
        for (size_t j = 0; j < s2; j++) {
            double t = a * (d->l1[k] * sqrt(d->taps[j]) + dpn);
            fro += t * t;
        }
    }
    for (size_t i = 0; i < n; i++)
        fro += d->acc[i] * d->acc[i];
    *norm = sqrt(fro);
    return isfinite(*norm) ? 0 : -1;
}

/* L_B and L_Ainv of the top comment from the scalars of foe_params. */
static void foe_lipschitz(const foe_data *d, double *L_B, double *L_Ainv)
{
    const size_t K = d->K;
    double R = d->y_inf;
    for (size_t k = 0; k < K; k++)
        R += d->a[k] / d->im.inv_n * d->l1[k];
    double sum_l = 0, sq = 0, L_A = 0;
    for (size_t k = 0; k < K; k++) {
        const double a = d->a[k], l1 = d->l1[k], nu = d->nu[k];
        double lk = a * l1 * l1 / nu;
        double tap = a * l1 / nu * (2.0 + OTKB_PHI3 * l1 * R / nu);
        sum_l += lk;
        sq += 2.0 * lk * lk + (double)d->s2 * tap * tap;
        L_A += a * l1 * l1 * d->l2[k] * OTKB_PHI3 / d->nu2[k];
    }
    *L_B = sqrt(sum_l * sum_l + sq);
    *L_Ainv = L_A / (d->im.inv_n * d->im.inv_n);
}

static int foe_lipschitz_at(void *user, const double *theta, double *L_B,
                            double *L_Ainv)
{
    foe_data *d = user;
    if (foe_params(d, theta))
        return -1;
    foe_lipschitz(d, L_B, L_Ainv);
    return isfinite(*L_B) && isfinite(*L_Ainv) ? 0 : -1;
}

static const otk_bilevel_problem foe_ops = {
    .ll_grad = foe_ll_grad,
    .ll_hvp = foe_ll_hvp,
    .cross_t = foe_cross_t,
    .ll_constants = foe_ll_constants,
    .cross_norm = foe_cross_norm,
    .ll_value = foe_ll_value,
    .lipschitz = foe_lipschitz_at,
};

/* a * b <= limit without overflow (b > 0). */
static int fits(size_t a, size_t b, size_t limit) { return a <= limit / b; }

otk_status otk_bilevel_foe_create(const double *images, size_t count,
                                  size_t rows, size_t cols, double noise,
                                  size_t filters, size_t filter_size,
                                  unsigned long seed, otk_bilevel_instance *out)
{
    if (!out)
        return OTK_ERR_INVALID_ARGUMENT;
    otkb_instance_clear(out);
    const size_t K = filters, s = filter_size;
    /* the block holds 4n + 2m + 5K + s^2 + ocols <= 8n + lim doubles
     * (m, s^2, ocols <= n; K (s^2 + 2) <= lim), theta0 p <= lim + 1 */
    const size_t lim = SIZE_MAX / sizeof(double) / 16;
    if (!images || count < 1 || filters < 1 || s < 2 || rows < s || cols < s ||
        !fits(rows, cols, lim) || !fits(count, rows * cols, lim) ||
        !fits(K, s * s + 2, lim))
        return OTK_ERR_INVALID_ARGUMENT;
    const size_t area = rows * cols, n = count * area, s2 = s * s;
    const size_t p = 1 + 2 * K + K * s2;
    otk_status st = otkb_denoise_check(images, n, noise);
    if (st != OTK_CONVERGED)
        return st;

    const size_t orows = rows - s + 1, ocols = cols - s + 1;
    const size_t m = count * orows * ocols;
    gsl_rng *rng;
    foe_data *d = otkb_denoise_new(out, sizeof *d, &foe_ops, count, rows, cols,
                                   p, 2 * n + 2 * m + 5 * K + s2 + ocols,
                                   images, seed, &rng);
    if (!d)
        return OTK_ERR_NO_MEMORY;
    d->K = K;
    d->s = s;
    d->s2 = s2;
    d->orows = orows;
    d->ocols = ocols;
    d->area = area;
    d->oarea = orows * ocols;
    d->m = m;
    d->col = d->im.y + n;
    d->acc = d->col + n;
    d->u = d->acc + n;
    d->w = d->u + m;
    d->a = d->w + m;
    d->nu = d->a + K;
    d->nu2 = d->nu + K;
    d->l1 = d->nu2 + K;
    d->l2 = d->l1 + K;
    d->taps = d->l2 + K;
    d->row = d->taps + s2;

    /* the noise exactly as tv2d draws it, then the taps */
    otkb_denoise_noise(&d->im, rng, noise);
    double y_inf = 0;
    for (size_t i = 0; i < n; i++)
        y_inf = fmax(y_inf, fabs(d->im.y[i]));
    d->y_inf = y_inf;
    double *theta = out->theta0;
    for (size_t j = 0; j < 1 + 2 * K; j++)
        theta[j] = -3.0;
    /* Xavier-normal for one filter as a 1-in, 1-out s x s layer: fan_in =
     * fan_out = s^2, std = sqrt(2 / (s^2 + s^2)) = 1/s */
    const double std = 1.0 / (double)s;
    for (size_t k = 0; k < K; k++) {
        double *c = theta + 1 + 2 * K + k * s2, mean = 0;
        for (size_t j = 0; j < s2; j++) {
            c[j] = gsl_ran_gaussian(rng, std);
            mean += c[j];
        }
        mean /= (double)s2;
        for (size_t j = 0; j < s2; j++)
            c[j] -= mean;
    }
    gsl_rng_free(rng);

    foe_params(d, theta); /* finite at theta0 */
    foe_lipschitz(d, &out->problem.L_B, &out->problem.L_Ainv);
    return OTK_CONVERGED;
}
