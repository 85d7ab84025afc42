#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "core/core.h"

static const char *data_dir(void)
{
    const char *d = getenv("OTK_TEST_DATA");
    return d != NULL ? d : "tests/data";
}

double *oracle_matrix(const char *module, const char *name, const char *file,
                      size_t *rows, size_t *cols, int required)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s/%s", data_dir(), module, name, file);
    FILE *probe = fopen(path, "r");
    if (probe == NULL) {
        ck_assert_msg(!required, "missing oracle file %s", path);
        return NULL;
    }
    fclose(probe);
    otkcli_matrix mat;
    otkcli_error err;
    ck_assert_msg(otkcli_read_matrix(path, &mat, &err) == 0, "%s", err.msg);
    *rows = mat.rows;
    *cols = mat.cols;
    free(mat.line);
    return mat.data;
}

void oracle_load(const char *module, const char *name, oracle_case *oc)
{
    memset(oc, 0, sizeof *oc);
    size_t r, c;
    oc->C = oracle_matrix(module, name, "C.csv", &oc->n, &oc->m, 1);
    oc->a = oracle_matrix(module, name, "a.csv", &r, &c, 1);
    ck_assert_uint_eq(r * c, oc->n);
    oc->b = oracle_matrix(module, name, "b.csv", &r, &c, 1);
    ck_assert_uint_eq(r * c, oc->m);
    oc->P = oracle_matrix(module, name, "P.csv", &r, &c, 1);
    ck_assert_uint_eq(r * c, oc->n * oc->m);
    oc->f = oracle_matrix(module, name, "f.csv", &r, &c, 1);
    oc->g = oracle_matrix(module, name, "g.csv", &r, &c, 1);
    oc->x = oracle_matrix(module, name, "x.csv", &r, &oc->d, 0);
    oc->y = oracle_matrix(module, name, "y.csv", &r, &c, 0);
    oc->divergence = NAN;
    double *dv = oracle_matrix(module, name, "divergence.csv", &r, &c, 0);
    if (dv != NULL) {
        oc->divergence = dv[0];
        free(dv);
    }
    /* params.csv: a header of names and one line of values (it may hold
     * "inf", which the tools' reader rightly rejects in data). */
    char path[1024], names[4096], line[4096];
    snprintf(path, sizeof path, "%s/%s/%s/params.csv", data_dir(), module,
             name);
    FILE *fp = fopen(path, "r");
    ck_assert_msg(fp != NULL, "missing %s", path);
    ck_assert(fgets(names, sizeof names, fp) != NULL);
    ck_assert(fgets(line, sizeof line, fp) != NULL);
    fclose(fp);
    struct {
        const char *key;
        double *slot;
    } known[] = {{"reg", &oc->reg},
                 {"tau_a", &oc->tau_a},
                 {"tau_b", &oc->tau_b},
                 {"transport_cost", &oc->transport_cost},
                 {"objective", &oc->objective},
                 {"dual_objective", &oc->dual_objective},
                 {"unique", &oc->unique}};
    const size_t nknown = sizeof known / sizeof known[0];
    for (size_t k = 0; k < nknown; k++)
        *known[k].slot = NAN;
    char *np = names, *vp = line;
    while (*np != '\0' && *np != '\n' && *np != '\r') {
        size_t len = strcspn(np, ",\r\n");
        char *end;
        double v = strtod(vp, &end);
        ck_assert_msg(end != vp, "%s: missing value for column %.*s", path,
                      (int)len, np);
        for (size_t k = 0; k < nknown; k++)
            if (strlen(known[k].key) == len &&
                strncmp(known[k].key, np, len) == 0)
                *known[k].slot = v;
        np += len;
        if (*np == ',')
            np++;
        vp = *end == ',' ? end + 1 : end;
    }
}

void oracle_free(oracle_case *oc)
{
    free(oc->a);
    free(oc->b);
    free(oc->C);
    free(oc->P);
    free(oc->f);
    free(oc->g);
    free(oc->x);
    free(oc->y);
    memset(oc, 0, sizeof *oc);
}

void assert_close_vec(const char *what, const double *x, const double *y,
                      size_t len, double rtol, double atol)
{
    double scale = 0.0, worst = -1.0;
    size_t at = 0;
    for (size_t i = 0; i < len; i++)
        scale = fmax(scale, fabs(y[i]));
    for (size_t i = 0; i < len; i++) {
        double d = fabs(x[i] - y[i]);
        if (!(d <= worst)) { /* also catches NaN */
            worst = d;
            at = i;
        }
    }
    ck_assert_msg(worst <= atol + rtol * scale,
                  "%s: entry %zu is %.17g, expected %.17g (diff %.3g > "
                  "%.3g)",
                  what, at, x[at], y[at], worst, atol + rtol * scale);
}

