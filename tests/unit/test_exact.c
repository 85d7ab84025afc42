/* Exact OT: POT ot.emd oracles, optimality certificates, permutation and
 * 1-D closed forms, the entropic limit, limits on pivots, bad input. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

#include "testutil.h"

static const char *const cases[] = {
    "square5",      "rect7x4",          "rect30x20",    "rect40x35",
    "zero_weights", "permutation10",    "ties_integer", "points_sqeuclid_25x18",
    "line12",       "line_weights_9x6", "tiny_1x3",     "unequal_mass_ok"};

typedef struct solved {
    otk_exact_info info;
    otk_plan_entry *plan;
    double *P, *f, *g;
} solved;

static solved solve(const otk_cost *cost, const double *a, const double *b)
{
    const size_t n = cost->n, m = cost->m;
    solved r;
    r.plan = malloc((n + m) * sizeof *r.plan);
    r.P = malloc(n * m * sizeof *r.P);
    r.f = malloc(n * sizeof *r.f);
    r.g = malloc(m * sizeof *r.g);
    ck_assert(r.plan && r.P && r.f && r.g);
    otk_status st = otk_exact(cost, a, b, NULL, r.plan, r.P, r.f, r.g, &r.info);
    ck_assert_msg(st == OTK_OPTIMAL, "status %s", otk_status_name(st));
    ck_assert_int_eq(r.info.status, st);
    return r;
}

static void release(solved *r)
{
    free(r->plan);
    free(r->P);
    free(r->f);
    free(r->g);
}

/* Everything an optimal solution must satisfy, checked independently of
 * any oracle: primal feasibility, a sparse plan of at most n + m - 1
 * sorted entries matching the dense one, dual feasibility, complementary
 * slackness and a zero duality gap. */
static void check_certificate(const otk_cost *cost, const double *a,
                              const double *b, const solved *r)
{
    const size_t n = cost->n, m = cost->m;
    double scale = 0.0, mass = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            scale = fmax(scale, fabs(otk_cost_entry(cost, i, j)));
    for (size_t i = 0; i < n; i++)
        mass += a != NULL ? a[i] : 1.0 / (double)n;
    const double tol = 1e-11 * (scale + 1.0);
    ck_assert_uint_le(r->info.nnz, n + m - 1);
    double *dense = calloc(n * m, sizeof *dense);
    double cost_sum = 0.0;
    for (size_t k = 0; k < r->info.nnz; k++) {
        const otk_plan_entry *e = &r->plan[k];
        ck_assert(e->i < n && e->j < m && e->value > 0.0);
        if (k > 0)
            ck_assert(e->i > r->plan[k - 1].i ||
                      (e->i == r->plan[k - 1].i && e->j > r->plan[k - 1].j));
        dense[e->i * m + e->j] = e->value;
        cost_sum += e->value * otk_cost_entry(cost, e->i, e->j);
        /* complementary slackness */
        double slack =
            otk_cost_entry(cost, e->i, e->j) - r->f[e->i] - r->g[e->j];
        ck_assert_msg(fabs(slack) <= tol, "support (%zu,%zu): slack %g", e->i,
                      e->j, slack);
    }
    assert_close_vec("dense plan", r->P, dense, n * m, 0.0, 0.0);
    for (size_t i = 0; i < n; i++) {
        double row = 0.0;
        for (size_t j = 0; j < m; j++) {
            row += dense[i * m + j];
            double slack = otk_cost_entry(cost, i, j) - r->f[i] - r->g[j];
            ck_assert_msg(slack >= -tol, "dual infeasible at (%zu,%zu): %g", i,
                          j, slack);
        }
        assert_close("row", row, a != NULL ? a[i] : 1.0 / (double)n, 0.0,
                     1e-14 * mass);
    }
    for (size_t j = 0; j < m; j++) {
        double col = 0.0;
        for (size_t i = 0; i < n; i++)
            col += dense[i * m + j];
        /* b may have been rescaled within mass_tol */
        assert_close("column", col, b != NULL ? b[j] : 1.0 / (double)m,
                     r->info.rescaled ? 1e-9 : 0.0, 1e-14 * mass);
    }
    assert_close("transport_cost", r->info.transport_cost, cost_sum, 1e-14,
                 0.0);
    assert_close("duality gap", r->info.dual_objective, r->info.transport_cost,
                 1e-12, 1e-14 * scale * mass);
    ck_assert_double_le(r->info.marginal_error,
                        1e-13 * mass + 1e-9 * mass * r->info.rescaled);
    free(dense);
}

