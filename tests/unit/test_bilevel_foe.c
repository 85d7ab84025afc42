/* Field-of-Experts family: the header's formulas recomputed directly
 * (with explicit 'valid' correlation loops), the callbacks against finite
 * differences (cross_t also one hyperparameter at a time), the constants
 * (mu, L by Rayleigh quotients and power iteration; L_B, L_A by
 * difference quotients; cross_norm against ||B||_2 and ||B||_F), seeded
 * data, a short MAID run, bad input. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

#include "bilevel_testing.h"
#include "testutil.h"

static otk_bilevel_instance foe(const double *images, size_t count, size_t rows,
                                size_t cols, double noise, size_t K, size_t s,
                                unsigned long seed)
{
    otk_bilevel_instance in;
    otk_status st = otk_bilevel_foe_create(images, count, rows, cols, noise, K,
                                           s, seed, &in);
    ck_assert_int_eq(st, OTK_CONVERGED);
    return in;
}

/* h straight from the header: pixels by (image, row, col), taps by
 * (filter, a, b), output (i, j) = sum c[a][b] x(i + a, j + b). */
static double reference_h(const otk_bilevel_instance *in, size_t K, size_t s,
                          const double *theta, const double *x)
{
    const size_t R = in->rows, C = in->cols, N = in->images;
    double fit = 0, foe_sum = 0;
    for (size_t i = 0; i < N * R * C; i++)
        fit += 0.5 * (x[i] - in->noisy[i]) * (x[i] - in->noisy[i]);
    for (size_t k = 0; k < K; k++) {
        const double nu = exp(theta[1 + K + k]);
        const double *c = theta + 1 + 2 * K + k * s * s;
        double f = 0;
        for (size_t img = 0; img < N; img++)
            for (size_t i = 0; i + s <= R; i++)
                for (size_t j = 0; j + s <= C; j++) {
                    double u = 0;
                    for (size_t a = 0; a < s; a++)
                        for (size_t b = 0; b < s; b++)
                            u +=
                                c[a * s + b] * x[(img * R + i + a) * C + j + b];
                    f += hypot(u, nu);
                }
        foe_sum += exp(theta[1 + k]) * f;
    }
    return (fit + 0.5 * exp(theta[0]) * foe_sum) / (double)N;
}

START_TEST(formulas_match_the_header)
{
    const size_t N = 2, R = 5, C = 7, K = 2, s = 3, n = N * R * C;
    double *img = bt_images(N, R, C, 9);
    otk_bilevel_instance in = foe(img, N, R, C, 0.1, K, s, 4);
    const otk_bilevel_problem *pb = &in.problem;
    bt_check_denoise_instance(&in, N, R, C, 1 + 2 * K + K * s * s);
    ck_assert_mem_eq(in.clean, img, n * sizeof(double));
    ck_assert_ptr_ne(in.clean, img);
    for (size_t j = 0; j < 1 + 2 * K; j++)
        ck_assert_double_eq(in.theta0[j], -3.0);
    for (size_t k = 0; k < K; k++) {
        double mean = 0;
        for (size_t j = 0; j < s * s; j++)
            mean += in.theta0[1 + 2 * K + k * s * s + j];
        ck_assert(fabs(mean) < 1e-14);
    }

    unsigned long long st = 5;
    double *x = malloc(n * sizeof *x), *theta = malloc(pb->p * sizeof *theta);
    ck_assert(x && theta);
    bt_randomize(x, n, -0.2, 1.2, &st);
    bt_randomize(theta, pb->p, -1.0, 1.0, &st);
    theta[0] = -0.5;
    theta[1] = 0.3;
    theta[2] = -1.2;
    theta[3] = -2.0;
    theta[4] = -0.7;
    double h, g, mu, L;
    ck_assert_int_eq(pb->ll_value(pb->user, theta, x, &h), 0);
    assert_close("h", h, reference_h(&in, K, s, theta, x), 1e-13, 0);
    ck_assert_int_eq(pb->ll_value(pb->user, in.theta0, x, &h), 0);
    assert_close("h at theta0", h, reference_h(&in, K, s, in.theta0, x), 1e-13,
                 0);
    ck_assert_int_eq(pb->upper(pb->user, x, &g, NULL), 0);
    assert_close("g", g, bt_sqdist(x, in.clean, n) / 4, 1e-13, 0);
    ck_assert_int_eq(pb->ll_constants(pb->user, theta, &mu, &L), 0);
    ck_assert_double_eq(mu, 0.5);
    double sum = 0;
    for (size_t k = 0; k < K; k++) {
        double l1 = 0;
        for (size_t j = 0; j < s * s; j++)
            l1 += fabs(theta[1 + 2 * K + k * s * s + j]);
        sum += 0.5 * exp(theta[0] + theta[1 + k]) * l1 * l1 /
               exp(theta[1 + K + k]);
    }
    assert_close("L", L, (1 + sum) / 2, 1e-14, 0);
    /* the struct's constants are the lipschitz callback's at theta0 */
    double lb, la;
    ck_assert_int_eq(pb->lipschitz(pb->user, in.theta0, &lb, &la), 0);
    ck_assert_double_eq(pb->L_B, lb);
    ck_assert_double_eq(pb->L_Ainv, la);
    free(x);
    free(theta);
    otk_bilevel_instance_free(&in);
    free(img);
}
END_TEST

