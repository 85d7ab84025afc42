/* otk-mongegap: the Monge gap of a map given by samples, and fitting and
 * applying residual-MLP maps regularized by it. */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <otkit/otkit.h>

#include "common/tool.h"

/* clang-format off */
static const char intro[] =
"Usage: otk-mongegap estimate --x X.csv --y TX.csv [OPTIONS]\n"
"  or:  otk-mongegap fit --source X.csv --target Y.csv --save MAP [OPTIONS]\n"
"  or:  otk-mongegap apply --map MAP --x X.csv [--output FILE]\n"
"\n"
"estimate: the Monge gap M = (1/n) sum c(x_i, y_i) - W_c(x, y) of the pairs\n"
"(x_i, y_i = T(x_i)) (rows of the two files), W_c entropic or exact.\n"
"\n"
"fit: fit T(x) = x + MLP(x) minimizing S(T#source, target) + L * M(T)\n"
"over mini-batches with Adam (S uses the squared Euclidean cost). A\n"
"progress bar on stderr when it is a terminal, or a line per 100 steps\n"
"with -v.\n"
"\n"
"apply: write T(x) for the rows of --x to --output (default stdout).\n"
"\n";
static const char outro[] =
"inner_not_converged counts the fit steps whose Sinkhorn solves stopped\n"
"at their cap (then status max_iter and exit 3); sinkhorn_iterations is\n"
"their total over all steps; best_step is the step whose map was saved\n"
"with --validate (0 without), validation_loss its held-out loss.\n"
"Exit status: 0 done, 1 data or runtime error, 2 usage error, 3 an\n"
"entropic solve did not converge (outputs still written). See docs/cli.md.\n";
/* clang-format on */

enum {
    O_COST = OTKCLI_OPT_TOOL,
    O_REG,
    O_RELREG,
    O_EXACT,
    O_GRADIENT,
    O_SOURCE,
    O_TARGET,
    O_LAMBDA,
    O_HIDDEN,
    O_ACT,
    O_STEPS,
    O_BATCH,
    O_LR,
    O_SEED,
    O_FITREG,
    O_SAVE,
    O_MAP,
    O_OUTPUT,
    O_TOL,
    O_MAXIT,
    O_GAPREG,
    O_DIVREG,
    O_INNERTOL,
    O_INNERIT,
    O_LRSCHED,
    O_GAPSCALE,
    O_VALIDATE,
    O_VALFRAC
};

/* OTKCLI_SETTING options name fields of otk_mg_fit_settings; estimate
 * reads the gap's fields from its `gap`. */
