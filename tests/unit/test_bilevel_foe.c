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

#include "bilevel_fd.h"
#include "testutil.h"

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void randomize(double *v, size_t n, double lo, double hi,
                      unsigned long long *state)
{
    for (size_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * test_uniform(state);
}

/* Piecewise-constant test images in [0.3, 0.75] with a little texture
 * (as in test_bilevel_tv.c). */
static double *make_images(size_t count, size_t rows, size_t cols,
                           unsigned long long seed)
{
    double *img = malloc(count * rows * cols * sizeof *img);
    ck_assert_ptr_nonnull(img);
    unsigned long long st = seed;
    for (size_t k = 0; k < count; k++)
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++) {
                int inside = r >= rows / 4 + k % 2 && r < 3 * rows / 4 &&
                             c >= cols / 3 && c < cols - k % 3;
                img[(k * rows + r) * cols + c] =
                    (inside ? 0.65 : 0.3) + 0.1 * test_uniform(&st);
            }
    return img;
}

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
    double *img = make_images(N, R, C, 9);
    otk_bilevel_instance in = foe(img, N, R, C, 0.1, K, s, 4);
    const otk_bilevel_problem *pb = &in.problem;
    ck_assert_uint_eq(pb->n, n);
    ck_assert_uint_eq(pb->p, 1 + 2 * K + K * s * s);
    ck_assert_uint_eq(in.images, N);
    ck_assert_uint_eq(in.rows, R);
    ck_assert_uint_eq(in.cols, C);
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
    for (size_t i = 0; i < n; i++)
        ck_assert_double_eq(in.x0[i], 0.0);
    ck_assert(isnan(in.f_star));
    ck_assert_ptr_null(in.theta_star);
    ck_assert_ptr_null(pb->ll_solve);
    ck_assert_double_eq(pb->L_g, 0.5);
    ck_assert_int_eq(pb->g_convex, 1);

    unsigned long long st = 5;
    double *x = malloc(n * sizeof *x), *theta = malloc(pb->p * sizeof *theta);
    ck_assert(x && theta);
    randomize(x, n, -0.2, 1.2, &st);
    randomize(theta, pb->p, -1.0, 1.0, &st);
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
    double ref = 0;
    for (size_t i = 0; i < n; i++)
        ref += (x[i] - in.clean[i]) * (x[i] - in.clean[i]);
    assert_close("g", g, ref / 4, 1e-13, 0);
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
    double scale = sqrt(dot(btq, btq, p));
    const double t = 1e-6;
    memcpy(ts, theta, p * sizeof *ts);
    for (size_t j = 0; j < p; j++) {
        ts[j] = theta[j] + t;
        ck_assert_int_eq(pb->ll_grad(pb->user, ts, x, g1), 0);
        ts[j] = theta[j] - t;
        ck_assert_int_eq(pb->ll_grad(pb->user, ts, x, g2), 0);
        ts[j] = theta[j];
        double fd = (dot(g1, q, n) - dot(g2, q, n)) / (2 * t);
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

START_TEST(derivatives)
{
    /* rows != cols and s not dividing them, so that an index mix-up shows */
    const size_t N = 2, R = 9, C = 11, K = 3, s = 3;
    double *img = make_images(N, R, C, 3);
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
        randomize(q, n, -1, 1, &st);
        cross_t_by_coordinate(pb, th, x, q);
        for (size_t i = 0; i < n; i++)
            x[i] = in.clean[i] + 0.01 * (test_uniform(&st) - 0.5);
        bilevel_fd_check(pb, th, x, 1e-6, 1e-5, 3);
        cross_t_by_coordinate(pb, th, x, q);
    }
    otk_bilevel_instance_free(&in);

    /* an even filter size */
    otk_bilevel_instance e = foe(img, N, R, C, 0.1, 2, 4, 14);
    memcpy(x, e.noisy, n * sizeof *x);
    bilevel_fd_check(&e.problem, e.theta0, x, 1e-6, 1e-5, 3);
    randomize(q, n, -1, 1, &st);
    cross_t_by_coordinate(&e.problem, e.theta0, x, q);
    otk_bilevel_instance_free(&e);

    /* a filter as large as the image: one output per image */
    otk_bilevel_instance b = foe(img, N, R, C, 0.1, 2, R, 13);
    memcpy(x, b.noisy, n * sizeof *x);
    bilevel_fd_check(&b.problem, b.theta0, x, 1e-6, 1e-5, 3);
    randomize(q, n, -1, 1, &st);
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
    double *x = malloc(n * sizeof *x), *v = malloc(n * sizeof *v);
    double *av = malloc(n * sizeof *av);
    ck_assert(x && v && av);
    unsigned long long st = seed;
    double mu, L;
    ck_assert_int_eq(pb->ll_constants(pb->user, theta, &mu, &L), 0);
    ck_assert_double_gt(mu, 0);
    ck_assert_double_ge(L, mu);
    for (int k = 0; k < 20; k++) {
        double scale = k % 2 ? 0.2 : 0.02;
        for (size_t i = 0; i < n; i++)
            x[i] = in->noisy[i] + scale * (test_uniform(&st) - 0.5);
        randomize(v, n, -1, 1, &st);
        ck_assert_int_eq(pb->ll_hvp(pb->user, theta, x, v, av), 0);
        double rq = dot(v, av, n) / dot(v, v, n);
        ck_assert_msg(rq >= mu * (1 - 1e-12) && rq <= L * (1 + 1e-12),
                      "Rayleigh quotient %g outside [%g, %g]", rq, mu, L);
    }
    if (zero_mean) {
        for (size_t i = 0; i < n; i++)
            v[i] = 1.0;
        ck_assert_int_eq(pb->ll_hvp(pb->user, theta, in->noisy, v, av), 0);
        assert_close("constant v attains mu", dot(v, av, n) / dot(v, v, n), mu,
                     1e-10, 0);
    }
    memset(x, 0, n * sizeof *x);
    randomize(v, n, -1, 1, &st);
    double lmax = 0;
    for (int it = 0; it < 300; it++) {
        double nv = sqrt(dot(v, v, n));
        for (size_t i = 0; i < n; i++)
            v[i] /= nv;
        ck_assert_int_eq(pb->ll_hvp(pb->user, theta, x, v, av), 0);
        lmax = dot(v, av, n);
        memcpy(v, av, n * sizeof *v);
    }
    ck_assert_msg(lmax <= L * (1 + 1e-12), "lambda_max %g > L %g", lmax, L);
    /* ||C_k|| <= ||c_k||_1 is the only slack: not absurdly loose */
    ck_assert_msg(lmax >= 0.1 * L, "lambda_max %g << L %g", lmax, L);
    free(x);
    free(v);
    free(av);
}

