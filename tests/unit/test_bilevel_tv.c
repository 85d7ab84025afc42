/* TV denoising families: the header's formulas recomputed directly, the
 * callbacks against finite differences, the constants (mu, L by Rayleigh
 * quotients; L_B, L_A by difference quotients; cross_norm against the
 * Frobenius norm), seeded data and noise level, bad input. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

#include "bilevel_testing.h"
#include "testutil.h"

static otk_bilevel_instance tv1d(size_t signals, size_t length, double noise,
                                 unsigned long seed)
{
    otk_bilevel_instance in;
    otk_status st = otk_bilevel_tv1d_create(signals, length, noise, seed, &in);
    ck_assert_int_eq(st, OTK_CONVERGED);
    return in;
}

static otk_bilevel_instance tv2d(const double *images, size_t count,
                                 size_t rows, size_t cols, double noise,
                                 unsigned long seed)
{
    otk_bilevel_instance in;
    otk_status st =
        otk_bilevel_tv2d_create(images, count, rows, cols, noise, seed, &in);
    ck_assert_int_eq(st, OTK_CONVERGED);
    return in;
}

/* h straight from the header's formulas, indexing pixels by (k, r, c). */
static double reference_h(const otk_bilevel_instance *in, const double *theta,
                          const double *x)
{
    const size_t R = in->rows, C = in->cols, N = in->images;
    const int one_d = in->problem.p == 3;
    const double lambda = exp(theta[0]), nu = exp(theta[1]);
    double fit = 0, tv = 0, ridge = 0;
    for (size_t k = 0; k < N; k++)
        for (size_t r = 0; r < R; r++)
            for (size_t c = 0; c < C; c++) {
                size_t i = (k * R + r) * C + c;
                fit += 0.5 * (x[i] - in->noisy[i]) * (x[i] - in->noisy[i]);
                ridge += 0.5 * x[i] * x[i];
                if (r + 1 < R)
                    tv += hypot(x[i + C] - x[i], nu);
                if (c + 1 < C)
                    tv += hypot(x[i + 1] - x[i], nu);
            }
    if (one_d)
        return (fit + lambda * tv + exp(theta[2]) * ridge) / (double)N;
    return (fit + 0.5 * lambda * tv) / (double)N;
}

START_TEST(formulas_match_the_header)
{
    unsigned long long st = 5;
    double x[2 * 3 * 4];
    /* 1-D: two signals of five samples */
    otk_bilevel_instance a = tv1d(2, 5, 0.1, 3);
    bt_check_denoise_instance(&a, 2, 1, 5, 3);
    ck_assert_uint_eq(a.problem.n, 10);
    for (size_t j = 0; j < 3; j++)
        ck_assert_double_eq(a.theta0[j], -5.0);
    const double t1[3] = {-0.3, -1.1, -2.0};
    bt_randomize(x, 10, -0.2, 1.2, &st);
    double h, g, mu, L;
    ck_assert_int_eq(a.problem.ll_value(a.problem.user, t1, x, &h), 0);
    assert_close("1-D h", h, reference_h(&a, t1, x), 1e-13, 0);
    ck_assert_int_eq(a.problem.upper(a.problem.user, x, &g, NULL), 0);
    assert_close("1-D g", g, bt_sqdist(x, a.clean, 10) / 4, 1e-13, 0);
    ck_assert_int_eq(a.problem.ll_constants(a.problem.user, t1, &mu, &L), 0);
    assert_close("1-D mu", mu, (1 + exp(-2.0)) / 2, 1e-14, 0);
    assert_close("1-D L", L, (1 + 4 * exp(-0.3) / exp(-1.1) + exp(-2.0)) / 2,
                 1e-14, 0);
    otk_bilevel_instance_free(&a);

    /* 2-D: two images of 3 x 4 */
    double *img = bt_images(2, 3, 4, 9);
    otk_bilevel_instance b = tv2d(img, 2, 3, 4, 0.05, 4);
    bt_check_denoise_instance(&b, 2, 3, 4, 2);
    ck_assert_uint_eq(b.problem.n, 24);
    ck_assert_double_eq(b.theta0[0], -5.0);
    ck_assert_double_eq(b.theta0[1], -5.0);
    const double t2[2] = {0.2, -0.7};
    bt_randomize(x, 24, -0.2, 1.2, &st);
    ck_assert_int_eq(b.problem.ll_value(b.problem.user, t2, x, &h), 0);
    assert_close("2-D h", h, reference_h(&b, t2, x), 1e-13, 0);
    ck_assert_int_eq(b.problem.ll_constants(b.problem.user, t2, &mu, &L), 0);
    assert_close("2-D mu", mu, 0.5, 1e-14, 0);
    assert_close("2-D L", L, (1 + 4 * exp(0.2) / exp(-0.7)) / 2, 1e-14, 0);
    otk_bilevel_instance_free(&b);
    free(img);
}
END_TEST