static const otkcli_opt opts[] = {
    OTKCLI_HEADING("estimate (and the Monge gap of fit):"),
    OTKCLI_OPT("x", 0, "FILE", OTKCLI_OPT_X, "points x_i, n x d (also apply)"),
    OTKCLI_OPT("y", 0, "FILE", OTKCLI_OPT_Y, "their images T(x_i), n x d"),
    OTKCLI_OPT("metric", 0, "M", OTKCLI_OPT_METRIC,
               "sqeuclidean (default), euclidean or pnorm"),
    OTKCLI_OPT("cost", 0, "M", O_COST,
               "deprecated name of --metric (removed in the next\n"
               "release)"),
    OTKCLI_SETTING("p", "P", OTKCLI_OPT_P,
                   "exponent of pnorm: c = ||x - y||_p^p", gap.p),
    OTKCLI_SETTING("reg", "R", O_REG,
                   "entropic regularization, absolute (0: relative)", gap.reg),
    OTKCLI_SETTING("relative-reg", "R", O_RELREG,
                   "reg = R times the mean cost (estimate: default\n"
                   "0.01) or fit's --gap-reg-scale (the default below)",
                   gap.relative_reg),
    OTKCLI_OPT("exact", 0, NULL, O_EXACT,
               "exact W (network simplex) instead (estimate only)"),
    OTKCLI_OPT("gradient", 0, "FILE", O_GRADIENT,
               "write dM/dy (n rows of d values)"),
    OTKCLI_SETTING("tol", "T", O_TOL,
                   "inner Sinkhorn: stop when the L1 marginal residual\n"
                   "<= T times the mass (the default below is fit's;\n"
                   "estimate's is 1e-9)",
                   gap.sinkhorn.tol),
    OTKCLI_SETTING("max-iter", "N", O_MAXIT,
                   "inner Sinkhorn: iteration limit of each solve",
                   gap.sinkhorn.max_iter),
    OTKCLI_HEADING("fit:"),
    OTKCLI_OPT("source", 0, "FILE", O_SOURCE, "source samples (required)"),
    OTKCLI_OPT("target", 0, "FILE", O_TARGET, "target samples (required)"),
    OTKCLI_SETTING("lambda", "L", O_LAMBDA, "weight of the Monge gap", lambda),
    OTKCLI_OPT("hidden", 0, "H1,H2,..", O_HIDDEN, "hidden layer sizes (64,64)"),
    OTKCLI_OPT("activation", 0, "A", O_ACT,
               "gelu (default), relu, leaky_relu or tanh"),
    OTKCLI_SETTING("steps", "N", O_STEPS, "Adam steps", steps),
    OTKCLI_SETTING("batch", "B", O_BATCH, "mini-batch size", batch),
    OTKCLI_SETTING("lr", "R", O_LR, "learning rate", lr),
    OTKCLI_SETTING("lr-schedule", "K", O_LRSCHED,
                   "step size over the run: 0 constant, 1 cosine to 0",
                   lr_schedule),
    OTKCLI_SETTING("seed", "S", O_SEED, "initialization and batch seed", seed),
    OTKCLI_SETTING("gap-reg", "R", O_GAPREG,
                   "reg of the Monge gap, absolute (0: --relative-reg\n"
                   "times --gap-reg-scale on the first batch); as --reg",
                   gap.reg),
    OTKCLI_SETTING("gap-reg-scale", "K", O_GAPSCALE,
                   "scale of --relative-reg in fit: 0 the mean cost, 1\n"
                   "the median cost margin of each point's nearest\n"
                   "competitor (docs/mongegap.md)",
                   gap_reg_scale),
    OTKCLI_SETTING("div-reg", "R", O_DIVREG,
                   "reg of S (0: 0.3 x mean cost of a target batch)", fit_reg),
    OTKCLI_SETTING("fit-reg", "R", O_FITREG, "older name of --div-reg",
                   fit_reg),
    OTKCLI_SETTING("inner-tol", "T", O_INNERTOL,
                   "every inner Sinkhorn solve of a step (the divergence's\n"
                   "three, the gap's): stop when the L1 marginal residual\n"
                   "<= T times the batch's mass; as --tol",
                   gap.sinkhorn.tol),
    OTKCLI_SETTING("inner-max-iter", "N", O_INNERIT,
                   "iteration budget of each inner solve of a step; as\n"
                   "--max-iter",
                   gap.sinkhorn.max_iter),
    OTKCLI_SETTING("validate", "K", O_VALIDATE,
                   "hold out --validation-fraction of the rows, compute\n"
                   "the loss on a batch of them every K steps and save\n"
                   "the map of the lowest (0: no validation)",
                   validate_every),
    OTKCLI_SETTING("validation-fraction", "F", O_VALFRAC,
                   "fraction of the source and target rows held out",
                   validation_fraction),
    OTKCLI_OPT("save", 0, "MAP", O_SAVE,
               "where to write the fitted map (required)"),
    OTKCLI_HEADING("apply:"),
    OTKCLI_OPT("map", 0, "MAP", O_MAP, "a map written by fit --save"),
    OTKCLI_OPT("output", 0, "FILE", O_OUTPUT, "where to write T(x) (stdout)"),
    OTKCLI_HEADING("All commands:"),
    OTKCLI_OPTS_GENERAL,
    OTKCLI_END};

/* One summary per command: estimate's keys, then fit's. */
static const otkcli_key keys[] = {{NULL, "estimate"},
                                  {"status", NULL},
                                  {"monge_gap", NULL},
                                  {"displacement_cost", NULL},
                                  {"ot_cost", NULL},
                                  {"reg", NULL},
                                  {"iterations", NULL},
                                  {"time_s", NULL},
                                  {NULL, "fit"},
                                  {"status", NULL},
                                  {"steps", NULL},
                                  {"loss", NULL},
                                  {"fitting", NULL},
                                  {"monge_gap", NULL},
                                  {"fit_reg", NULL},
                                  {"gap_reg", NULL},
                                  {"inner_not_converged", NULL},
                                  {"sinkhorn_iterations", NULL},
                                  {"best_step", NULL},
                                  {"validation_loss", NULL},
                                  {"time_s", NULL},
                                  {NULL, NULL}};
