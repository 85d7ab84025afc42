/* Private plumbing shared by the bilevel module's files. */
#ifndef OTK_BILEVEL_INTERNAL_H
#define OTK_BILEVEL_INTERNAL_H

#include <gsl/gsl_rng.h>
#include <math.h>

#include <otkit/bilevel.h>

/* Every built-in family keeps its data in a struct whose first member is
 * this, so otk_bilevel_instance_free can release it without knowing the
 * family. */
typedef struct otkb_owner {
    void (*destroy)(void *self);
} otkb_owner;

/* Zeroes *out and sets f_star to NaN: the empty instance that a failed
 * create leaves and otk_bilevel_instance_free accepts. */
void otkb_instance_clear(otk_bilevel_instance *out);

/* Zeroes *out and allocates theta0 (p) and x0 (n, zero-filled); sets
 * f_star to NaN. On failure frees what it took and returns
 * OTK_ERR_NO_MEMORY. */
otk_status otkb_instance_init(otk_bilevel_instance *out, size_t n, size_t p);

/* ---- Denoising families (tv.c, foe.c; their shared code in denoise.c) */

/*
 * The smoothed absolute value of the denoising regularisers, phi_nu(t) =
 * sqrt(t^2 + nu^2), with r = sqrt(t^2 + nu^2), and its derivatives in t:
 *     phi'  = t / r              |phi'|   < 1,
 *     phi'' = nu^2 / r^3         0 < phi'' <= 1/nu,
 *     phi''' = -3 nu^2 t / r^5   |phi'''| <= OTKB_PHI3 / nu^2,
 * with OTKB_PHI3 = max_u 3u / (1 + u^2)^(5/2) (t = nu u), reached at
 * u = 1/2: (3/2) (4/5)^(5/2) = 48 / (25 sqrt 5) ~ 0.8587.
 * d(phi')/d log nu = nu d(phi')/d nu = -nu^2 t / r^3 = -t phi''(t) =:
 * psi(t), psi'(t) = -nu^2 (nu^2 - 2 t^2) / r^5, so |psi'| <= 1/nu (at
 * t = 0; on 2t^2 > nu^2 it stays below 0.21/nu).
 * The helpers take nu2 = nu^2, which the families keep at DBL_MIN or more
 * (below it phi_nu loses its smoothness in double precision).
 */
#define OTKB_PHI3 (48.0 / (25.0 * sqrt(5.0)))

static inline double otkb_phi(double t, double nu2)
{
    return sqrt(t * t + nu2);
}

static inline double otkb_dphi(double t, double nu2)
{
    return t / sqrt(t * t + nu2);
}

static inline double otkb_d2phi(double t, double nu2)
{
    double q = t * t + nu2;
    return nu2 / (q * sqrt(q));
}

/*
 * What the denoising families share: N = images of rows x cols pixels,
 * stacked (n in all), the clean ones and y = clean + noise. A family's
 * data struct has this as its first member, so problem.user and
 * instance->data, which point at the family's struct, point at this too
 * (and at owner, its own first member).
 */
typedef struct otkb_denoise {
    otkb_owner owner; /* destroy: frees the block and the struct */
    size_t images, rows, cols, n;
    double inv_n;      /* 1/N */
    double *clean, *y; /* n each: the start of the one block */
} otkb_denoise;

/* Checks what every denoising create gets besides its sizes (which are
 * the family's own, checked first): OTK_ERR_INVALID_ARGUMENT unless noise
 * is finite and >= 0; OTK_ERR_INVALID_INPUT unless each of the n pixels
 * of images (when not NULL) lies in [0, 1] (NaN does not); else
 * OTK_CONVERGED. */
otk_status otkb_denoise_check(const double *images, size_t n, double noise);

/*
 * Starts a denoising instance of `images` images of rows x cols (n, the
 * product, and 2 n + extra doubles already checked against overflow) with
 * p hyperparameters: otkb_instance_init(out, n, p); the family's data
 * (size bytes, zeroed, an otkb_denoise first) with one block of 2 n +
 * extra doubles (clean, y, then the family's extra from y + n); and in
 * *rng the instance's generator, mt19937 seeded with seed, for the caller
 * to draw from and free. Fills the otkb_denoise part and copies clean_in
 * into clean (unless NULL: then the family fills it). The problem is the
 * family's callbacks (ops: ll_grad, ll_hvp, cross_t, ll_constants,
 * cross_norm, ll_value, lipschitz) with what the families share: n, p,
 * user, upper (otkb_denoise_upper), L_g = 1/N, g_convex, no ll_solve;
 * out's clean, noisy, images, rows, cols and data are set. The family
 * adds theta0, the data and L_B, L_Ainv.
 * Returns the data, or NULL (out emptied) when memory runs out.
 */
void *otkb_denoise_new(otk_bilevel_instance *out, size_t size,
                       const otk_bilevel_problem *ops, size_t images,
                       size_t rows, size_t cols, size_t p, size_t extra,
                       const double *clean_in, unsigned long seed,
                       gsl_rng **rng);

/* y = clean + noise z, with z standard normal draws from rng, one per
 * pixel in order: one seed gives the same pattern at every noise level,
 * and noise 0 gives y = clean exactly. */
void otkb_denoise_noise(otkb_denoise *d, gsl_rng *rng, double noise);

/* The upper level of the denoising families (user: an otkb_denoise):
 * g = 1/2 s ||x - clean||^2, grad g = s (x - clean), s = 1/N. */
int otkb_denoise_upper(void *user, const double *x, double *g, double *grad);

#endif /* OTK_BILEVEL_INTERNAL_H */