void assert_close_shifted(const char *what, const double *x, const double *y,
                          size_t len, double rtol, double atol)
{
    double shift = 0.0;
    for (size_t i = 0; i < len; i++)
        shift += (y[i] - x[i]) / (double)len;
    double *moved = malloc(len * sizeof *moved);
    ck_assert(moved != NULL);
    for (size_t i = 0; i < len; i++)
        moved[i] = x[i] + shift;
    assert_close_vec(what, moved, y, len, rtol, atol);
    free(moved);
}

void assert_close(const char *what, double x, double y, double rtol,
                  double atol)
{
    ck_assert_msg(fabs(x - y) <= atol + rtol * fabs(y),
                  "%s: %.17g, expected %.17g (diff %.3g)", what, x, y,
                  fabs(x - y));
}

double test_uniform(unsigned long long *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*state >> 11) * 0x1.0p-53;
}

void test_gaussian_points(double *x, size_t rows, size_t d, double shift,
                          unsigned long long *state)
{
    for (size_t k = 0; k < rows * d; k++) {
        double u1 = test_uniform(state), u2 = test_uniform(state);
        x[k] = shift + sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
    }
}

int test_setting_outside(const otk_setting_bounds *b, double v[4])
{
    int k = 0, real = b->kind == OTK_SETTING_REAL;
    double unit = real ? fmax(1e-3 * fabs(b->lower), 1e-300) : 1;
    if (b->flags & OTK_BOUND_LOWER_OPEN)
        v[k++] = b->lower;
    else if (isfinite(b->lower) &&
             (real || b->kind == OTK_SETTING_INTEGER || b->lower >= 1))
        v[k++] = b->lower - unit;
    if (isfinite(b->upper))
        v[k++] = b->flags & OTK_BOUND_UPPER_OPEN ? b->upper : b->upper + 1;
    else if (real && (b->flags & OTK_BOUND_UPPER_OPEN))
        v[k++] = INFINITY;
    if (real)
        v[k++] = NAN;
    return k;
}

void test_bounds_table(const otk_setting_bounds *t, size_t count,
                       const char *const *fields, size_t nfields,
                       const void *def, size_t size,
                       test_try_settings try_settings, void *user)
{
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(count, nfields);
    for (size_t f = 0; f < nfields; f++)
        ck_assert_msg(otk_setting_find(t, count, fields[f]), "no %s",
                      fields[f]);
    void *s = malloc(size);
    ck_assert_ptr_nonnull(s);
    for (size_t r = 0; r < count; r++) {
        const otk_setting_bounds *b = &t[r];
        char arg[64];
        snprintf(arg, sizeof arg, "settings.%s", b->name);
        ck_assert_str_eq(b->argument, arg);
        ck_assert_ptr_eq(otk_setting_find(t, count, b->name), b);
        ck_assert_msg(otk_setting_get(b, def) == b->default_value,
                      "%s: default %.17g, table %.17g", b->name,
                      otk_setting_get(b, def), b->default_value);
        ck_assert_msg(otk_setting_valid(b, b->default_value), "%s", b->name);
        double v[4];
        int k = test_setting_outside(b, v);
        /* only a count or a seed from 0 to no limit has no invalid value */
        ck_assert_msg(k > 0 || (b->kind != OTK_SETTING_REAL &&
                                b->kind != OTK_SETTING_INTEGER &&
                                b->lower == 0 && isinf(b->upper)),
                      "%s: no out-of-range value tested", b->name);
        for (int i = 0; i < k; i++) {
            memcpy(s, def, size);
            otk_setting_set(b, s, v[i]);
            ck_assert_msg(!otk_setting_valid(b, otk_setting_get(b, s)),
                          "%s = %g counts as valid", b->name, v[i]);
            const char *bad = NULL;
            ck_assert_int_eq(try_settings(user, s, &bad),
                             OTK_ERR_INVALID_ARGUMENT);
            ck_assert_msg(bad && strcmp(bad, arg) == 0,
                          "%s = %g: bad_argument %s", b->name, v[i], bad);
        }
    }
    free(s);
}

int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