#define ESTIMATE_KEYS (keys + 1)
#define FIT_KEYS (keys + 9)

static const otkcli_spec spec = {intro, opts, keys, outro,
                                 otk_mg_fit_setting_bounds};

typedef struct options {
    const char *x, *y, *source, *target, *gradient, *save, *map, *output;
    const char *metric, *hidden, *act;
    int exact, reg_set, relreg_set;
    /* the settings the options write; estimate uses s.gap */
    otk_mg_fit_settings s;
} options;

static int parse(otkcli_tool *t, options *o, int argc, char **argv, int *code)
{
    int c;
    while ((c = otkcli_next_option(t, argc, argv)) != -1) {
        int set = otkcli_setting_option(t, c, optarg, &o->s, code);
        if (set < 0)
            return -1;
        o->reg_set |= set > 0 && (c == O_REG || c == O_GAPREG);
        o->relreg_set |= set > 0 && c == O_RELREG;
        if (set > 0)
            continue;
        switch (c) {
        case OTKCLI_OPT_X: o->x = optarg; break;
        case OTKCLI_OPT_Y: o->y = optarg; break;
        case O_COST:
            fprintf(stderr,
                    "%s: warning: --cost is deprecated here; use --metric\n",
                    t->prog);
            /* fall through */
        case OTKCLI_OPT_METRIC: o->metric = optarg; break;
        case O_EXACT: o->exact = 1; break;
        case O_GRADIENT: o->gradient = optarg; break;
        case O_SOURCE: o->source = optarg; break;
        case O_TARGET: o->target = optarg; break;
        case O_HIDDEN: o->hidden = optarg; break;
        case O_ACT: o->act = optarg; break;
        case O_SAVE: o->save = optarg; break;
        case O_MAP: o->map = optarg; break;
        case O_OUTPUT: o->output = optarg; break;
        default:
            if (otkcli_tool_option(t, c, argv, code) != 0)
                return -1;
        }
    }
    return 0;
}

/* The Monge-gap settings' metric and estimator from the options (their
 * numbers are already in s); NULL or a usage message. */
static const char *gap_settings(const options *o, otk_mg_settings *s)
{
    if (o->metric == NULL || strcmp(o->metric, "sqeuclidean") == 0)
        s->metric = OTK_METRIC_SQEUCLIDEAN;
    else if (strcmp(o->metric, "euclidean") == 0)
        s->metric = OTK_METRIC_EUCLIDEAN;
    else if (strcmp(o->metric, "pnorm") == 0)
        s->metric = OTK_METRIC_PNORM;
    else
        return "--metric: expected sqeuclidean, euclidean or pnorm";
    if (o->reg_set && o->relreg_set)
        return "give --reg or --relative-reg, not both";
    if (o->exact && (o->reg_set || o->relreg_set))
        return "--exact takes no --reg or --relative-reg";
    s->exact = o->exact;
    return NULL;
}

/*
 * A library error: a settings field out of range is the option's usage
 * error (exit 2); others are printed (exit 1). `gap` is 1 when the
 * library's settings are the gap's (estimate), whose fields the options
 * name under "gap.".
 */
static int library_error(const otkcli_tool *t, otk_status st, const char *bad,
                         int gap)
{
    static const char prefix[] = "settings.";
    const char *opt = NULL;
    if (st == OTK_ERR_INVALID_ARGUMENT && bad != NULL &&
        strncmp(bad, prefix, sizeof prefix - 1) == 0) {
        char field[96];
        snprintf(field, sizeof field, "%s%s", gap ? "gap." : "",
                 bad + sizeof prefix - 1);
        opt = otkcli_option_for_setting(t, field);
    }
    if (opt != NULL) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s: value out of range (see --help)", opt);
        return otkcli_usage_error(t, msg);
    }
    fprintf(stderr, "%s: %s%s%s\n", t->prog, otk_status_string(st),
            bad ? ": " : "", bad ? bad : "");
    return OTKCLI_EXIT_FAILURE;
}

