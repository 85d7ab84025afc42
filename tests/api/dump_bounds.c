/*
 * Prints every solver's settings bounds table, one record a line:
 * HEADER, SETTINGS STRUCT, FIELD, RANGE, DEFAULT (%.17g), tab-separated.
 * check_header_bounds.py compares these lines with the header comments.
 */
#include <stdio.h>

#include <otkit/otkit.h>

typedef const otk_setting_bounds *(*table_fn)(size_t *count);

static const struct {
    const char *header, *type;
    table_fn table;
} solvers[] = {
    {"include/otkit/bilevel.h", "otk_bilevel_settings",
     otk_bilevel_setting_bounds},
    {"include/otkit/exact.h", "otk_exact_settings", otk_exact_setting_bounds},
    {"include/otkit/quadratic.h", "otk_quadratic_settings",
     otk_quadratic_setting_bounds},
    {"include/otkit/entropic.h", "otk_sinkhorn_settings",
     otk_sinkhorn_setting_bounds},
    {"include/otkit/mongegap.h", "otk_mg_settings", otk_mg_setting_bounds},
    {"include/otkit/mongegap.h", "otk_mg_fit_settings",
     otk_mg_fit_setting_bounds},
};

int main(void)
{
    for (size_t s = 0; s < sizeof solvers / sizeof solvers[0]; s++) {
        size_t count = 0;
        const otk_setting_bounds *t = solvers[s].table(&count);
        if (t == NULL || count == 0) {
            fprintf(stderr, "%s: empty bounds table\n", solvers[s].type);
            return 1;
        }
        for (size_t k = 0; k < count; k++) {
            char range[96];
            otk_setting_range(&t[k], range, sizeof range);
            printf("%s\t%s\t%s\t%s\t%.17g\n", solvers[s].header,
                   solvers[s].type, t[k].name, range, t[k].default_value);
        }
    }
    return 0;
}
