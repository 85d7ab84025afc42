/* The body of otk-quadratic and otk-sparse (they differ only by -k). */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <otkit/otkit.h>

#include "common/tool.h"
#include "smooth/smooth_tool.h"

/* clang-format off */
static const char quadratic_intro[] =
"Usage: otk-quadratic --reg G (--cost C.csv | --x X.csv --y Y.csv) [OPTIONS]\n"
"\n"
"Quadratically-regularized optimal transport:\n"
"  min <P,C> + (G/2) ||P||^2  subject to  P1 = a, P^T 1 = b, P >= 0,\n"
"whose plan is sparse, solved through its smooth dual or semi-dual by\n"
"L-BFGS and Newton steps (docs/quadratic.md). G is Blondel's gamma\n"
"(--gamma is an alias).\n"
"\n";
static const char sparse_intro[] =
"Usage: otk-sparse --reg G -k K (--cost C.csv | --x X.csv --y Y.csv) [OPTIONS]\n"
"\n"
"Sparsity-constrained optimal transport: quadratically-regularized OT with\n"
"at most K nonzeros in every column of the plan, solved through the convex\n"
"dual or semi-dual of its relaxation by L-BFGS and Newton steps\n"
"(docs/quadratic.md). The marginals are met only approximately for small\n"
"K: marginal_error says how well.\n"
"\n";
static const char outro[] =
"objective is the regularized primal value of the plan; the potentials\n"
"(Blondel's alpha and beta) are written as f and g. dual_gap bounds the\n"
"distance of dual_objective to the maximum; relative_gap is compared with\n"
"--tol.\n"
"Exit status: 0 converged, 1 data or runtime error, 2 usage error,\n"
"3 not converged: max_iter or stalled (outputs still written). See\n"
"docs/cli.md.\n";
/* clang-format on */

enum {
    O_REG = OTKCLI_OPT_TOOL,
    O_MAX_NZ,
    O_FORM,
    O_TOL,
    O_MAXIT,
    O_HISTORY,
    O_THREADS,
    O_PLAN_FORMAT,
    O_BATCH
};

/* The two tools' tables differ only by -k: the rest is shared. */
/* clang-format off */
#define SMOOTH_REG                                                           \
    OTKCLI_OPTS_INPUT,                                                       \
    OTKCLI_HEADING("Problem and solver:"),                                   \
    OTKCLI_OPT("reg", 0, "G", O_REG,                                         \
               "regularization, > 0, in units of the cost (required)"),      \
    OTKCLI_OPT("gamma", 'e', "G", O_REG, "the same as --reg (Blondel's name)")
#define SMOOTH_REST                                                          \
    OTKCLI_OPT("formulation", 0, "F", O_FORM, "semi-dual (default) or dual"),\
    OTKCLI_SETTING("tol", "T", O_TOL,                                               \
            "converged when the certified relative gap <= T", tol),    \
    OTKCLI_SETTING("max-iter", "N", O_MAXIT, "L-BFGS iterations", max_iter),        \
    OTKCLI_SETTING("history", "H", O_HISTORY, "L-BFGS memory", history),            \
    OTKCLI_SETTING("threads", "N", O_THREADS,                                       \
            "threads (0: all cores on large problems)", threads),            \
    OTKCLI_OPT("batch", 0, "B", O_BATCH,                                     \
               "B stacked problems of n = rows / B (docs/cli.md)"),          \
    OTKCLI_HEADING("Output:"),                                               \
    OTKCLI_OPTS_PLAN,                                                        \
    OTKCLI_OPT("plan-format", 0, "F", O_PLAN_FORMAT,                         \
               "coo (default: rows 'i,j,value', 0-based) or dense"),         \
    OTKCLI_OPTS_GENERAL,                                                     \
    OTKCLI_END
/* clang-format on */

static const otkcli_opt quadratic_opts[] = {SMOOTH_REG, SMOOTH_REST};
static const otkcli_opt sparse_opts[] = {
    SMOOTH_REG,
    OTKCLI_OPT("max-nz", 'k', "K", O_MAX_NZ,
               "nonzeros per column, 1..n (required)"),
    SMOOTH_REST};

