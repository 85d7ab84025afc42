/*
 * Bilevel module: the CG and FISTA building blocks, the quadratic problem
 * with its analytic optimum, MAID against the baselines, the certified
 * bounds (omega, the function-value sandwich, true decrease of accepted
 * steps) and bad input.
 */
#include "bilevel_testing.h"
#include "testutil.h"

#include "core/core.h"
#include "linalg/linalg.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/bilevel.h>

/* ---- building blocks ---- */

typedef struct spd {
    size_t n;
    double *A;
} spd;

static void spd_apply(const spd *s, const double *v, double *y)
{
    for (size_t i = 0; i < s->n; i++)
        y[i] = otk__dot(s->n, s->A + i * s->n, v);
}

static int spd_matvec(void *user, const double *v, double *y)
{
    spd_apply(user, v, y);
    return 0;
}

/* f(x) = 1/2 x^T A x - b^T x, gradient A x - b */
typedef struct quad_fn {
    spd s;
    const double *b;
} quad_fn;

static int quad_fn_grad(void *user, const double *x, double *g)
{
    const quad_fn *q = user;
    spd_apply(&q->s, x, g);
    for (size_t i = 0; i < q->s.n; i++)
        g[i] -= q->b[i];
    return 0;
}

/* A = M^T M + shift I from a pseudo-random M */
static double *random_spd(size_t n, double shift, unsigned long long seed)
{
    double *M = malloc(n * n * sizeof *M), *A = malloc(n * n * sizeof *A);
    unsigned long long st = seed;
    for (size_t i = 0; i < n * n; i++)
        M[i] = test_uniform(&st) - 0.5;
    otk__gemm(1, 0, n, n, n, 1.0, M, M, 0.0, A);
    for (size_t i = 0; i < n; i++)
        A[i * n + i] += shift;
    free(M);
    return A;
}

START_TEST(test_cg_absolute_residual)
{
    size_t n = 40;
    spd s = {n, random_spd(n, 0.1, 7)};
    double b[40], q[40], scratch[160], y[40];
    for (size_t i = 0; i < n; i++)
        b[i] = sin((double)i);
    const double tols[] = {1e-1, 1e-4, 1e-10};
    for (int t = 0; t < 3; t++) {
        memset(q, 0, sizeof q);
        otk__solve_result r =
            otk__cg(spd_matvec, &s, n, b, q, tols[t], 1000, scratch);
        ck_assert(r.reached);
        spd_apply(&s, q, y);
        double res = bt_dist(y, b, n);
        /* the reported residual is the true one, and it meets the tol */
        assert_close("cg residual", r.residual, res, 1e-9, 1e-15);
        ck_assert(res <= tols[t]);
    }
    /* an iteration cap below what is needed: not reached, honestly */
    memset(q, 0, sizeof q);
    otk__solve_result r = otk__cg(spd_matvec, &s, n, b, q, 1e-12, 2, scratch);
    ck_assert(!r.reached);
    ck_assert_uint_eq(r.iterations, 2);
    free(s.A);
}
END_TEST

START_TEST(test_fista_certificate)
{
    size_t n = 30;
    quad_fn f = {{n, random_spd(n, 0.5, 11)}, NULL};
    double b[30], x[30], xhat[30], scratch[90], lo, hi;
    for (size_t i = 0; i < n; i++)
        b[i] = cos(3.0 * (double)i);
    f.b = b;
    memcpy(xhat, b, sizeof b);
    ck_assert_int_eq(otk__spd_solve(n, 1, f.s.A, xhat), 0);
    ck_assert_int_eq(otk__sym_eig_range(n, f.s.A, &lo, &hi), 0);
    const double eps[] = {1e-1, 1e-3, 1e-6, 1e-10};
    memset(x, 0, sizeof x);
    for (int t = 0; t < 4; t++) {
        otk__solve_result r = otk__scfista(quad_fn_grad, &f, n, lo, hi, eps[t],
                                           100000, x, scratch);
        ck_assert(r.reached);
        double d = bt_dist(x, xhat, n);
        ck_assert_msg(d <= eps[t], "||x - xhat|| = %g > eps %g", d, eps[t]);
    }
    /* warm start already certified: no iteration */
    otk__solve_result r =
        otk__scfista(quad_fn_grad, &f, n, lo, hi, 1e-3, 100000, x, scratch);
    ck_assert(r.reached);
    ck_assert_uint_eq(r.iterations, 0);
    /* accelerated: far fewer iterations than plain gradient descent's
     * kappa log(1/eps) on an ill-conditioned problem */
    quad_fn g = {{n, random_spd(n, 1e-3, 5)}, b};
    ck_assert_int_eq(otk__sym_eig_range(n, g.s.A, &lo, &hi), 0);
    memset(x, 0, sizeof x);
    r = otk__scfista(quad_fn_grad, &g, n, lo, hi, 1e-8, 1000000, x, scratch);
    ck_assert(r.reached);
    ck_assert_msg((double)r.iterations < 0.2 * (hi / lo) * log(1e8),
                  "%zu iterations for kappa %g", r.iterations, hi / lo);
    /* gradient descent: the same certificate, more iterations */
    memset(x, 0, sizeof x);
    double gd_scratch[30];
    otk__solve_result rg =
        otk__scgd(quad_fn_grad, &g, n, lo, hi, 1e-8, 10000000, x, gd_scratch);
    ck_assert(rg.reached);
    ck_assert(rg.iterations > r.iterations);
    double xg[30];
    memcpy(xg, b, sizeof b);
    ck_assert_int_eq(otk__spd_solve(n, 1, g.s.A, xg), 0);
    double d = bt_dist(x, xg, n);
    ck_assert_msg(d <= 1e-8, "GD: ||x - xhat|| = %g", d);
    free(f.s.A);
    free(g.s.A);
}
END_TEST

/* ---- the quadratic problem ---- */

/* f(theta) through a tight solve from a copy of x0 */
static double true_f(const otk_bilevel_instance *in, const double *theta)
{
    const otk_bilevel_problem *pb = &in->problem;
    double *x = malloc(pb->n * sizeof *x), *z = malloc(pb->p * sizeof *z), g;
    memcpy(x, in->x0, pb->n * sizeof *x);
    otk_bilevel_settings s = bt_caps(100000);
    ck_assert_int_eq(otk_bilevel_hypergradient(pb, &s, theta, 1e-12, 1e-12, x,
                                               NULL, z, NULL),
                     OTK_CONVERGED);
    ck_assert_int_eq(pb->upper(pb->user, x, &g, NULL), 0);
    free(x);
    free(z);
    return g;
}

START_TEST(test_quadratic_derivatives)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_quadratic_create(200, 6, 29, &in),
                     OTK_CONVERGED);
    bilevel_fd_check(&in.problem, in.theta0, in.x0, 1e-5, 1e-6, 5);
    double theta[6], x[6];
    for (int i = 0; i < 6; i++) {
        theta[i] = 0.3 * i - 1;
        x[i] = 0.1 * i;
    }
    bilevel_fd_check(&in.problem, theta, x, 1e-5, 1e-6, 5);
    otk_bilevel_instance_free(&in);
}
END_TEST

START_TEST(test_quadratic_analytic_optimum)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_quadratic_create(1000, 10, 29, &in),
                     OTK_CONVERGED);
    const otk_bilevel_problem *pb = &in.problem;
    /* the hypergradient vanishes at theta* and f(theta*) = f* */
    double x[10], z[10], zn = 0;
    otk_bilevel_settings s = bt_caps(100000);
    memcpy(x, in.x0, sizeof x);
    ck_assert_int_eq(otk_bilevel_hypergradient(pb, &s, in.theta_star, 1e-12,
                                               1e-12, x, NULL, z, NULL),
                     OTK_CONVERGED);
    for (int i = 0; i < 10; i++)
        zn += z[i] * z[i];
    double z0[10], zn0 = 0;
    memcpy(x, in.x0, sizeof x);
    ck_assert_int_eq(otk_bilevel_hypergradient(pb, &s, in.theta0, 1e-12, 1e-12,
                                               x, NULL, z0, NULL),
                     OTK_CONVERGED);
    for (int i = 0; i < 10; i++)
        zn0 += z0[i] * z0[i];
    ck_assert_msg(sqrt(zn) <= 1e-7 * sqrt(zn0), "||grad f(theta*)|| = %g",
                  sqrt(zn));
    assert_close("f*", true_f(&in, in.theta_star), in.f_star, 1e-8, 0);
    ck_assert(true_f(&in, in.theta0) > in.f_star);
    otk_bilevel_instance_free(&in);
}
END_TEST

/* The omega bound dominates the true hypergradient error over a grid of
 * (eps, delta), from a perturbed warm start that makes both errors real.
 * Returns the largest error / omega seen (how tight the bound is). */
