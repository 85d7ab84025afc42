/* Core: version, status strings, cost descriptions and their checks. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <otkit/otkit.h>

#include "core/core.h"
#include "testutil.h"

START_TEST(version_matches_header)
{
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", OTK_VERSION_MAJOR,
             OTK_VERSION_MINOR, OTK_VERSION_PATCH);
    ck_assert_str_eq(otk_version(), expect);
    ck_assert_uint_eq(otk_version_number(), OTK_VERSION_NUMBER);
}
END_TEST

START_TEST(status_values_are_pinned)
{
    /* These numbers are ABI: a change here breaks every caller. */
    ck_assert_int_eq(OTK_CONVERGED, 0);
    ck_assert_int_eq(OTK_MAX_ITER, 1);
    ck_assert_int_eq(OTK_CANCELLED, 2);
    ck_assert_int_eq(OTK_STALLED, 3);
    ck_assert_int_eq(OTK_ERR_INVALID_ARGUMENT, -1);
    ck_assert_int_eq(OTK_ERR_NO_MEMORY, -2);
    ck_assert_int_eq(OTK_ERR_INVALID_INPUT, -3);
    ck_assert_int_eq(OTK_ERR_MASS_MISMATCH, -4);
    ck_assert_int_eq(OTK_ERR_NUMERICAL, -5);
}
END_TEST

START_TEST(status_strings_are_distinct)
{
    const otk_status all[] = {OTK_CONVERGED,
                              OTK_MAX_ITER,
                              OTK_CANCELLED,
                              OTK_STALLED,
                              OTK_ERR_INVALID_ARGUMENT,
                              OTK_ERR_NO_MEMORY,
                              OTK_ERR_INVALID_INPUT,
                              OTK_ERR_MASS_MISMATCH,
                              OTK_ERR_NUMERICAL};
    const size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_ne(otk_status_string(all[i]), "unknown status");
        ck_assert_str_ne(otk_status_name(all[i]), "unknown");
        for (size_t j = 0; j < i; j++) {
            ck_assert_str_ne(otk_status_string(all[i]),
                             otk_status_string(all[j]));
            ck_assert_str_ne(otk_status_name(all[i]), otk_status_name(all[j]));
        }
    }
    ck_assert_str_eq(otk_status_string((otk_status)42), "unknown status");
    ck_assert_str_eq(otk_status_name(OTK_MAX_ITER), "max_iter");
    /* The max-iter message names the knobs to turn. */
    ck_assert_ptr_nonnull(strstr(otk_status_string(OTK_MAX_ITER), "max_iter"));
}
END_TEST

START_TEST(weights_checks)
{
    double mass;
    size_t bad;
    double good[] = {0.25, 0.0, 0.75};
    ck_assert_int_eq(otk__check_weights(good, 3, &mass, &bad), 0);
    ck_assert_double_eq(mass, 1.0);
    ck_assert_int_eq(otk__check_weights(NULL, 3, &mass, &bad), 0);
    double neg[] = {0.5, -0.1, 0.6};
    ck_assert_int_eq(otk__check_weights(neg, 3, &mass, &bad),
                     OTK_ERR_INVALID_INPUT);
    ck_assert_uint_eq(bad, 1);
    double nan_w[] = {0.5, 0.5, NAN};
    ck_assert_int_eq(otk__check_weights(nan_w, 3, &mass, &bad),
                     OTK_ERR_INVALID_INPUT);
    ck_assert_uint_eq(bad, 2);
    double inf_w[] = {INFINITY, 0.5};
    ck_assert_int_eq(otk__check_weights(inf_w, 2, &mass, &bad),
                     OTK_ERR_INVALID_INPUT);
    ck_assert_uint_eq(bad, 0);
    double zero[] = {0.0, 0.0};
    ck_assert_int_eq(otk__check_weights(zero, 2, &mass, &bad),
                     OTK_ERR_MASS_MISMATCH);
    ck_assert(otk__masses_match(1.0, 1.0 + 1e-12));
    ck_assert(!otk__masses_match(1.0, 1.0 + 1e-6));
}
END_TEST

