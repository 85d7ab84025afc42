/* otk-sinkhorn: entropic optimal transport from CSV files. */
#include <getopt.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

#include "common/tool.h"

/* clang-format off */
static const char intro[] =
"Usage: otk-sinkhorn --reg R (--cost C.csv | --x X.csv --y Y.csv) [OPTIONS]\n"
"\n"
"Entropic optimal transport: min <P,C> + R*KL(P | a b^T) subject to P1 = a,\n"
"P^T 1 = b (or KL penalties of strength --tau-a/--tau-b on the marginals),\n"
"solved by Sinkhorn iterations in the log domain, with a kernel fast path\n"
"where it is safe, epsilon scaling and over-relaxation (docs/entropic.md).\n"
"\n";
static const char outro[] =
"Exit status: 0 converged, 1 data or runtime error, 2 usage error,\n"
"3 not converged (outputs still written). See docs/cli.md.\n";
/* clang-format on */

enum {
    O_REG = OTKCLI_OPT_TOOL,
    O_TAU_A,
    O_TAU_B,
    O_TAU,
    O_TOL,
    O_MAXIT,
    O_CHECK,
    O_DOMAIN,
    O_EPS,
    O_RELAX,
    O_THREADS,
    O_MULTI,
    O_NO_MULTI,
    O_TRUNC,
    O_DIV,
    O_CXX,
    O_CYY
};

static const otkcli_opt opts[] = {
    OTKCLI_OPTS_INPUT, OTKCLI_HEADING("Problem and solver:"),
    OTKCLI_OPT("reg", 'e', "R", O_REG,
               "regularization, > 0, in units of the cost (required)"),
    OTKCLI_SETTING("tau-a", "T", O_TAU_A,
                   "KL penalty on the source marginal (inf: balanced)", tau_a),
    OTKCLI_SETTING("tau-b", "T", O_TAU_B, "the same on the target marginal",
                   tau_b),
    /* --tau is range-checked as tau_a and copied to tau_b */
    OTKCLI_SETTING("tau", "T", O_TAU, "both penalties", tau_a),
    OTKCLI_SETTING("tol", "T", O_TOL,
                   "stop when the L1 marginal residual <= T times the mass",
                   tol),
    OTKCLI_SETTING("max-iter", "N", O_MAXIT, "iteration limit", max_iter),
    OTKCLI_SETTING("check-every", "K", O_CHECK,
                   "measure the residual every K iterations", check_every),
    OTKCLI_OPT("domain", 0, "D", O_DOMAIN, "auto (default), log or scaling"),
    OTKCLI_OPT("eps-scaling", 0, "S", O_EPS, "auto (default), on or off"),
    OTKCLI_SETTING("relaxation", "W", O_RELAX,
                   "over-relaxation: 0 adaptive, 1 plain Sinkhorn, or\n"
                   "a fixed value in (0, 2)",
                   relaxation),
    OTKCLI_SETTING("threads", "N", O_THREADS,
                   "threads (0: all cores on large problems); more than\n"
                   "1024 or 4 per core are used as that maximum",
                   threads),
    OTKCLI_OPT("multiscale", 0, NULL, O_MULTI,
               "point clouds, squared Euclidean, balanced: cluster the\n"
               "points, solve coarse to fine, truncate the kernel\n"
               "(docs/entropic.md, \"Multiscale\"); default: on for\n"
               "large low-dimensional clouds at small --reg"),
    OTKCLI_OPT("no-multiscale", 0, NULL, O_NO_MULTI,
               "never the multiscale path (the dense solver)"),
    OTKCLI_SETTING("truncation", "K", O_TRUNC,
                   "multiscale: drop blocks whose plan bound is below\n"
                   "exp(-K) (raised at the end if tol needs it)",
                   truncation),
    OTKCLI_HEADING("Output:"), OTKCLI_OPTS_PLAN,
    OTKCLI_OPT("divergence", 0, NULL, O_DIV,
               "also compute the debiased Sinkhorn divergence"),
    OTKCLI_OPT("cost-xx", 0, "FILE", O_CXX,
               "the n x n source self cost that --divergence needs\n"
               "with --cost"),
    OTKCLI_OPT("cost-yy", 0, "FILE", O_CYY, "the m x m target self cost"),
    OTKCLI_OPTS_GENERAL, OTKCLI_END};