static const otkcli_key keys[] = {
    OTKCLI_KEYS_SOLVER, {"nnz", NULL},          {"max_col_nnz", NULL},
    {"dual_gap", NULL}, {"relative_gap", NULL}, {"time_s", NULL},
    {NULL, NULL}};

static const otkcli_spec quadratic_spec = {
    quadratic_intro, quadratic_opts, keys, outro, otk_quadratic_setting_bounds};
static const otkcli_spec sparse_spec = {sparse_intro, sparse_opts, keys, outro,
                                        otk_sparse_setting_bounds};

typedef struct options {
    otk_quadratic_settings s;
    double reg;
    size_t k, batch;
    int k_given, dense;
} options;

static int progress(void *user, const otk_progress *p)
{
    const otkcli_tool *t = user;
    fprintf(stderr, "%s: iteration %zu  marginal error %.3e  dual %.17g\n",
            t->prog, p->iteration, p->error, p->objective);
    return 0;
}

/* This tool's own options: 0 handled, 1 not ours, -1 bad value (err). */
static int own_option(options *o, int c, otkcli_error *err)
{
    switch (c) {
    case O_REG: return otkcli_parse_double("--reg", optarg, &o->reg, err);
    case O_MAX_NZ:
        o->k_given = 1;
        return otkcli_parse_size("--max-nz", optarg, &o->k, err);
    case O_FORM:
        if (strcmp(optarg, "semi-dual") == 0)
            o->s.formulation = OTK_FORMULATION_SEMI_DUAL;
        else if (strcmp(optarg, "dual") == 0)
            o->s.formulation = OTK_FORMULATION_DUAL;
        else {
            snprintf(err->msg, sizeof err->msg,
                     "--formulation: expected semi-dual or dual");
            return -1;
        }
        return 0;
    case O_BATCH: return otkcli_parse_size("--batch", optarg, &o->batch, err);
    case O_PLAN_FORMAT:
        if (strcmp(optarg, "coo") != 0 && strcmp(optarg, "dense") != 0) {
            snprintf(err->msg, sizeof err->msg,
                     "--plan-format: expected coo or dense");
            return -1;
        }
        o->dense = optarg[0] == 'd';
        return 0;
    }
    return 1;
}

static const char *check_options(const options *o, const otkcli_tool *t,
                                 int sparse)
{
    if (o->batch < 1)
        return "--batch: must be >= 1";
    if (o->batch > 1 && t->in.cost_path == NULL)
        return "--batch needs --cost (stacked dense cost blocks)";
    if (isnan(o->reg))
        return "missing --reg (or --gamma, the quadratic regularization)";
    if (!(o->reg > 0.0) || isinf(o->reg))
        return "--reg: must be a positive finite number";
    if (sparse && !o->k_given)
        return "missing -k/--max-nz (nonzeros per column)";
    if (sparse && o->k < 1)
        return "-k/--max-nz: must be >= 1";
    return NULL;
}

/* The message and exit code of a failed solve (bad is the argument the
 * info names): a setting's option, --reg, or the library's message. */
static int solve_failed(const otkcli_tool *t, const otkcli_problem *pb,
                        double reg, otk_status st, const char *bad)
{
    const char *opt = otkcli_option_for_setting(t, bad);
    if (st == OTK_ERR_INVALID_ARGUMENT && opt != NULL) {
        /* a setting out of range: name the option that set it */
        otkcli_error err;
        snprintf(err.msg, sizeof err.msg,
                 "%s: value out of range (see --help and docs/quadratic.md)",
                 opt);
        return otkcli_usage_error(t, err.msg);
    }
    if (st == OTK_ERR_INVALID_ARGUMENT && bad != NULL &&
        strcmp(bad, "reg") == 0)
        /* --reg itself was checked: its product with the mass is not */
        fprintf(stderr,
                "%s: --reg %g times the total mass of the weights is below "
                "the normal range; scale the weights or --reg up\n",
                t->prog, reg);
    else
        otkcli_report(t, pb, st, bad);
    return OTKCLI_EXIT_FAILURE;
}

/* The stacked plan (problem q's rows follow problem q - 1's): dense B n
 * rows of m, or COO rows "problem,i,j,value" (.npy: nnz x 4). */