/* Read a point file; data errors are printed. */
static int read_points(const otkcli_tool *t, const char *path, otkcli_matrix *m)
{
    otkcli_error err;
    if (otkcli_read_matrix(path, m, &err) == 0)
        return 0;
    fprintf(stderr, "%s: %s\n", t->prog, err.msg);
    return -1;
}

static int run_estimate(otkcli_tool *t, const options *o)
{
    otk_mg_settings s = o->s.gap;
    const char *problem = gap_settings(o, &s);
    if (problem == NULL && (o->x == NULL || o->y == NULL))
        problem = "estimate needs --x X.csv and --y TX.csv";
    if (problem != NULL)
        return otkcli_usage_error(t, problem);
    otkcli_matrix x = {0}, y = {0};
    int code = OTKCLI_EXIT_FAILURE;
    double *grad = NULL;
    if (read_points(t, o->x, &x) != 0 || read_points(t, o->y, &y) != 0)
        goto done;
    if (x.rows != y.rows || x.cols != y.cols) {
        fprintf(stderr,
                "%s: %s is %zu x %zu but %s is %zu x %zu: the rows are pairs "
                "(x_i, T(x_i)) and need the same count and dimension\n",
                t->prog, o->x, x.rows, x.cols, o->y, y.rows, y.cols);
        goto done;
    }
    grad = o->gradient ? malloc(x.rows * x.cols * sizeof *grad) : NULL;
    if (o->gradient != NULL && grad == NULL) {
        /* a NULL gradient would silently mean "none", then be written */
        fprintf(stderr, "%s: %s\n", t->prog,
                otk_status_string(OTK_ERR_NO_MEMORY));
        goto done;
    }
    otk_mg_info info;
    otk_status st =
        otk_monge_gap(x.data, y.data, x.rows, x.cols, &s, grad, &info);
    if (st < 0) {
        code = library_error(t, st, info.outcome.bad_argument, 1);
        goto done;
    }
    if (st != OTK_CONVERGED)
        otkcli_warn_not_converged(
            t, "the entropic solve stopped before its tolerance; raise "
               "--reg or --relative-reg");
    if (o->gradient != NULL &&
        otkcli_tool_write_matrix(t, o->gradient, grad, x.rows, x.cols) != 0)
        goto done;
    otkcli_summary sm = {.keys = ESTIMATE_KEYS};
    otkcli_summary_str(&sm, "status", otk_status_name(st));
    otkcli_summary_num(&sm, "monge_gap", info.monge_gap);
    otkcli_summary_num(&sm, "displacement_cost", info.displacement_cost);
    otkcli_summary_num(&sm, "ot_cost", info.ot_cost);
    otkcli_summary_num(&sm, "reg", info.reg);
    otkcli_summary_count(&sm, "iterations", info.iterations);
    otkcli_summary_num(&sm, "time_s", info.outcome.time_s);
    if (otkcli_finish(t, &sm) == 0)
        code = otkcli_exit_code(st);
done:
    free(grad);
    otkcli_matrix_free(&x);
    otkcli_matrix_free(&y);
    return code;
}

typedef struct fit_view {
    const otkcli_tool *t;
    size_t steps;
    int bar;
} fit_view;

static int fit_progress(void *user, const otk_progress *pr)
{
    const fit_view *v = user;
    const otk_mg_fit_progress *p = pr->detail;
    if (v->bar) {
        int filled = (int)(30 * p->step / v->steps);
        fprintf(stderr, "\r%s: [%-30.*s] %zu/%zu  loss %.4g  gap %.4g",
                v->t->prog, filled, "##############################", p->step,
                v->steps, p->loss, p->monge_gap);
        if (p->step == v->steps)
            fputc('\n', stderr);
    } else if (v->t->verbose && (p->step % 100 == 0 || p->step == v->steps)) {
        fprintf(stderr, "%s: step %zu  loss %.6g  fitting %.6g  gap %.6g\n",
                v->t->prog, p->step, p->loss, p->fitting, p->monge_gap);
    }
    return 0;
}

