/* The body of otk-quadratic and otk-sparse (they differ only by -k). */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

#include "common/tool.h"
#include "smooth/smooth_tool.h"

/* clang-format off */
static const char quadratic_intro[] =
"Usage: otk-quadratic --gamma G (--cost C.csv | --x X.csv --y Y.csv) [OPTIONS]\n"
"\n"
"Quadratically-regularized optimal transport:\n"
"  min <P,C> + (G/2) ||P||^2  subject to  P1 = a, P^T 1 = b, P >= 0,\n"
"whose plan is sparse, solved through its smooth dual or semi-dual by\n"
"L-BFGS (docs/quadratic.md).\n"
"\n";
static const char sparse_intro[] =
"Usage: otk-sparse --gamma G -k K (--cost C.csv | --x X.csv --y Y.csv) [OPTIONS]\n"
"\n"
"Sparsity-constrained optimal transport: quadratically-regularized OT with\n"
"at most K nonzeros in every column of the plan, solved through the convex\n"
"dual or semi-dual of its relaxation by L-BFGS (docs/quadratic.md). The\n"
"marginals are met only approximately for small K: marginal_error says how\n"
"well.\n"
"\n";
static const char outro[] =
"objective is the regularized primal value of the plan; the potentials\n"
"alpha and beta are written as f and g.\n"
"Exit status: 0 converged, 1 data or runtime error, 2 usage error,\n"
"3 not converged: max_iter or stalled (outputs still written). See\n"
"docs/cli.md.\n";
/* clang-format on */

enum {
    O_GAMMA = OTKCLI_OPT_TOOL,
    O_MAX_NZ,
    O_FORM,
    O_TOL,
    O_MAXIT,
    O_HISTORY,
    O_THREADS,
    O_PLAN_FORMAT
};

/* The two tools' tables differ only by -k: the rest is shared. */
/* clang-format off */
#define SMOOTH_GAMMA                                                         \
    OTKCLI_OPTS_INPUT,                                                       \
    OTKCLI_HEADING("Problem and solver:"),                                   \
    OTKCLI_OPT("gamma", 'e', "G", O_GAMMA,                                   \
               "regularization, > 0, in units of the cost (required)"),      \
    OTKCLI_OPT("reg", 0, "G", O_GAMMA, "the same as --gamma")
#define SMOOTH_REST                                                          \
    OTKCLI_OPT("formulation", 0, "F", O_FORM, "semi-dual (default) or dual"),\
    OTKCLI_OPT("tol", 0, "T", O_TOL,                                         \
               "stop when the L1 marginal error <= T (1e-9)"),               \
    OTKCLI_OPT("max-iter", 0, "N", O_MAXIT, "L-BFGS iterations (10000)"),    \
    OTKCLI_OPT("history", 0, "H", O_HISTORY, "L-BFGS memory (10)"),          \
    OTKCLI_OPT("threads", 0, "N", O_THREADS,                                 \
               "threads (0: all cores on large problems; default)"),         \
    OTKCLI_HEADING("Output:"),                                               \
    OTKCLI_OPTS_PLAN,                                                        \
    OTKCLI_OPT("plan-format", 0, "F", O_PLAN_FORMAT,                         \
               "coo (default: rows 'i,j,value', 0-based) or dense"),         \
    OTKCLI_OPTS_GENERAL,                                                     \
    OTKCLI_END
/* clang-format on */

static const otkcli_opt quadratic_opts[] = {SMOOTH_GAMMA, SMOOTH_REST};
static const otkcli_opt sparse_opts[] = {
    SMOOTH_GAMMA,
    OTKCLI_OPT("max-nz", 'k', "K", O_MAX_NZ,
               "nonzeros per column, 1..n (required)"),
    SMOOTH_REST};

static const otkcli_key keys[] = {OTKCLI_KEYS_SOLVER,
                                  {"nnz", NULL},
                                  {"max_col_nnz", NULL},
                                  {"time_s", NULL},
                                  {NULL, NULL}};

static const otkcli_spec quadratic_spec = {quadratic_intro, quadratic_opts,
                                           keys, outro, NULL};
static const otkcli_spec sparse_spec = {sparse_intro, sparse_opts, keys, outro,
                                        NULL};