static int write_batch_plan(const otkcli_tool *t, int dense, size_t B, size_t n,
                            size_t m, const double *P)
{
    if (t->plan_path == NULL)
        return 0;
    if (dense)
        return otkcli_tool_write_matrix(t, t->plan_path, P, B * n, m);
    size_t nnz = 0;
    for (size_t e = 0; e < B * n * m; e++)
        nnz += P[e] != 0.0;
    double *rows = malloc((nnz > 0 ? nnz : 1) * 4 * sizeof *rows);
    if (rows == NULL) {
        fprintf(stderr, "%s: out of memory\n", t->prog);
        return -1;
    }
    size_t r = 0;
    for (size_t e = 0; e < B * n * m; e++)
        if (P[e] != 0.0) {
            const double row[4] = {(double)(e / (n * m)), (double)(e / m % n),
                                   (double)(e % m), P[e]};
            memcpy(rows + 4 * r++, row, sizeof row);
        }
    int rc = 0;
    if (otkcli_is_npy_name(t->plan_path)) {
        rc = otkcli_tool_write_matrix(t, t->plan_path, rows, nnz, 4);
    } else {
        otkcli_error err;
        FILE *fp = otkcli_open_output(t->plan_path, &err);
        if (fp == NULL) {
            fprintf(stderr, "%s: %s\n", t->prog, err.msg);
            rc = -1;
        } else {
            /* write errors are found when the outputs are closed */
            fprintf(fp, "problem,i,j,value\n");
            for (size_t q = 0; q < nnz; q++)
                fprintf(fp, "%.0f,%.0f,%.0f,%.17g\n", rows[4 * q],
                        rows[4 * q + 1], rows[4 * q + 2], rows[4 * q + 3]);
        }
    }
    free(rows);
    return rc;
}

/* The stacked potentials: rows "problem,potential,index,value" (.npy: a
 * B x (n + m) array, problem q's f then g). */
static int write_batch_potentials(const otkcli_tool *t, size_t B, size_t n,
                                  size_t m, const double *f, const double *g)
{
    if (t->pot_path == NULL)
        return 0;
    if (otkcli_is_npy_name(t->pot_path)) {
        double *fg = malloc(B * (n + m) * sizeof *fg);
        if (fg == NULL) {
            fprintf(stderr, "%s: out of memory\n", t->prog);
            return -1;
        }
        for (size_t q = 0; q < B; q++) {
            memcpy(fg + q * (n + m), f + q * n, n * sizeof *f);
            memcpy(fg + q * (n + m) + n, g + q * m, m * sizeof *g);
        }
        int rc = otkcli_tool_write_matrix(t, t->pot_path, fg, B, n + m);
        free(fg);
        return rc;
    }
    otkcli_error err;
    FILE *fp = otkcli_open_output(t->pot_path, &err);
    if (fp == NULL) {
        fprintf(stderr, "%s: %s\n", t->prog, err.msg);
        return -1;
    }
    fprintf(fp, "problem,potential,index,value\n");
    for (size_t q = 0; q < B; q++) {
        for (size_t i = 0; i < n; i++)
            fprintf(fp, "%zu,f,%zu,%.17g\n", q, i, f[q * n + i]);
        for (size_t j = 0; j < m; j++)
            fprintf(fp, "%zu,g,%zu,%.17g\n", q, j, g[q * m + j]);
    }
    return 0;
}

/* One aggregate summary record over the B infos (docs/cli.md): the worst
 * status, the largest iterations, marginal error and column support,
 * the sums of the values and of nnz, and the call's wall-clock time. */