START_TEST(constants_bound_the_hessian)
{
    double *img = make_images(2, 12, 13, 8);
    otk_bilevel_instance in = foe(img, 2, 12, 13, 0.1, 3, 3, 22);
    const size_t p = in.problem.p;
    double *theta = malloc(p * sizeof *theta);
    ck_assert_ptr_nonnull(theta);
    unsigned long long st = 3;
    rayleigh(&in, in.theta0, 1, 100);
    perturb_theta(in.theta0, theta, p, 3, &st);
    rayleigh(&in, theta, 0, 101);
    free(theta);
    otk_bilevel_instance_free(&in);
    free(img);
}
END_TEST

/* ||B||_F and ||B||_2 at (theta, x), from G = B^T B summed over the rows
 * B^T e_i; ||B||_2^2 = lambda_max(G) by power iteration (from below). */
static void b_norms(const otk_bilevel_problem *pb, const double *theta,
                    const double *x, double *fro, double *l2n)
{
    const size_t n = pb->n, p = pb->p;
    double *v = calloc(n, sizeof *v), *row = malloc(p * sizeof *row);
    double *G = calloc(p * p, sizeof *G), *e = malloc(p * sizeof *e);
    double *ge = malloc(p * sizeof *ge);
    ck_assert(v && row && G && e && ge);
    for (size_t i = 0; i < n; i++) {
        v[i] = 1;
        ck_assert_int_eq(pb->cross_t(pb->user, theta, x, v, row), 0);
        for (size_t a = 0; a < p; a++)
            for (size_t b = 0; b < p; b++)
                G[a * p + b] += row[a] * row[b];
        v[i] = 0;
    }
    double tr = 0, lmax = 0;
    for (size_t a = 0; a < p; a++) {
        tr += G[a * p + a];
        e[a] = 1;
    }
    for (int it = 0; it < 500; it++) {
        for (size_t a = 0; a < p; a++) {
            ge[a] = 0;
            for (size_t b = 0; b < p; b++)
                ge[a] += G[a * p + b] * e[b];
        }
        lmax = dot(e, ge, p) / dot(e, e, p);
        double ne = sqrt(dot(ge, ge, p));
        for (size_t a = 0; a < p; a++)
            e[a] = ge[a] / ne;
    }
    *fro = sqrt(tr);
    *l2n = sqrt(lmax);
    free(v);
    free(row);
    free(G);
    free(e);
    free(ge);
}

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
    double *v = malloc(n * sizeof *v), *a1 = malloc(n * sizeof *a1);
    double *a2 = malloc(n * sizeof *a2), *b1 = malloc(p * sizeof *b1);
    double *b2 = malloc(p * sizeof *b2);
    ck_assert(x && x2 && v && a1 && a2 && b1 && b2);
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
            randomize(x2, n, 0, 1, &st);
        }
        for (size_t i = 0; i < n; i++)
            x[i] = x2[i] + step * (test_uniform(&st) - 0.5);
        randomize(v, n, -1, 1, &st);
        double dx = 0;
        for (size_t i = 0; i < n; i++)
            dx += (x[i] - x2[i]) * (x[i] - x2[i]);
        dx = sqrt(dx);
        double nv = sqrt(dot(v, v, n));
        ck_assert_int_eq(pb->cross_t(pb->user, theta, x, v, b1), 0);
        ck_assert_int_eq(pb->cross_t(pb->user, theta, x2, v, b2), 0);
        double db = 0;
        for (size_t j = 0; j < p; j++)
            db += (b1[j] - b2[j]) * (b1[j] - b2[j]);
        worst_B = fmax(worst_B, sqrt(db) / (dx * nv));
        ck_assert_int_eq(pb->ll_hvp(pb->user, theta, x, v, a1), 0);
        ck_assert_int_eq(pb->ll_hvp(pb->user, theta, x2, v, a2), 0);
        double da = 0;
        for (size_t i = 0; i < n; i++)
            da += (a1[i] - a2[i]) * (a1[i] - a2[i]);
        worst_A = fmax(worst_A, sqrt(da) / (dx * nv));
    }
    ck_assert_msg(worst_B <= L_B, "B quotient %g > L_B %g", worst_B, L_B);
    ck_assert_msg(worst_A <= L_A, "A quotient %g > L_A %g", worst_A, L_A);

    /* at the noisy data, and at a high-contrast x where |u| >> nu and
     * phi'' ~ 0: the tap columns are then ~ a S_ab^T phi'(u), whose
     * bound is exact, so cross_norm must be close to ||B||_F */
    double fro, l2n, nb;
    memcpy(x, in->noisy, n * sizeof *x);
    b_norms(pb, theta, x, &fro, &l2n);
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
    randomize(x, n, 0, 1, &st);
    b_norms(pb, tn, x, &fro, &l2n);
    ck_assert_int_eq(pb->cross_norm(pb->user, tn, x, &nb), 0);
    ck_assert_msg(nb >= fro * (1 - 1e-12) && nb <= 1.01 * fro,
                  "tiny nu: cross_norm %g, ||B||_F %g", nb, fro);
    free(tn);
    free(x);
    free(x2);
    free(v);
    free(a1);
    free(a2);
    free(b1);
    free(b2);
}