/* d/dtheta_j <grad_x h(x, theta), q> by central differences against
 * cross_t, for every j: catches an error in one block that a random
 * direction would dilute. */
static void cross_t_by_coordinate(const otk_bilevel_problem *pb,
                                  const double *theta, const double *x,
                                  const double *q)
{
    const size_t n = pb->n, p = pb->p;
    double *ts = malloc(p * sizeof *ts), *btq = malloc(p * sizeof *btq);
    double *g1 = malloc(n * sizeof *g1), *g2 = malloc(n * sizeof *g2);
    ck_assert(ts && btq && g1 && g2);
    ck_assert_int_eq(pb->cross_t(pb->user, theta, x, q, btq), 0);
    double scale = sqrt(bt_dot(btq, btq, p));
    const double t = 1e-6;
    memcpy(ts, theta, p * sizeof *ts);
    for (size_t j = 0; j < p; j++) {
        ts[j] = theta[j] + t;
        ck_assert_int_eq(pb->ll_grad(pb->user, ts, x, g1), 0);
        ts[j] = theta[j] - t;
        ck_assert_int_eq(pb->ll_grad(pb->user, ts, x, g2), 0);
        ts[j] = theta[j];
        double fd = (bt_dot(g1, q, n) - bt_dot(g2, q, n)) / (2 * t);
        ck_assert_msg(fabs(fd - btq[j]) <= 1e-6 * scale + 1e-12,
                      "cross_t[%zu] = %.12g, finite difference %.12g", j,
                      btq[j], fd);
    }
    free(ts);
    free(btq);
    free(g1);
    free(g2);
}

static void perturb_theta(const double *theta0, double *theta, size_t p,
                          size_t K, unsigned long long *st)
{
    for (size_t j = 0; j < p; j++)
        theta[j] =
            theta0[j] + (j < 1 + 2 * K ? 1.5 : 0.3) * (test_uniform(st) - 0.5);
}

/* A perturbed copy of the instance's theta0 (K filters), malloc'd. */
static double *perturbed(const otk_bilevel_instance *in, size_t K,
                         unsigned long long seed)
{
    const size_t p = in->problem.p;
    double *theta = malloc(p * sizeof *theta);
    ck_assert_ptr_nonnull(theta);
    unsigned long long st = seed;
    perturb_theta(in->theta0, theta, p, K, &st);
    return theta;
}

