/* Monge gap: closed-form cases (gradients of convex functions have gap 0,
 * rotations do not), the entropic bounds and limit, the POT oracles,
 * gradients against finite differences, and bad input. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

#include "testutil.h"

enum { N = 40, D = 2 };

static void points(double *x, size_t n, size_t d, unsigned long long seed)
{
    unsigned long long st = seed;
    test_gaussian_points(x, n, d, 0.0, &st);
}

static double gap(const double *x, const double *y, size_t n, size_t d,
                  otk_mg_cost cost, int exact, double reg, double *grad)
{
    otk_mg_settings s;
    otk_mg_default_settings(&s);
    s.cost = cost;
    s.p = 1.5;
    s.exact = exact;
    s.reg = reg;
    s.sinkhorn.tol = 1e-10;
    s.sinkhorn.max_iter = 200000;
    otk_mg_info info;
    otk_status st = otk_monge_gap(x, y, n, d, &s, grad, &info);
    ck_assert_msg(st == OTK_CONVERGED, "%s", otk_status_name(st));
    ck_assert(isfinite(info.monge_gap));
    assert_close("M = displacement - W", info.monge_gap,
                 info.displacement_cost - info.ot_cost, 1e-12, 1e-15);
    return info.monge_gap;
}

/* For ||x-y||^2, maps that are gradients of convex functions are optimal:
 * exact gap 0; a rotation by 90 degrees is not. */
START_TEST(closed_forms_for_the_squared_cost)
{
    double x[N * D], y[N * D];
    points(x, N, D, 1);
    const double A[4] = {2.0, 0.5, 0.5, 1.0}; /* symmetric positive definite */
    for (int map = 0; map < 3; map++) {
        for (int i = 0; i < N; i++) {
            double u = x[2 * i], v = x[2 * i + 1];
            if (map == 0) { /* translation */
                y[2 * i] = u + 3.0;
                y[2 * i + 1] = v - 1.0;
            } else if (map == 1) { /* x -> A x */
                y[2 * i] = A[0] * u + A[1] * v;
                y[2 * i + 1] = A[2] * u + A[3] * v;
            } else { /* rotation by 90 degrees */
                y[2 * i] = -v;
                y[2 * i + 1] = u;
            }
        }
        double m0 = gap(x, y, N, D, OTK_MG_SQEUCLIDEAN, 1, 0.0, NULL);
        if (map < 2)
            ck_assert_double_le(fabs(m0), 1e-12);
        else
            ck_assert_double_gt(m0, 0.1);
    }
}
END_TEST

/* M >= 0 always, for every cost and estimator; the entropic gap lies in
 * [M0 + eps log n, M0 + 2 eps log n] and tends to M0 as eps -> 0. */
START_TEST(bounds_and_limits)
{
    double x[N * D], y[N * D];
    points(x, N, D, 2);
    points(y, N, D, 3);
    const otk_mg_cost costs[] = {OTK_MG_SQEUCLIDEAN, OTK_MG_EUCLIDEAN,
                                 OTK_MG_PNORM};
    for (int c = 0; c < 3; c++) {
        double m0 = gap(x, y, N, D, costs[c], 1, 0.0, NULL);
        ck_assert_double_ge(m0, -1e-12);
        double prev = INFINITY;
        const double regs[] = {1.0, 0.3, 0.1};
        for (int k = 0; k < 3; k++) {
            double me = gap(x, y, N, D, costs[c], 0, regs[k], NULL);
            double lo = m0 + regs[k] * log((double)N);
            double hi = m0 + 2.0 * regs[k] * log((double)N);
            ck_assert_msg(me >= lo - 1e-9 && me <= hi + 1e-9,
                          "cost %d reg %g: %g not in [%g, %g]", c, regs[k], me,
                          lo, hi);
            ck_assert_double_lt(me - m0, prev);
            prev = me - m0;
        }
    }
    /* the identity: the entropic gap is about eps log n */
    double me = gap(x, x, N, D, OTK_MG_SQEUCLIDEAN, 0, 0.3, NULL);
    ck_assert_double_ge(me, 0.3 * log((double)N) - 1e-9);
    ck_assert_double_le(me, 2 * 0.3 * log((double)N) + 1e-9);
}
END_TEST