START_TEST(omega_constants_are_certified)
{
    double *img = make_images(2, 10, 11, 2);
    otk_bilevel_instance in = foe(img, 2, 10, 11, 0.1, 2, 3, 32);
    const size_t p = in.problem.p;
    double *theta = malloc(p * sizeof *theta);
    ck_assert_ptr_nonnull(theta);
    omega_constants(&in, 2, in.theta0, 1);
    unsigned long long st = 9;
    perturb_theta(in.theta0, theta, p, 2, &st);
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
    double *img = make_images(1, R, C, 6);
    /* seed 46: taps with a large first moment, so a gentle ramp will do */
    otk_bilevel_instance in = foe(img, 1, R, C, 0.1, 1, s, 46);
    const otk_bilevel_problem *pb = &in.problem;
    const double *theta = in.theta0, *c = theta + 3, nu = exp(theta[2]);
    double *x = malloc(n * sizeof *x), *x2 = malloc(n * sizeof *x2);
    double *d = malloc(n * sizeof *d), *a1 = malloc(n * sizeof *a1);
    double *a2 = malloc(n * sizeof *a2), b1[12], b2[12];
    ck_assert(x && x2 && d && a1 && a2 && pb->p == 12);
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
    randomize(d, n, -1, 1, &st);
    for (int it = 0; it < 400; it++) {
        double nd = sqrt(dot(d, d, n));
        for (size_t i = 0; i < n; i++)
            d[i] /= nd;
        ck_assert_int_eq(pb->ll_hvp(pb->user, theta, x, d, a1), 0);
        memcpy(d, a1, n * sizeof *d);
    }
    double nd = sqrt(dot(d, d, n));
    for (size_t i = 0; i < n; i++)
        d[i] /= nd;
    const double eps = 1e-4 * nu;
    for (size_t i = 0; i < n; i++)
        x[i] = x2[i] + eps * d[i];
    ck_assert_int_eq(pb->cross_t(pb->user, theta, x, d, b1), 0);
    ck_assert_int_eq(pb->cross_t(pb->user, theta, x2, d, b2), 0);
    double db = 0;
    for (size_t j = 0; j < 12; j++)
        db += (b1[j] - b2[j]) * (b1[j] - b2[j]);
    const double qB = sqrt(db) / eps;

    /* the window pattern at output (5, 5) */
    memset(d, 0, n * sizeof *d);
    for (size_t a = 0; a < s; a++)
        for (size_t b = 0; b < s; b++)
            d[(5 + a) * C + 5 + b] = c[a * s + b] / sqrt(c2);
    for (size_t i = 0; i < n; i++)
        x[i] = x2[i] + eps * d[i];
    ck_assert_int_eq(pb->ll_hvp(pb->user, theta, x, d, a1), 0);
    ck_assert_int_eq(pb->ll_hvp(pb->user, theta, x2, d, a2), 0);
    double da = 0;
    for (size_t i = 0; i < n; i++)
        da += (a1[i] - a2[i]) * (a1[i] - a2[i]);
    const double qA = sqrt(da) / eps;
    fprintf(stderr, "foe near-worst: B quotient / L_B = %.3g, A / L_A = %.3g\n",
            qB / L_B, qA / L_A);
    ck_assert_msg(qB <= L_B && qB >= 0.3 * L_B, "B quotient %g vs L_B %g", qB,
                  L_B);
    ck_assert_msg(qA <= L_A && qA >= 0.1 * L_A, "A quotient %g vs L_A %g", qA,
                  L_A);
    free(x);
    free(x2);
    free(d);
    free(a1);
    free(a2);
    otk_bilevel_instance_free(&in);
    free(img);
}
END_TEST