static const otkcli_key keys[] = {
    OTKCLI_KEYS_SOLVER,
    {"neglected_mass", "when the multiscale path ran"},
    {"sinkhorn_divergence", "with --divergence"},
    {"time_s", NULL},
    {NULL, NULL}};

static const otkcli_spec spec = {intro, opts, keys, outro,
                                 otk_sinkhorn_setting_bounds};

static int progress(void *user, const otk_progress *p)
{
    const otkcli_tool *t = user;
    const otk_sinkhorn_progress *d = p->detail;
    fprintf(stderr,
            "%s: iteration %zu  stage %zu  reg %.3g  residual %.3e  %s\n",
            t->prog, p->iteration, d->stage, p->reg, p->error,
            d->domain == OTK_DOMAIN_SCALING ? "scaling" : "log");
    return 0;
}

/* Library errors in the tool's words: a setting out of range is a usage
 * error naming its option (exit 2), the rest data or runtime errors. */
static int report(otkcli_tool *t, const otkcli_problem *pb,
                  const otk_sinkhorn_info *info)
{
    const char *what = info->outcome.bad_argument;
    const char *opt = otkcli_option_for_setting(t, what);
    /* --domain is a word, not in the bounds table: the library refuses
     * the scaling domain for point clouds */
    if (opt == NULL && what && strcmp(what, "settings.domain") == 0)
        opt = "--domain";
    if (opt == NULL && what && strcmp(what, "settings.multiscale") == 0)
        opt = "--multiscale";
    otk_status st = info->outcome.status;
    if (st == OTK_ERR_INVALID_ARGUMENT && opt != NULL) {
        char msg[128];
        snprintf(msg, sizeof msg,
                 "%s: not valid for this problem (see --help and "
                 "docs/entropic.md)",
                 opt);
        return otkcli_usage_error(t, msg);
    }
    if (st == OTK_ERR_INVALID_ARGUMENT && what && strcmp(what, "reg") == 0)
        fprintf(stderr,
                "%s: --reg is too small for this cost: it must be at least "
                "1e-10 times the cost's range (max - min), or the potentials "
                "divided by reg exceed double precision\n",
                t->prog);
    else
        otkcli_report(t, pb, st, what ? what : "");
    return OTKCLI_EXIT_FAILURE;
}

typedef struct options {
    otk_sinkhorn_settings s;
    double reg;
    int divergence;
    const char *cxx_path, *cyy_path;
} options;

/* This tool's own options: 0 handled, 1 not ours, -1 bad value (err). */
static int own_option(options *o, int c, otkcli_error *err)
{
    otk_sinkhorn_settings *s = &o->s;
    switch (c) {
    case O_REG: return otkcli_parse_double("--reg", optarg, &o->reg, err);
    case O_DIV: o->divergence = 1; return 0;
    case O_MULTI: s->multiscale = 1; return 0;
    case O_NO_MULTI: s->multiscale = 0; return 0;
    case O_CXX: o->cxx_path = optarg; return 0;
    case O_CYY: o->cyy_path = optarg; return 0;
    case O_DOMAIN:
        if (strcmp(optarg, "auto") == 0)
            s->domain = OTK_DOMAIN_AUTO;
        else if (strcmp(optarg, "log") == 0)
            s->domain = OTK_DOMAIN_LOG;
        else if (strcmp(optarg, "scaling") == 0)
            s->domain = OTK_DOMAIN_SCALING;
        else {
            snprintf(err->msg, sizeof err->msg,
                     "--domain: expected auto, log or scaling");
            return -1;
        }
        return 0;
    case O_EPS:
        if (strcmp(optarg, "auto") == 0)
            s->eps_scaling = -1;
        else if (strcmp(optarg, "on") == 0)
            s->eps_scaling = 1;
        else if (strcmp(optarg, "off") == 0)
            s->eps_scaling = 0;
        else {
            snprintf(err->msg, sizeof err->msg,
                     "--eps-scaling: expected auto, on or off");
            return -1;
        }
        return 0;
    }
    return 1;
}