START_TEST(derivatives)
{
    /* rows != cols and s not dividing them, so that an index mix-up shows */
    const size_t N = 2, R = 9, C = 11, K = 3, s = 3;
    double *img = bt_images(N, R, C, 3);
    otk_bilevel_instance in = foe(img, N, R, C, 0.1, K, s, 12);
    const otk_bilevel_problem *pb = &in.problem;
    const size_t n = pb->n, p = pb->p;
    double *x = malloc(n * sizeof *x), *q = malloc(n * sizeof *q);
    double *theta = malloc(2 * p * sizeof *theta);
    ck_assert(x && q && theta);
    unsigned long long st = 77;
    memcpy(theta, in.theta0, p * sizeof *theta);
    perturb_theta(in.theta0, theta + p, p, K, &st);
    for (size_t k = 0; k < 2; k++) {
        const double *th = theta + k * p;
        /* the noisy data, and a smoother point where many filter
         * responses are comparable to nu */
        memcpy(x, in.noisy, n * sizeof *x);
        bilevel_fd_check(pb, th, x, 1e-6, 1e-5, 3);
        bt_randomize(q, n, -1, 1, &st);
        cross_t_by_coordinate(pb, th, x, q);
        bt_near_clean(&in, x, &st);
        bilevel_fd_check(pb, th, x, 1e-6, 1e-5, 3);
        cross_t_by_coordinate(pb, th, x, q);
    }
    otk_bilevel_instance_free(&in);

    /* an even filter size */
    otk_bilevel_instance e = foe(img, N, R, C, 0.1, 2, 4, 14);
    memcpy(x, e.noisy, n * sizeof *x);
    bilevel_fd_check(&e.problem, e.theta0, x, 1e-6, 1e-5, 3);
    bt_randomize(q, n, -1, 1, &st);
    cross_t_by_coordinate(&e.problem, e.theta0, x, q);
    otk_bilevel_instance_free(&e);

    /* a filter as large as the image: one output per image */
    otk_bilevel_instance b = foe(img, N, R, C, 0.1, 2, R, 13);
    memcpy(x, b.noisy, n * sizeof *x);
    bilevel_fd_check(&b.problem, b.theta0, x, 1e-6, 1e-5, 3);
    bt_randomize(q, n, -1, 1, &st);
    cross_t_by_coordinate(&b.problem, b.theta0, x, q);
    otk_bilevel_instance_free(&b);
    free(x);
    free(q);
    free(theta);
    free(img);
}
END_TEST

/* mu <= <v, Av> / <v, v> <= L; a constant v attains mu at theta0 (zero-mean
 * taps); the largest eigenvalue at x = 0 (phi'' = 1/nu everywhere, the
 * worst case) found by power iteration stays below L. */
static void rayleigh(const otk_bilevel_instance *in, const double *theta,
                     int zero_mean, unsigned long long seed)
{
    const otk_bilevel_problem *pb = &in->problem;
    const size_t n = pb->n;
    double *x = calloc(n, sizeof *x), *v = malloc(n * sizeof *v);
    double *av = malloc(n * sizeof *av);
    ck_assert(x && v && av);
    unsigned long long st = seed;
    double mu, L;
    bt_rayleigh_random(in, theta, 0.02, 0.2, &st, &mu, &L);
    if (zero_mean)
        bt_constant_attains_mu(in, theta, mu, 1e-10);
    bt_randomize(v, n, -1, 1, &st);
    double lmax = bt_power_hvp(pb, theta, x, v, av, 300);
    ck_assert_msg(lmax <= L * (1 + 1e-12), "lambda_max %g > L %g", lmax, L);
    /* ||C_k|| <= ||c_k||_1 is the only slack: not absurdly loose */
    ck_assert_msg(lmax >= 0.1 * L, "lambda_max %g << L %g", lmax, L);
    free(x);
    free(v);
    free(av);
}

START_TEST(constants_bound_the_hessian)
{
    double *img = bt_images(2, 12, 13, 8);
    otk_bilevel_instance in = foe(img, 2, 12, 13, 0.1, 3, 3, 22);
    double *theta = perturbed(&in, 3, 3);
    rayleigh(&in, in.theta0, 1, 100);
    rayleigh(&in, theta, 0, 101);
    free(theta);
    otk_bilevel_instance_free(&in);
    free(img);
}
END_TEST

/* Difference quotients of B^T v and A v in x stay below L_B and L_A =
 * L_Ainv mu^2 (L_B needs one point in the box ||x||_inf <= ||y||_inf + ...,
 * which [0, 1] images are); cross_norm lies above ||B||_2 and ||B||_F,
 * with B's rows read off cross_t at unit vectors. */