static double omega_grid(const otk_bilevel_problem *pb, const double *theta,
                         const double *x_start)
{
    size_t n = pb->n, p = pb->p;
    double *x = malloc(n * sizeof *x), *z = malloc(p * sizeof *z);
    double *zt = malloc(p * sizeof *zt), worst = 0;
    memcpy(x, x_start, n * sizeof *x);
    otk_bilevel_settings s = bt_caps(1000000);
    ck_assert_int_eq(otk_bilevel_hypergradient(pb, &s, theta, 1e-12, 1e-12, x,
                                               NULL, zt, NULL),
                     OTK_CONVERGED);
    const double grid[] = {1e-1, 1e-2, 1e-3, 1e-5, 1e-8};
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++) {
            for (size_t i = 0; i < n; i++)
                x[i] = x_start[i] + 0.5 * sin((double)i);
            ck_assert_int_eq(otk_bilevel_hypergradient(pb, &s, theta, grid[a],
                                                       grid[b], x, NULL, z,
                                                       NULL),
                             OTK_CONVERGED);
            double err = bt_dist(z, zt, p);
            double omega = otk_bilevel_omega(pb, theta, x, grid[a], grid[b]);
            ck_assert_msg(err <= omega, "eps %g delta %g: error %g > omega %g",
                          grid[a], grid[b], err, omega);
            worst = fmax(worst, err / omega);
        }
    free(x);
    free(z);
    free(zt);
    return worst;
}

/* Logistic regression on 40 points of 3 features in 3 classes, 25 of
 * them training. */
static otk_bilevel_instance tiny_logreg(void)
{
    double feats[40 * 3];
    int labels[40];
    unsigned long long st = 9;
    for (int i = 0; i < 40; i++) {
        labels[i] = i % 3;
        for (int j = 0; j < 3; j++)
            feats[i * 3 + j] = (j == labels[i]) + 0.5 * test_uniform(&st);
    }
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_logreg_create(feats, labels, 25, feats + 75,
                                               labels + 25, 15, 3, 3, &in),
                     OTK_CONVERGED);
    return in;
}

START_TEST(test_omega_dominates_error)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_quadratic_create(300, 8, 3, &in),
                     OTK_CONVERGED);
    double theta[8];
    for (int i = 0; i < 8; i++)
        theta[i] = 0.5 - 0.1 * i;
    /* the quadratic bound has no slack beyond the triangle inequality:
     * it must be reasonably tight somewhere on the grid */
    ck_assert(omega_grid(&in.problem, theta, in.x0) > 1e-3);
    otk_bilevel_instance_free(&in);

    /* non-constant Hessians: the L_B and L_Ainv terms matter, at the
     * start and at a theta far from it (the lipschitz callback) */
    ck_assert_int_eq(otk_bilevel_tv1d_create(2, 32, 0.1, 5, &in),
                     OTK_CONVERGED);
    omega_grid(&in.problem, in.theta0, in.x0);
    const double tv1[3] = {-1.0, -3.0, -4.0};
    omega_grid(&in.problem, tv1, in.x0);
    otk_bilevel_instance_free(&in);

    double img[2 * 8 * 8];
    for (int i = 0; i < 2 * 64; i++)
        img[i] = (i % 8 > 3) ^ (i / 8 % 8 > 4) ? 0.9 : 0.1;
    ck_assert_int_eq(otk_bilevel_tv2d_create(img, 2, 8, 8, 0.1, 2, &in),
                     OTK_CONVERGED);
    const double tv2[2] = {-2.0, -3.0};
    omega_grid(&in.problem, tv2, in.x0);
    otk_bilevel_instance_free(&in);

    in = tiny_logreg();
    double lt[9];
    for (int j = 0; j < 9; j++)
        lt[j] = -2.0 + 0.3 * j;
    omega_grid(&in.problem, lt, in.x0);
    otk_bilevel_instance_free(&in);
}
END_TEST

/* A trace that checks, at every row, the sandwich lower <= f <= upper and
 * that accepted steps decrease the true f. */
typedef struct watch {
    const otk_bilevel_instance *in;
    double f_prev;
    size_t rows, accepted;
    size_t last_ll, last_cg;
} watch;

static int watch_trace(void *user, const otk_progress *pr)
{
    watch *w = user;
    const otk_bilevel_trace_row *row = pr->detail;
    const double *theta = row->theta;
    double f = true_f(w->in, theta);
    double slack = 1e-12 * fabs(f);
    ck_assert_msg(row->lower_bound <= f + slack &&
                      f <= row->upper_bound + slack,
                  "row %zu: f %.15g outside [%.15g, %.15g]", row->iteration, f,
                  row->lower_bound, row->upper_bound);
    if (row->accepted) {
        ck_assert_msg(f < w->f_prev, "row %zu: accepted step raised f",
                      row->iteration);
        w->accepted++;
    }
    ck_assert(row->ll_iterations >= w->last_ll);
    ck_assert(row->cg_iterations >= w->last_cg);
    w->last_ll = row->ll_iterations;
    w->last_cg = row->cg_iterations;
    w->f_prev = f;
    w->rows++;
    return 0;
}

START_TEST(test_bounds_and_true_decrease)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_quadratic_create(50, 4, 29, &in),
                     OTK_CONVERGED);
    const otk_bilevel_method methods[] = {OTK_BILEVEL_MAID, OTK_BILEVEL_FIXED};
    for (int m = 0; m < 2; m++) {
        otk_bilevel_settings s;
        otk_bilevel_default_settings(&s);
        s.error_mode = OTK_BILEVEL_CERTIFIED; /* the sandwich is certified */
        s.method = methods[m];
        s.eps0 = s.delta0 = 1e-2;
        s.max_iter = 60;
        watch w = {&in, INFINITY, 0, 0, 0, 0};
        s.progress = watch_trace;
        s.progress_user = &w;
        double theta[4], x[4];
        memcpy(theta, in.theta0, sizeof theta);
        memcpy(x, in.x0, sizeof x);
        otk_bilevel_info info;
        otk_status st = otk_bilevel_solve(&in.problem, &s, theta, x, &info);
        /* the fixed baseline stops, stalled, at the first iteration in
         * which no step can be certified at its accuracy */
        ck_assert_int_eq(st, methods[m] == OTK_BILEVEL_MAID ? OTK_MAX_ITER
                                                            : OTK_STALLED);
        ck_assert_uint_eq(w.rows, info.iterations + 1);
        ck_assert_uint_eq(w.accepted, info.accepted);
        /* MAID moves every iteration here; the fixed baseline at eps
         * 1e-2 can certify only a few steps (see the next test) */
        ck_assert(info.accepted >= (methods[m] == OTK_BILEVEL_MAID ? 55 : 1));
    }
    otk_bilevel_instance_free(&in);
}
END_TEST

static double relative_gap(const otk_bilevel_instance *in, const double *theta)
{
    return (true_f(in, theta) - in->f_star) / in->f_star;
}

/* The paper's 1000 x 10 instance has an upper-level Hessian M^T M with a
 * condition number in the tens of thousands (the random parts of A3 barely
 * project onto A2's column space), so no first-order method gets near
 * theta* in 3000 steps; 50 x 4 is well enough conditioned to test
 * convergence itself. */
START_TEST(test_maid_reaches_optimum)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_quadratic_create(50, 4, 29, &in),
                     OTK_CONVERGED);
    otk_bilevel_settings s;
    otk_bilevel_default_settings(&s);
    s.eps0 = s.delta0 = 1e-1;
    s.nu_over = 1.25; /* the reference's quadratic setting */
    s.max_iter = 3000;
    s.budget = 0;
    double theta[4], x[4];
    memcpy(theta, in.theta0, sizeof theta);
    memcpy(x, in.x0, sizeof x);
    otk_bilevel_info info;
    /* the quasi-Newton steps converge before max_iter: OTK_CONVERGED
     * once no step can be accepted even at the accuracy floor */
    otk_status st = otk_bilevel_solve(&in.problem, &s, theta, x, &info);
    ck_assert_msg(st == OTK_MAX_ITER || st == OTK_CONVERGED, "status %s (%s)",
                  otk_status_name(st),
                  info.outcome.cause ? info.outcome.cause : "");
    double gap = relative_gap(&in, theta);
    ck_assert_msg(gap < 1e-3, "MAID relative gap %g", gap);

    /* the gradient-descent lower level reaches the same optimum, at more
     * lower-level iterations (steepest descent: both runs last max_iter
     * iterations) */
    s.qn_pairs = 0;
    memcpy(theta, in.theta0, sizeof theta);
    memcpy(x, in.x0, sizeof x);
    ck_assert_int_eq(otk_bilevel_solve(&in.problem, &s, theta, x, &info),
                     OTK_MAX_ITER);
    ck_assert_msg(relative_gap(&in, theta) < 1e-3, "steepest descent: gap %g",
                  relative_gap(&in, theta));
    size_t fista_ll = info.ll_iterations;
    s.lower_solver = OTK_BILEVEL_GD;
    memcpy(theta, in.theta0, sizeof theta);
    memcpy(x, in.x0, sizeof x);
    st = otk_bilevel_solve(&in.problem, &s, theta, x, &info);
    ck_assert(st == OTK_MAX_ITER || st == OTK_CONVERGED);
    ck_assert_msg(relative_gap(&in, theta) < 1e-3, "GD lower level: gap %g",
                  relative_gap(&in, theta));
    ck_assert(info.ll_iterations > fista_ll);
    s.lower_solver = OTK_BILEVEL_FISTA;

    /* Fixed accuracy eps = 0.1: the sufficient-decrease test needs the
     * true decrease to exceed the bound slack 2 ||grad g|| eps, which
     * stays of order eps; once f is within that slack of f*, no step can
     * be certified and the baseline stops improving. */
    s.method = OTK_BILEVEL_FIXED;
    s.error_mode = OTK_BILEVEL_CERTIFIED;
    memcpy(theta, in.theta0, sizeof theta);
    memcpy(x, in.x0, sizeof x);
    ck_assert_int_eq(otk_bilevel_solve(&in.problem, &s, theta, x, &info),
                     OTK_STALLED);
    ck_assert_str_eq(info.outcome.cause, "fixed_accuracy");
    ck_assert_ptr_null(info.outcome.bad_argument);
    ck_assert_int_eq(info.outcome.status, OTK_STALLED);
    double fixed_gap = relative_gap(&in, theta);
    ck_assert_msg(fixed_gap > 1e-3,
                  "fixed eps 0.1 reached gap %g: the slack argument fails",
                  fixed_gap);
    otk_bilevel_instance_free(&in);
}
END_TEST