/* "64,32" into sizes; returns the count or 0 when malformed. */
static size_t parse_hidden(const char *s, size_t *out, size_t cap)
{
    size_t count = 0;
    while (*s != '\0' && count < cap) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s || v == 0 || v > 100000 || (*end != ',' && *end != '\0'))
            return 0;
        out[count++] = v;
        s = *end == ',' ? end + 1 : end;
    }
    return *s == '\0' ? count : 0;
}

static int run_fit(otkcli_tool *t, const options *o)
{
    otk_mg_fit_settings s = o->s;
    const char *problem = gap_settings(o, &s.gap);
    size_t hidden[64], layers = 0;
    otk_activation act = OTK_ACT_GELU;
    if (problem == NULL && o->exact)
        problem = "fit needs the entropic gap: --exact is for estimate";
    if (problem == NULL && (!o->source || !o->target || !o->save))
        problem = "fit needs --source X.csv, --target Y.csv and --save MAP";
    if (problem == NULL &&
        (layers = parse_hidden(o->hidden ? o->hidden : "64,64", hidden, 64)) ==
            0)
        problem = "--hidden: expected sizes like 64,64";
    if (problem == NULL && o->act != NULL) {
        const char *names[] = {"gelu", "relu", "leaky_relu", "tanh"};
        act = (otk_activation)4;
        for (int a = 0; a < 4; a++)
            if (strcmp(o->act, names[a]) == 0)
                act = (otk_activation)a;
        if ((unsigned)act > OTK_ACT_TANH)
            problem = "--activation: expected gelu, relu, leaky_relu or tanh";
    }
    if (problem != NULL)
        return otkcli_usage_error(t, problem);
    otkcli_matrix x = {0}, y = {0};
    otk_mg_map *map = NULL;
    int code = OTKCLI_EXIT_FAILURE;
    if (read_points(t, o->source, &x) != 0 ||
        read_points(t, o->target, &y) != 0)
        goto done;
    if (x.cols != y.cols || x.rows < 2 || y.rows < 2) {
        fprintf(stderr,
                "%s: %s is %zu x %zu and %s is %zu x %zu: both need the same "
                "dimension and at least 2 points\n",
                t->prog, o->source, x.rows, x.cols, o->target, y.rows, y.cols);
        goto done;
    }
    map = otk_mg_map_create(x.cols, hidden, layers, act, s.seed);
    if (map == NULL) {
        fprintf(stderr, "%s: out of memory\n", t->prog);
        goto done;
    }
    fit_view view = {t, s.steps, isatty(STDERR_FILENO)};
    s.progress = fit_progress;
    s.progress_user = &view;
    otk_mg_fit_info info;
    otk_status st = otk_mg_fit(map, x.data, x.rows, y.data, y.rows, &s, &info);
    if (st < 0) {
        code = library_error(t, st, info.outcome.bad_argument, 0);
        goto done;
    }
    /* through the shared outputs: renamed into place after the summary */
    otkcli_error err;
    FILE *fp = otkcli_open_output(o->save, &err);
    if (fp == NULL) {
        fprintf(stderr, "%s: %s\n", t->prog, err.msg);
        goto done;
    }
    otk_mg_map_write(map, fp); /* write errors: found on close */
    if (st != OTK_CONVERGED) {
        char detail[200];
        snprintf(detail, sizeof detail,
                 "in %zu of %zu steps a Sinkhorn solve stopped at its "
                 "iteration cap before its tolerance (the map was still "
                 "fitted and saved); raise --inner-max-iter, --inner-tol, "
                 "--gap-reg or --div-reg",
                 info.inner_not_converged, info.steps);
        otkcli_warn_not_converged(t, detail);
    }
    otkcli_summary sm = {.keys = FIT_KEYS};
    otkcli_summary_str(&sm, "status", otk_status_name(st));
    otkcli_summary_count(&sm, "steps", info.steps);
    otkcli_summary_num(&sm, "loss", info.last.loss);
    otkcli_summary_num(&sm, "fitting", info.last.fitting);
    otkcli_summary_num(&sm, "monge_gap", info.last.monge_gap);
    otkcli_summary_num(&sm, "fit_reg", info.fit_reg);
    otkcli_summary_num(&sm, "gap_reg", info.gap_reg);
    otkcli_summary_count(&sm, "inner_not_converged", info.inner_not_converged);
    otkcli_summary_count(&sm, "sinkhorn_iterations", info.sinkhorn_iterations);
    otkcli_summary_count(&sm, "best_step", info.best_step);
    otkcli_summary_num(&sm, "validation_loss", info.validation_loss);
    otkcli_summary_num(&sm, "time_s", info.outcome.time_s);
    if (otkcli_finish(t, &sm) == 0)
        code = otkcli_exit_code(st);
done:
    otk_mg_map_free(map);
    otkcli_matrix_free(&x);
    otkcli_matrix_free(&y);
    return code;
}

