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

/* One solve's state, shared by the MAID loop (maid.c) and HOAG (hoag.c). */
typedef struct otkb_run {
    const otk_bilevel_problem *pb;
    const otk_bilevel_settings *s;
    size_t ll_max_iter, cg_max_iter;
    size_t ll_iterations, cg_iterations; /* cumulative */
    const char *failed; /* what stopped the run, for info.bad_argument */
    double start;       /* otk__now() at the start */
    double *block;      /* the one allocation holding the arrays below */
    double *scratch;    /* 4 n: CG's or FISTA's scratch */
    double *q, *grad_g; /* n each: the adjoint and grad g at the last x */
    double *x_trial, *x_keep, *x_solve;   /* n each */
    double *z, *theta_trial, *theta_keep; /* p each */
} otkb_run;

otk_status otkb_run_init(otkb_run *run, const otk_bilevel_problem *pb,
                         const otk_bilevel_settings *s);
void otkb_run_free(otkb_run *run);

/* Solves the lower level at theta to accuracy eps in place (x: warm start
 * in). OTK_STALLED when the cap is hit, OTK_ERR_NUMERICAL on a callback
 * error; run->failed names the cause. */
otk_status otkb_ll_solve(otkb_run *run, const double *theta, double eps,
                         double *x);
/* *g = g(x), run->grad_g = grad g(x), *grad_norm = its norm. */
otk_status otkb_upper(otkb_run *run, const double *x, double *g,
                      double *grad_norm);
/* Lower solve to eps, CG to delta, z = -B^T q (z: p entries); *g and
 * *grad_g_norm describe g at the new x. */
otk_status otkb_hypergradient(otkb_run *run, const double *theta, double eps,
                              double delta, double *x, double *z, double *g,
                              double *grad_g_norm);
double otkb_omega(const otk_bilevel_problem *pb, const double *theta,
                  const double *x, double eps, double delta,
                  double grad_g_norm);
double otkb_upper_bound(const otk_bilevel_problem *pb, double g,
                        double grad_norm, double eps);
double otkb_lower_bound(const otk_bilevel_problem *pb, double g,
                        double grad_norm, double eps);
/* Lower-level + CG iterations have reached settings.budget. */
int otkb_over_budget(const otkb_run *run);
/* Fills the cumulative counters and time of row and calls the trace
 * callback; nonzero: cancel. */
int otkb_emit(otkb_run *run, otk_bilevel_trace_row *row, const double *theta);
/* Clips theta to [-theta_bound, theta_bound]. */
void otkb_clip(const otk_bilevel_settings *s, double *theta, size_t p);

/* HOAG with the settings' tolerance schedule (hoag.c). */
otk_status otkb_hoag_loop(otkb_run *run, double *theta, double *x,
                          otk_bilevel_info *info);

#endif /* OTK_BILEVEL_INTERNAL_H */
