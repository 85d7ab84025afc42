/* The multiscale Sinkhorn path (settings.multiscale): against the dense
 * solver on the same problems, the bound on the neglected mass checked
 * against the full plan of the returned potentials, and the settings it
 * refuses. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/entropic.h>

#include "entropic/entropic_internal.h"
#include "testutil.h"

#define PROBLEM(cost, a, b, reg) (&(otk_problem){(cost), (a), (b), (reg)})

/* Uniform points in [0, 1]^d. */
static double *uniform_points(size_t rows, size_t d, unsigned long long seed)
{
    double *x = malloc(rows * d * sizeof *x);
    for (size_t k = 0; k < rows * d; k++)
        x[k] = test_uniform(&seed);
    return x;
}

static otk_sinkhorn_settings with_multiscale(int on)
{
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.multiscale = on;
    return s;
}

/* Sums of the full plan a_i b_j exp((f_i + g_j - C_ij) / reg) of the
 * returned potentials: its total, and the L1 violation of its marginals. */
static void full_plan(const otk_cost *cost, const double *a, const double *b,
                      double reg, const double *f, const double *g,
                      double *total, double *violation)
{
    const size_t n = cost->n, m = cost->m;
    double *col = calloc(m, sizeof *col), sum = 0.0, viol = 0.0;
    for (size_t i = 0; i < n; i++) {
        double row = 0.0;
        for (size_t j = 0; j < m; j++) {
            double p = a[i] * b[j] *
                       exp((f[i] + g[j] - otk_cost_entry(cost, i, j)) / reg);
            row += p;
            col[j] += p;
        }
        sum += row;
        viol += fabs(row - a[i]);
    }
    for (size_t j = 0; j < m; j++)
        viol += fabs(col[j] - b[j]);
    free(col);
    *total = sum;
    *violation = viol;
}

/* Different sizes, random weights (one zero), at a reg where part of the
 * pairs is dropped: the same potentials, values and divergence as the
 * dense solver. */