/* ll_grad, ll_hvp, cross_t and upper against finite differences (and
 * cross_norm >= ||B^T q|| / ||q||) at the start and elsewhere. */
static void fd_at_points(const otk_bilevel_instance *in, const double *thetas,
                         size_t count)
{
    const size_t n = in->problem.n, p = in->problem.p;
    double *x = malloc(n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    unsigned long long st = 77;
    for (size_t k = 0; k < count; k++) {
        const double *theta = thetas + k * p;
        /* the noisy data, where differences are ~noise, and a smoother
         * point, where many differences are comparable to nu */
        memcpy(x, in->noisy, n * sizeof *x);
        bilevel_fd_check(&in->problem, theta, x, 1e-6, 1e-5, 3);
        bt_near_clean(in, x, &st);
        bilevel_fd_check(&in->problem, theta, x, 1e-6, 1e-5, 3);
    }
    free(x);
}

START_TEST(derivatives_1d)
{
    otk_bilevel_instance in = tv1d(3, 24, 0.1, 11);
    const double thetas[] = {-5, -5, -5, -1, -2, -3, 0.5, -0.5, 0.3, -3, -4, 1};
    fd_at_points(&in, thetas, 4);
    otk_bilevel_instance_free(&in);
}
END_TEST

START_TEST(derivatives_2d)
{
    double *img = bt_images(2, 6, 7, 3);
    otk_bilevel_instance in = tv2d(img, 2, 6, 7, 0.1, 12);
    const double thetas[] = {-5, -5, 0, -1, -2, 0.3, 1, -4};
    fd_at_points(&in, thetas, 4);
    otk_bilevel_instance_free(&in);
    free(img);
}
END_TEST

/* v = +-1 alternating along rows and columns (a checkerboard; in 1-D,
 * along the signal). */
static void alternating(const otk_bilevel_instance *in, double *v)
{
    for (size_t k = 0, i = 0; k < in->images; k++)
        for (size_t r = 0; r < in->rows; r++)
            for (size_t c = 0; c < in->cols; c++, i++)
                v[i] = (r + c) % 2 ? 1.0 : -1.0;
}

/* mu <= <v, Av> / <v, v> <= L for random x, v; mu is attained by a
 * constant v and L nearly by an alternating v at a constant x. */
static void rayleigh(const otk_bilevel_instance *in, const double *theta,
                     unsigned long long seed)
{
    const otk_bilevel_problem *pb = &in->problem;
    const size_t n = pb->n;
    double *x = calloc(n, sizeof *x), *v = malloc(n * sizeof *v);
    double *av = malloc(n * sizeof *av);
    ck_assert(x && v && av);
    unsigned long long st = seed;
    double mu, L;
    /* x mixes smooth data with jumps on the scale of nu */
    bt_rayleigh_random(in, theta, 3 * exp(theta[1]), 0.2, &st, &mu, &L);
    bt_constant_attains_mu(in, theta, mu, 1e-12);
    /* an alternating v at x = 0, where phi'' = 1/nu */
    alternating(in, v);
    ck_assert_int_eq(pb->ll_hvp(pb->user, theta, x, v, av), 0);
    double rq = bt_dot(v, av, n) / bt_dot(v, v, n);
    ck_assert_msg(rq >= 0.9 * L && rq <= L, "alternating v: %g vs L = %g", rq,
                  L);
    free(x);
    free(v);
    free(av);
}

START_TEST(constants_bound_the_hessian)
{
    otk_bilevel_instance a = tv1d(3, 64, 0.1, 21);
    const double ta[] = {-5, -5, -5, -1, -3, 0.5, 1, 0, -2};
    for (size_t k = 0; k < 3; k++)
        rayleigh(&a, ta + 3 * k, 100 + k);
    otk_bilevel_instance_free(&a);
    double *img = bt_images(2, 16, 16, 8);
    otk_bilevel_instance b = tv2d(img, 2, 16, 16, 0.1, 22);
    const double tb[] = {-5, -5, 0, -2, 1, -4};
    for (size_t k = 0; k < 3; k++)
        rayleigh(&b, tb + 2 * k, 200 + k);
    otk_bilevel_instance_free(&b);
    free(img);
}
END_TEST

/* At theta0 (where the struct's L_B and L_Ainv hold), difference
 * quotients of B^T q and A v in x stay below L_B and L_A = L_Ainv mu^2;
 * and cross_norm lies between ||B||_F / sqrt(p) and ||B||_F, with B's
 * rows read off cross_t at unit vectors. */
static void omega_constants(const otk_bilevel_instance *in,
                            unsigned long long seed)
{
    const otk_bilevel_problem *pb = &in->problem;
    const size_t n = pb->n;
    const double *theta = in->theta0;
    double *x = malloc(n * sizeof *x), *x2 = malloc(n * sizeof *x2);
    double *v = malloc(n * sizeof *v);
    ck_assert(x && x2 && v);
    double mu, L;
    ck_assert_int_eq(pb->ll_constants(pb->user, theta, &mu, &L), 0);
    const double L_A = pb->L_Ainv * mu * mu, nu = exp(theta[1]);
    ck_assert(isfinite(pb->L_B) && pb->L_B > 0);
    ck_assert(isfinite(pb->L_Ainv) && pb->L_Ainv > 0);
    unsigned long long st = seed;
    double worst_B = 0, worst_A = 0;
    for (int k = 0; k < 200; k++) {
        /* differences near nu / 2, where |phi'''| peaks */
        for (size_t i = 0; i < n; i++) {
            x[i] = nu * (test_uniform(&st) - 0.5);
            x2[i] = x[i] + nu * 0.3 * (test_uniform(&st) - 0.5);
        }
        bt_randomize(v, n, -1, 1, &st);
        double qB, qA;
        bt_quotients(pb, theta, x, x2, v, &qB, &qA);
        worst_B = fmax(worst_B, qB);
        worst_A = fmax(worst_A, qA);
    }
    ck_assert_msg(worst_B <= pb->L_B, "B quotient %g > L_B %g", worst_B,
                  pb->L_B);
    ck_assert_msg(worst_A <= L_A, "A quotient %g > L_A %g", worst_A, L_A);

    /* Near-worst cases, so that a constant too large is caught as well.
     * B: at x = 0 an alternating step moves every column of B along the
     * same vector, ~ 4 x step (1-D; 8 x in 2-D): the quotient nearly
     * reaches L_B. */
    const double eps = 1e-4 * nu;
    alternating(in, v);
    memset(x, 0, n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x2[i] = eps * v[i];
    double qB;
    bt_quotients(pb, theta, x, x2, v, &qB, NULL);
    ck_assert_msg(qB <= pb->L_B && qB >= 0.85 * pb->L_B,
                  "alternating step: B quotient %g vs L_B %g", qB, pb->L_B);
    /* A: x = (nu/2) e_k puts every difference touching pixel k where
     * |phi'''| peaks, with signs that make a bump of pixel k change all
     * their phi'' alike; v is the top eigenvector of that star's
     * Laplacian. The bound gives up a factor of about 2 here (||D||^2
     * and ||D||_{2->inf} are not reached by the same step). */
    const size_t k = (in->rows / 2) * in->cols + in->cols / 2;
    memset(x, 0, n * sizeof *x);
    memset(v, 0, n * sizeof *v);
    x[k] = 0.5 * nu;
    memcpy(x2, x, n * sizeof *x);
    x2[k] += eps;
    const size_t nb_k[4] = {k - 1, k + 1, k - in->cols, k + in->cols};
    const size_t deg = in->rows > 1 ? 4 : 2;
    v[k] = (double)deg;
    for (size_t j = 0; j < deg; j++)
        v[nb_k[j]] = -1;
    double qA;
    bt_quotients(pb, theta, x, x2, v, NULL, &qA);
    ck_assert_msg(qA <= L_A && qA >= 0.4 * L_A, "bump: A quotient %g vs L_A %g",
                  qA, L_A);

    /* G = B^T B from the rows B^T e_i; ||B||_2^2 = lambda_max(G), which
     * power iteration approaches from below */
    double fro, l2n, nb;
    bt_b_norms(pb, theta, in->noisy, &fro, &l2n);
    ck_assert_int_eq(pb->cross_norm(pb->user, theta, in->noisy, &nb), 0);
    ck_assert_msg(nb <= fro * (1 + 1e-12) && nb >= l2n * (1 - 1e-12),
                  "cross_norm %g, ||B||_2 %g, ||B||_F %g", nb, l2n, fro);
    free(x);
    free(x2);
    free(v);
}

START_TEST(omega_constants_are_certified)
{
    /* large enough that the border costs the alternating step < 10% */
    otk_bilevel_instance a = tv1d(2, 20, 0.1, 31);
    omega_constants(&a, 1);
    otk_bilevel_instance_free(&a);
    double *img = bt_images(2, 12, 13, 2);
    otk_bilevel_instance b = tv2d(img, 2, 12, 13, 0.1, 32);
    omega_constants(&b, 2);
    otk_bilevel_instance_free(&b);
    free(img);
}
END_TEST

START_TEST(data_are_seeded)
{
    const size_t S = 4, LEN = 64, n = S * LEN;
    otk_bilevel_instance a = tv1d(S, LEN, 0.1, 1), b = tv1d(S, LEN, 0.1, 1);
    otk_bilevel_instance c = tv1d(S, LEN, 0.1, 2), z = tv1d(S, LEN, 0.0, 1);
    ck_assert_mem_eq(a.clean, b.clean, n * sizeof(double));
    ck_assert_mem_eq(a.noisy, b.noisy, n * sizeof(double));
    ck_assert(memcmp(a.noisy, c.noisy, n * sizeof(double)) != 0);
    ck_assert(memcmp(a.clean, c.clean, n * sizeof(double)) != 0);
    /* the noise level does not change the clean signals; noise 0 leaves
     * them as they are */
    ck_assert_mem_eq(a.clean, z.clean, n * sizeof(double));
    ck_assert_mem_eq(z.clean, z.noisy, n * sizeof(double));
    /* each signal: zero with one box of ones */
    size_t ones = 0;
    for (size_t k = 0; k < S; k++) {
        int runs = 0;
        for (size_t i = 0; i < LEN; i++) {
            double v = a.clean[k * LEN + i];
            ck_assert(v == 0.0 || v == 1.0);
            ones += v == 1.0;
            if (v == 1.0 && (i == 0 || a.clean[k * LEN + i - 1] == 0.0))
                runs++;
        }
        ck_assert_int_le(runs, 1);
    }
    ck_assert_uint_gt(ones, 0);
    otk_bilevel_instance_free(&a);
    otk_bilevel_instance_free(&b);
    otk_bilevel_instance_free(&c);
    otk_bilevel_instance_free(&z);

    double *img = bt_images(3, 8, 9, 4);
    const size_t m = 3 * 8 * 9;
    otk_bilevel_instance d = tv2d(img, 3, 8, 9, 0.1, 5);
    otk_bilevel_instance e = tv2d(img, 3, 8, 9, 0.1, 5);
    otk_bilevel_instance f = tv2d(img, 3, 8, 9, 0.1, 6);
    ck_assert_mem_eq(d.clean, img, m * sizeof(double));
    ck_assert_ptr_ne(d.clean, img); /* a copy */
    ck_assert_mem_eq(d.noisy, e.noisy, m * sizeof(double));
    ck_assert(memcmp(d.noisy, f.noisy, m * sizeof(double)) != 0);
    otk_bilevel_instance_free(&d);
    otk_bilevel_instance_free(&e);
    otk_bilevel_instance_free(&f);
    free(img);
}
END_TEST

START_TEST(psnr_matches_the_noise_level)
{
    /* 2-D: values in [0.3, 0.75] are almost never clipped */
    double *img = bt_images(4, 32, 32, 6);
    otk_bilevel_instance b = tv2d(img, 4, 32, 32, 0.05, 7);
    double psnr = otk_bilevel_psnr(b.noisy, b.clean, 4 * 32 * 32);
    ck_assert_msg(fabs(psnr - 20 * log10(1 / 0.05)) < 0.3, "2-D PSNR %g", psnr);
    otk_bilevel_instance_free(&b);
    free(img);

    /* 1-D: the raw noise has RMSE ~ sigma; as every clean sample is 0 or
     * 1, clipping removes half the error on average (+3 dB) */
    const size_t n = 20 * 256;
    otk_bilevel_instance a = tv1d(20, 256, 0.1, 8);
    double sse = 0;
    for (size_t i = 0; i < n; i++)
        sse += (a.noisy[i] - a.clean[i]) * (a.noisy[i] - a.clean[i]);
    double rmse = sqrt(sse / (double)n);
    ck_assert_msg(fabs(rmse - 0.1) < 0.005, "1-D RMSE %g", rmse);
    psnr = otk_bilevel_psnr(a.noisy, a.clean, n);
    ck_assert_msg(fabs(psnr - (20 + 10 * log10(2.0))) < 0.4, "1-D PSNR %g",
                  psnr);
    otk_bilevel_instance_free(&a);
}
END_TEST

START_TEST(bad_inputs_are_rejected)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_tv1d_create(2, 8, 0.1, 1, NULL),
                     OTK_ERR_INVALID_ARGUMENT);
    const struct {
        size_t s, len;
        double noise;
    } bad1[] = {{0, 8, 0.1},        {2, 0, 0.1},           {2, 1, 0.1},
                {2, 8, -0.1},       {2, 8, NAN},           {2, 8, INFINITY},
                {SIZE_MAX, 8, 0.1}, {SIZE_MAX / 8, 2, 0.1}};
    /* each create gets garbage, which it must overwrite */
    for (size_t k = 0; k < sizeof bad1 / sizeof bad1[0]; k++)
        bt_expect_failure(otk_bilevel_tv1d_create(bad1[k].s, bad1[k].len,
                                                  bad1[k].noise, 1,
                                                  bt_garbage(&in)),
                          OTK_ERR_INVALID_ARGUMENT, &in, k);

    double img[4 * 5];
    for (size_t i = 0; i < 20; i++)
        img[i] = 0.5;
    ck_assert_int_eq(otk_bilevel_tv2d_create(img, 1, 4, 5, 0.1, 1, NULL),
                     OTK_ERR_INVALID_ARGUMENT);
    const struct {
        const double *images;
        size_t count, rows, cols;
        double noise;
    } bad2[] = {{NULL, 1, 4, 5, 0.1},          {img, 0, 4, 5, 0.1},
                {img, 1, 1, 5, 0.1},           {img, 1, 4, 1, 0.1},
                {img, 1, 0, 0, 0.1},           {img, 1, 4, 5, -1.0},
                {img, 1, 4, 5, NAN},           {img, SIZE_MAX, 4, 5, 0.1},
                {img, 2, SIZE_MAX / 2, 2, 0.1}};
    for (size_t k = 0; k < sizeof bad2 / sizeof bad2[0]; k++)
        bt_expect_failure(otk_bilevel_tv2d_create(
                              bad2[k].images, bad2[k].count, bad2[k].rows,
                              bad2[k].cols, bad2[k].noise, 1, bt_garbage(&in)),
                          OTK_ERR_INVALID_ARGUMENT, &in, k);
    for (size_t k = 0; k < BT_BAD_PIXELS; k++) {
        img[7] = bt_bad_pixels[k];
        bt_expect_failure(
            otk_bilevel_tv2d_create(img, 1, 4, 5, 0.1, 1, bt_garbage(&in)),
            OTK_ERR_INVALID_INPUT, &in, k);
    }
    /* the ends of [0, 1] are valid */
    img[7] = 0.0;
    img[8] = 1.0;
    ck_assert_int_eq(otk_bilevel_tv2d_create(img, 1, 4, 5, 0.0, 1, &in),
                     OTK_CONVERGED);
    otk_bilevel_instance_free(&in);
}
END_TEST