static void omega_constants(const otk_bilevel_instance *in, size_t K,
                            const double *theta, unsigned long long seed)
{
    const otk_bilevel_problem *pb = &in->problem;
    const size_t n = pb->n, p = pb->p;
    double *x = malloc(n * sizeof *x), *x2 = malloc(n * sizeof *x2);
    double *v = malloc(n * sizeof *v);
    ck_assert(x && x2 && v);
    double mu, L, L_B, L_Ainv;
    ck_assert_int_eq(pb->ll_constants(pb->user, theta, &mu, &L), 0);
    ck_assert_int_eq(pb->lipschitz(pb->user, theta, &L_B, &L_Ainv), 0);
    ck_assert(isfinite(L_B) && L_B > 0 && isfinite(L_Ainv) && L_Ainv > 0);
    const double L_A = L_Ainv * mu * mu;
    unsigned long long st = seed;
    double worst_B = 0, worst_A = 0;
    for (int k = 0; k < 100; k++) {
        /* x2 in [0, 1]; steps from tiny (where the local derivative
         * rules) to large */
        double step = pow(10.0, -3.0 * test_uniform(&st));
        if (k % 3 == 0) {
            for (size_t i = 0; i < n; i++)
                x2[i] = in->clean[i];
        } else {
            bt_randomize(x2, n, 0, 1, &st);
        }
        for (size_t i = 0; i < n; i++)
            x[i] = x2[i] + step * (test_uniform(&st) - 0.5);
        bt_randomize(v, n, -1, 1, &st);
        double qB, qA;
        bt_quotients(pb, theta, x, x2, v, &qB, &qA);
        worst_B = fmax(worst_B, qB);
        worst_A = fmax(worst_A, qA);
    }
    ck_assert_msg(worst_B <= L_B, "B quotient %g > L_B %g", worst_B, L_B);
    ck_assert_msg(worst_A <= L_A, "A quotient %g > L_A %g", worst_A, L_A);

    /* at the noisy data, and at a high-contrast x where |u| >> nu and
     * phi'' ~ 0: the tap columns are then ~ a S_ab^T phi'(u), whose
     * bound is exact, so cross_norm must be close to ||B||_F */
    double fro, l2n, nb;
    memcpy(x, in->noisy, n * sizeof *x);
    bt_b_norms(pb, theta, x, &fro, &l2n);
    ck_assert_int_eq(pb->cross_norm(pb->user, theta, x, &nb), 0);
    ck_assert_msg(nb >= fro * (1 - 1e-12) && fro >= l2n * (1 - 1e-12),
                  "cross_norm %g, ||B||_2 %g, ||B||_F %g", nb, l2n, fro);
    /* the tap columns are bounded, not formed: a modest factor */
    ck_assert_msg(nb <= 10 * fro, "cross_norm %g >> ||B||_F %g", nb, fro);
    fprintf(stderr,
            "foe: B quotient / L_B = %.3g, A quotient / L_A = %.3g, "
            "cross_norm / ||B||_F = %.3g, ||B||_F / ||B||_2 = %.3g\n",
            worst_B / L_B, worst_A / L_A, nb / fro, fro / l2n);
    /* tiny nu: |u| >> nu and phi'' ~ 0 at (nearly) every output */
    double *tn = malloc(p * sizeof *tn);
    ck_assert_ptr_nonnull(tn);
    memcpy(tn, theta, p * sizeof *tn);
    for (size_t k = 0; k < K; k++)
        tn[1 + K + k] = -14;
    bt_randomize(x, n, 0, 1, &st);
    bt_b_norms(pb, tn, x, &fro, &l2n);
    ck_assert_int_eq(pb->cross_norm(pb->user, tn, x, &nb), 0);
    ck_assert_msg(nb >= fro * (1 - 1e-12) && nb <= 1.01 * fro,
                  "tiny nu: cross_norm %g, ||B||_F %g", nb, fro);
    free(tn);
    free(x);
    free(x2);
    free(v);
}

