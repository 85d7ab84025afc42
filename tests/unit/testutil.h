/* Helpers shared by the unit tests: oracle loading and numeric asserts. */
#ifndef OTK_TESTUTIL_H
#define OTK_TESTUTIL_H

#include <check.h>
#include <stddef.h>

#include <otkit/base.h>

/* One POT oracle case from tests/data/entropic/<name>/. Arrays not in the
 * case (x, y, divergence) are NULL / NaN. */
typedef struct oracle_case {
    size_t n, m, d;
    double *a, *b, *C, *P, *f, *g, *x, *y;
    /* from params.csv by column name; NaN when the case has no such column */
    double reg, tau_a, tau_b, transport_cost, objective, dual_objective;
    double unique; /* exact cases: 1 if the optimal plan is unique */
    double divergence;
} oracle_case;

/* Loads or fails the current test with the file's error. */
void oracle_load(const char *module, const char *name, oracle_case *oc);
void oracle_free(oracle_case *oc);
/* One CSV of a case folder (malloc'd), or NULL when absent and not
 * required; fails the test otherwise. */
double *oracle_matrix(const char *module, const char *name, const char *file,
                      size_t *rows, size_t *cols, int required);

/* max_i |x_i - y_i| <= atol + rtol * max_i |y_i|, else fail naming the
 * worst index. */
void assert_close_vec(const char *what, const double *x, const double *y,
                      size_t len, double rtol, double atol);
/* The same after removing the best constant shift (for potentials
 * defined up to a constant). */
void assert_close_shifted(const char *what, const double *x, const double *y,
                          size_t len, double rtol, double atol);
void assert_close(const char *what, double x, double y, double rtol,
                  double atol);

/* Deterministic pseudo-random numbers in [0, 1) (a small LCG, so test
 * data does not depend on any library's generator). */
double test_uniform(unsigned long long *state);
/* Gaussian points (Box-Muller on test_uniform), rows x d, plus shift. */
void test_gaussian_points(double *x, size_t rows, size_t d, double shift,
                          unsigned long long *state);

/* Settings bounds tables (docs/api.md), for the table-driven tests:
 * writes v into the field of a settings struct that the record describes
 * (by its kind and offset). */
void test_set_field(const otk_setting_bounds *b, void *settings, double v);
/* Values just outside the record's range that its field can hold: the
 * open ends themselves, one unit past the closed finite ends, NaN and
 * infinity for real fields. Returns how many were written to v. */
int test_outside_values(const otk_setting_bounds *b, double v[4]);

/*
 * The checks every module's bounds-table test runs: the table (count
 * records) has exactly the nfields fields listed; each record's argument
 * is "settings.NAME"; the defaults in def (a settings struct of `size`
 * bytes, as default_settings wrote it) are the table's and valid; and
 * every value outside each record's range, written into a copy of def,
 * makes solve(user, copy) return OTK_ERR_INVALID_ARGUMENT with *bad set
 * to that record's argument.
 */
typedef otk_status (*test_solve_fn)(void *user, const void *settings,
                                    const char **bad);
void test_check_bounds_table(const otk_setting_bounds *table, size_t count,
                             const char *const *fields, size_t nfields,
                             const void *def, size_t size, test_solve_fn solve,
                             void *user);

/* Run a suite and return the process exit code. */
int run_suite(Suite *s);

#endif