typedef struct last_row {
    size_t cost, iteration;
} last_row;

static int keep_last_row(void *user, const otk_progress *pr)
{
    last_row *l = user;
    const otk_bilevel_trace_row *row = pr->detail;
    l->cost = row->ll_iterations + row->cg_iterations;
    l->iteration = row->iteration;
    return 0;
}

/* A zero inexact hypergradient (CG's tolerance above ||grad g||: q = 0) is
 * not convergence when grad_tol is 0: the methods tighten and go on. */
START_TEST(test_zero_hypergradient_is_not_convergence)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_quadratic_create(50, 4, 29, &in),
                     OTK_CONVERGED);
    const otk_bilevel_method methods[] = {OTK_BILEVEL_MAID,
                                          OTK_BILEVEL_HOAG_GEOMETRIC};
    for (int m = 0; m < 2; m++) {
        otk_bilevel_settings s;
        otk_bilevel_default_settings(&s);
        s.method = methods[m];
        s.eps0 = s.delta0 = 1e6;
        s.check_descent = 0;
        s.max_iter = 200;
        double theta[4], x[4];
        memcpy(theta, in.theta0, sizeof theta);
        memcpy(x, in.x0, sizeof x);
        otk_bilevel_info info;
        otk_status st = otk_bilevel_solve(&in.problem, &s, theta, x, &info);
        ck_assert(info.accepted > 0);
        /* MAID's quasi-Newton steps reach the optimum before max_iter and
         * then the accuracy floor: converged there, not at the zero z */
        ck_assert(st == OTK_MAX_ITER || (m == 0 && st == OTK_CONVERGED));
        if (st == OTK_CONVERGED)
            ck_assert_msg(relative_gap(&in, theta) < 1e-6, "gap %g",
                          relative_gap(&in, theta));
    }
    otk_bilevel_instance_free(&in);
}
END_TEST

/* The budget of lower-level + CG iterations is a hard limit: a solve is
 * capped by what is left of it. */
START_TEST(test_budget_is_exact)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_tv1d_create(2, 64, 0.1, 1, &in),
                     OTK_CONVERGED);
    const otk_bilevel_method methods[] = {OTK_BILEVEL_MAID,
                                          OTK_BILEVEL_HOAG_GEOMETRIC};
    for (int m = 0; m < 2; m++) {
        otk_bilevel_settings s;
        otk_bilevel_default_settings(&s);
        s.method = methods[m];
        s.budget = 777;
        s.ll_max_iter = s.cg_max_iter = 100000;
        double *theta = malloc(in.problem.p * sizeof *theta);
        double *x = malloc(in.problem.n * sizeof *x);
        memcpy(theta, in.theta0, in.problem.p * sizeof *theta);
        memcpy(x, in.x0, in.problem.n * sizeof *x);
        otk_bilevel_info info;
        last_row last = {0, 0};
        s.progress = keep_last_row;
        s.progress_user = &last;
        ck_assert_int_eq(otk_bilevel_solve(&in.problem, &s, theta, x, &info),
                         OTK_MAX_ITER);
        ck_assert_uint_eq(info.ll_iterations + info.cg_iterations, 777);
        /* the trace ends where the counters do, even when the budget cut
         * an iteration short */
        ck_assert_uint_eq(last.cost, 777);
        ck_assert_uint_eq(last.iteration, info.iterations);
        free(theta);
        free(x);
    }
    otk_bilevel_instance_free(&in);
}
END_TEST

/* On the paper's uniform draws HOAG's step can drift past 2 / L_f (its
 * loss then grows by less than its 20 % rejection threshold per step, see
 * docs/bilevel.md), so the schedules are tested on a conditioned
 * instance. */
START_TEST(test_hoag_schedules_decrease)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(
        otk_bilevel_quadratic_conditioned_create(300, 6, 100, 1, &in),
        OTK_CONVERGED);
    const otk_bilevel_method methods[] = {OTK_BILEVEL_HOAG_GEOMETRIC,
                                          OTK_BILEVEL_HOAG_QUADRATIC,
                                          OTK_BILEVEL_HOAG_CUBIC};
    double f0 = true_f(&in, in.theta0);
    for (int m = 0; m < 3; m++) {
        otk_bilevel_settings s;
        otk_bilevel_default_settings(&s);
        s.method = methods[m];
        s.max_iter = 200;
        double theta[6], x[6];
        memcpy(theta, in.theta0, sizeof theta);
        memcpy(x, in.x0, sizeof x);
        otk_bilevel_info info;
        ck_assert_int_eq(otk_bilevel_solve(&in.problem, &s, theta, x, &info),
                         OTK_MAX_ITER);
        double f = true_f(&in, theta);
        ck_assert_msg(f < f0 && (f - in.f_star) < 0.5 * (f0 - in.f_star),
                      "method %d: f %g from %g (f* %g)", m, f, f0, in.f_star);
        ck_assert(info.ll_iterations + info.cg_iterations > 0);
    }
    otk_bilevel_instance_free(&in);
}
END_TEST

/* ---- the practical mode, the step rule and the CG warm start ---- */

/* Every row: accepted steps decrease the true f (otk_bilevel_evaluate to
 * 1e-9 relative from x0 as the oracle); the step rule's first rows are kept
 * for the tests below. */
typedef struct practical_watch {
    const otk_bilevel_instance *in;
    double f_prev, err_prev;
    size_t accepted, raised;
    otk_bilevel_trace_row first[3];
    size_t rows;
} practical_watch;

static int watch_true_decrease(void *user, const otk_progress *pr)
{
    practical_watch *w = user;
    const otk_bilevel_trace_row *row = pr->detail;
    const otk_bilevel_problem *pb = &w->in->problem;
    double *x = malloc(pb->n * sizeof *x), f, err;
    ck_assert_ptr_nonnull(x);
    memcpy(x, w->in->x0, pb->n * sizeof *x);
    otk_bilevel_settings s = bt_caps(100000);
    /* 1e-9 relative to the solution's size; a rise counts only when it
     * exceeds both values' certified errors */
    ck_assert_int_eq(
        otk_bilevel_evaluate(pb, &s, row->theta, 1e-4, x, &f, &err, NULL),
        OTK_CONVERGED);
    double tight = 1e-9 * fmax(1, sqrt(bt_dot(x, x, pb->n)));
    ck_assert_int_eq(
        otk_bilevel_evaluate(pb, &s, row->theta, tight, x, &f, &err, NULL),
        OTK_CONVERGED);
    free(x);
    if (row->accepted) {
        w->accepted++;
        if (!(f - err < w->f_prev + w->err_prev))
            w->raised++;
    }
    w->err_prev = err;
    if (w->rows < 3)
        w->first[w->rows] = *row;
    w->rows++;
    w->f_prev = f;
    return 0;
}

static otk_status run_watched(const otk_bilevel_instance *in,
                              otk_bilevel_settings *s, practical_watch *w,
                              otk_bilevel_info *info)
{
    const otk_bilevel_problem *pb = &in->problem;
    double *theta = malloc(pb->p * sizeof *theta);
    double *x = malloc(pb->n * sizeof *x);
    ck_assert(theta && x);
    memcpy(theta, in->theta0, pb->p * sizeof *theta);
    memcpy(x, in->x0, pb->n * sizeof *x);
    memset(w, 0, sizeof *w);
    w->in = in;
    w->f_prev = w->err_prev = INFINITY;
    s->progress = watch_true_decrease;
    s->progress_user = w;
    otk_status st = otk_bilevel_solve(pb, s, theta, x, info);
    free(theta);
    free(x);
    return st;
}