START_TEST(omega_constants_are_certified)
{
    double *img = bt_images(2, 10, 11, 2);
    otk_bilevel_instance in = foe(img, 2, 10, 11, 0.1, 2, 3, 32);
    double *theta = perturbed(&in, 2, 9);
    omega_constants(&in, 2, in.theta0, 1);
    omega_constants(&in, 2, theta, 2);
    free(theta);
    otk_bilevel_instance_free(&in);
    free(img);
}
END_TEST

/* Near-worst cases, so that a constant too large is caught as well. One
 * filter with zero-mean taps c maps the ramp x'(i, j) = alpha i + beta j
 * + const to a constant; alpha, beta are chosen to make it nu/2, where
 * |phi'''| peaks, and const puts x' just inside the box ||x||_inf <=
 * ||y||_inf of L_B.
 * B: a step along the top singular vector d of C changes all s^2 tap
 *    columns alike (S_ab x' is nearly constant), ~ a c3/nu^2 C^T C d
 *    .* x', so ||dB^T d|| approaches s a (c3/nu^2) ||C||^2 ||x'||_inf,
 *    the dominant term of L_B up to ||C||^2 <= ||c||_1^2.
 * A: a step along the window pattern d = c/||c||_2 at one output moves
 *    that output by ||c||_2 and A by ~ a (c3/nu^2) ||c||_2^3 along d,
 *    against L_A = a (c3/nu^2) ||c||_1^2 ||c||_2 (||c||_1^2 ~ 0.6 s^2
 *    ||c||_2^2 for random taps). */
START_TEST(omega_constants_near_worst_case)
{
    const size_t R = 14, C = 14, s = 3, n = R * C;
    double *img = bt_images(1, R, C, 6);
    /* seed 46: taps with a large first moment, so a gentle ramp will do */
    otk_bilevel_instance in = foe(img, 1, R, C, 0.1, 1, s, 46);
    const otk_bilevel_problem *pb = &in.problem;
    const double *theta = in.theta0, *c = theta + 3, nu = exp(theta[2]);
    double *x = malloc(n * sizeof *x), *x2 = malloc(n * sizeof *x2);
    double *d = malloc(n * sizeof *d), *ad = malloc(n * sizeof *ad);
    ck_assert(x && x2 && d && ad && pb->p == 12);
    double mu, L, L_B, L_Ainv, ymax = 0, ma = 0, mb = 0, c2 = 0;
    ck_assert_int_eq(pb->ll_constants(pb->user, theta, &mu, &L), 0);
    ck_assert_int_eq(pb->lipschitz(pb->user, theta, &L_B, &L_Ainv), 0);
    const double L_A = L_Ainv * mu * mu;
    for (size_t i = 0; i < n; i++)
        ymax = fmax(ymax, fabs(in.noisy[i]));
    for (size_t a = 0; a < s; a++)
        for (size_t b = 0; b < s; b++) {
            ma += c[a * s + b] * (double)a;
            mb += c[a * s + b] * (double)b;
            c2 += c[a * s + b] * c[a * s + b];
        }
    const double alpha = 0.5 * nu * ma / (ma * ma + mb * mb);
    const double beta = 0.5 * nu * mb / (ma * ma + mb * mb);
    const double rmax = (fabs(alpha) + fabs(beta)) * 0.5 * (double)(R - 1);
    ck_assert(rmax < 0.25 * ymax);
    for (size_t i = 0; i < R; i++)
        for (size_t j = 0; j < C; j++)
            x2[i * C + j] = ymax - rmax + alpha * ((double)i - 0.5 * (R - 1)) +
                            beta * ((double)j - 0.5 * (C - 1));
    /* C x' = nu/2: the first output, straight from the taps */
    double u0 = 0;
    for (size_t a = 0; a < s; a++)
        for (size_t b = 0; b < s; b++)
            u0 += c[a * s + b] * x2[a * C + b];
    assert_close("C x' = nu/2", u0, 0.5 * nu, 1e-9, 0);

    /* d: the top eigenvector of A(0) = I + (a/nu) C^T C */
    unsigned long long st = 3;
    memset(x, 0, n * sizeof *x);
    bt_randomize(d, n, -1, 1, &st);
    bt_power_hvp(pb, theta, x, d, ad, 400);
    double nd = sqrt(bt_dot(d, d, n));
    for (size_t i = 0; i < n; i++)
        d[i] /= nd;
    const double eps = 1e-4 * nu;
    for (size_t i = 0; i < n; i++)
        x[i] = x2[i] + eps * d[i];
    double qB, qA;
    bt_quotients(pb, theta, x, x2, d, &qB, NULL);

    /* the window pattern at output (5, 5) */
    memset(d, 0, n * sizeof *d);
    for (size_t a = 0; a < s; a++)
        for (size_t b = 0; b < s; b++)
            d[(5 + a) * C + 5 + b] = c[a * s + b] / sqrt(c2);
    for (size_t i = 0; i < n; i++)
        x[i] = x2[i] + eps * d[i];
    bt_quotients(pb, theta, x, x2, d, NULL, &qA);
    fprintf(stderr, "foe near-worst: B quotient / L_B = %.3g, A / L_A = %.3g\n",
            qB / L_B, qA / L_A);
    ck_assert_msg(qB <= L_B && qB >= 0.3 * L_B, "B quotient %g vs L_B %g", qB,
                  L_B);
    ck_assert_msg(qA <= L_A && qA >= 0.1 * L_A, "A quotient %g vs L_A %g", qA,
                  L_A);
    free(x);
    free(x2);
    free(d);
    free(ad);
    otk_bilevel_instance_free(&in);
    free(img);
}
END_TEST