START_TEST(data_are_seeded)
{
    const size_t N = 3, R = 8, C = 9, n = N * R * C, K = 4, s = 3;
    const size_t p = 1 + 2 * K + K * s * s;
    double *img = make_images(N, R, C, 4);
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
    double *big = make_images(1, 16, 16, 1);
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

static void expect_empty(otk_bilevel_instance *in)
{
    ck_assert_ptr_null(in->data);
    ck_assert_ptr_null(in->theta0);
    ck_assert_ptr_null(in->x0);
    ck_assert_ptr_null(in->clean);
    otk_bilevel_instance_free(in); /* must be harmless */
}

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
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        memset(&in, 0xab, sizeof in); /* garbage: must be overwritten */
        ck_assert_msg(otk_bilevel_foe_create(
                          bad[k].images, bad[k].count, bad[k].rows, bad[k].cols,
                          bad[k].noise, bad[k].K, bad[k].s, 1,
                          &in) == OTK_ERR_INVALID_ARGUMENT,
                      "case %zu accepted", k);
        expect_empty(&in);
    }
    const double pixels[] = {NAN, INFINITY, -INFINITY, -0.01, 1.01};
    for (size_t k = 0; k < sizeof pixels / sizeof pixels[0]; k++) {
        img[7] = pixels[k];
        memset(&in, 0xab, sizeof in);
        ck_assert_int_eq(
            otk_bilevel_foe_create(img, 1, 4, 5, 0.1, 2, 3, 1, &in),
            OTK_ERR_INVALID_INPUT);
        expect_empty(&in);
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
    double *img = make_images(1, 6, 6, 1);
    otk_bilevel_instance in = foe(img, 1, 6, 6, 0.1, 2, 3, 1);
    const otk_bilevel_problem *pb = &in.problem;
    const size_t p = pb->p, n = pb->n;
    double *t = malloc(p * sizeof *t), *out = malloc((n + p) * sizeof *out);
    ck_assert(t && out);
    double h, mu, L, nb, lb, la;
    const struct {
        size_t at;
        double value;
    } bad[] = {{0, NAN},      {0, 800},           {1, NAN},      {2, 800},
               {3, NAN},      {3, -1000},         {4, 400},      {5, NAN},
               {5, INFINITY}, {p - 1, -INFINITY}, {p - 1, 1e300}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        memcpy(t, in.theta0, p * sizeof *t);
        t[bad[k].at] = bad[k].value;
        ck_assert_int_ne(pb->ll_grad(pb->user, t, in.noisy, out), 0);
        ck_assert_int_ne(pb->ll_hvp(pb->user, t, in.noisy, in.noisy, out), 0);
        ck_assert_int_ne(pb->cross_t(pb->user, t, in.noisy, in.noisy, out), 0);
        ck_assert_int_ne(pb->ll_value(pb->user, t, in.noisy, &h), 0);
        ck_assert_int_ne(pb->ll_constants(pb->user, t, &mu, &L), 0);
        ck_assert_int_ne(pb->cross_norm(pb->user, t, in.noisy, &nb), 0);
        ck_assert_int_ne(pb->lipschitz(pb->user, t, &lb, &la), 0);
    }
    /* a weight underflowing to 0 is fine: plain denoising */
    memcpy(t, in.theta0, p * sizeof *t);
    t[0] = -800;
    ck_assert_int_eq(pb->ll_grad(pb->user, t, in.noisy, out), 0);
    ck_assert_int_eq(pb->ll_constants(pb->user, t, &mu, &L), 0);
    assert_close("L at scale 0", L, mu, 1e-15, 0);
    free(t);
    free(out);
    otk_bilevel_instance_free(&in);
    free(img);
}
END_TEST