/* The practical mode certifies nothing, but on the small families its
 * line search still decreases the true upper loss at every accepted
 * step, from every eps0 of the benchmark's sweep. */
START_TEST(test_practical_true_decrease)
{
    otk_bilevel_instance ins[4];
    ck_assert_int_eq(otk_bilevel_quadratic_create(50, 4, 29, &ins[0]),
                     OTK_CONVERGED);
    ck_assert_int_eq(
        otk_bilevel_quadratic_conditioned_create(50, 4, 200, 0, &ins[1]),
        OTK_CONVERGED);
    ck_assert_int_eq(otk_bilevel_tv1d_create(2, 32, 0.1, 5, &ins[2]),
                     OTK_CONVERGED);
    ins[3] = tiny_logreg();
    const double eps0[] = {1, 1e-1, 1e-3};
    for (int k = 0; k < 4; k++)
        for (int e = 0; e < 3; e++) {
            otk_bilevel_settings s;
            otk_bilevel_default_settings(&s);
            s.eps0 = s.delta0 = eps0[e];
            s.max_iter = 40;
            /* logreg: mu = min e^theta >= e^-5 keeps the oracle cheap */
            s.theta_bound = k == 3 ? 5 : s.theta_bound;
            practical_watch w;
            otk_bilevel_info info;
            otk_status st = run_watched(&ins[k], &s, &w, &info);
            ck_assert_msg(
                st == OTK_MAX_ITER || st == OTK_STALLED || st == OTK_CONVERGED,
                "family %d eps0 %g: %s", k, eps0[e], otk_status_name(st));
            ck_assert_msg(w.accepted >= 5, "family %d eps0 %g: %zu accepted", k,
                          eps0[e], w.accepted);
            ck_assert_msg(w.raised == 0,
                          "family %d eps0 %g: %zu of %zu accepted steps "
                          "raised the true f",
                          k, eps0[e], w.raised, w.accepted);
        }
    for (int k = 0; k < 4; k++)
        otk_bilevel_instance_free(&ins[k]);
}
END_TEST

/* An absolute delta above ||grad g|| (logistic regression's ||grad g||
 * is below 1) must not let CG accept its start q = 0 as the adjoint:
 * practical MAID's CG stops no later than at 0.1 ||grad g||, so the
 * first hypergradient is a real one (close to the tight one) and the
 * loss-error estimate ||q|| ||grad_x h|| is not 0. */
START_TEST(test_practical_cg_is_relative_to_grad_g)
{
    otk_bilevel_instance in = tiny_logreg();
    const otk_bilevel_problem *pb = &in.problem;
    otk_bilevel_settings s;
    otk_bilevel_default_settings(&s);
    s.eps0 = s.delta0 = 1;
    s.max_iter = 1;
    practical_watch w;
    otk_bilevel_info info;
    run_watched(&in, &s, &w, &info);
    ck_assert_uint_gt(info.cg_iterations, 0);
    /* the tight hypergradient at theta0 */
    double *x = malloc(pb->n * sizeof *x), *z = malloc(pb->p * sizeof *z);
    ck_assert(x && z);
    memcpy(x, in.x0, pb->n * sizeof *x);
    otk_bilevel_settings t = bt_caps(100000);
    ck_assert_int_eq(otk_bilevel_hypergradient(pb, &t, in.theta0, 1e-10, 1e-12,
                                               x, NULL, z, NULL),
                     OTK_CONVERGED);
    double zn = sqrt(bt_dot(z, z, pb->p));
    ck_assert_msg(fabs(w.first[1].grad_norm - zn) < 0.5 * zn,
                  "||z|| %g, tight %g", w.first[1].grad_norm, zn);
    free(x);
    free(z);
    otk_bilevel_instance_free(&in);
}
END_TEST

/* Practical MAID's line search, on the conditioned quadratic of the
 * benchmark (50 x 4, condition number 200): a trial whose loss fell by less
 * than the slack while the slack is small against a ||z||^2 shrinks the
 * step instead of the accuracy, and a trial's lower solve starts from x
 * moved by the last accepted step's change of x. With both, 1000 LL+CG
 * iterations reach f* + 1e-3 f* (1336 before; HOAG's best schedule 4549). */
START_TEST(test_practical_budget_to_optimum)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(
        otk_bilevel_quadratic_conditioned_create(50, 4, 200, 0, &in),
        OTK_CONVERGED);
    const otk_bilevel_problem *pb = &in.problem;
    ck_assert(isfinite(in.f_star) && in.f_star > 0);
    otk_bilevel_settings s;
    otk_bilevel_default_settings(&s);
    s.budget = 1000;
    s.max_iter = 2000;
    double theta[4], x[4];
    memcpy(theta, in.theta0, sizeof theta);
    memcpy(x, in.x0, sizeof x);
    otk_bilevel_info info;
    s.qn_pairs = 0; /* the steepest-descent line search */
    otk_status st = otk_bilevel_solve(pb, &s, theta, x, &info);
    ck_assert_msg(st == OTK_MAX_ITER || st == OTK_STALLED, "%s",
                  otk_status_name(st));
    ck_assert_double_le(info.ll_iterations + info.cg_iterations, 1000);
    double f = true_f(&in, theta);
    ck_assert_msg(f <= 1.001 * in.f_star, "f %.9g, f* %.9g (%.3g%% above)", f,
                  in.f_star, 100 * (f / in.f_star - 1));
    otk_bilevel_instance_free(&in);
}
END_TEST

/* The true f at the end of a run (oracle: otk_bilevel_evaluate, tight,
 * warm from the run's x); frees theta and x. */
static double tight_f_free(const otk_bilevel_instance *in, double *theta,
                           double *x)
{
    const otk_bilevel_problem *pb = &in->problem;
    otk_bilevel_settings t = bt_caps(10000000);
    double tight = 1e-9 * fmax(1, sqrt(bt_dot(x, x, pb->n))), f, err;
    ck_assert_int_eq(
        otk_bilevel_evaluate(pb, &t, theta, tight, x, &f, &err, NULL),
        OTK_CONVERGED);
    free(theta);
    free(x);
    return f;
}

/* Practical MAID's quasi-Newton steps (qn_pairs, default 8) on the same
 * conditioned quadratic: 200 LL+CG iterations reach f* + 1e-3 f* (the
 * steepest-descent line search needed 811 in the benchmark, and does not
 * get there in 200). */
static double f_at_budget(const otk_bilevel_instance *in, size_t qn_pairs,
                          double budget)
{
    const otk_bilevel_problem *pb = &in->problem;
    otk_bilevel_settings s;
    otk_bilevel_default_settings(&s);
    s.qn_pairs = qn_pairs;
    s.budget = budget;
    s.max_iter = 100000;
    double *theta = malloc(pb->p * sizeof *theta);
    double *x = malloc(pb->n * sizeof *x);
    ck_assert(theta && x);
    memcpy(theta, in->theta0, pb->p * sizeof *theta);
    memcpy(x, in->x0, pb->n * sizeof *x);
    otk_bilevel_info info;
    otk_status st = otk_bilevel_solve(pb, &s, theta, x, &info);
    ck_assert_msg(st == OTK_MAX_ITER || st == OTK_CONVERGED, "%s",
                  otk_status_name(st));
    ck_assert_double_le(info.ll_iterations + info.cg_iterations, budget);
    return tight_f_free(in, theta, x);
}

START_TEST(test_quasi_newton_budget)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(
        otk_bilevel_quadratic_conditioned_create(50, 4, 200, 0, &in),
        OTK_CONVERGED);
    otk_bilevel_settings d;
    otk_bilevel_default_settings(&d);
    ck_assert_uint_eq(d.qn_pairs, 8);
    double f = f_at_budget(&in, 8, 200);
    ck_assert_msg(f <= 1.001 * in.f_star, "f %.9g, f* %.9g (%.3g%% above)", f,
                  in.f_star, 100 * (f / in.f_star - 1));
    double f_sd = f_at_budget(&in, 0, 200);
    ck_assert_msg(f_sd > 1.001 * in.f_star, "steepest descent: f %.9g", f_sd);
    otk_bilevel_instance_free(&in);
}
END_TEST

/* The same on TV-1D (2 signals of 64 samples, p = 3): 3000 LL+CG
 * iterations reach 1 % above the loss of a 20 000-iteration run (the
 * quasi-Newton steps measured 1681; steepest descent 15 523). */
START_TEST(test_quasi_newton_tv1d)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_tv1d_create(2, 64, 0.1, 1, &in),
                     OTK_CONVERGED);
    double f_long = f_at_budget(&in, 8, 20000);
    double f = f_at_budget(&in, 8, 3000);
    ck_assert_msg(f <= 1.01 * f_long, "f %.9g, long run %.9g", f, f_long);
    double f_sd = f_at_budget(&in, 0, 3000);
    ck_assert_msg(f_sd > 1.01 * f_long, "steepest descent: f %.9g", f_sd);
    otk_bilevel_instance_free(&in);
}
END_TEST