static int run_apply(otkcli_tool *t, const options *o)
{
    if (o->map == NULL || o->x == NULL)
        return otkcli_usage_error(t, "apply needs --map MAP and --x X.csv");
    otk_status st;
    size_t line;
    otk_mg_map *map = otk_mg_map_load(o->map, &st, &line);
    if (map == NULL) {
        if (st == OTK_ERR_INVALID_INPUT)
            fprintf(stderr, "%s: %s:%zu: not a valid otkit map file\n", t->prog,
                    o->map, line);
        else
            fprintf(stderr, "%s: %s: cannot read the map\n", t->prog, o->map);
        return OTKCLI_EXIT_FAILURE;
    }
    otkcli_matrix x = {0};
    double *y = NULL;
    int code = OTKCLI_EXIT_FAILURE;
    if (read_points(t, o->x, &x) != 0)
        goto done;
    if (x.cols != otk_mg_map_dim(map)) {
        fprintf(stderr, "%s: %s has %zu columns but the map works in %zu\n",
                t->prog, o->x, x.cols, otk_mg_map_dim(map));
        goto done;
    }
    y = malloc(x.rows * x.cols * sizeof *y);
    if (y == NULL || otk_mg_map_apply(map, x.data, x.rows, y) != 0) {
        fprintf(stderr, "%s: out of memory\n", t->prog);
        goto done;
    }
    otkcli_error err;
    const char *out = o->output ? o->output : "-";
    FILE *fp = otkcli_open_output(out, &err);
    if (fp != NULL)
        otkcli_write_matrix(fp, out, y, x.rows, x.cols); /* errors: on close */
    if (fp == NULL || otkcli_commit_all(&err) != 0) {
        fprintf(stderr, "%s: %s\n", t->prog, err.msg);
        goto done;
    }
    code = OTKCLI_EXIT_OK;
done:
    free(y);
    otkcli_matrix_free(&x);
    otk_mg_map_free(map);
    return code;
}

int main(int argc, char **argv)
{
    otkcli_tool t;
    otkcli_tool_init(&t, "otk-mongegap", &spec);
    options o = {0};
    int code = OTKCLI_EXIT_USAGE;
    const char *cmd = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
    otk_mg_fit_default_settings(&o.s);
    if (cmd != NULL && strcmp(cmd, "estimate") == 0)
        otk_mg_default_settings(&o.s.gap); /* its accurate solves */
    if (parse(&t, &o, argc - (cmd != NULL), argv + (cmd != NULL), &code) != 0)
        return code;
    if (cmd == NULL)
        return otkcli_usage_error(&t,
                                  "missing command: estimate, fit or apply");
    if (optind < argc - 1) {
        otkcli_error err;
        snprintf(err.msg, sizeof err.msg, "unexpected argument '%s'",
                 argv[optind + 1]);
        return otkcli_usage_error(&t, err.msg);
    }
    const char *outs[] = {o.gradient, o.save, o.output};
    const char *ins[] = {o.x, o.y, o.source, o.target, o.map};
    otkcli_error err;
    if (otkcli_check_stdin(ins, 5, &err) != 0 ||
        otkcli_check_paths(ins, 5, outs, 3, &err) != 0)
        return otkcli_usage_error(&t, err.msg);
    if (strcmp(cmd, "estimate") == 0)
        code = run_estimate(&t, &o);
    else if (strcmp(cmd, "fit") == 0)
        code = run_fit(&t, &o);
    else if (strcmp(cmd, "apply") == 0)
        code = run_apply(&t, &o);
    else {
        snprintf(err.msg, sizeof err.msg,
                 "unknown command '%s': expected estimate, fit or apply", cmd);
        return otkcli_usage_error(&t, err.msg);
    }
    otkcli_abort_all();
    return otkcli_close_stdout(t.prog, code);
}