START_TEST(matches_the_dense_solver)
{
    const size_t n = 500, m = 400, d = 3;
    double *x = uniform_points(n, d, 1), *y = uniform_points(m, d, 2);
    double *a = malloc(n * sizeof *a), *b = malloc(m * sizeof *b);
    unsigned long long st = 3;
    double sa = 0.0, sb = 0.0;
    for (size_t i = 0; i < n; i++)
        sa += a[i] = 0.5 + test_uniform(&st);
    for (size_t j = 0; j < m; j++)
        sb += b[j] = 0.5 + test_uniform(&st);
    sa -= a[7];
    a[7] = 0.0;
    for (size_t i = 0; i < n; i++)
        a[i] /= sa;
    for (size_t j = 0; j < m; j++)
        b[j] /= sb;
    otk_cost cost = otk_cost_points(n, m, d, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    const double reg = 4e-3;
    double *f0 = malloc(n * sizeof *f0), *g0 = malloc(m * sizeof *g0);
    double *f1 = malloc(n * sizeof *f1), *g1 = malloc(m * sizeof *g1);
    otk_sinkhorn_settings dense = with_multiscale(0), ms = with_multiscale(1);
    otk_sinkhorn_info i0[3], i1[3];
    double div0, div1;
    otk_solution s0 = {f0, g0, NULL, NULL, 0}, s1 = {f1, g1, NULL, NULL, 0};
    ck_assert_int_eq(otk_sinkhorn_divergence(PROBLEM(&cost, a, b, reg), NULL,
                                             NULL, &dense, &div0, &s0, i0),
                     OTK_CONVERGED);
    ck_assert_int_eq(otk_sinkhorn_divergence(PROBLEM(&cost, a, b, reg), NULL,
                                             NULL, &ms, &div1, &s1, i1),
                     OTK_CONVERGED);
    for (int k = 0; k < 3; k++) {
        ck_assert(i1[k].neglected_mass > 0.0);   /* pairs were dropped */
        ck_assert(i1[k].neglected_mass < 1e-10); /* well below tol */
        ck_assert(i1[k].residual <= 1e-9 * 2.0);
        assert_close("dual", i1[k].dual_objective, i0[k].dual_objective, 1e-9,
                     0.0);
        ck_assert(i0[k].neglected_mass == 0.0);
    }
    assert_close("divergence", div1, div0, 1e-7, 0.0);
    assert_close("transport", i1[0].transport_cost, i0[0].transport_cost, 1e-8,
                 0.0);
    assert_close("objective", i1[0].objective, i0[0].objective, 1e-9, 0.0);
    /* potentials agree up to f + t, g - t, where the weights are positive
     * (the zero-weight row's f is its c-transform on the kept pairs) */
    f1[7] = f0[7] + (f1[0] - f0[0]);
    assert_close_shifted("f", f1, f0, n, 0.0, 1e-7);
    free(x);
    free(y);
    free(a);
    free(b);
    free(f0);
    free(g0);
    free(f1);
    free(g1);
}
END_TEST

/* A coarse truncation (exp(-4)) leaves mass out: run to max_iter (tol 0,
 * so that the cut is never raised), the reported bound holds for the full
 * plan of the returned potentials and the residual bounds the full
 * plan's. With a tol, the same start is raised until the bound meets it. */
START_TEST(neglected_mass_is_bounded)
{
    const size_t n = 300, d = 3;
    double *x = uniform_points(n, d, 5), *y = uniform_points(n, d, 6);
    double *a = malloc(n * sizeof *a), *P = malloc(n * n * sizeof *P);
    double *f = malloc(n * sizeof *f), *g = malloc(n * sizeof *g);
    for (size_t i = 0; i < n; i++)
        a[i] = 1.0 / (double)n;
    otk_cost cost = otk_cost_points(n, n, d, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    const double reg = 5e-3;
    otk_sinkhorn_settings s = with_multiscale(1);
    s.truncation = 4.0;
    s.tol = 0.0;
    s.max_iter = 2000;
    otk_sinkhorn_info info;
    otk_solution sol = {f, g, P, NULL, 0};
    otk_status st =
        otk_sinkhorn(PROBLEM(&cost, NULL, NULL, reg), &s, &sol, &info);
    ck_assert_int_eq(st, OTK_MAX_ITER);
    ck_assert_str_eq(info.outcome.cause, "max_iter");
    double kept = 0.0, total, violation;
    size_t zeros = 0;
    for (size_t k = 0; k < n * n; k++) {
        kept += P[k];
        zeros += P[k] == 0.0;
    }
    full_plan(&cost, a, a, reg, f, g, &total, &violation);
    const double missing = total - kept;
    ck_assert(zeros > 0);
    ck_assert(missing > 1e-9); /* the truncation did drop mass */
    ck_assert(missing <= info.neglected_mass);
    ck_assert(violation <= info.residual);
    ck_assert(info.residual > 1e-9);
    /* at tol 1e-9 the cut is raised until the bound meets it */
    s.tol = 1e-9;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&cost, NULL, NULL, reg), &s, &sol, &info),
        OTK_CONVERGED);
    full_plan(&cost, a, a, reg, f, g, &total, &violation);
    ck_assert(violation <= info.residual);
    ck_assert(info.residual <= 1e-9);
    ck_assert(info.neglected_mass > 0.0 && info.neglected_mass < 0.5e-9);
    /* the same with a wide truncation converges, and the bound is far
     * below tol */
    s.truncation = 20.0;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&cost, NULL, NULL, reg), &s, &sol, &info),
        OTK_CONVERGED);
    full_plan(&cost, a, a, reg, f, g, &total, &violation);
    ck_assert(violation <= info.residual);
    ck_assert(info.neglected_mass < 1e-10);
    free(x);
    free(y);
    free(a);
    free(P);
    free(f);
    free(g);
}
END_TEST

/* The last kept point pairs the progress callback saw. */
static int last_kept(void *user, const otk_progress *p)
{
    const otk_sinkhorn_progress *d = p->detail;
    *(size_t *)user = d->kept_pairs;
    return 0;
}

/* Per-point pruning: the kept point pairs (the nonzero entries of the
 * returned plan, as the callback counts them) hold every entry whose
 * own bound f_i + g_j - C_ij passes the cut, with a margin for the
 * potentials' last moves, and not many more: the cluster boxes of these
 * 1000 points (about 0.2 wide, the kernel's radius) alone kept 9.9 times
 * that many, with per-point pruning 4.1 times. */
START_TEST(point_pruning_keeps_near_the_kernel)
{
    const size_t n = 1000, m = 900, d = 3;
    double *x = uniform_points(n, d, 21), *y = uniform_points(m, d, 22);
    double *f = malloc(n * sizeof *f), *g = malloc(m * sizeof *g);
    double *P = malloc(n * m * sizeof *P);
    otk_cost cost = otk_cost_points(n, m, d, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    const double reg = 2e-3;
    otk_sinkhorn_settings s = with_multiscale(1);
    size_t kept = 0;
    s.progress = last_kept;
    s.progress_user = &kept;
    otk_sinkhorn_info info;
    otk_solution sol = {f, g, P, NULL, 0};
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&cost, NULL, NULL, reg), &s, &sol, &info),
        OTK_CONVERGED);
    size_t nonzero = 0, needed = 0, missed = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            const double e = (f[i] + g[j] - otk_cost_entry(&cost, i, j)) / reg;
            nonzero += P[i * m + j] > 0.0;
            needed += e >= -s.truncation;
            missed += e >= -(s.truncation - 1.0) && !(P[i * m + j] > 0.0);
        }
    ck_assert_uint_eq(nonzero, kept);
    ck_assert_uint_eq(missed, 0);
    ck_assert_uint_le(kept, 5 * needed);
    free(x);
    free(y);
    free(f);
    free(g);
    free(P);
}
END_TEST