/* True f at the end of a practical MAID run of the given budget from
 * eps0 = delta0 (oracle: otk_bilevel_evaluate at eps 1e-4, warm from x,
 * its loss error below 1e-4 f). Not tight_f_free's 1e-9: the runs end at
 * theta_j near -19 (mu ~ 5e-9), where the auto lower solver's L-BFGS stops
 * on round-off short of that stop and FISTA at that mu cannot finish it
 * within 10^7 iterations; the oracle's error is still 50 times below the
 * 0.5 % the sweep is held to. */
static double final_true_f(const otk_bilevel_instance *in, double eps0,
                           double budget)
{
    const otk_bilevel_problem *pb = &in->problem;
    double *theta = malloc(pb->p * sizeof *theta);
    double *x = malloc(pb->n * sizeof *x);
    ck_assert(theta && x);
    memcpy(theta, in->theta0, pb->p * sizeof *theta);
    memcpy(x, in->x0, pb->n * sizeof *x);
    otk_bilevel_settings s;
    otk_bilevel_default_settings(&s);
    s.eps0 = s.delta0 = eps0;
    s.max_iter = 100000;
    s.budget = budget;
    otk_bilevel_info info;
    otk_status st = otk_bilevel_solve(pb, &s, theta, x, &info);
    ck_assert_msg(st == OTK_MAX_ITER, "eps0 %g: %s", eps0, otk_status_name(st));
    otk_bilevel_settings t = bt_caps(1000000);
    double f, err;
    ck_assert_int_eq(
        otk_bilevel_evaluate(pb, &t, theta, 1e-4, x, &f, &err, NULL),
        OTK_CONVERGED);
    ck_assert_msg(err <= 1e-4 * f, "eps0 %g: f %g, error %g", eps0, f, err);
    free(theta);
    free(x);
    return f;
}

/* The eps0 sweep of the benchmark ends at one loss: on a logistic
 * regression with free weights (mu = min e^theta falls below
 * ll_mu_floor, so eps is no distance bound) the final true f over eps0
 * = 1, 0.1, 1e-3, 1e-5 at one budget agree within 0.5 %. Before the
 * line search allowed for each loss's own error, loose runs accepted
 * steps on that error and tight ones relaxed eps by 1.05 per step only:
 * the spread was 0.78 %. */
START_TEST(test_practical_eps0_sweep_agrees)
{
    enum { ROWS = 300, FEATS = 10, CLASSES = 3, TRAIN = 150 };
    double feats[ROWS * FEATS];
    int labels[ROWS];
    unsigned long long st = 1;
    for (int i = 0; i < ROWS; i++) {
        labels[i] = i % CLASSES;
        for (int j = 0; j < FEATS; j++)
            feats[i * FEATS + j] =
                0.3 * (j % CLASSES == labels[i]) + test_uniform(&st) - 0.5;
    }
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_logreg_create(
                         feats, labels, TRAIN, feats + TRAIN * FEATS,
                         labels + TRAIN, ROWS - TRAIN, FEATS, CLASSES, &in),
                     OTK_CONVERGED);
    const double eps0[] = {1, 1e-1, 1e-3, 1e-5};
    double lo = INFINITY, hi = -INFINITY;
    for (int e = 0; e < 4; e++) {
        double f = final_true_f(&in, eps0[e], 5000);
        lo = fmin(lo, f);
        hi = fmax(hi, f);
    }
    ck_assert_msg(hi - lo <= 5e-3 * lo, "final f from %g to %g (%g %%)", lo, hi,
                  100 * (hi - lo) / lo);
    otk_bilevel_instance_free(&in);
}
END_TEST

/* alpha0 = 0: the first trial is HOAG's sqrt(p) / ||z_0||; while first
 * trials succeed the step grows by rho_fast, after a backtrack by
 * rho_over; alpha0 > 0 is used as given. */
START_TEST(test_first_step_rule)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(
        otk_bilevel_quadratic_conditioned_create(50, 4, 200, 0, &in),
        OTK_CONVERGED);
    otk_bilevel_settings s;
    otk_bilevel_default_settings(&s);
    ck_assert(s.alpha0 == 0 && s.rho_fast == 1.5);
    /* HOAG's first step from the same first hypergradient: certified mode
     * without the descent test computes z_0 at eps0, delta0 as HOAG does */
    s.error_mode = OTK_BILEVEL_CERTIFIED;
    s.check_descent = 0;
    s.eps0 = s.delta0 = 1e-6;
    s.max_iter = 1;
    s.method = OTK_BILEVEL_HOAG_GEOMETRIC;
    practical_watch w;
    otk_bilevel_info info;
    run_watched(&in, &s, &w, &info);
    const double hoag_step = w.first[1].step;
    ck_assert_double_eq_tol(hoag_step, 2.0 / w.first[1].grad_norm,
                            1e-15 * hoag_step);
    s.method = OTK_BILEVEL_MAID;
    s.max_iter = 2;
    run_watched(&in, &s, &w, &info);
    const otk_bilevel_trace_row *r1 = &w.first[1], *r2 = &w.first[2];
    /* row 1 started from HOAG's step: the accepted one is it halved */
    double halvings = log(hoag_step / r1->step) / log(2.0);
    ck_assert_msg(halvings > -1e-9 && fabs(halvings - round(halvings)) < 1e-9,
                  "first step %g, HOAG's %g", r1->step, hoag_step);
    /* row 2 from r1->step times rho_fast, or rho_over after a backtrack */
    if (r1->backtracks == 1 && r2->backtracks == 1)
        ck_assert_double_eq_tol(r2->step, r1->step * s.rho_fast,
                                1e-15 * r2->step);

    /* the paper's preset: alpha0 = 0.01, growth 10/9, FISTA (the
     * default lower solver is auto) */
    otk_bilevel_paper_settings(&s);
    ck_assert(s.error_mode == OTK_BILEVEL_CERTIFIED && s.alpha0 == 0.01 &&
              s.rho_fast == s.rho_over && s.cg_warm_start == 0 &&
              s.lower_solver == OTK_BILEVEL_FISTA);
    s.max_iter = 2;
    s.eps0 = s.delta0 = 1e-6; /* accurate enough to certify the steps */
    run_watched(&in, &s, &w, &info);
    r1 = &w.first[1];
    r2 = &w.first[2];
    ck_assert_uint_eq(r1->backtracks, 1);
    ck_assert(r1->step == 0.01);
    ck_assert_uint_eq(r2->backtracks, 1);
    ck_assert_double_eq_tol(r2->step, 0.01 * s.rho_over, 1e-17);
    otk_bilevel_instance_free(&in);
}
END_TEST

/* The first line search with a backtrack switches the growth to rho_over
 * for the rest of the run. */
static int check_growth(void *user, const otk_progress *pr)
{
    double *state = user; /* previous step, backtracked yet, rho_over */
    const otk_bilevel_trace_row *row = pr->detail;
    if (row->iteration == 0 || !row->accepted)
        return 0;
    if (state[1] != 0 && row->backtracks == 1 && state[0] > 0)
        ck_assert_double_eq_tol(row->step, state[0] * state[2],
                                1e-14 * row->step);
    if (row->backtracks > 1)
        state[1] = 1;
    state[0] = row->backtracks == 1 || state[1] != 0 ? row->step : 0;
    return 0;
}

START_TEST(test_growth_after_backtrack)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_quadratic_create(50, 4, 29, &in),
                     OTK_CONVERGED);
    otk_bilevel_settings s;
    otk_bilevel_default_settings(&s);
    s.qn_pairs = 0; /* the growth rules of steepest descent */
    s.max_iter = 60;
    double state[3] = {0, 0, s.rho_over};
    s.progress = check_growth;
    s.progress_user = state;
    double theta[4], x[4];
    memcpy(theta, in.theta0, sizeof theta);
    memcpy(x, in.x0, sizeof x);
    otk_bilevel_info info;
    otk_bilevel_solve(&in.problem, &s, theta, x, &info);
    ck_assert_msg(state[1] != 0, "no backtrack in 60 iterations");
    otk_bilevel_instance_free(&in);
}
END_TEST

/* CG warm-started from the previous q does the same work in fewer CG
 * iterations, for MAID and the baselines alike, and lands where the cold
 * start does. */