static otk_cost case_points(const oracle_case *oc)
{
    return otk_cost_points(oc->n, oc->m, oc->d, oc->x, oc->y,
                           OTK_METRIC_SQEUCLIDEAN, 2.0);
}

START_TEST(matches_pot)
{
    oracle_case oc;
    oracle_load("exact", cases[_i], &oc);
    otk_cost dense = otk_cost_dense(oc.n, oc.m, oc.C);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && oc.x == NULL)
            break;
        otk_cost cost = pass == 0 ? dense : case_points(&oc);
        solved r = solve(&cost, oc.a, oc.b);
        assert_close("cost", r.info.transport_cost, oc.transport_cost, 1e-12,
                     1e-15);
        check_certificate(&cost, oc.a, oc.b, &r);
        if (oc.unique == 1.0)
            assert_close_vec("plan", r.P, oc.P, oc.n * oc.m, 1e-12, 1e-15);
        release(&r);
    }
    oracle_free(&oc);
}
END_TEST

START_TEST(permutation_problems_give_permutations)
{
    oracle_case oc;
    oracle_load("exact", "permutation10", &oc);
    otk_cost cost = otk_cost_dense(oc.n, oc.m, oc.C);
    solved r = solve(&cost, NULL, NULL);
    ck_assert_uint_eq(r.info.nnz, oc.n);
    double perm[10];
    for (size_t j = 0; j < oc.m; j++)
        perm[j] = -1;
    for (size_t k = 0; k < r.info.nnz; k++) {
        assert_close("entry", r.plan[k].value, 0.1, 1e-15, 0.0);
        perm[r.plan[k].j] = (double)r.plan[k].i;
    }
    /* each target gets the source it is a noisy copy of */
    const double expect[10] = {9, 4, 8, 5, 6, 1, 2, 3, 7, 0};
    assert_close_vec("permutation", perm, expect, 10, 0.0, 0.0);
    release(&r);
    oracle_free(&oc);
}
END_TEST

static int by_value(const void *x, const void *y)
{
    double p = *(const double *)x, q = *(const double *)y;
    return (p > q) - (p < q);
}