START_TEST(free_is_safe)
{
    double *img = make_images(1, 4, 4, 1);
    otk_bilevel_instance in = foe(img, 1, 4, 4, 0.1, 1, 2, 1);
    otk_bilevel_instance_free(&in);
    otk_bilevel_instance_free(&in); /* free leaves it empty */
    ck_assert_ptr_null(in.data);
    free(img);
}
END_TEST

/* End to end: MAID with the default settings on a tiny problem lowers the
 * upper loss well below f(theta0) (computed from an accurate lower
 * solve) and denoises. The default step starts at 1e-2 and grows by 10/9
 * per accepted step, so the first 30 or so iterations move theta little;
 * 80 iterations take about 0.1 s. */
START_TEST(maid_lowers_the_loss)
{
    double *img = make_images(2, 12, 12, 5);
    otk_bilevel_instance in = foe(img, 2, 12, 12, 0.1, 2, 3, 3);
    const otk_bilevel_problem *pb = &in.problem;
    const size_t n = pb->n, p = pb->p;
    double *theta = malloc(p * sizeof *theta), *x = malloc(n * sizeof *x);
    double *q = malloc(n * sizeof *q), *z = malloc(p * sizeof *z);
    ck_assert(theta && x && q && z);
    memcpy(x, in.x0, n * sizeof *x);
    ck_assert_int_eq(otk_bilevel_hypergradient(pb, in.theta0, 1e-10, 1e-6, 0, 0,
                                               x, q, z, NULL, NULL),
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
    ck_assert_msg(st == OTK_MAX_ITER || st == OTK_CONVERGED ||
                      st == OTK_STALLED,
                  "%s (%s)", otk_status_name(st),
                  info.bad_argument ? info.bad_argument : "");
    ck_assert_uint_gt(info.accepted, 0);
    /* x is the lower solution at theta to accuracy info.eps, so f(theta)
     * <= g + ||grad g|| eps + L_g eps^2 / 2, with N = 2: ||grad g|| =
     * sqrt(g), L_g = 1/2 */
    const double g1 = info.upper_loss, e1 = info.eps;
    double f1_upper = g1 + sqrt(g1) * e1 + 0.25 * e1 * e1;
    ck_assert_msg(f1_upper < 0.9 * f0, "upper loss %g from f(theta0) = %g",
                  info.upper_loss, f0);
    double psnr = otk_bilevel_psnr(x, in.clean, n);
    double psnr0 = otk_bilevel_psnr(in.noisy, in.clean, n);
    ck_assert_double_gt(psnr, psnr0 + 1);
    fprintf(stderr,
            "foe MAID: %s, f %.5g -> %.5g, %zu accepted of %zu, "
            "PSNR %.2f (noisy %.2f)\n",
            otk_status_name(st), f0, info.upper_loss, info.accepted,
            info.iterations, psnr, psnr0);
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