START_TEST(test_cg_warm_start)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_tv1d_create(2, 64, 0.1, 1, &in),
                     OTK_CONVERGED);
    const otk_bilevel_problem *pb = &in.problem;
    const otk_bilevel_method methods[] = {OTK_BILEVEL_MAID, OTK_BILEVEL_FIXED,
                                          OTK_BILEVEL_HOAG_GEOMETRIC};
    for (int m = 0; m < 3; m++) {
        size_t cg[2];
        double loss[2];
        for (int warm = 0; warm < 2; warm++) {
            otk_bilevel_settings s;
            otk_bilevel_default_settings(&s);
            s.method = methods[m];
            s.eps0 = s.delta0 = 1e-3;
            s.check_descent = 0; /* the same directions either way */
            s.max_iter = 30;
            s.cg_warm_start = warm;
            double theta[3], *x = malloc(pb->n * sizeof *x);
            memcpy(theta, in.theta0, sizeof theta);
            memcpy(x, in.x0, pb->n * sizeof *x);
            otk_bilevel_info info;
            otk_status st = otk_bilevel_solve(pb, &s, theta, x, &info);
            ck_assert(st == OTK_MAX_ITER || st == OTK_STALLED);
            cg[warm] = info.cg_iterations;
            loss[warm] = info.upper_loss;
            free(x);
        }
        ck_assert_msg(cg[1] < 0.95 * (double)cg[0],
                      "method %d: %zu CG iterations warm, %zu cold", m, cg[1],
                      cg[0]);
        ck_assert_double_eq_tol(loss[1], loss[0], 1e-2 * loss[0]);
    }
    otk_bilevel_instance_free(&in);
}
END_TEST

/* The conditioned quadratic family has the stated condition number: the
 * upper-level Hessian M^T M from differences of exact hypergradients
 * (f is quadratic). */
START_TEST(test_quadratic_conditioned)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(
        otk_bilevel_quadratic_conditioned_create(40, 3, 50, 7, &in),
        OTK_CONVERGED);
    const otk_bilevel_problem *pb = &in.problem;
    double H[9], g0[3], t[3], x[3];
    memcpy(x, in.x0, sizeof x);
    otk_bilevel_settings s = bt_caps(100000);
    ck_assert_int_eq(otk_bilevel_hypergradient(pb, &s, in.theta0, 1e-12, 1e-12,
                                               x, NULL, g0, NULL),
                     OTK_CONVERGED);
    for (int j = 0; j < 3; j++) {
        memcpy(t, in.theta0, sizeof t);
        t[j] += 1;
        ck_assert_int_eq(otk_bilevel_hypergradient(pb, &s, t, 1e-12, 1e-12, x,
                                                   NULL, H + 3 * j, NULL),
                         OTK_CONVERGED);
        for (int i = 0; i < 3; i++)
            H[3 * j + i] -= g0[i];
    }
    double lo, hi;
    ck_assert_int_eq(otk__sym_eig_range(3, H, &lo, &hi), 0);
    ck_assert_double_eq_tol(hi / lo, 50, 1e-6);
    ck_assert_double_eq_tol(hi, 1, 1e-8); /* S_0 = 1 */
    otk_bilevel_instance_free(&in);
    /* cond < 1 is refused, leaving an empty instance that free accepts */
    ck_assert_int_eq(
        otk_bilevel_quadratic_conditioned_create(40, 3, 0.5, 7, &in),
        OTK_ERR_INVALID_ARGUMENT);
    otk_bilevel_instance_free(&in);
}
END_TEST

/* ---- bad input ---- */

/* A problem that forwards to another one and whose lower-level gradient
 * fails after a number of calls. */
typedef struct flaky {
    const otk_bilevel_problem *inner;
    int grads_left;
} flaky;

static int flaky_grad(void *user, const double *theta, const double *x,
                      double *grad)
{
    flaky *f = user;
    if (f->grads_left-- <= 0)
        return 7;
    return f->inner->ll_grad(f->inner->user, theta, x, grad);
}

static int flaky_hvp(void *user, const double *theta, const double *x,
                     const double *v, double *out)
{
    const flaky *f = user;
    return f->inner->ll_hvp(f->inner->user, theta, x, v, out);
}

static int flaky_cross_t(void *user, const double *theta, const double *x,
                         const double *q, double *out)
{
    const flaky *f = user;
    return f->inner->cross_t(f->inner->user, theta, x, q, out);
}

static int flaky_upper(void *user, const double *x, double *g, double *grad)
{
    const flaky *f = user;
    return f->inner->upper(f->inner->user, x, g, grad);
}

static int flaky_constants(void *user, const double *theta, double *mu,
                           double *L)
{
    const flaky *f = user;
    return f->inner->ll_constants(f->inner->user, theta, mu, L);
}

static int flaky_cross_norm(void *user, const double *theta, const double *x,
                            double *norm)
{
    const flaky *f = user;
    return f->inner->cross_norm(f->inner->user, theta, x, norm);
}

typedef struct row_log {
    size_t rows;
    double last_theta[4];
} row_log;

static int log_rows(void *user, const otk_progress *pr)
{
    row_log *l = user;
    const otk_bilevel_trace_row *row = pr->detail;
    const double *theta = row->theta;
    ck_assert(isfinite(row->upper_loss));
    ck_assert_uint_eq(row->iteration, l->rows);
    l->rows++;
    memcpy(l->last_theta, theta, sizeof l->last_theta);
    return 0;
}

