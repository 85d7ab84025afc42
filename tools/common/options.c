/* Option values, summary records and exit codes shared by the tools. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int otkcli_parse_double(const char *opt, const char *s, double *v,
                        otkcli_error *err)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || isnan(x)) {
        snprintf(err->msg, sizeof err->msg, "%s: '%s' is not a number", opt, s);
        return -1;
    }
    *v = x;
    return 0;
}

int otkcli_parse_size(const char *opt, const char *s, size_t *v,
                      otkcli_error *err)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || s[0] == '-' ||
        x > (unsigned long long)SIZE_MAX) {
        snprintf(err->msg, sizeof err->msg,
                 "%s: '%s' is not a nonnegative integer", opt, s);
        return -1;
    }
    *v = (size_t)x;
    return 0;
}

static void add(otkcli_summary *sm, const char *key, int kind, const char *s,
                double d, size_t u)
{
    if (sm->count == sizeof sm->item / sizeof sm->item[0])
        return;
    sm->item[sm->count].key = key;
    sm->item[sm->count].kind = kind;
    sm->item[sm->count].s = s;
    sm->item[sm->count].d = d;
    sm->item[sm->count].u = u;
    sm->count++;
}

void otkcli_summary_str(otkcli_summary *sm, const char *key, const char *v)
{
    add(sm, key, 0, v, 0.0, 0);
}

void otkcli_summary_num(otkcli_summary *sm, const char *key, double v)
{
    add(sm, key, 1, NULL, v, 0);
}

void otkcli_summary_count(otkcli_summary *sm, const char *key, size_t v)
{
    add(sm, key, 2, NULL, 0.0, v);
}

void otkcli_summary_print(const otkcli_summary *sm, otkcli_format fmt, FILE *fp)
{
    if (fmt == OTKCLI_CSV) {
        for (size_t k = 0; k < sm->count; k++)
            fprintf(fp, "%s%c", sm->item[k].key,
                    k + 1 < sm->count ? ',' : '\n');
    } else {
        fputc('{', fp);
    }
    for (size_t k = 0; k < sm->count; k++) {
        const char *sep = k + 1 < sm->count
                              ? (fmt == OTKCLI_CSV ? "," : ", ")
                              : (fmt == OTKCLI_CSV ? "\n" : "}\n");
        if (fmt == OTKCLI_JSON)
            fprintf(fp, "\"%s\": ", sm->item[k].key);
        switch (sm->item[k].kind) {
        case 0:
            fprintf(fp, fmt == OTKCLI_JSON ? "\"%s\"" : "%s", sm->item[k].s);
            break;
        case 1:
            if (fmt == OTKCLI_JSON && !isfinite(sm->item[k].d))
                fputs("null", fp);
            else
                fprintf(fp, "%.17g", sm->item[k].d);
            break;
        default: fprintf(fp, "%zu", sm->item[k].u);
        }
        fputs(sep, fp);
    }
}

int otkcli_exit_code(otk_status st)
{
    if (st == OTK_CONVERGED)
        return OTKCLI_EXIT_OK;
    if (st > 0)
        return OTKCLI_EXIT_NOT_CONVERGED;
    return OTKCLI_EXIT_FAILURE;
}

int otkcli_close_stdout(const char *prog, int code)
{
    int bad = ferror(stdout);
    if (fclose(stdout) != 0 && errno != EPIPE)
        bad = 1;
    if (bad) {
        fprintf(stderr, "%s: write error on standard output\n", prog);
        return OTKCLI_EXIT_FAILURE;
    }
    return code;
}