/* theta outside the representable range makes the callbacks fail (the
 * solver then stops with OTK_ERR_NUMERICAL) instead of returning NaN. */
START_TEST(unrepresentable_theta_is_reported)
{
    otk_bilevel_instance in = tv1d(2, 8, 0.1, 1);
    const double bad[][3] = {{NAN, -5, -5}, {-5, NAN, -5},   {-5, -5, NAN},
                             {800, -5, -5}, {-5, -1000, -5}, {-5, 400, -5},
                             {-5, -5, 800}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        bt_expect_callbacks_fail(&in, bad[k]);
    /* lambda underflowing to 0 is fine: plain ridge denoising */
    const double tiny[3] = {-800, -5, -5};
    bt_expect_plain_denoising(&in, tiny, "L at lambda = 0");
    otk_bilevel_instance_free(&in);
}
END_TEST

START_TEST(free_is_safe)
{
    otk_bilevel_instance in;
    memset(&in, 0, sizeof in);
    otk_bilevel_instance_free(&in);
    otk_bilevel_instance_free(NULL);
    in = tv1d(1, 2, 0.1, 1);
    otk_bilevel_instance_free(&in);
    otk_bilevel_instance_free(&in); /* free leaves it empty */
    ck_assert_ptr_null(in.data);
}
END_TEST

/* End to end: a few MAID iterations on a small 1-D problem lower the
 * upper loss and denoise. */
START_TEST(maid_denoises)
{
    otk_bilevel_instance in = tv1d(4, 64, 0.1, 3);
    const size_t n = in.problem.n;
    double theta[3], *x = malloc(n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    memcpy(theta, in.theta0, sizeof theta);
    memcpy(x, in.x0, n * sizeof *x);
    otk_bilevel_settings s;
    otk_bilevel_default_settings(&s);
    s.max_iter = 40;
    s.eps0 = s.delta0 = 1e-1;
    otk_bilevel_info info;
    bt_expect_run(otk_bilevel_solve(&in.problem, &s, theta, x, &info), &info);
    double g0;
    ck_assert_int_eq(in.problem.upper(in.problem.user, in.noisy, &g0, NULL), 0);
    ck_assert_double_lt(info.upper_loss, g0);
    ck_assert_double_gt(otk_bilevel_psnr(x, in.clean, n),
                        otk_bilevel_psnr(in.noisy, in.clean, n));
    free(x);
    otk_bilevel_instance_free(&in);
}
END_TEST

static Suite *bilevel_tv_suite(void)
{
    Suite *s = suite_create("bilevel_tv");
    TCase *tc = tcase_create("bilevel_tv");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, formulas_match_the_header);
    tcase_add_test(tc, derivatives_1d);
    tcase_add_test(tc, derivatives_2d);
    tcase_add_test(tc, constants_bound_the_hessian);
    tcase_add_test(tc, omega_constants_are_certified);
    tcase_add_test(tc, data_are_seeded);
    tcase_add_test(tc, psnr_matches_the_noise_level);
    tcase_add_test(tc, bad_inputs_are_rejected);
    tcase_add_test(tc, unrepresentable_theta_is_reported);
    tcase_add_test(tc, free_is_safe);
    suite_add_tcase(s, tc);
    TCase *e2e = tcase_create("end_to_end");
    tcase_set_timeout(e2e, 120);
    tcase_add_test(e2e, maid_denoises);
    suite_add_tcase(s, e2e);
    return s;
}

int main(void) { return run_suite(bilevel_tv_suite()); }