START_TEST(data_are_seeded)
{
    const size_t N = 3, R = 8, C = 9, n = N * R * C, K = 4, s = 3;
    const size_t p = 1 + 2 * K + K * s * s;
    double *img = bt_images(N, R, C, 4);
    otk_bilevel_instance a = foe(img, N, R, C, 0.1, K, s, 5);
    otk_bilevel_instance b = foe(img, N, R, C, 0.1, K, s, 5);
    otk_bilevel_instance c = foe(img, N, R, C, 0.1, K, s, 6);
    otk_bilevel_instance z = foe(img, N, R, C, 0.0, K, s, 5);
    ck_assert_mem_eq(a.noisy, b.noisy, n * sizeof(double));
    ck_assert_mem_eq(a.theta0, b.theta0, p * sizeof(double));
    ck_assert(memcmp(a.noisy, c.noisy, n * sizeof(double)) != 0);
    ck_assert(memcmp(a.theta0, c.theta0, p * sizeof(double)) != 0);
    ck_assert_mem_eq(z.clean, z.noisy, n * sizeof(double));
    /* the taps come after the noise: the noise level leaves them alone */
    ck_assert_mem_eq(a.theta0, z.theta0, p * sizeof(double));
    /* the same noisy images as tv2d with the same seed */
    otk_bilevel_instance t;
    ck_assert_int_eq(otk_bilevel_tv2d_create(img, N, R, C, 0.1, 5, &t),
                     OTK_CONVERGED);
    ck_assert_mem_eq(a.noisy, t.noisy, n * sizeof(double));
    otk_bilevel_instance_free(&t);
    otk_bilevel_instance_free(&a);
    otk_bilevel_instance_free(&b);
    otk_bilevel_instance_free(&c);
    otk_bilevel_instance_free(&z);
    free(img);

    /* Xavier-normal, std 1/s, minus the filter mean: the sample variance
     * of K s^2 = 200 taps is (1 - 1/s^2) / s^2 within a few percent */
    double *big = bt_images(1, 16, 16, 1);
    otk_bilevel_instance f = foe(big, 1, 16, 16, 0.1, 8, 5, 7);
    const double *taps = f.theta0 + 1 + 16;
    double var = 0;
    for (size_t j = 0; j < 200; j++)
        var += taps[j] * taps[j] / 200;
    double expect = (1 - 1.0 / 25) / 25;
    ck_assert_msg(fabs(var / expect - 1) < 0.3, "tap variance %g vs %g", var,
                  expect);
    otk_bilevel_instance_free(&f);
    free(big);
}
END_TEST

