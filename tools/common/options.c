/* Option values, summary records and exit codes shared by the tools. */
#include <errno.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <signal.h>
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
    const otkcli_key *k = sm->keys;
    while (k && k->name && strcmp(k->name, key) != 0)
        k++;
    if ((k && !k->name) || sm->count == sizeof sm->item / sizeof sm->item[0]) {
        /* --help would not list it: the tool's key list is wrong */
        fprintf(stderr, "otkcli: summary key '%s' not declared\n", key);
        abort();
    }
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

/* The items in the order of the key list (else as added). */
static void print_order(const otkcli_summary *sm, size_t *order)
{
    size_t used = 0;
    for (const otkcli_key *k = sm->keys; k && k->name; k++)
        for (size_t i = 0; i < sm->count; i++)
            if (strcmp(sm->item[i].key, k->name) == 0)
                order[used++] = i;
    for (size_t i = 0; used < sm->count; i++)
        order[used++] = i;
}

void otkcli_summary_print(const otkcli_summary *sm, otkcli_format fmt, FILE *fp)
{
    size_t order[sizeof sm->item / sizeof sm->item[0]];
    print_order(sm, order);
    if (fmt == OTKCLI_CSV) {
        for (size_t k = 0; k < sm->count; k++)
            fprintf(fp, "%s%c", sm->item[order[k]].key,
                    k + 1 < sm->count ? ',' : '\n');
    } else {
        fputc('{', fp);
    }
    for (size_t r = 0; r < sm->count; r++) {
        size_t k = order[r];
        const char *sep = r + 1 < sm->count
                              ? (fmt == OTKCLI_CSV ? "," : ", ")
                              : (fmt == OTKCLI_CSV ? "\n" : "}\n");
        if (fmt == OTKCLI_JSON)
            fprintf(fp, "\"%s\": ", sm->item[k].key);
        switch (sm->item[k].kind) {
        case 0:
            fprintf(fp, fmt == OTKCLI_JSON ? "\"%s\"" : "%s", sm->item[k].s);
            break;
        case 1:
            if (fmt == OTKCLI_JSON && !isfinite(sm->item[k].d)) {
                fputs("null", fp);
            } else {
                char num[40];
                snprintf(num, sizeof num, "%.17g", sm->item[k].d);
                /* keep doubles doubles for JSON readers: 0 -> 0.0 */
                int plain = strpbrk(num, ".eEn") == NULL;
                fprintf(fp, "%s%s", num,
                        fmt == OTKCLI_JSON && plain ? ".0" : "");
            }
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

void otkcli_init(void)
{
    /* A reader that closed the pipe early (`| head`) is not an error: see
     * EPIPE instead of dying from SIGPIPE, and treat it as success. */
    signal(SIGPIPE, SIG_IGN);
    /* GSL aborts the process on error by default; the library checks
     * every precondition itself and the tools want return codes. */
    gsl_set_error_handler_off();
}

/* 0: nothing wrong; 1: the reader went away (EPIPE); -1: reported. */
static int stdout_state;

static int stdout_failed(const char *prog)
{
    if (errno == EPIPE) {
        stdout_state = 1;
        return 0;
    }
    if (stdout_state != -1)
        fprintf(stderr, "%s: write error on standard output: %s\n", prog,
                strerror(errno));
    stdout_state = -1;
    return -1;
}

int otkcli_flush_stdout(const char *prog)
{
    if (stdout_state == 0 && fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    return stdout_state == 1 ? 0 : stdout_failed(prog);
}

int otkcli_close_stdout(const char *prog, int code)
{
    errno = 0;
    int bad = otkcli_flush_stdout(prog) != 0;
    if (fclose(stdout) != 0 && !bad && stdout_state != 1)
        bad = stdout_failed(prog) != 0;
    return bad ? OTKCLI_EXIT_FAILURE : code;
}
