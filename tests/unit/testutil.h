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

/* Values just outside the record's range that its field can hold: the
 * open ends themselves, one unit past the closed finite ends, NaN and
 * infinity for real fields. Returns how many were written to v (0 only
 * for a count from 0 to no limit). */
int test_setting_outside(const otk_setting_bounds *b, double v[4]);

/* Runs a solver on settings; returns its status with *bad = its
 * outcome.bad_argument. */
typedef otk_status (*test_try_settings)(void *user, const void *settings,
                                        const char **bad);
/*
 * The table-driven settings test (docs/api.md): the table has a record
 * for each of the nfields fields, and only those; each record is named
 * "settings.NAME"; its default is what the solver's default_settings
 * wrote into def (a settings struct of size bytes) and is valid; each
 * value outside its range, written into a copy of def, is invalid and
 * refused by try_settings with OTK_ERR_INVALID_ARGUMENT naming the record.
 */
void test_bounds_table(const otk_setting_bounds *t, size_t count,
                       const char *const *fields, size_t nfields,
                       const void *def, size_t size,
                       test_try_settings try_settings, void *user);

/* Run a suite and return the process exit code. */
int run_suite(Suite *s);

#endif