START_TEST(bad_inputs_are_rejected)
{
    otk_bilevel_instance in;
    double img[4 * 5];
    for (size_t i = 0; i < 20; i++)
        img[i] = 0.5;
    ck_assert_int_eq(otk_bilevel_foe_create(img, 1, 4, 5, 0.1, 2, 3, 1, NULL),
                     OTK_ERR_INVALID_ARGUMENT);
    const struct {
        const double *images;
        size_t count, rows, cols;
        double noise;
        size_t K, s;
    } bad[] = {
        {NULL, 1, 4, 5, 0.1, 2, 3},
        {img, 0, 4, 5, 0.1, 2, 3},
        {img, 1, 4, 5, 0.1, 0, 3},
        {img, 1, 4, 5, 0.1, 2, 1},
        {img, 1, 4, 5, 0.1, 2, 0},
        {img, 1, 4, 5, 0.1, 2, 5}, /* filter taller than the image */
        {img, 1, 5, 4, 0.1, 2, 5}, /* wider */
        {img, 1, 1, 5, 0.1, 2, 3},
        {img, 1, 0, 0, 0.1, 2, 2},
        {img, 1, 4, 5, -1.0, 2, 3},
        {img, 1, 4, 5, NAN, 2, 3},
        {img, 1, 4, 5, INFINITY, 2, 3},
        {img, SIZE_MAX, 4, 5, 0.1, 2, 3},
        {img, 2, SIZE_MAX / 2, 2, 0.1, 2, 2},
        {img, 1, 4, 5, 0.1, SIZE_MAX, 3},
        {img, 1, 4, 5, 0.1, SIZE_MAX / 10, 3},
    };
    /* each create gets garbage, which it must overwrite */
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        bt_expect_failure(otk_bilevel_foe_create(bad[k].images, bad[k].count,
                                                 bad[k].rows, bad[k].cols,
                                                 bad[k].noise, bad[k].K,
                                                 bad[k].s, 1, bt_garbage(&in)),
                          OTK_ERR_INVALID_ARGUMENT, &in, k);
    for (size_t k = 0; k < BT_BAD_PIXELS; k++) {
        img[7] = bt_bad_pixels[k];
        bt_expect_failure(
            otk_bilevel_foe_create(img, 1, 4, 5, 0.1, 2, 3, 1, bt_garbage(&in)),
            OTK_ERR_INVALID_INPUT, &in, k);
    }
    /* the ends of [0, 1] are valid, and so is a filter as large as the
     * image */
    img[7] = 0.0;
    img[8] = 1.0;
    ck_assert_int_eq(otk_bilevel_foe_create(img, 1, 4, 5, 0.0, 1, 4, 1, &in),
                     OTK_CONVERGED);
    ck_assert_uint_eq(in.problem.p, 1 + 2 + 16);
    otk_bilevel_instance_free(&in);
}
END_TEST

/* theta outside the representable range makes the callbacks fail. */
START_TEST(unrepresentable_theta_is_reported)
{
    double *img = bt_images(1, 6, 6, 1);
    otk_bilevel_instance in = foe(img, 1, 6, 6, 0.1, 2, 3, 1);
    const size_t p = in.problem.p;
    double *t = malloc(p * sizeof *t);
    ck_assert_ptr_nonnull(t);
    const struct {
        size_t at;
        double value;
    } bad[] = {{0, NAN},      {0, 800},           {1, NAN},      {2, 800},
               {3, NAN},      {3, -1000},         {4, 400},      {5, NAN},
               {5, INFINITY}, {p - 1, -INFINITY}, {p - 1, 1e300}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        memcpy(t, in.theta0, p * sizeof *t);
        t[bad[k].at] = bad[k].value;
        bt_expect_callbacks_fail(&in, t);
    }
    /* a weight underflowing to 0 is fine: plain denoising */
    memcpy(t, in.theta0, p * sizeof *t);
    t[0] = -800;
    bt_expect_plain_denoising(&in, t, "L at scale 0");
    free(t);
    otk_bilevel_instance_free(&in);
    free(img);
}
END_TEST