/* 1-D, uniform weights, n = m, convex cost: the sorted matching. */
START_TEST(one_dimension_is_monotone)
{
    enum { N = 200 };
    double x[N], y[N], xs[N], ys[N];
    unsigned long long st = 77;
    for (int i = 0; i < N; i++) {
        x[i] = 10.0 * test_uniform(&st);
        y[i] = 3.0 + 10.0 * test_uniform(&st);
    }
    memcpy(xs, x, sizeof x);
    memcpy(ys, y, sizeof y);
    qsort(xs, N, sizeof xs[0], by_value);
    qsort(ys, N, sizeof ys[0], by_value);
    double exact = 0.0;
    for (int i = 0; i < N; i++)
        exact += (xs[i] - ys[i]) * (xs[i] - ys[i]) / N;
    otk_cost cost = otk_cost_points(N, N, 1, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    solved r = solve(&cost, NULL, NULL);
    assert_close("sorted cost", r.info.transport_cost, exact, 1e-12, 0.0);
    check_certificate(&cost, NULL, NULL, &r);
    /* and every source goes to the target of the same rank */
    for (size_t k = 0; k < r.info.nnz; k++) {
        size_t rank_x = 0, rank_y = 0;
        for (int q = 0; q < N; q++) {
            rank_x += x[q] < x[r.plan[k].i];
            rank_y += y[q] < y[r.plan[k].j];
        }
        ck_assert_uint_eq(rank_x, rank_y);
    }
    release(&r);
}
END_TEST

/* Larger random problems: certificates for dense and point costs, which
 * must agree. */
START_TEST(random_problems_are_certified)
{
    const size_t sizes[][2] = {{150, 120}, {64, 200}, {301, 300}};
    for (int t = 0; t < 3; t++) {
        const size_t n = sizes[t][0], m = sizes[t][1], d = 3;
        unsigned long long st = 1000 + (unsigned long long)t;
        double *x = malloc(n * d * sizeof *x), *y = malloc(m * d * sizeof *y);
        double *a = malloc(n * sizeof *a), *b = malloc(m * sizeof *b);
        double *C = malloc(n * m * sizeof *C), sa = 0.0, sb = 0.0;
        test_gaussian_points(x, n, d, 0.0, &st);
        test_gaussian_points(y, m, d, 0.5, &st);
        for (size_t i = 0; i < n; i++)
            sa += a[i] = 0.1 + test_uniform(&st);
        for (size_t j = 0; j < m; j++)
            sb += b[j] = 0.1 + test_uniform(&st);
        for (size_t i = 0; i < n; i++)
            a[i] /= sa;
        for (size_t j = 0; j < m; j++)
            b[j] = b[j] / sb;
        otk_cost pts = otk_cost_points(n, m, d, x, y, OTK_METRIC_EUCLIDEAN, 2);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++)
                C[i * m + j] = otk_cost_entry(&pts, i, j);
        otk_cost dense = otk_cost_dense(n, m, C);
        solved rd = solve(&dense, a, b), rp = solve(&pts, a, b);
        check_certificate(&dense, a, b, &rd);
        check_certificate(&pts, a, b, &rp);
        assert_close("points = dense", rp.info.transport_cost,
                     rd.info.transport_cost, 1e-13, 0.0);
        release(&rd);
        release(&rp);
        free(x);
        free(y);
        free(a);
        free(b);
        free(C);
    }
}
END_TEST

/* Entropic transport cost tends to the exact one as reg decreases. */
START_TEST(sinkhorn_tends_to_exact)
{
    oracle_case oc;
    oracle_load("exact", "rect40x35", &oc);
    otk_cost cost = otk_cost_dense(oc.n, oc.m, oc.C);
    double maxc = 0.0;
    for (size_t k = 0; k < oc.n * oc.m; k++)
        maxc = fmax(maxc, oc.C[k]);
    double prev = INFINITY;
    const double rel[] = {1e-1, 1e-2, 1e-3, 1e-4};
    for (int k = 0; k < 4; k++) {
        otk_sinkhorn_settings s;
        otk_sinkhorn_default_settings(&s);
        s.tol = 1e-9;
        s.max_iter = 200000;
        otk_sinkhorn_info info;
        otk_status st = otk_sinkhorn(
            &(otk_problem){&cost, oc.a, oc.b, rel[k] * maxc}, &s, NULL, &info);
        ck_assert_msg(st == OTK_CONVERGED, "reg %g: %s", rel[k],
                      otk_status_name(st));
        double gap = fabs(info.transport_cost - oc.transport_cost);
        ck_assert_double_lt(gap, prev);
        prev = gap;
    }
    ck_assert_double_le(prev, 1e-3 * oc.transport_cost);
    oracle_free(&oc);
}
END_TEST

