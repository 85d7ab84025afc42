#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

int otkcli_usage_error(const otkcli_tool *t, const char *msg)
{
    fprintf(stderr, "%s: %s\nTry '%s --help'.\n", t->prog, msg, t->prog);
    return OTKCLI_EXIT_USAGE;
}

void otkcli_print_version(const char *prog, FILE *fp)
{
    /* the GNU coding standards' form; the holder is LICENSE's */
    fprintf(fp,
            "%s (otkit) %s\n"
            "Copyright (C) 2026 The otkit authors.\n"
            "License MIT: <https://opensource.org/licenses/MIT>.\n"
            "This is free software: you are free to change and redistribute "
            "it.\n"
            "There is NO WARRANTY, to the extent permitted by law.\n",
            prog, otk_version());
}

int otkcli_tool_option(otkcli_tool *t, int c, char **argv, int *code)
{
    otkcli_error err;
    const char *opt = optind > 1 ? argv[optind - 1] : "";
    switch (c) {
    case OTKCLI_OPT_COST: t->in.cost_path = optarg; return 0;
    case OTKCLI_OPT_X: t->in.x_path = optarg; return 0;
    case OTKCLI_OPT_Y: t->in.y_path = optarg; return 0;
    case OTKCLI_OPT_METRIC: t->in.metric = optarg; return 0;
    case OTKCLI_OPT_A: t->in.a_path = optarg; return 0;
    case OTKCLI_OPT_B: t->in.b_path = optarg; return 0;
    case OTKCLI_OPT_PLAN: t->plan_path = optarg; return 0;
    case OTKCLI_OPT_POTENTIALS: t->pot_path = optarg; return 0;
    case OTKCLI_OPT_VERBOSE: t->verbose = 1; return 0;
    case OTKCLI_OPT_P:
        if (otkcli_parse_double("--p", optarg, &t->in.p, &err) == 0)
            return 0;
        break;
    case OTKCLI_OPT_FORMAT:
        if (strcmp(optarg, "csv") == 0 || strcmp(optarg, "json") == 0) {
            t->fmt = optarg[0] == 'c' ? OTKCLI_CSV : OTKCLI_JSON;
            return 0;
        }
        snprintf(err.msg, sizeof err.msg, "--format: expected csv or json");
        break;
    case OTKCLI_OPT_HELP:
        otkcli_tool_help(t, stdout);
        *code = otkcli_close_stdout(t->prog, OTKCLI_EXIT_OK);
        return 1;
    case OTKCLI_OPT_VERSION:
        otkcli_print_version(t->prog, stdout);
        *code = otkcli_close_stdout(t->prog, OTKCLI_EXIT_OK);
        return 1;
    case ':':
        snprintf(err.msg, sizeof err.msg, "option '%s' needs a value", opt);
        break;
    case '?':
        if (optopt != 0 && optopt < 256)
            snprintf(err.msg, sizeof err.msg, "unknown option '-%c'", optopt);
        else
            snprintf(err.msg, sizeof err.msg,
                     "unknown or ambiguous option '%s'", opt);
        break;
    default:
        /* in the table but handled by no one: the table is wrong */
        snprintf(err.msg, sizeof err.msg, "option '%s' is not implemented",
                 opt);
    }
    *code = otkcli_usage_error(t, err.msg);
    return -1;
}

int otkcli_tool_check(otkcli_tool *t, int argc, char **argv, int optind_)
{
    otkcli_error err;
    if (optind_ < argc) {
        snprintf(err.msg, sizeof err.msg, "unexpected argument '%s'",
                 argv[optind_]);
        return otkcli_usage_error(t, err.msg);
    }
    const char *outs[] = {t->plan_path, t->pot_path};
    const char *ins[] = {t->in.cost_path, t->in.x_path, t->in.y_path,
                         t->in.a_path,    t->in.b_path, t->more_in[0],
                         t->more_in[1]};
    if (otkcli_problem_check_args(&t->in, &err) != 0 ||
        otkcli_check_paths(ins, 7, outs, 2, &err) != 0)
        return otkcli_usage_error(t, err.msg);
    return 0;
}