START_TEST(free_is_safe)
{
    double *img = bt_images(1, 4, 4, 1);
    otk_bilevel_instance in = foe(img, 1, 4, 4, 0.1, 1, 2, 1);
    otk_bilevel_instance_free(&in);
    otk_bilevel_instance_free(&in); /* free leaves it empty */
    ck_assert_ptr_null(in.data);
    free(img);
}
END_TEST

/* End to end: MAID with the default settings on a tiny problem lowers the
 * upper loss well below f(theta0) (computed from an accurate lower
 * solve) and denoises. The default first step is HOAG's sqrt(p) /
 * ||z_0||; a trial beyond it whose lower level cannot be solved within
 * the cap is rejected, not a stall. */
START_TEST(maid_lowers_the_loss)
{
    double *img = bt_images(2, 12, 12, 5);
    otk_bilevel_instance in = foe(img, 2, 12, 12, 0.1, 2, 3, 3);
    const otk_bilevel_problem *pb = &in.problem;
    const size_t n = pb->n, p = pb->p;
    double *theta = malloc(p * sizeof *theta), *x = malloc(n * sizeof *x);
    double *q = malloc(n * sizeof *q), *z = malloc(p * sizeof *z);
    ck_assert(theta && x && q && z);
    memcpy(x, in.x0, n * sizeof *x);
    ck_assert_int_eq(otk_bilevel_hypergradient(pb, NULL, in.theta0, 1e-10, 1e-6,
                                               x, q, z, NULL),
                     OTK_CONVERGED);
    double f0;
    ck_assert_int_eq(pb->upper(pb->user, x, &f0, NULL), 0);

    memcpy(theta, in.theta0, p * sizeof *theta);
    memcpy(x, in.x0, n * sizeof *x);
    otk_bilevel_settings s;
    otk_bilevel_default_settings(&s);
    s.max_iter = 80;
    otk_bilevel_info info;
    otk_status st = otk_bilevel_solve(pb, &s, theta, x, &info);
    double psnr = otk_bilevel_psnr(x, in.clean, n);
    double psnr0 = otk_bilevel_psnr(in.noisy, in.clean, n);
    fprintf(stderr,
            "foe MAID: %s (%s), f %.5g -> %.5g, %zu accepted of %zu, "
            "PSNR %.2f (noisy %.2f)\n",
            otk_status_name(st), info.outcome.cause ? info.outcome.cause : "",
            f0, info.upper_loss, info.accepted, info.iterations, psnr, psnr0);
    bt_expect_run(st, &info);
    /* x is the lower solution at theta to accuracy info.eps, so f(theta)
     * <= g + ||grad g|| eps + L_g eps^2 / 2, with N = 2: ||grad g|| =
     * sqrt(g), L_g = 1/2 */
    const double g1 = info.upper_loss, e1 = info.eps;
    double f1_upper = g1 + sqrt(g1) * e1 + 0.25 * e1 * e1;
    ck_assert_msg(f1_upper < 0.9 * f0, "upper loss %g from f(theta0) = %g",
                  info.upper_loss, f0);
    ck_assert_double_gt(psnr, psnr0 + 1);
    free(theta);
    free(x);
    free(q);
    free(z);
    otk_bilevel_instance_free(&in);
    free(img);
}
END_TEST

static Suite *bilevel_foe_suite(void)
{
    Suite *s = suite_create("bilevel_foe");
    TCase *tc = tcase_create("bilevel_foe");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, formulas_match_the_header);
    tcase_add_test(tc, derivatives);
    tcase_add_test(tc, constants_bound_the_hessian);
    tcase_add_test(tc, omega_constants_are_certified);
    tcase_add_test(tc, omega_constants_near_worst_case);
    tcase_add_test(tc, data_are_seeded);
    tcase_add_test(tc, bad_inputs_are_rejected);
    tcase_add_test(tc, unrepresentable_theta_is_reported);
    tcase_add_test(tc, free_is_safe);
    suite_add_tcase(s, tc);
    TCase *e2e = tcase_create("end_to_end");
    tcase_set_timeout(e2e, 120);
    tcase_add_test(e2e, maid_lowers_the_loss);
    suite_add_tcase(s, e2e);
    return s;
}

int main(void) { return run_suite(bilevel_foe_suite()); }
