/* Helpers shared by the bilevel unit tests (one per problem family):
 * finite-difference checks of a problem's callbacks, checks of its
 * constants, test images and vectors, and bad-input patterns. */
#ifndef OTK_BILEVEL_TESTING_H
#define OTK_BILEVEL_TESTING_H

#include <stddef.h>

#include <otkit/bilevel.h>

/*
 * At (theta, x), along `directions` pseudo-random directions (seeded),
 * compares with central differences of step t: ll_grad with ll_value (when
 * present), ll_hvp with ll_grad, cross_t with ll_grad in theta, the
 * gradient of upper with its value; and checks cross_norm >= ||B^T q|| /
 * ||q||. Each comparison must agree to rtol relative to the larger side
 * (plus a tiny absolute floor); fails the current Check test naming the
 * callback otherwise.
 */
void bilevel_fd_check(const otk_bilevel_problem *pb, const double *theta,
                      const double *x, double t, double rtol, int directions);

/* ---- vectors ---- */

double bt_dot(const double *a, const double *b, size_t n);
/* ||a - b||^2 and ||a - b||. */
double bt_sqdist(const double *a, const double *b, size_t n);
double bt_dist(const double *a, const double *b, size_t n);
/* v_i = lo + (hi - lo) U_i, U_i = test_uniform(state). */
void bt_randomize(double *v, size_t n, double lo, double hi,
                  unsigned long long *state);

/* ---- denoising data ---- */

/* Piecewise-constant test images in [0.3, 0.75]: a bright rectangle on a
 * darker background, with a little texture, different per image
 * (malloc'd, count x rows x cols, stacked). */
double *bt_images(size_t count, size_t rows, size_t cols,
                  unsigned long long seed);
/* x = clean + 0.01 (U - 1/2): a point near the clean images of a
 * denoising instance, where many differences (or filter responses) are
 * comparable to nu. */
void bt_near_clean(const otk_bilevel_instance *in, double *x,
                   unsigned long long *state);

/* The fields every denoising instance of `images` images of rows x cols
 * with p hyperparameters has: the sizes, x0 = 0, no known optimum (f_star
 * NaN, theta_star NULL), no ll_solve, L_g = 1/images, g convex. */
void bt_check_denoise_instance(const otk_bilevel_instance *in, size_t images,
                               size_t rows, size_t cols, size_t p);

/* ---- theta out of range ---- */

/* Every callback that takes theta, lipschitz included (which must be
 * there), fails at theta, evaluated at x = v = the noisy data. */
void bt_expect_callbacks_fail(const otk_bilevel_instance *in,
                              const double *theta);
/* A regularisation weight underflowing to 0 at theta is fine (plain
 * denoising): ll_grad and ll_constants succeed, with L = mu. */
void bt_expect_plain_denoising(const otk_bilevel_instance *in,
                               const double *theta, const char *what);

/* ---- constants ---- */

/* mu, L = ll_constants at theta, checked mu > 0 and L >= mu; then mu <=
 * <v, A v> / <v, v> <= L (to a relative 1e-12) at 20 points x = noisy +
 * scale (U - 1/2) of a denoising instance, scale alternating between
 * `even` (the first) and `odd`, each with a random v in [-1, 1]^n. */
void bt_rayleigh_random(const otk_bilevel_instance *in, const double *theta,
                        double even, double odd, unsigned long long *state,
                        double *mu, double *L);
/* A constant v attains mu: <v, A v> / <v, v> at x = noisy is mu to rtol. */
void bt_constant_attains_mu(const otk_bilevel_instance *in, const double *theta,
                            double mu, double rtol);
/* `iters` steps of power iteration on A(x, theta) from v (n entries):
 * v <- v / ||v||, av = A v, v <- av. Returns the last <v, A v> of a unit
 * v, which approaches lambda_max from below; v holds the last A v. */
double bt_power_hvp(const otk_bilevel_problem *pb, const double *theta,
                    const double *x, double *v, double *av, int iters);
/* The difference quotients in x behind L_B and L_A, at theta between x
 * and x2 along v: *qB = ||B(x)^T v - B(x2)^T v|| / (||x - x2|| ||v||),
 * *qA the same of A v (cross_t, then ll_hvp; NULL skips one). */
void bt_quotients(const otk_bilevel_problem *pb, const double *theta,
                  const double *x, const double *x2, const double *v,
                  double *qB, double *qA);
/* ||B||_F and ||B||_2 at (theta, x), from G = B^T B summed over the rows
 * B^T e_i (cross_t at unit vectors); ||B||_2^2 = lambda_max(G) by 500
 * steps of power iteration from (1, ..., 1), which approach it from
 * below. */
void bt_b_norms(const otk_bilevel_problem *pb, const double *theta,
                const double *x, double *fro, double *l2n);

/* ---- solves ---- */

/* The default settings with both solve caps (ll_max_iter, cg_max_iter)
 * at cap, for tight otk_bilevel_hypergradient calls. */
otk_bilevel_settings bt_caps(size_t cap);

/* A short solve (status st, info) stopped as one may before converging
 * (max_iter, converged or stalled, a stall with its cause and no bad
 * argument), after accepting steps; the outcome records st. */
void bt_expect_run(otk_status st, const otk_bilevel_info *info);

/* ---- bad input ---- */

/* Pixel values a denoising create must reject (OTK_ERR_INVALID_INPUT):
 * NaN, +-inf, and just outside [0, 1]. */
enum { BT_BAD_PIXELS = 5 };
extern const double bt_bad_pixels[BT_BAD_PIXELS];
/* *in filled with garbage (0xab bytes), for a create that must overwrite
 * it; returns in. */
otk_bilevel_instance *bt_garbage(otk_bilevel_instance *in);
/* A create that must fail: its status st is want (else the test fails,
 * naming case k), and it left *in empty, which free accepts. */
void bt_expect_failure(otk_status st, otk_status want, otk_bilevel_instance *in,
                       size_t k);

#endif /* OTK_BILEVEL_TESTING_H */