START_TEST(pivot_limit_and_callback)
{
    oracle_case oc;
    oracle_load("exact", "rect40x35", &oc);
    otk_cost cost = otk_cost_dense(oc.n, oc.m, oc.C);
    otk_exact_settings s;
    otk_exact_default_settings(&s);
    s.max_iter = 5;
    otk_plan_entry plan[80];
    otk_exact_info info;
    ck_assert_int_eq(
        otk_exact(&cost, oc.a, oc.b, &s, plan, NULL, NULL, NULL, &info),
        OTK_MAX_ITER);
    ck_assert_uint_eq(info.iterations, 5);
    /* a feasible plan (some mass may still sit on artificial arcs, which
     * the marginal error then shows), never a better cost than optimal */
    ck_assert(isfinite(info.marginal_error));
    ck_assert_double_ge(info.transport_cost, -1e-12);
    s.max_iter = SIZE_MAX;
    ck_assert_int_eq(
        otk_exact(&cost, oc.a, oc.b, &s, plan, NULL, NULL, NULL, &info),
        OTK_OPTIMAL);
    ck_assert_uint_gt(info.iterations, 5);
    oracle_free(&oc);
}
END_TEST

START_TEST(bad_inputs_are_rejected)
{
    double C[6] = {0, 1, 2, 3, 4, 5}, a[2] = {0.5, 0.5}, b[3] = {0.2, 0.3, 0.5};
    otk_cost cost = otk_cost_dense(2, 3, C);
    otk_exact_info info;
    double f[2] = {7, 7};
    C[4] = NAN;
    ck_assert_int_eq(otk_exact(&cost, a, b, NULL, NULL, NULL, f, NULL, &info),
                     OTK_ERR_INVALID_INPUT);
    ck_assert_str_eq(info.bad_argument, "cost.C");
    ck_assert_uint_eq(info.bad_index, 4);
    ck_assert(f[0] == 7 && f[1] == 7); /* nothing written */
    C[4] = 4;
    a[1] = -0.5;
    ck_assert_int_eq(
        otk_exact(&cost, a, b, NULL, NULL, NULL, NULL, NULL, &info),
        OTK_ERR_INVALID_INPUT);
    ck_assert_str_eq(info.bad_argument, "a");
    a[1] = 0.5;
    double zero[3] = {0, 0, 0};
    ck_assert_int_eq(
        otk_exact(&cost, a, zero, NULL, NULL, NULL, NULL, NULL, &info),
        OTK_ERR_MASS_MISMATCH);
    double heavy[3] = {0.2, 0.3, 0.6};
    ck_assert_int_eq(
        otk_exact(&cost, a, heavy, NULL, NULL, NULL, NULL, NULL, &info),
        OTK_ERR_MASS_MISMATCH);
    ck_assert_str_eq(info.bad_argument, "b");
    otk_exact_settings s;
    otk_exact_default_settings(&s);
    s.mass_tol = 0.2; /* a stated tolerance: within it, b is rescaled */
    ck_assert_int_eq(
        otk_exact(&cost, a, heavy, &s, NULL, NULL, NULL, NULL, &info),
        OTK_OPTIMAL);
    ck_assert_int_eq(info.rescaled, 1);
    ck_assert_double_gt(info.marginal_error, 0.09); /* against the given b */
    s.mass_tol = 1.0;
    ck_assert_int_eq(otk_exact(&cost, a, b, &s, NULL, NULL, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.bad_argument, "settings.mass_tol");
    otk_exact_default_settings(&s);
    s.max_iter = 0;
    ck_assert_int_eq(otk_exact(&cost, a, b, &s, NULL, NULL, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.bad_argument, "settings.max_iter");
    ck_assert_int_eq(otk_exact(NULL, a, b, NULL, NULL, NULL, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(OTK_OPTIMAL, OTK_CONVERGED);
}
END_TEST

static Suite *exact_suite(void)
{
    Suite *s = suite_create("exact");
    TCase *tc = tcase_create("exact");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, matches_pot, 0,
                        (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, permutation_problems_give_permutations);
    tcase_add_test(tc, one_dimension_is_monotone);
    tcase_add_test(tc, random_problems_are_certified);
    tcase_add_test(tc, sinkhorn_tends_to_exact);
    tcase_add_test(tc, pivot_limit_and_callback);
    tcase_add_test(tc, bad_inputs_are_rejected);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(exact_suite()); }