typedef struct options {
    otk_quadratic_settings s;
    double gamma;
    size_t k;
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
    size_t v;
    switch (c) {
    case O_GAMMA: return otkcli_parse_double("--gamma", optarg, &o->gamma, err);
    case O_MAX_NZ:
        o->k_given = 1;
        return otkcli_parse_size("--max-nz", optarg, &o->k, err);
    case O_TOL: return otkcli_parse_double("--tol", optarg, &o->s.tol, err);
    case O_MAXIT:
        return otkcli_parse_size("--max-iter", optarg, &o->s.max_iter, err);
    case O_HISTORY:
    case O_THREADS:
        if (otkcli_parse_size(c == O_HISTORY ? "--history" : "--threads",
                              optarg, &v, err) != 0)
            return -1;
        if (v > 1024) {
            snprintf(err->msg, sizeof err->msg, "%s: at most 1024",
                     c == O_HISTORY ? "--history" : "--threads");
            return -1;
        }
        *(c == O_HISTORY ? &o->s.history : &o->s.threads) = (int)v;
        return 0;
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

static const char *check_options(const options *o, int sparse)
{
    if (isnan(o->gamma))
        return "missing --gamma (the quadratic regularization)";
    if (!(o->gamma > 0.0) || isinf(o->gamma))
        return "--gamma: must be a positive finite number";
    if (sparse && !o->k_given)
        return "missing -k/--max-nz (nonzeros per column)";
    if (sparse && o->k < 1)
        return "-k/--max-nz: must be >= 1";
    if (!(o->s.tol >= 0.0) || isinf(o->s.tol))
        return "--tol: must be a finite number >= 0";
    if (o->s.max_iter < 1 || o->s.max_iter > INT32_MAX)
        return "--max-iter: must be in 1..2147483647";
    if (o->s.history < 1)
        return "--history: must be >= 1";
    return NULL;
}

int otkcli_smooth_main(int argc, char **argv, int sparse)
{
    otkcli_tool t;
    otkcli_tool_init(&t, sparse ? "otk-sparse" : "otk-quadratic",
                     sparse ? &sparse_spec : &quadratic_spec);
    options o = {.gamma = NAN};
    otk_quadratic_default_settings(&o.s);
    otkcli_error err;
    int c, code = OTKCLI_EXIT_FAILURE;
    while ((c = otkcli_next_option(&t, argc, argv)) != -1) {
        int r = own_option(&o, c, &err);
        if (r < 0) {
            code = otkcli_usage_error(&t, err.msg);
            goto out;
        }
        if (r > 0 && otkcli_tool_option(&t, c, argv, &code) != 0)
            goto out;
    }
    const char *problem = check_options(&o, sparse);
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
    double *alpha = malloc(n * sizeof *alpha), *beta = malloc(m * sizeof *beta);
    double *P = NULL;
    if (t.plan_path != NULL)
        P = n <= SIZE_MAX / sizeof(double) / m ? malloc(n * m * sizeof *P)
                                               : NULL;
    otk_quadratic_info info;
    if (!alpha || !beta || (t.plan_path && !P)) {
        fprintf(stderr, "%s: out of memory\n", t.prog);
        goto done;
    }
    otk_status st = sparse ? otk_sparse(&pb.cost, pb.a, pb.b, o.gamma, o.k,
                                        &o.s, alpha, beta, NULL, 0, P, &info)
                           : otk_quadratic(&pb.cost, pb.a, pb.b, o.gamma, &o.s,
                                           alpha, beta, NULL, 0, P, &info);
    if (st < 0) {
        otkcli_report(&t, &pb, st, info.bad_argument);
        goto done;
    }
    if (st != OTK_CONVERGED) {
        snprintf(err.msg, sizeof err.msg,
                 "%s: marginal error %.3g > --tol %.3g after %zu "
                 "iterations; %s",
                 otk_status_name(st), info.marginal_error, o.s.tol,
                 info.iterations,
                 st == OTK_MAX_ITER ? "raise --max-iter"
                                    : "loosen --tol, or raise --gamma or -k");
        otkcli_warn_not_converged(&t, err.msg);
    }
    if (otkcli_write_plan(&t, o.dense, n, m, P, NULL, 0) != 0 ||
        otkcli_write_potentials(&t, alpha, n, beta, m) != 0)
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
    otkcli_summary_num(&sm, "time_s", info.time_s);
    if (otkcli_finish(&t, &sm) == 0)
        code = otkcli_exit_code(st);
done:
    otkcli_abort_all();
    free(alpha);
    free(beta);
    free(P);
    otkcli_problem_free(&pb);
    code = otkcli_close_stdout(t.prog, code);
out:
    return code;
}