void otkcli_report(const otkcli_tool *t, const otkcli_problem *pb,
                   otk_status st, const char *what)
{
    if (what == NULL)
        what = "";
    if (st == OTK_ERR_MASS_MISMATCH) {
        double ma = 0, mb = 0;
        for (size_t i = 0; i < pb->cost.n; i++)
            ma += pb->a ? pb->a[i] : 1.0 / (double)pb->cost.n;
        for (size_t j = 0; j < pb->cost.m; j++)
            mb += pb->b ? pb->b[j] : 1.0 / (double)pb->cost.m;
        if (!(ma > 0) || !(mb > 0))
            fprintf(stderr, "%s: %s: the weights sum to zero\n", t->prog,
                    !(ma > 0) ? (t->in.a_path ? t->in.a_path : "a")
                              : (t->in.b_path ? t->in.b_path : "b"));
        else
            fprintf(stderr,
                    "%s: unequal masses: sum(a) = %.17g, sum(b) = %.17g; "
                    "normalize the weights%s\n",
                    t->prog, ma, mb,
                    strcmp(t->prog, "otk-sinkhorn") == 0
                        ? ", or give --tau-a/--tau-b for unbalanced transport"
                        : "");
        return;
    }
    fprintf(stderr, "%s: %s%s%s\n", t->prog, otk_status_string(st),
            *what ? ": " : "", what);
}

void otkcli_warn_not_converged(const otkcli_tool *t, const char *detail)
{
    fprintf(stderr, "%s: warning: not converged: %s\n", t->prog, detail);
}

int otkcli_tool_write_matrix(const otkcli_tool *t, const char *path,
                             const double *data, size_t rows, size_t cols)
{
    otkcli_error err;
    FILE *fp = otkcli_open_output(path, &err);
    if (fp == NULL) {
        fprintf(stderr, "%s: %s\n", t->prog, err.msg);
        return -1;
    }
    /* write errors are found when the outputs are closed */
    otkcli_write_matrix(fp, path, data, rows, cols);
    return 0;
}

/* Open path and write the rows x cols values of buf as .npy (one_d: a 1-D
 * array); frees buf. NULL buf: out of memory. 0 or -1 (printed). */
static int write_npy_buffer(const otkcli_tool *t, const char *path, double *buf,
                            size_t rows, size_t cols, int one_d)
{
    otkcli_error err;
    FILE *fp = buf != NULL ? otkcli_open_output(path, &err) : NULL;
    if (buf == NULL)
        snprintf(err.msg, sizeof err.msg, "%s: out of memory", path);
    if (fp == NULL) {
        free(buf);
        fprintf(stderr, "%s: %s\n", t->prog, err.msg);
        return -1;
    }
    otkcli_write_npy(fp, buf, rows, cols, one_d);
    free(buf);
    return 0;
}

int otkcli_write_potentials(const otkcli_tool *t, const double *f, size_t n,
                            const double *g, size_t m)
{
    if (t->pot_path == NULL)
        return 0;
    if (otkcli_is_npy_name(t->pot_path)) { /* f then g, one 1-D array */
        double *fg = malloc((n + m) * sizeof *fg);
        if (fg != NULL) {
            memcpy(fg, f, n * sizeof *f);
            memcpy(fg + n, g, m * sizeof *g);
        }
        return write_npy_buffer(t, t->pot_path, fg, n + m, 1, 1);
    }
    otkcli_error err;
    FILE *fp = otkcli_open_output(t->pot_path, &err);
    /* write errors are found when the outputs are closed */
    if (fp == NULL) {
        fprintf(stderr, "%s: %s\n", t->prog, err.msg);
        return -1;
    }
    fprintf(fp, "potential,index,value\n");
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "f,%zu,%.17g\n", i, f[i]);
    for (size_t j = 0; j < m; j++)
        fprintf(fp, "g,%zu,%.17g\n", j, g[j]);
    return 0;
}