/* A cloud against itself (the divergence's self terms): the kept point
 * pairs stay symmetric under per-point pruning, so the averaged update
 * returns f = g, and the plan is that of the dense solver. A rule that
 * tests only one side of each pair keeps (i, j) without (j, i). */
START_TEST(point_pruning_stays_symmetric)
{
    const size_t n = 800, d = 3;
    double *x = uniform_points(n, d, 23);
    double *f = malloc(n * sizeof *f), *g = malloc(n * sizeof *g);
    double *P = malloc(n * n * sizeof *P);
    otk_cost self = otk_cost_points(n, n, d, x, x, OTK_METRIC_SQEUCLIDEAN, 2);
    otk_sinkhorn_settings s = with_multiscale(1);
    otk_sinkhorn_info i0, i1;
    otk_solution sol = {f, g, P, NULL, 0};
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&self, NULL, NULL, 2e-3), &s, &sol, &i1),
        OTK_CONVERGED);
    size_t kept = 0, asymmetric = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            kept += P[i * n + j] > 0.0;
            asymmetric += (P[i * n + j] > 0.0) != (P[j * n + i] > 0.0);
        }
    ck_assert_uint_eq(asymmetric, 0);
    ck_assert_uint_lt(kept, n * n / 4); /* pairs were dropped */
    for (size_t i = 0; i < n; i++)
        ck_assert(f[i] == g[i]);
    s.multiscale = 0;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&self, NULL, NULL, 2e-3), &s, NULL, &i0),
        OTK_CONVERGED);
    assert_close("self dual", i1.dual_objective, i0.dual_objective, 1e-9, 0.0);
    free(x);
    free(f);
    free(g);
    free(P);
}
END_TEST

/* The multiscale path needs squared Euclidean point clouds, a balanced
 * problem and no warm start; auto leaves small problems to the dense
 * solver. */
START_TEST(refuses_what_it_cannot_bound)
{
    const size_t n = 50, d = 2;
    double *x = uniform_points(n, d, 7), *y = uniform_points(n, d, 8);
    double *C = malloc(n * n * sizeof *C), g[50] = {0};
    otk_cost pts = otk_cost_points(n, n, d, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            C[i * n + j] = otk_cost_entry(&pts, i, j);
    otk_cost dense = otk_cost_dense(n, n, C);
    otk_cost eucl = otk_cost_points(n, n, d, x, y, OTK_METRIC_EUCLIDEAN, 2);
    otk_sinkhorn_info info;
    otk_sinkhorn_settings s = with_multiscale(1);
    const otk_cost *refused[] = {&dense, &eucl};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(
            otk_sinkhorn(PROBLEM(refused[k], NULL, NULL, 0.1), &s, NULL, &info),
            OTK_ERR_INVALID_ARGUMENT);
        ck_assert_str_eq(info.outcome.bad_argument, "settings.multiscale");
    }
    s.tau_a = 1.0;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&pts, NULL, NULL, 0.1), &s, NULL, &info),
        OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "settings.multiscale");
    s = with_multiscale(1);
    s.warm_start = 1;
    otk_solution sol = {NULL, g, NULL, NULL, 0};
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&pts, NULL, NULL, 0.1), &s, &sol, &info),
        OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "settings.multiscale");
    s = with_multiscale(1);
    s.truncation = 0.0;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&pts, NULL, NULL, 0.1), &s, NULL, &info),
        OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.outcome.bad_argument, "settings.truncation");
    /* auto on a small problem (and on a dense cost) is the dense solver */
    s = with_multiscale(-1);
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&pts, NULL, NULL, 0.1), &s, NULL, &info),
        OTK_CONVERGED);
    ck_assert(info.neglected_mass == 0.0);
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&dense, NULL, NULL, 0.1), &s, NULL, &info),
        OTK_CONVERGED);
    free(x);
    free(y);
    free(C);
}
END_TEST

/* Identical clouds (a self-transport problem) give the same as the dense
 * solver, with one thread or two, and max_iter ends with the returned
 * plan measured. */