/* Settings checks that are usage errors; NULL when all is well. */
static const char *check_options(const options *o, const otkcli_tool *t)
{
    if (isnan(o->reg))
        return "missing --reg (the entropic regularization)";
    if (!(o->reg > 0.0) || isinf(o->reg))
        return "--reg: must be a positive finite number";
    if (!o->divergence && (o->cxx_path || o->cyy_path))
        return "--cost-xx/--cost-yy only go with --divergence";
    if (o->divergence && t->in.cost_path && (!o->cxx_path || !o->cyy_path))
        return "--divergence with --cost needs --cost-xx and --cost-yy";
    if (o->divergence && t->in.x_path && (o->cxx_path || o->cyy_path))
        return "--cost-xx/--cost-yy go with --cost, not --x/--y";
    return NULL;
}

/* Read the self costs --divergence needs with --cost. */
static int load_self_costs(const otkcli_tool *t, const options *o, size_t n,
                           size_t m, otkcli_matrix *cxx, otkcli_matrix *cyy)
{
    otkcli_error err;
    if (otkcli_read_matrix(o->cxx_path, cxx, &err) != 0 ||
        otkcli_read_matrix(o->cyy_path, cyy, &err) != 0) {
        fprintf(stderr, "%s: %s\n", t->prog, err.msg);
        return -1;
    }
    int x_bad = cxx->rows != n || cxx->cols != n;
    if (x_bad || cyy->rows != m || cyy->cols != m) {
        fprintf(stderr, "%s: %s is %zu x %zu, expected %zu x %zu\n", t->prog,
                x_bad ? o->cxx_path : o->cyy_path,
                x_bad ? cxx->rows : cyy->rows, x_bad ? cxx->cols : cyy->cols,
                x_bad ? n : m, x_bad ? n : m);
        return -1;
    }
    return 0;
}

/* Total of a weight vector; NULL (uniform weights) has mass 1. */
static double total_mass(const double *w, size_t len)
{
    double sum = 0.0;
    for (size_t k = 0; w != NULL && k < len; k++)
        sum += w[k];
    return w != NULL ? sum : 1.0;
}