static void expect_bad_setting(const otk_bilevel_instance *in,
                               otk_bilevel_settings *s, const char *name)
{
    double theta[4], x[4];
    memcpy(theta, in->theta0, sizeof theta);
    memcpy(x, in->x0, sizeof x);
    otk_bilevel_info info;
    ck_assert_int_eq(otk_bilevel_solve(&in->problem, s, theta, x, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, name);
    ck_assert_int_eq(info.outcome.status, OTK_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(info.outcome.cause);
    /* nothing was computed: the inputs are untouched */
    ck_assert(memcmp(theta, in->theta0, sizeof theta) == 0);
    otk_bilevel_default_settings(s);
}

/* The problem that forwards every callback to f->inner through f (no
 * ll_value: the lower solves are FISTA's). */
static otk_bilevel_problem flaky_problem(flaky *f)
{
    otk_bilevel_problem fp = *f->inner;
    fp.user = f;
    fp.ll_grad = flaky_grad;
    fp.ll_hvp = flaky_hvp;
    fp.cross_t = flaky_cross_t;
    fp.upper = flaky_upper;
    fp.ll_constants = flaky_constants;
    fp.cross_norm = flaky_cross_norm;
    fp.ll_value = NULL;
    return fp;
}

/* A lower-level Hessian that is not positive definite (the inner one
 * negated): CG stops at its first iteration. */
static int negated_hvp(void *user, const double *theta, const double *x,
                       const double *v, double *out)
{
    const flaky *f = user;
    int rc = f->inner->ll_hvp(f->inner->user, theta, x, v, out);
    for (size_t i = 0; i < f->inner->n; i++)
        out[i] = -out[i];
    return rc;
}

/* A CG solve that stops unreached long before the budget is a stall
 * (named cg_max_iter), not the budget's end: OTK_MAX_ITER must mean that
 * the budget or max_iter was used up. Before, any unreached solve whose
 * cap the remaining budget had lowered was reported as OTK_MAX_ITER
 * (a figure-3 run ended `max_iter` at 3956 of 20000 LL + CG). */
START_TEST(test_short_cg_is_not_budget_end)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(
        otk_bilevel_quadratic_conditioned_create(50, 4, 200, 0, &in),
        OTK_CONVERGED);
    flaky f = {&in.problem, 1 << 30};
    otk_bilevel_problem fp = flaky_problem(&f);
    fp.ll_hvp = negated_hvp;
    otk_bilevel_settings s;
    otk_bilevel_default_settings(&s);
    s.budget = 1000; /* below cg_max_iter: the budget caps every CG */
    double theta[4], x[4];
    memcpy(theta, in.theta0, sizeof theta);
    memcpy(x, in.x0, sizeof x);
    otk_bilevel_info info;
    ck_assert_int_eq(otk_bilevel_solve(&fp, &s, theta, x, &info), OTK_STALLED);
    ck_assert_str_eq(info.outcome.cause, "cg_max_iter");
    ck_assert_double_lt(info.ll_iterations + info.cg_iterations, s.budget);
    otk_bilevel_instance_free(&in);
}
END_TEST

START_TEST(test_bad_input)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_quadratic_create(5, 6, 1, &in),
                     OTK_ERR_INVALID_ARGUMENT); /* rows < dim */
    ck_assert_int_eq(otk_bilevel_quadratic_create(100, 0, 1, &in),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(otk_bilevel_quadratic_create(100, 4, 1, NULL),
                     OTK_ERR_INVALID_ARGUMENT);
    otk_bilevel_instance_free(&in); /* safe on a failed create */
    ck_assert_int_eq(otk_bilevel_quadratic_create(100, 4, 1, &in),
                     OTK_CONVERGED);
    otk_bilevel_settings s;
    otk_bilevel_default_settings(&s);
    s.eps0 = 0;
    expect_bad_setting(&in, &s, "settings.eps0");
    s.delta0 = NAN;
    expect_bad_setting(&in, &s, "settings.delta0");
    s.nu_under = 1;
    expect_bad_setting(&in, &s, "settings.nu_under");
    s.rho_over = 0.5;
    expect_bad_setting(&in, &s, "settings.rho_over");
    s.armijo_c = s.eta;
    expect_bad_setting(&in, &s, "settings.armijo_c");
    s.max_backtrack = 0;
    expect_bad_setting(&in, &s, "settings.max_backtrack");
    s.method = (otk_bilevel_method)9;
    expect_bad_setting(&in, &s, "settings.method");

    double theta[4], x[4];
    memcpy(theta, in.theta0, sizeof theta);
    memcpy(x, in.x0, sizeof x);
    otk_bilevel_info info;
    ck_assert_int_eq(otk_bilevel_solve(NULL, NULL, theta, x, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "problem");

    /* missing callbacks, and cross_norm when the descent test is on */
    otk_bilevel_problem pb = in.problem;
    pb.cross_norm = NULL;
    ck_assert_int_eq(otk_bilevel_solve(&pb, NULL, theta, x, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "cross_norm");
    pb = in.problem;
    pb.ll_hvp = NULL;
    ck_assert_int_eq(otk_bilevel_solve(&pb, NULL, theta, x, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "ll_hvp");
    pb = in.problem;
    pb.p = 0;
    ck_assert_int_eq(otk_bilevel_solve(&pb, NULL, theta, x, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "p");

    /* non-finite start */
    theta[2] = NAN;
    ck_assert_int_eq(otk_bilevel_solve(&in.problem, NULL, theta, x, &info),
                     OTK_ERR_INVALID_INPUT);
    ck_assert_str_eq(info.outcome.bad_argument, "theta");
    ck_assert_uint_eq(info.outcome.bad_index, 2);
    theta[2] = in.theta0[2];

    /* a callback that fails mid-run: a clean error naming it, the trace
     * rows emitted so far stand, theta is the last accepted point */
    flaky f = {&in.problem, 60};
    otk_bilevel_problem fp = flaky_problem(&f);
    row_log log = {0, {0}};
    otk_bilevel_default_settings(&s);
    s.progress = log_rows;
    s.progress_user = &log;
    ck_assert_int_eq(otk_bilevel_solve(&fp, &s, theta, x, &info),
                     OTK_ERR_NUMERICAL);
    ck_assert_str_eq(info.outcome.bad_argument, "ll_grad");
    ck_assert(log.rows >= 2);
    ck_assert(isfinite(theta[0]) && isfinite(x[0]));
    /* x is a certified solution at the returned theta, not a partial
     * iterate: its lower-level gradient is small */
    double grad[4], mu, L;
    ck_assert_int_eq(in.problem.ll_grad(in.problem.user, theta, x, grad), 0);
    ck_assert_int_eq(in.problem.ll_constants(in.problem.user, theta, &mu, &L),
                     0);
    ck_assert(sqrt(grad[0] * grad[0] + grad[1] * grad[1] + grad[2] * grad[2] +
                   grad[3] * grad[3]) <= mu * info.eps * 1.0001);
    ck_assert(memcmp(theta, log.last_theta, sizeof theta) == 0);

    /* a lower-level solver that cannot reach the accuracy: stalled, with
     * the cap named, theta and x still the start's solution */
    memcpy(theta, in.theta0, sizeof theta);
    memcpy(x, in.x0, sizeof x);
    otk_bilevel_default_settings(&s);
    s.eps0 = 1e-12;
    s.ll_max_iter = 1;
    ck_assert_int_eq(otk_bilevel_solve(&in.problem, &s, theta, x, &info),
                     OTK_STALLED);
    ck_assert_str_eq(info.outcome.cause, "ll_max_iter");
    ck_assert_ptr_null(info.outcome.bad_argument);
    ck_assert(memcmp(theta, in.theta0, sizeof theta) == 0);
    otk_bilevel_instance_free(&in);
}
END_TEST

/* ---- settings bounds as data ---- */

/* A solve of the quadratic instance (user) with these settings, which
 * must leave theta alone when it fails. */
static otk_status try_settings(void *user, const void *settings,
                               const char **bad)
{
    const otk_bilevel_instance *in = user;
    double theta[3], x[3];
    memcpy(theta, in->theta0, sizeof theta);
    memcpy(x, in->x0, sizeof x);
    otk_bilevel_info info;
    otk_status st = otk_bilevel_solve(&in->problem, settings, theta, x, &info);
    *bad = info.outcome.bad_argument;
    if (st < 0)
        ck_assert(memcmp(theta, in->theta0, sizeof theta) == 0);
    return st;
}

START_TEST(test_settings_bounds_table)
{
    size_t count = 0;
    const otk_setting_bounds *t = otk_bilevel_setting_bounds(&count);
    ck_assert_uint_eq(otk_bilevel_setting_bounds(NULL) == t, 1);
    /* every numeric field of otk_bilevel_settings has its record */
    static const char *const fields[] = {
        "method",        "lower_solver",  "eps0",
        "delta0",        "alpha0",        "rho_under",
        "rho_over",      "nu_under",      "nu_over",
        "eta",           "check_descent", "armijo_c",
        "max_backtrack", "max_rounds",    "max_refinements",
        "eps_min",       "delta_min",     "max_iter",
        "budget",        "grad_tol",      "ll_max_iter",
        "cg_max_iter",   "hoag_decrease", "theta_bound",
        "error_mode",    "rho_fast",      "cg_warm_start",
        "ll_mu_floor",   "qn_pairs"};
    otk_bilevel_settings def;
    memset(&def, 0x5a, sizeof def);
    otk_bilevel_default_settings(&def);
    ck_assert(def.progress == NULL && def.progress_user == NULL);

    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_quadratic_create(30, 3, 1, &in),
                     OTK_CONVERGED);
    test_bounds_table(t, count, fields, sizeof fields / sizeof *fields, &def,
                      sizeof def, try_settings, &in);
    /* the link between two fields is checked after the table */
    otk_bilevel_settings s = def;
    s.eta = 1e-3;
    s.armijo_c = 2e-3;
    const char *bad = NULL;
    ck_assert_int_eq(try_settings(&in, &s, &bad), OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(bad, "settings.armijo_c");
    otk_bilevel_instance_free(&in);
}
END_TEST

/* ---- progress callback ---- */

typedef struct progress_log {
    size_t p, calls, cancel_at;
    double last_elapsed;
    double theta[4];
} progress_log;

static int check_progress(void *user, const otk_progress *pr)
{
    progress_log *l = user;
    ck_assert_str_eq(pr->solver, "bilevel");
    const otk_bilevel_trace_row *row = pr->detail;
    ck_assert_ptr_nonnull(row);
    ck_assert_uint_eq(pr->iteration, row->iteration);
    ck_assert_uint_eq(row->iteration, l->calls);
    ck_assert(isnan(pr->reg));
    ck_assert(pr->objective == row->upper_loss);
    if (row->iteration == 0)
        ck_assert(isnan(pr->error) && isnan(row->grad_norm));
    else
        ck_assert(pr->error == row->grad_norm && pr->error > 0);
    ck_assert(pr->elapsed_s == row->time_s);
    ck_assert(pr->elapsed_s >= l->last_elapsed);
    l->last_elapsed = pr->elapsed_s;
    ck_assert_ptr_nonnull(row->theta);
    for (size_t j = 0; j < l->p; j++)
        ck_assert(isfinite(row->theta[j]));
    memcpy(l->theta, row->theta, l->p * sizeof *row->theta);
    l->calls++;
    return l->calls - 1 == l->cancel_at;
}

START_TEST(test_progress_and_cancel)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_quadratic_create(50, 4, 29, &in),
                     OTK_CONVERGED);
    const otk_bilevel_method methods[] = {OTK_BILEVEL_MAID,
                                          OTK_BILEVEL_HOAG_GEOMETRIC};
    for (int m = 0; m < 2; m++) {
        otk_bilevel_settings s;
        otk_bilevel_default_settings(&s);
        s.method = methods[m];
        s.max_iter = 20;
        progress_log log = {4, 0, SIZE_MAX, 0, {0}};
        s.progress = check_progress;
        s.progress_user = &log;
        double theta[4], x[4];
        memcpy(theta, in.theta0, sizeof theta);
        memcpy(x, in.x0, sizeof x);
        otk_bilevel_info info;
        ck_assert_int_eq(otk_bilevel_solve(&in.problem, &s, theta, x, &info),
                         OTK_MAX_ITER);
        ck_assert_uint_eq(log.calls, 21);
        /* the last row's theta is the returned one */
        ck_assert(memcmp(log.theta, theta, sizeof theta) == 0);
        ck_assert(info.outcome.time_s >= log.last_elapsed);

        /* a nonzero return at row 5 cancels with that row's theta */
        progress_log stop = {4, 0, 5, 0, {0}};
        s.progress_user = &stop;
        memcpy(theta, in.theta0, sizeof theta);
        memcpy(x, in.x0, sizeof x);
        ck_assert_int_eq(otk_bilevel_solve(&in.problem, &s, theta, x, &info),
                         OTK_CANCELLED);
        ck_assert_int_eq(info.outcome.status, OTK_CANCELLED);
        ck_assert_ptr_null(info.outcome.cause);
        ck_assert_uint_eq(stop.calls, 6);
        ck_assert_uint_eq(info.iterations, 5);
        ck_assert(memcmp(stop.theta, theta, sizeof theta) == 0);
        /* cancelling at the start (row 0) keeps the start */
        progress_log first = {4, 0, 0, 0, {0}};
        s.progress_user = &first;
        memcpy(theta, in.theta0, sizeof theta);
        ck_assert_int_eq(otk_bilevel_solve(&in.problem, &s, theta, x, &info),
                         OTK_CANCELLED);
        ck_assert_uint_eq(first.calls, 1);
        ck_assert(memcmp(theta, in.theta0, sizeof theta) == 0);
    }
    otk_bilevel_instance_free(&in);
}
END_TEST

/* The building block reports like the solver: a cap reached is a stall
 * with its cause, a bad argument is named. */
START_TEST(test_hypergradient_outcome)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_quadratic_create(50, 4, 29, &in),
                     OTK_CONVERGED);
    const otk_bilevel_problem *pb = &in.problem;
    double x[4], z[4], q[4];
    memcpy(x, in.x0, sizeof x);
    otk_bilevel_info info;
    ck_assert_int_eq(otk_bilevel_hypergradient(pb, NULL, in.theta0, 1e-6, 1e-6,
                                               x, q, z, &info),
                     OTK_CONVERGED);
    ck_assert_int_eq(info.outcome.status, OTK_CONVERGED);
    ck_assert(info.ll_iterations + info.cg_iterations > 0);
    assert_close("grad_norm", info.grad_norm, sqrt(bt_dot(z, z, 4)), 1e-15, 0);
    ck_assert(isfinite(info.upper_loss));

    otk_bilevel_settings s = bt_caps(1);
    s.ll_max_iter = 100000;
    memcpy(x, in.x0, sizeof x);
    ck_assert_int_eq(otk_bilevel_hypergradient(pb, &s, in.theta0, 1e-6, 1e-14,
                                               x, NULL, z, &info),
                     OTK_STALLED);
    ck_assert_str_eq(info.outcome.cause, "cg_max_iter");
    ck_assert_ptr_null(info.outcome.bad_argument);
    ck_assert_uint_eq(info.cg_iterations, 1);

    ck_assert_int_eq(otk_bilevel_hypergradient(pb, NULL, in.theta0, 0, 1e-6, x,
                                               NULL, z, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "eps");
    s.cg_max_iter = 0;
    ck_assert_int_eq(otk_bilevel_hypergradient(pb, &s, in.theta0, 1e-6, 1e-6, x,
                                               NULL, z, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "settings.cg_max_iter");
    otk_bilevel_instance_free(&in);
}
END_TEST

/* The exact lower solution of a quadratic lower level: one Newton step
 * xhat = x0 - A^{-1} grad h(x0) with A assembled from ll_hvp (n small). */
static void exact_lower(const otk_bilevel_problem *pb, const double *theta,
                        const double *x0, double *xhat)
{
    size_t n = pb->n;
    double *A = malloc(n * n * sizeof *A), *e = calloc(n, sizeof *e);
    for (size_t j = 0; j < n; j++) {
        e[j] = 1;
        ck_assert_int_eq(pb->ll_hvp(pb->user, theta, x0, e, A + j * n), 0);
        e[j] = 0;
    }
    ck_assert_int_eq(pb->ll_grad(pb->user, theta, x0, e), 0);
    ck_assert_int_eq(otk__spd_solve(n, 1, A, e), 0);
    for (size_t i = 0; i < n; i++)
        xhat[i] = x0[i] - e[i];
    free(A);
    free(e);
}

/* otk_bilevel_evaluate: f(theta*) = f_star (analytic) to 1e-10, and at
 * other thetas g at the exact lower solution, within the loss_error it
 * certifies; bad arguments are named. */
START_TEST(test_evaluate_true_loss)
{
    otk_bilevel_instance in;
    ck_assert_int_eq(otk_bilevel_quadratic_create(50, 4, 3, &in),
                     OTK_CONVERGED);
    const otk_bilevel_problem *pb = &in.problem;
    otk_bilevel_settings s = bt_caps(100000);
    otk_bilevel_info info;
    double x[4], xhat[4], loss, err, g;
    memcpy(x, in.x0, sizeof x);
    ck_assert_int_eq(otk_bilevel_evaluate(pb, &s, in.theta_star, 1e-10, x,
                                          &loss, &err, &info),
                     OTK_CONVERGED);
    assert_close("f(theta*)", loss, in.f_star, 1e-10, 0);
    ck_assert(err > 0 && err <= 1e-9);
    ck_assert(info.ll_iterations > 0);
    ck_assert(info.eps == 1e-10 && info.upper_loss == loss);
    const double shifts[] = {-2, 0.5, 3};
    for (int k = 0; k < 3; k++) {
        double theta[4];
        for (int i = 0; i < 4; i++)
            theta[i] = in.theta_star[i] + shifts[k] * (i % 2 ? -1 : 1);
        memcpy(x, in.x0, sizeof x);
        ck_assert_int_eq(
            otk_bilevel_evaluate(pb, &s, theta, 1e-10, x, &loss, &err, NULL),
            OTK_CONVERGED);
        exact_lower(pb, theta, in.x0, xhat);
        ck_assert_int_eq(pb->upper(pb->user, xhat, &g, NULL), 0);
        /* the certified error is what holds; it is small here */
        ck_assert_msg(err <= 1e-8 * g, "loss_error %g for f %g", err, g);
        ck_assert_msg(fabs(loss - g) <= err + 1e-14 * g,
                      "|%.17g - %.17g| > loss_error %g", loss, g, err);
        ck_assert(g > in.f_star);
    }
    /* a loose eps: a larger certified error that still holds */
    memcpy(x, in.x0, sizeof x);
    ck_assert_int_eq(
        otk_bilevel_evaluate(pb, &s, in.theta0, 1e-2, x, &loss, &err, NULL),
        OTK_CONVERGED);
    exact_lower(pb, in.theta0, in.x0, xhat);
    ck_assert_int_eq(pb->upper(pb->user, xhat, &g, NULL), 0);
    ck_assert(fabs(loss - g) <= err);
    /* bad arguments and a cap */
    ck_assert_int_eq(
        otk_bilevel_evaluate(pb, &s, in.theta0, 0, x, &loss, &err, &info),
        OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "eps");
    ck_assert(isnan(loss) && isnan(err));
    ck_assert_int_eq(
        otk_bilevel_evaluate(pb, &s, in.theta0, 1e-6, x, NULL, NULL, &info),
        OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "loss");
    s.ll_max_iter = 1;
    memcpy(x, in.x0, sizeof x);
    ck_assert_int_eq(
        otk_bilevel_evaluate(pb, &s, in.theta0, 1e-12, x, &loss, &err, &info),
        OTK_STALLED);
    ck_assert_str_eq(info.outcome.cause, "ll_max_iter");
    ck_assert(isnan(loss));
    ck_assert(memcmp(x, in.x0, sizeof x) == 0); /* uncertified: unchanged */
    otk_bilevel_instance_free(&in);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bilevel");
    TCase *blocks = tcase_create("blocks");
    tcase_add_test(blocks, test_cg_absolute_residual);
    tcase_add_test(blocks, test_fista_certificate);
    suite_add_tcase(s, blocks);
    TCase *quad = tcase_create("quadratic");
    tcase_set_timeout(quad, 120);
    tcase_add_test(quad, test_quadratic_derivatives);
    tcase_add_test(quad, test_quadratic_analytic_optimum);
    tcase_add_test(quad, test_omega_dominates_error);
    tcase_add_test(quad, test_bounds_and_true_decrease);
    tcase_add_test(quad, test_maid_reaches_optimum);
    tcase_add_test(quad, test_hoag_schedules_decrease);
    tcase_add_test(quad, test_budget_is_exact);
    tcase_add_test(quad, test_zero_hypergradient_is_not_convergence);
    tcase_add_test(quad, test_progress_and_cancel);
    tcase_add_test(quad, test_evaluate_true_loss);
    tcase_add_test(quad, test_practical_true_decrease);
    tcase_add_test(quad, test_practical_cg_is_relative_to_grad_g);
    tcase_add_test(quad, test_practical_eps0_sweep_agrees);
    tcase_add_test(quad, test_practical_budget_to_optimum);
    tcase_add_test(quad, test_first_step_rule);
    tcase_add_test(quad, test_growth_after_backtrack);
    tcase_add_test(quad, test_quasi_newton_budget);
    tcase_add_test(quad, test_quasi_newton_tv1d);
    tcase_add_test(quad, test_cg_warm_start);
    tcase_add_test(quad, test_quadratic_conditioned);
    suite_add_tcase(s, quad);
    TCase *bad = tcase_create("bad_input");
    tcase_add_test(bad, test_bad_input);
    tcase_add_test(bad, test_short_cg_is_not_budget_end);
    tcase_add_test(bad, test_settings_bounds_table);
    tcase_add_test(bad, test_hypergradient_outcome);
    suite_add_tcase(s, bad);
    return run_suite(s);
}
