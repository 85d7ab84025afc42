/* Core: version, status strings, cost descriptions and their checks. */
#include <math.h>
#include <stddef.h>
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

/* A settings struct and table of the shape every module publishes. */
typedef struct demo_settings {
    double tol;
    size_t max_iter;
    int history;
    double tau;
    unsigned long seed;
} demo_settings;

static const otk_setting_bounds demo_table[] = {
    {"tol", "settings.tol", OTK_SETTING_REAL, 0.0, INFINITY,
     OTK_BOUND_UPPER_OPEN, 1e-9, "tolerance", offsetof(demo_settings, tol)},
    {"max_iter", "settings.max_iter", OTK_SETTING_COUNT, 1.0, INFINITY, 0,
     INFINITY, "budget", offsetof(demo_settings, max_iter)},
    {"history", "settings.history", OTK_SETTING_INTEGER, 0.0, 1000.0,
     OTK_BOUND_LOWER_OPEN, 10.0, "memory", offsetof(demo_settings, history)},
    {"tau", "settings.tau", OTK_SETTING_REAL, 0.0, INFINITY,
     OTK_BOUND_LOWER_OPEN, INFINITY, "penalty", offsetof(demo_settings, tau)},
    {"seed", "settings.seed", OTK_SETTING_ULONG, 0.0, 4294967295.0, 0, 7.0,
     "seed", offsetof(demo_settings, seed)},
};
#define DEMO_COUNT (sizeof demo_table / sizeof demo_table[0])

START_TEST(settings_bounds_queries)
{
    const otk_setting_bounds *tol =
        otk_setting_find(demo_table, DEMO_COUNT, "tol");
    ck_assert_ptr_eq(tol, &demo_table[0]);
    ck_assert_ptr_null(otk_setting_find(demo_table, DEMO_COUNT, "nope"));
    ck_assert_ptr_null(otk_setting_find(NULL, 0, "tol"));
    ck_assert_int_eq(otk_setting_valid(tol, 0.0), 1);
    ck_assert_int_eq(otk_setting_valid(tol, -1e-300), 0);
    ck_assert_int_eq(otk_setting_valid(tol, INFINITY), 0);
    ck_assert_int_eq(otk_setting_valid(tol, NAN), 0);
    const otk_setting_bounds *tau = &demo_table[3];
    ck_assert_int_eq(otk_setting_valid(tau, INFINITY), 1);
    ck_assert_int_eq(otk_setting_valid(tau, 0.0), 0);
    char buf[64];
    otk_setting_range(tol, buf, sizeof buf);
    ck_assert_str_eq(buf, "[0, inf)");
    otk_setting_range(&demo_table[1], buf, sizeof buf);
    ck_assert_str_eq(buf, "[1, inf)");
    /* An integer above 0 reads as at least 1. */
    otk_setting_range(&demo_table[2], buf, sizeof buf);
    ck_assert_str_eq(buf, "[1, 1000]");
    otk_setting_range(tau, buf, sizeof buf);
    ck_assert_str_eq(buf, "(0, inf]");
    /* snprintf-like: the needed length even when cut. */
    ck_assert_uint_eq(otk_setting_range(tau, buf, 3), 8);
    ck_assert_str_eq(buf, "(0");
}
END_TEST

START_TEST(settings_defaults_and_validation)
{
    demo_settings s;
    memset(&s, 0xff, sizeof s);
    otk__apply_defaults(demo_table, DEMO_COUNT, &s);
    ck_assert(s.tol == 1e-9);
    ck_assert_uint_eq(s.max_iter, SIZE_MAX);
    ck_assert_int_eq(s.history, 10);
    ck_assert(isinf(s.tau));
    ck_assert_uint_eq(s.seed, 7);
    ck_assert_ptr_null(otk__check_settings(demo_table, DEMO_COUNT, &s));
    ck_assert(isinf(otk_setting_get(&demo_table[1], &s)));
    s.history = 1001;
    ck_assert_ptr_eq(otk__check_settings(demo_table, DEMO_COUNT, &s),
                     &demo_table[2]);
    s.history = 0;
    ck_assert_ptr_eq(otk__check_settings(demo_table, DEMO_COUNT, &s),
                     &demo_table[2]);
    s.history = 1000;
    s.max_iter = 0;
    ck_assert_ptr_eq(otk__check_settings(demo_table, DEMO_COUNT, &s),
                     &demo_table[1]);

    otk_outcome out;
    memset(&out, 0x5a, sizeof out);
    otk__call call = otk__begin(&out);
    ck_assert_int_eq(otk__validate_settings(&call, demo_table, DEMO_COUNT, &s),
                     OTK_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(out.status, OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(out.bad_argument, "settings.max_iter");
    ck_assert_uint_eq(out.bad_index, SIZE_MAX);
    ck_assert_ptr_null(out.cause);
    ck_assert(out.time_s >= 0.0);
}
END_TEST

START_TEST(transport_preamble_names_the_argument)
{
    const double C[4] = {0, 1, 1, 0};
    const double good[2] = {0.5, 0.5}, neg[2] = {0.5, -0.5},
                 more[2] = {1.0, 0.5};
    otk_cost cost = otk_cost_dense(2, 2, C);
    otk_outcome out;
    double ma, mb;
    otk__call call = otk__begin(&out);
    ck_assert_int_eq(
        otk__check_transport(&call, &cost, good, NULL, 1, 1e-9, &ma, &mb), 0);
    ck_assert(ma == 1.0 && mb == 1.0);
    call = otk__begin(&out);
    ck_assert_int_eq(
        otk__check_transport(&call, &cost, good, neg, 1, 1e-9, &ma, &mb),
        OTK_ERR_INVALID_INPUT);
    ck_assert_str_eq(out.bad_argument, "b");
    ck_assert_uint_eq(out.bad_index, 1);
    call = otk__begin(&out);
    ck_assert_int_eq(
        otk__check_transport(&call, &cost, more, good, 1, 1e-9, &ma, &mb),
        OTK_ERR_MASS_MISMATCH);
    /* Unbalanced problems accept different masses. */
    call = otk__begin(&out);
    ck_assert_int_eq(
        otk__check_transport(&call, &cost, more, good, 0, 1e-9, &ma, &mb), 0);
    ck_assert_int_eq(out.status, 0);
    call = otk__begin(&out);
    ck_assert_int_eq(otk__check_reg(&call, INFINITY), OTK_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(out.bad_argument, "reg");
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
    tcase_add_test(tc, settings_bounds_queries);
    tcase_add_test(tc, settings_defaults_and_validation);
    tcase_add_test(tc, transport_preamble_names_the_argument);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(core_suite()); }