int main(int argc, char **argv)
{
    otkcli_tool t;
    otkcli_tool_init(&t, "otk-sinkhorn", &spec);
    options o = {.reg = NAN};
    otk_sinkhorn_default_settings(&o.s);
    otkcli_error err;
    int c, code;
    while ((c = otkcli_next_option(&t, argc, argv)) != -1) {
        int set = otkcli_setting_option(&t, c, optarg, &o.s, &code);
        if (set < 0)
            return code;
        if (set > 0) {
            if (c == O_TAU)
                o.s.tau_b = o.s.tau_a;
            continue;
        }
        int r = own_option(&o, c, &err);
        if (r < 0)
            return otkcli_usage_error(&t, err.msg);
        if (r > 0 && otkcli_tool_option(&t, c, argv, &code) != 0)
            return code;
    }
    const char *usage = check_options(&o, &t);
    if (usage != NULL)
        return otkcli_usage_error(&t, usage);
    t.more_in[0] = o.cxx_path;
    t.more_in[1] = o.cyy_path;
    if ((code = otkcli_tool_check(&t, argc, argv, optind)) != 0)
        return code;
    if (t.verbose) {
        o.s.progress = progress;
        o.s.progress_user = &t;
    }

    otkcli_problem pb;
    otkcli_matrix cxx = {0}, cyy = {0};
    if (otkcli_problem_load(&t.in, &pb, &err) != 0) {
        fprintf(stderr, "%s: %s\n", t.prog, err.msg);
        return otkcli_close_stdout(t.prog, OTKCLI_EXIT_FAILURE);
    }
    const size_t n = pb.cost.n, m = pb.cost.m;
    code = OTKCLI_EXIT_FAILURE;
    double *f = malloc(n * sizeof *f), *g = malloc(m * sizeof *g), *P = NULL;
    if (o.cxx_path && load_self_costs(&t, &o, n, m, &cxx, &cyy) != 0)
        goto done;
    if (t.plan_path != NULL) {
        P = n <= SIZE_MAX / sizeof(double) / m ? malloc(n * m * sizeof *P)
                                               : NULL;
    }
    if (!f || !g || (t.plan_path && !P)) {
        fprintf(stderr, "%s: out of memory\n", t.prog);
        goto done;
    }
    otk_sinkhorn_info info[3];
    double div = NAN;
    otk_status st;
    const otk_problem problem = {&pb.cost, pb.a, pb.b, o.reg};
    otk_solution sol = {.f = f, .g = g, .P = P};
    if (o.divergence) {
        otk_cost xx = otk_cost_dense(n, n, cxx.data);
        otk_cost yy = otk_cost_dense(m, m, cyy.data);
        st = otk_sinkhorn_divergence(&problem, o.cxx_path ? &xx : NULL,
                                     o.cyy_path ? &yy : NULL, &o.s, &div, &sol,
                                     info);
        for (int k = 1; k < 3 && st < 0; k++)
            if (info[k].outcome.status < 0)
                info[0] = info[k];
        info[0].outcome.time_s +=
            info[1].outcome.time_s + info[2].outcome.time_s;
    } else {
        st = otk_sinkhorn(&problem, &o.s, &sol, info);
    }
    if (st < 0) {
        info[0].outcome.status = st;
        code = report(&t, &pb, &info[0]);
        goto done;
    }
    if (st == OTK_MAX_ITER) {
        /* the solver stops at a residual of tol times the mean mass */
        double mass =
            0.5 * (total_mass(pb.a, pb.cost.n) + total_mass(pb.b, pb.cost.m));
        snprintf(err.msg, sizeof err.msg,
                 "residual %.3g > --tol %.3g x mass %.3g after %zu "
                 "iterations; raise --max-iter, loosen --tol, or raise --reg",
                 info[0].residual, o.s.tol, mass, info[0].iterations);
        otkcli_warn_not_converged(&t, err.msg);
    }
    if (st == OTK_STALLED)
        otkcli_warn_not_converged(
            &t, "the truncated kernel's neglected mass keeps the residual "
                "above --tol; raise --truncation");
    if (t.plan_path && otkcli_tool_write_matrix(&t, t.plan_path, P, n, m) != 0)
        goto done;
    if (otkcli_write_potentials(&t, f, n, g, m) != 0)
        goto done;
    otkcli_summary sm = {.keys = keys};
    otkcli_summary_str(&sm, "status", otk_status_name(st));
    otkcli_summary_count(&sm, "iterations", info[0].iterations);
    otkcli_summary_num(&sm, "marginal_error", info[0].marginal_error);
    otkcli_summary_num(&sm, "transport_cost", info[0].transport_cost);
    otkcli_summary_num(&sm, "objective", info[0].objective);
    otkcli_summary_num(&sm, "dual_objective", info[0].dual_objective);
    /* the dense solver reports 0: the bound is there when the path ran */
    if (o.s.multiscale == 1 || info[0].neglected_mass > 0.0)
        otkcli_summary_num(&sm, "neglected_mass", info[0].neglected_mass);
    if (o.divergence)
        otkcli_summary_num(&sm, "sinkhorn_divergence", div);
    otkcli_summary_num(&sm, "time_s", info[0].outcome.time_s);
    if (otkcli_finish(&t, &sm) == 0)
        code = otkcli_exit_code(st);
done:
    otkcli_abort_all();
    free(f);
    free(g);
    free(P);
    otkcli_matrix_free(&cxx);
    otkcli_matrix_free(&cyy);
    otkcli_problem_free(&pb);
    return otkcli_close_stdout(t.prog, code);
}