static void batch_summary(otkcli_summary *sm, otk_status st,
                          const otk_quadratic_info *infos, size_t B,
                          double time_s)
{
    size_t it = 0, nnz = 0, col = 0;
    double err = 0.0, cost = 0.0, obj = 0.0, dual = 0.0, gap = 0.0, rel = 0.0;
    for (size_t q = 0; q < B; q++) {
        const otk_quadratic_info *in = &infos[q];
        it = in->iterations > it ? in->iterations : it;
        col = in->max_col_nnz > col ? in->max_col_nnz : col;
        err = in->marginal_error > err ? in->marginal_error : err;
        nnz += in->nnz;
        cost += in->transport_cost;
        obj += in->objective;
        dual += in->dual_objective;
        gap += in->dual_gap;
        rel = in->relative_gap > rel ? in->relative_gap : rel;
    }
    otkcli_summary_str(sm, "status", otk_status_name(st));
    otkcli_summary_count(sm, "iterations", it);
    otkcli_summary_num(sm, "marginal_error", err);
    otkcli_summary_num(sm, "transport_cost", cost);
    otkcli_summary_num(sm, "objective", obj);
    otkcli_summary_num(sm, "dual_objective", dual);
    otkcli_summary_count(sm, "nnz", nnz);
    otkcli_summary_count(sm, "max_col_nnz", col);
    otkcli_summary_num(sm, "dual_gap", gap);
    otkcli_summary_num(sm, "relative_gap", rel);
    otkcli_summary_num(sm, "time_s", time_s);
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* --batch B: the B stacked problems in one otk_quadratic_batch or
 * otk_sparse_batch call (k = 0: quadratic); the exit code. */
static int otkcli_smooth_batch(otkcli_tool *t, const otk_quadratic_settings *s,
                               const otkcli_problem *pb, double reg, size_t k,
                               size_t B, int dense)
{
    const size_t n = pb->cost.n, m = pb->cost.m;
    double *f = malloc(B * n * sizeof *f), *g = malloc(B * m * sizeof *g);
    double *P = t->plan_path != NULL ? malloc(B * n * m * sizeof *P) : NULL;
    otk_quadratic_info *infos = malloc(B * sizeof *infos);
    int code = OTKCLI_EXIT_FAILURE;
    if (!f || !g || !infos || (t->plan_path && !P)) {
        fprintf(stderr, "%s: out of memory\n", t->prog);
        goto done;
    }
    const otk_problem op = {&pb->cost, pb->a, pb->b, reg};
    otk_solution sol = {.f = f, .g = g, .P = P};
    const double t0 = wall_seconds();
    otk_status st = k > 0 ? otk_sparse_batch(B, &op, k, s, &sol, infos)
                          : otk_quadratic_batch(B, &op, s, &sol, infos);
    const double time_s = wall_seconds() - t0;
    size_t first = 0, late = 0; /* the first problem of status st */
    for (size_t q = B; q-- > 0;) {
        first = infos[q].outcome.status == st ? q : first;
        late += infos[q].outcome.status > 0;
    }
    if (st < 0) {
        fprintf(stderr, "%s: problem %zu (rows %zu to %zu of %s):\n", t->prog,
                first, first * n, first * n + n - 1, t->in.cost_path);
        code = solve_failed(t, pb, reg, st, infos[first].outcome.bad_argument);
        goto done;
    }
    if (st != OTK_CONVERGED) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "%zu of %zu problems; the first, problem %zu: %s, marginal "
                 "error %.3g > --tol %.3g",
                 late, B, first, otk_status_name(st),
                 infos[first].marginal_error, s->tol);
        otkcli_warn_not_converged(t, msg);
    }
    if (write_batch_plan(t, dense, B, n, m, P) != 0 ||
        write_batch_potentials(t, B, n, m, f, g) != 0)
        goto done;
    otkcli_summary sm = {.keys = keys};
    batch_summary(&sm, st, infos, B, time_s);
    if (otkcli_finish(t, &sm) == 0)
        code = otkcli_exit_code(st);
done:
    free(f);
    free(g);
    free(P);
    free(infos);
    return code;
}

