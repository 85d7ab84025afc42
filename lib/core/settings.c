/* Settings bounds as data: lookup, range checks, range text, and the
 * validation every solver runs on its settings before any work. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"

const otk_setting_bounds *otk_setting_find(const otk_setting_bounds *table,
                                           size_t count, const char *name)
{
    if (table == NULL || name == NULL)
        return NULL;
    for (size_t k = 0; k < count; k++)
        if (strcmp(table[k].name, name) == 0)
            return &table[k];
    return NULL;
}

int otk_setting_valid(const otk_setting_bounds *b, double v)
{
    if (b == NULL || isnan(v))
        return 0;
    if ((b->flags & OTK_BOUND_LOWER_OPEN) ? !(v > b->lower) : !(v >= b->lower))
        return 0;
    if ((b->flags & OTK_BOUND_UPPER_OPEN) ? !(v < b->upper) : !(v <= b->upper))
        return 0;
    return 1;
}

/* A bound as text: integers without a fraction, "inf" for infinity. */
static void bound_text(char *buf, size_t len, double v)
{
    if (isinf(v))
        snprintf(buf, len, "%sinf", v < 0 ? "-" : "");
    else
        snprintf(buf, len, "%.17g", v);
}

size_t otk_setting_range(const otk_setting_bounds *b, char *buf, size_t len)
{
    if (b == NULL)
        return 0;
    double lo = b->lower, hi = b->upper;
    unsigned flags = b->flags;
    if (b->kind != OTK_SETTING_REAL) {
        /* An integer field above 0 is one at or above 1. */
        if ((flags & OTK_BOUND_LOWER_OPEN) && isfinite(lo)) {
            lo = floor(lo) + 1.0;
            flags &= ~OTK_BOUND_LOWER_OPEN;
        }
        if ((flags & OTK_BOUND_UPPER_OPEN) && isfinite(hi)) {
            hi = ceil(hi) - 1.0;
            flags &= ~OTK_BOUND_UPPER_OPEN;
        }
    }
    char l[32], h[32];
    bound_text(l, sizeof l, lo);
    bound_text(h, sizeof h, hi);
    /* An infinite end is never reached by an integer field. */
    int lopen = (flags & OTK_BOUND_LOWER_OPEN) ||
                (isinf(lo) && b->kind != OTK_SETTING_REAL);
    int hopen = (flags & OTK_BOUND_UPPER_OPEN) ||
                (isinf(hi) && b->kind != OTK_SETTING_REAL);
    int n = snprintf(buf, len, "%c%s, %s%c", lopen ? '(' : '[', l, h,
                     hopen ? ')' : ']');
    return n < 0 ? 0 : (size_t)n;
}

double otk_setting_get(const otk_setting_bounds *b, const void *settings)
{
    const char *field = (const char *)settings + b->offset;
    switch (b->kind) {
    case OTK_SETTING_REAL: {
        double v;
        memcpy(&v, field, sizeof v);
        return v;
    }
    case OTK_SETTING_COUNT: {
        size_t v;
        memcpy(&v, field, sizeof v);
        return v == SIZE_MAX ? INFINITY : (double)v;
    }
    case OTK_SETTING_INTEGER: {
        int v;
        memcpy(&v, field, sizeof v);
        return (double)v;
    }
    case OTK_SETTING_ULONG: {
        unsigned long v;
        memcpy(&v, field, sizeof v);
        return (double)v;
    }
    }
    return NAN;
}

const otk_setting_bounds *otk__check_settings(const otk_setting_bounds *table,
                                              size_t count,
                                              const void *settings)
{
    for (size_t k = 0; k < count; k++)
        if (!otk_setting_valid(&table[k], otk_setting_get(&table[k], settings)))
            return &table[k];
    return NULL;
}

void otk_setting_set(const otk_setting_bounds *b, void *settings, double v)
{
    char *field = (char *)settings + b->offset;
    switch (b->kind) {
    case OTK_SETTING_REAL: memcpy(field, &v, sizeof v); break;
    case OTK_SETTING_COUNT: {
        size_t c = isinf(v) ? SIZE_MAX : (size_t)v;
        memcpy(field, &c, sizeof c);
        break;
    }
    case OTK_SETTING_INTEGER: {
        int i = (int)v;
        memcpy(field, &i, sizeof i);
        break;
    }
    case OTK_SETTING_ULONG: {
        unsigned long u = (unsigned long)v;
        memcpy(field, &u, sizeof u);
        break;
    }
    }
}

void otk__apply_defaults(const otk_setting_bounds *table, size_t count,
                         void *settings)
{
    for (size_t k = 0; k < count; k++)
        otk_setting_set(&table[k], settings, table[k].default_value);
}