START_TEST(cost_checks)
{
    const char *what;
    size_t bad;
    double C[4] = {0, 1, 2, NAN};
    otk_cost c = otk_cost_dense(2, 2, C);
    ck_assert_int_eq(otk__check_cost(&c, &what, &bad), OTK_ERR_INVALID_INPUT);
    ck_assert_str_eq(what, "cost.C");
    ck_assert_uint_eq(bad, 3);
    C[3] = 3;
    ck_assert_int_eq(otk__check_cost(&c, &what, &bad), 0);
    c.n = 0;
    ck_assert_int_eq(otk__check_cost(&c, &what, &bad),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(what, "cost.n");
    ck_assert_int_eq(otk__check_cost(NULL, &what, &bad),
                     OTK_ERR_INVALID_ARGUMENT);

    double x[4] = {0, 0, 1, 1}, y[2] = {2, INFINITY};
    otk_cost p = otk_cost_points(2, 1, 2, x, y, OTK_METRIC_SQEUCLIDEAN, 2.0);
    ck_assert_int_eq(otk__check_cost(&p, &what, &bad), OTK_ERR_INVALID_INPUT);
    ck_assert_str_eq(what, "cost.y");
    y[1] = 2;
    ck_assert_int_eq(otk__check_cost(&p, &what, &bad), 0);
    p.metric = OTK_METRIC_PNORM;
    p.p = 0.5;
    ck_assert_int_eq(otk__check_cost(&p, &what, &bad),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(what, "cost.p");
    p.p = 3;
    p.scale = 0;
    ck_assert_int_eq(otk__check_cost(&p, &what, &bad),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(what, "cost.scale");
    p.scale = 1;
    p.d = 0;
    ck_assert_int_eq(otk__check_cost(&p, &what, &bad),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(what, "cost.d");
    p.d = 2;
    p.metric = (otk_metric)7;
    ck_assert_int_eq(otk__check_cost(&p, &what, &bad),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(what, "cost.metric");
}
END_TEST

START_TEST(cost_entries)
{
    double x[] = {0.0, 0.0, 1.0, 2.0}, y[] = {3.0, 4.0};
    otk_cost sq = otk_cost_points(2, 1, 2, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    ck_assert_double_eq(otk_cost_entry(&sq, 0, 0), 25.0);
    ck_assert_double_eq(otk_cost_entry(&sq, 1, 0), 8.0);
    otk_cost eu = otk_cost_points(2, 1, 2, x, y, OTK_METRIC_EUCLIDEAN, 2);
    ck_assert_double_eq(otk_cost_entry(&eu, 0, 0), 5.0);
    otk_cost p1 = otk_cost_points(2, 1, 2, x, y, OTK_METRIC_PNORM, 1);
    ck_assert_double_eq(otk_cost_entry(&p1, 0, 0), 7.0);
    otk_cost p3 = otk_cost_points(2, 1, 2, x, y, OTK_METRIC_PNORM, 3);
    ck_assert_double_eq_tol(otk_cost_entry(&p3, 0, 0), 27.0 + 64.0, 1e-12);
    p3.scale = 0.5;
    ck_assert_double_eq_tol(otk_cost_entry(&p3, 0, 0), 45.5, 1e-12);
    double C[] = {1, 2, 3, 4, 5, 6};
    otk_cost d = otk_cost_dense(2, 3, C);
    ck_assert_double_eq(otk_cost_entry(&d, 1, 2), 6.0);
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, version_matches_header);
    tcase_add_test(tc, status_values_are_pinned);
    tcase_add_test(tc, status_strings_are_distinct);
    tcase_add_test(tc, weights_checks);
    tcase_add_test(tc, cost_checks);
    tcase_add_test(tc, cost_entries);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(core_suite()); }