/* Against POT: mean cost minus POT's log-domain Sinkhorn value. */
START_TEST(matches_pot)
{
    size_t r, c, n, d;
    double *x = oracle_matrix("mongegap", "sqeuclid_30x2", "x.csv", &n, &d, 1);
    double *y = oracle_matrix("mongegap", "sqeuclid_30x2", "y.csv", &r, &c, 1);
    double *v =
        oracle_matrix("mongegap", "sqeuclid_30x2", "values.csv", &r, &c, 1);
    /* values.csv: reg, displacement, W_eps, monge gap */
    otk_mg_settings s;
    otk_mg_default_settings(&s);
    s.reg = v[0];
    s.sinkhorn.tol = 1e-12;
    otk_mg_info info;
    ck_assert_int_eq(otk_monge_gap(x, y, n, d, &s, NULL, &info), OTK_CONVERGED);
    assert_close("displacement", info.displacement_cost, v[1], 1e-12, 0);
    assert_close("W_eps", info.ot_cost, v[2], 1e-9, 1e-12);
    assert_close("gap", info.monge_gap, v[3], 1e-8, 1e-12);
    free(x);
    free(y);
    free(v);
}
END_TEST

/* dM/dy and dS/dy against central differences (entropic: tight solves). */
START_TEST(gradients_match_finite_differences)
{
    enum { n = 12, m = 9, d = 3 };
    double x[n * d], y[n * d], z[m * d], g[n * d];
    points(x, n, d, 5);
    points(y, n, d, 6);
    points(z, m, d, 7);
    const otk_mg_cost costs[] = {OTK_MG_SQEUCLIDEAN, OTK_MG_EUCLIDEAN,
                                 OTK_MG_PNORM};
    for (int c = 0; c < 3; c++) {
        otk_mg_settings s;
        otk_mg_default_settings(&s);
        s.cost = costs[c];
        s.p = 1.5;
        s.reg = 0.5;
        s.sinkhorn.tol = 1e-13;
        s.sinkhorn.max_iter = 100000;
        otk_mg_info info;
        ck_assert_int_eq(otk_monge_gap(x, y, n, d, &s, g, &info),
                         OTK_CONVERGED);
        for (int k = 0; k < n * d; k += 5) {
            const double h = 1e-6, keep = y[k];
            double mp, mm;
            y[k] = keep + h;
            otk_monge_gap(x, y, n, d, &s, NULL, &info);
            mp = info.monge_gap;
            y[k] = keep - h;
            otk_monge_gap(x, y, n, d, &s, NULL, &info);
            mm = info.monge_gap;
            y[k] = keep;
            assert_close("dM/dy", (mp - mm) / (2 * h), g[k], 1e-5, 1e-8);
        }
        double val;
        ck_assert_int_eq(otk_mg_divergence(y, n, z, m, d, &s, &val, g, NULL),
                         OTK_CONVERGED);
        ck_assert_double_ge(val, -1e-12);
        for (int k = 0; k < n * d; k += 5) {
            const double h = 1e-6, keep = y[k];
            double sp, sm;
            y[k] = keep + h;
            otk_mg_divergence(y, n, z, m, d, &s, &sp, NULL, NULL);
            y[k] = keep - h;
            otk_mg_divergence(y, n, z, m, d, &s, &sm, NULL, NULL);
            y[k] = keep;
            assert_close("dS/dy", (sp - sm) / (2 * h), g[k], 1e-5, 1e-8);
        }
    }
}
END_TEST

START_TEST(bad_inputs_are_rejected)
{
    double x[4] = {0, 1, 2, 3}, y[4] = {0, 1, 2, NAN};
    otk_mg_info info;
    ck_assert_int_eq(otk_monge_gap(x, y, 2, 2, NULL, NULL, &info),
                     OTK_ERR_INVALID_INPUT);
    ck_assert_str_eq(info.bad_argument, "y");
    ck_assert_uint_eq(info.bad_index, 3);
    y[3] = 3;
    ck_assert_int_eq(otk_monge_gap(x, y, 0, 2, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(otk_monge_gap(x, y, 2, 0, NULL, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.bad_argument, "d");
    otk_mg_settings s;
    otk_mg_default_settings(&s);
    s.cost = OTK_MG_PNORM;
    s.p = 0.5;
    ck_assert_int_eq(otk_monge_gap(x, y, 2, 2, &s, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.bad_argument, "settings.p");
    otk_mg_default_settings(&s);
    s.relative_reg = 0.0;
    ck_assert_int_eq(otk_monge_gap(x, y, 2, 2, &s, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.bad_argument, "settings.relative_reg");
    otk_mg_default_settings(&s);
    double v;
    ck_assert_int_eq(otk_mg_divergence(x, 2, y, 2, 2, &s, &v, NULL, &info),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(info.bad_argument, "settings.reg");
}
END_TEST

static Suite *mongegap_suite(void)
{
    Suite *s = suite_create("mongegap");
    TCase *tc = tcase_create("mongegap");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, closed_forms_for_the_squared_cost);
    tcase_add_test(tc, bounds_and_limits);
    tcase_add_test(tc, matches_pot);
    tcase_add_test(tc, gradients_match_finite_differences);
    tcase_add_test(tc, bad_inputs_are_rejected);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(mongegap_suite()); }