START_TEST(budget_and_self_transport)
{
    const size_t n = 400, d = 2;
    double *x = uniform_points(n, d, 9);
    otk_cost self = otk_cost_points(n, n, d, x, x, OTK_METRIC_SQEUCLIDEAN, 2);
    otk_sinkhorn_settings s = with_multiscale(1);
    otk_sinkhorn_info i0, i1;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&self, NULL, NULL, 2e-3), &s, NULL, &i1),
        OTK_CONVERGED);
    s.multiscale = 0;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&self, NULL, NULL, 2e-3), &s, NULL, &i0),
        OTK_CONVERGED);
    assert_close("self dual", i1.dual_objective, i0.dual_objective, 1e-9, 0.0);
    s.multiscale = 1;
    s.max_iter = 3;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&self, NULL, NULL, 2e-3), &s, NULL, &i1),
        OTK_MAX_ITER);
    ck_assert_str_eq(i1.outcome.cause, "max_iter_stage");
    ck_assert_uint_eq(i1.iterations, 3);
    ck_assert(isfinite(i1.residual) && i1.residual > 1e-9);
    free(x);
}
END_TEST

/* Two 3-D clouds at reg 1e-3: the first plain checks of the last stage
 * measure a fast transient, and the omega they give leaves the slow mode
 * at 0.967 per iteration; the rate measured under omega raises it to that
 * mode's optimum (when this test was added: 860 iterations without the
 * raise, 420 with it). */
START_TEST(omega_follows_the_slow_mode)
{
    const size_t n = 1500, d = 3;
    double *x = uniform_points(n, d, 11), *y = uniform_points(n, d, 12);
    otk_cost cost = otk_cost_points(n, n, d, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    otk_sinkhorn_settings s = with_multiscale(1);
    otk_sinkhorn_info info;
    ck_assert_int_eq(
        otk_sinkhorn(PROBLEM(&cost, NULL, NULL, 1e-3), &s, NULL, &info),
        OTK_CONVERGED);
    ck_assert(info.residual <= 1e-9);
    ck_assert_uint_le(info.iterations, 500);
    free(x);
    free(y);
}
END_TEST

/* The default (settings.multiscale = -1) takes the path for squared
 * Euclidean clouds in at most 3-D with n m >= 1e8 whose truncated kernel
 * is narrow (truncation reg <= 1% of the largest cost), and nothing else. */
START_TEST(auto_takes_large_clouds_at_small_reg)
{
    const size_t n = 10000;
    double *x = uniform_points(n, 4, 13);
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    ck_assert_int_eq(s.multiscale, -1);
    /* the largest cost of 10^4 uniform points in [0, 1]^3 is about 3 */
    otk_cost c = otk_cost_points(n, n, 3, x, x, OTK_METRIC_SQEUCLIDEAN, 2);
    ck_assert(otk__multiscale_wanted(PROBLEM(&c, NULL, NULL, 1e-3), &s));
    ck_assert(!otk__multiscale_wanted(PROBLEM(&c, NULL, NULL, 1e-2), &s));
    s.truncation = 40.0; /* a wider kernel at the same reg */
    ck_assert(!otk__multiscale_wanted(PROBLEM(&c, NULL, NULL, 1e-3), &s));
    otk_sinkhorn_default_settings(&s);
    c.scale = 10.0; /* the same kernel in units of a larger cost */
    ck_assert(otk__multiscale_wanted(PROBLEM(&c, NULL, NULL, 1e-2), &s));
    c.scale = 1.0;
    c.m = n - 1; /* n m below 1e8 */
    ck_assert(!otk__multiscale_wanted(PROBLEM(&c, NULL, NULL, 1e-3), &s));
    c.m = n;
    c.d = 4; /* the same 10^4 points in 4-D */
    ck_assert(!otk__multiscale_wanted(PROBLEM(&c, NULL, NULL, 1e-3), &s));
    otk_cost e = otk_cost_points(n, n, 3, x, x, OTK_METRIC_EUCLIDEAN, 2);
    ck_assert(!otk__multiscale_wanted(PROBLEM(&e, NULL, NULL, 1e-3), &s));
    s.tau_a = 1.0;
    ck_assert(!otk__multiscale_wanted(PROBLEM(&c, NULL, NULL, 1e-3), &s));
    otk_sinkhorn_default_settings(&s);
    s.warm_start = 1;
    ck_assert(!otk__multiscale_wanted(PROBLEM(&c, NULL, NULL, 1e-3), &s));
    s.warm_start = 0;
    s.multiscale = 0;
    ck_assert(!otk__multiscale_wanted(PROBLEM(&c, NULL, NULL, 1e-3), &s));
    free(x);
}
END_TEST

static Suite *multiscale_suite(void)
{
    Suite *s = suite_create("multiscale");
    TCase *tc = tcase_create("multiscale");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, matches_the_dense_solver);
    tcase_add_test(tc, neglected_mass_is_bounded);
    tcase_add_test(tc, point_pruning_keeps_near_the_kernel);
    tcase_add_test(tc, point_pruning_stays_symmetric);
    tcase_add_test(tc, refuses_what_it_cannot_bound);
    tcase_add_test(tc, budget_and_self_transport);
    tcase_add_test(tc, omega_follows_the_slow_mode);
    tcase_add_test(tc, auto_takes_large_clouds_at_small_reg);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(multiscale_suite()); }