/* The plan as .npy: dense n x m, or the COO rows (i, j, value) as an
 * nnz x 3 float64 array. */
static int write_plan_npy(const otkcli_tool *t, int dense, size_t n, size_t m,
                          const double *P, const otk_plan_entry *entries,
                          size_t nnz)
{
    if (dense && P != NULL)
        return otkcli_tool_write_matrix(t, t->plan_path, P, n, m);
    if (!dense && P != NULL) { /* the nonzeros of P */
        nnz = 0;
        for (size_t k = 0; k < n * m; k++)
            nnz += P[k] != 0.0;
    }
    size_t rows = dense ? n : nnz, cols = dense ? m : 3;
    double *buf = calloc(rows * cols, sizeof *buf);
    size_t e = 0;
    for (size_t k = 0; buf != NULL && k < (P != NULL ? n * m : nnz); k++) {
        size_t i = P != NULL ? k / m : entries[k].i;
        size_t j = P != NULL ? k % m : entries[k].j;
        double v = P != NULL ? P[k] : entries[k].value;
        if (dense)
            buf[i * m + j] = v;
        else if (v != 0.0 || P == NULL) {
            buf[3 * e] = (double)i;
            buf[3 * e + 1] = (double)j;
            buf[3 * e++ + 2] = v;
        }
    }
    return write_npy_buffer(t, t->plan_path, buf, rows, cols, 0);
}

int otkcli_write_plan(const otkcli_tool *t, int dense, size_t n, size_t m,
                      const double *P, const otk_plan_entry *entries,
                      size_t nnz)
{
    if (t->plan_path == NULL)
        return 0;
    if (otkcli_is_npy_name(t->plan_path))
        return write_plan_npy(t, dense, n, m, P, entries, nnz);
    otkcli_error err;
    FILE *fp = otkcli_open_output(t->plan_path, &err);
    if (fp == NULL) {
        fprintf(stderr, "%s: %s\n", t->prog, err.msg);
        return -1;
    }
    if (!dense)
        fprintf(fp, "i,j,value\n");
    if (!dense && P == NULL) {
        for (size_t e = 0; e < nnz; e++)
            fprintf(fp, "%zu,%zu,%.17g\n", entries[e].i, entries[e].j,
                    entries[e].value);
        return 0;
    }
    size_t k = 0; /* next entry */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double v = 0.0;
            if (P != NULL)
                v = P[i * m + j];
            else if (k < nnz && entries[k].i == i && entries[k].j == j)
                v = entries[k++].value;
            if (dense)
                fprintf(fp, "%.17g%c", v, j + 1 < m ? ',' : '\n');
            else if (v != 0.0)
                fprintf(fp, "%zu,%zu,%.17g\n", i, j, v);
        }
    return 0;
}

int otkcli_finish(const otkcli_tool *t, const otkcli_summary *sm)
{
    /* The order of docs/cli.md: the outputs are complete (write errors
     * found) before the summary goes out, and renamed only after it was
     * flushed, so that exit 1 leaves no fresh file behind. */
    otkcli_error err;
    int failed = otkcli_close_outputs(&err) != 0;
    if (!failed) {
        FILE *to = otkcli_stdout_taken() ? stderr : stdout;
        otkcli_summary_print(sm, t->fmt, to);
        if (to == stdout && otkcli_flush_stdout(t->prog) != 0) {
            otkcli_abort_all();
            return -1;
        }
        failed = otkcli_rename_outputs(&err) != 0;
    }
    if (failed) {
        otkcli_abort_all();
        fprintf(stderr, "%s: %s\n", t->prog, err.msg);
        return -1;
    }
    return 0;
}