int otkcli_smooth_main(int argc, char **argv, int sparse)
{
    otkcli_tool t;
    otkcli_tool_init(&t, sparse ? "otk-sparse" : "otk-quadratic",
                     sparse ? &sparse_spec : &quadratic_spec);
    options o = {.reg = NAN, .batch = 1};
    otk_quadratic_default_settings(&o.s);
    otkcli_error err;
    int c, code = OTKCLI_EXIT_FAILURE;
    while ((c = otkcli_next_option(&t, argc, argv)) != -1) {
        int set = otkcli_setting_option(&t, c, optarg, &o.s, &code);
        if (set < 0)
            goto out;
        if (set > 0)
            continue;
        int r = own_option(&o, c, &err);
        if (r < 0) {
            code = otkcli_usage_error(&t, err.msg);
            goto out;
        }
        if (r > 0 && otkcli_tool_option(&t, c, argv, &code) != 0)
            goto out;
    }
    const char *problem = check_options(&o, &t, sparse);
    if (problem != NULL) {
        code = otkcli_usage_error(&t, problem);
        goto out;
    }
    if ((code = otkcli_tool_check(&t, argc, argv, optind)) != 0)
        goto out;
    if (t.verbose) {
        o.s.progress = progress;
        o.s.progress_user = &t;
    }

    t.in.batch = o.batch;
    otkcli_problem pb;
    if (otkcli_problem_load(&t.in, &pb, &err) != 0) {
        fprintf(stderr, "%s: %s\n", t.prog, err.msg);
        code = otkcli_close_stdout(t.prog, OTKCLI_EXIT_FAILURE);
        goto out;
    }
    const size_t n = pb.cost.n, m = pb.cost.m;
    code = OTKCLI_EXIT_FAILURE;
    if (sparse && o.k > n) {
        fprintf(stderr,
                "%s: -k %zu is more than the %zu rows of a column; use k = %zu "
                "(quadratic OT) or less\n",
                t.prog, o.k, n, n);
        otkcli_problem_free(&pb);
        code = otkcli_close_stdout(t.prog, OTKCLI_EXIT_FAILURE);
        goto out;
    }
    if (o.batch > 1) {
        code = otkcli_smooth_batch(&t, &o.s, &pb, o.reg, sparse ? o.k : 0,
                                   o.batch, o.dense);
        otkcli_abort_all();
        otkcli_problem_free(&pb);
        code = otkcli_close_stdout(t.prog, code);
        goto out;
    }
    double *f = malloc(n * sizeof *f), *g = malloc(m * sizeof *g);
    double *P = NULL;
    if (t.plan_path != NULL)
        P = n <= SIZE_MAX / sizeof(double) / m ? malloc(n * m * sizeof *P)
                                               : NULL;
    otk_quadratic_info info;
    if (!f || !g || (t.plan_path && !P)) {
        fprintf(stderr, "%s: out of memory\n", t.prog);
        goto done;
    }
    const otk_problem op = {&pb.cost, pb.a, pb.b, o.reg};
    otk_solution sol = {.f = f, .g = g, .P = P};
    otk_status st = sparse ? otk_sparse(&op, o.k, &o.s, &sol, &info)
                           : otk_quadratic(&op, &o.s, &sol, &info);
    if (st < 0) {
        code = solve_failed(&t, &pb, o.reg, st, info.outcome.bad_argument);
        goto done;
    }
    if (st != OTK_CONVERGED) {
        snprintf(err.msg, sizeof err.msg,
                 "%s: marginal error %.3g > --tol %.3g after %zu "
                 "iterations; %s",
                 otk_status_name(st), info.marginal_error, o.s.tol,
                 info.iterations,
                 st == OTK_MAX_ITER ? "raise --max-iter"
                                    : "loosen --tol, or raise --reg or -k");
        otkcli_warn_not_converged(&t, err.msg);
    }
    if (otkcli_write_plan(&t, o.dense, n, m, P, NULL, 0) != 0 ||
        otkcli_write_potentials(&t, f, n, g, m) != 0)
        goto done;
    otkcli_summary sm = {.keys = keys};
    otkcli_summary_str(&sm, "status", otk_status_name(st));
    otkcli_summary_count(&sm, "iterations", info.iterations);
    otkcli_summary_num(&sm, "marginal_error", info.marginal_error);
    otkcli_summary_num(&sm, "transport_cost", info.transport_cost);
    otkcli_summary_num(&sm, "objective", info.objective);
    otkcli_summary_num(&sm, "dual_objective", info.dual_objective);
    otkcli_summary_count(&sm, "nnz", info.nnz);
    otkcli_summary_count(&sm, "max_col_nnz", info.max_col_nnz);
    otkcli_summary_num(&sm, "dual_gap", info.dual_gap);
    otkcli_summary_num(&sm, "relative_gap", info.relative_gap);
    otkcli_summary_num(&sm, "time_s", info.outcome.time_s);
    if (otkcli_finish(&t, &sm) == 0)
        code = otkcli_exit_code(st);
done:
    otkcli_abort_all();
    free(f);
    free(g);
    free(P);
    otkcli_problem_free(&pb);
    code = otkcli_close_stdout(t.prog, code);
out:
    return code;
}
