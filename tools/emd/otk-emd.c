/* otk-emd: exact optimal transport (network simplex) from CSV files. */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

#include "common/tool.h"

/* clang-format off */
static const char intro[] =
"Usage: otk-emd (--cost C.csv | --x X.csv --y Y.csv) [OPTIONS]\n"
"\n"
"Exact optimal transport: min <P,C> subject to P1 = a, P^T 1 = b, P >= 0,\n"
"solved by a network simplex. The plan has at most n + m - 1 nonzeros; the\n"
"potentials f, g certify optimality (f_i + g_j <= C_ij, equality on the\n"
"plan's support, <a,f> + <b,g> = <P,C>).\n"
"\n";
static const char outro[] =
"status is optimal or max_iter; iterations counts pivots; objective equals\n"
"transport_cost.\n"
"Exit status: 0 optimal, 1 data or runtime error, 2 usage error,\n"
"3 pivot limit reached (outputs still written). See docs/cli.md.\n";
/* clang-format on */

enum { O_MAXIT = OTKCLI_OPT_TOOL, O_MASS_TOL, O_PLAN_FORMAT };

static const otkcli_opt opts[] = {
    OTKCLI_OPTS_INPUT,
    OTKCLI_HEADING("Solver:"),
    OTKCLI_SETTING("max-iter", "N", O_MAXIT, "pivot limit", max_iter),
    OTKCLI_SETTING("mass-tol", "T", O_MASS_TOL,
                   "relative mass difference tolerated, b then being\n"
                   "rescaled to a's mass",
                   mass_tol),
    OTKCLI_HEADING("Output:"),
    OTKCLI_OPTS_PLAN,
    OTKCLI_OPT("plan-format", 0, "F", O_PLAN_FORMAT,
               "coo (default: rows 'i,j,value', 0-based, nonzeros\n"
               "only) or dense (n rows of m values)"),
    OTKCLI_OPTS_GENERAL,
    OTKCLI_END};

static const otkcli_key keys[] = {
    OTKCLI_KEYS_SOLVER, {"nnz", NULL}, {"time_s", NULL}, {NULL, NULL}};

static const otkcli_spec spec = {intro, opts, keys, outro,
                                 otk_exact_setting_bounds};

static int progress(void *user, const otk_progress *p)
{
    const otkcli_tool *t = user;
    fprintf(stderr, "%s: pivot %zu  transport cost %.17g\n", t->prog,
            p->iteration, p->objective);
    return 0;
}

/* This tool's own options: 0 handled, 1 not ours, -1 bad value (err). */
static int own_option(int *dense, int c, otkcli_error *err)
{
    switch (c) {
    case O_PLAN_FORMAT:
        if (strcmp(optarg, "coo") != 0 && strcmp(optarg, "dense") != 0) {
            snprintf(err->msg, sizeof err->msg,
                     "--plan-format: expected coo or dense");
            return -1;
        }
        *dense = optarg[0] == 'd';
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    otkcli_tool t;
    otkcli_tool_init(&t, "otk-emd", &spec);
    otk_exact_settings s;
    otk_exact_default_settings(&s);
    int dense = 0, c, code;
    otkcli_error err;
    while ((c = otkcli_next_option(&t, argc, argv)) != -1) {
        int set = otkcli_setting_option(&t, c, optarg, &s, &code);
        if (set < 0)
            return code;
        if (set > 0)
            continue;
        int r = own_option(&dense, c, &err);
        if (r < 0)
            return otkcli_usage_error(&t, err.msg);
        if (r > 0 && otkcli_tool_option(&t, c, argv, &code) != 0)
            return code;
    }
    if ((code = otkcli_tool_check(&t, argc, argv, optind)) != 0)
        return code;
    if (t.verbose) {
        s.progress = progress;
        s.progress_user = &t;
    }

    otkcli_problem pb;
    if (otkcli_problem_load(&t.in, &pb, &err) != 0) {
        fprintf(stderr, "%s: %s\n", t.prog, err.msg);
        return otkcli_close_stdout(t.prog, OTKCLI_EXIT_FAILURE);
    }
    const size_t n = pb.cost.n, m = pb.cost.m;
    code = OTKCLI_EXIT_FAILURE;
    double *f = malloc(n * sizeof *f), *g = malloc(m * sizeof *g);
    otk_plan_entry *plan = malloc((n + m) * sizeof *plan);
    otk_exact_info info;
    if (!f || !g || !plan) {
        fprintf(stderr, "%s: out of memory\n", t.prog);
        goto done;
    }
    otk_problem problem = {.cost = &pb.cost, .a = pb.a, .b = pb.b};
    otk_solution sol = {.f = f, .g = g, .plan = plan, .capacity = n + m};
    otk_status st = otk_exact(&problem, &s, &sol, &info);
    const char *opt = otkcli_option_for_setting(&t, info.outcome.bad_argument);
    if (st == OTK_ERR_INVALID_ARGUMENT && opt != NULL) {
        /* a setting out of range: name the option that set it */
        snprintf(err.msg, sizeof err.msg,
                 "%s: value out of range (see --help and docs/exact.md)", opt);
        code = otkcli_usage_error(&t, err.msg);
        goto done;
    }
    if (st < 0) {
        otkcli_report(&t, &pb, st, info.outcome.bad_argument);
        goto done;
    }
    if (st != OTK_OPTIMAL) {
        snprintf(err.msg, sizeof err.msg,
                 "stopped after %zu pivots with a feasible but not optimal "
                 "plan; raise --max-iter",
                 info.iterations);
        otkcli_warn_not_converged(&t, err.msg);
    }
    if (otkcli_write_plan(&t, dense, n, m, NULL, plan, info.nnz) != 0)
        goto done;
    if (otkcli_write_potentials(&t, f, n, g, m) != 0)
        goto done;
    otkcli_summary sm = {.keys = keys};
    otkcli_summary_str(&sm, "status",
                       st == OTK_OPTIMAL ? "optimal" : otk_status_name(st));
    otkcli_summary_count(&sm, "iterations", info.iterations);
    otkcli_summary_num(&sm, "marginal_error", info.marginal_error);
    otkcli_summary_num(&sm, "transport_cost", info.transport_cost);
    otkcli_summary_num(&sm, "objective", info.transport_cost);
    otkcli_summary_num(&sm, "dual_objective", info.dual_objective);
    otkcli_summary_count(&sm, "nnz", info.nnz);
    otkcli_summary_num(&sm, "time_s", info.outcome.time_s);
    if (otkcli_finish(&t, &sm) == 0)
        code = otkcli_exit_code(st);
done:
    otkcli_abort_all();
    free(f);
    free(g);
    free(plan);
    otkcli_problem_free(&pb);
    return otkcli_close_stdout(t.prog, code);
}
