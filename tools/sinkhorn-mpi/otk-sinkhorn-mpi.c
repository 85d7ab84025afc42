/* otk-sinkhorn-mpi: entropic optimal transport between point clouds,
 * distributed over the ranks of an MPI job (docs/distributed.md). */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <otkit/mpi.h>
#include <otkit/otkit.h>

#include "common/tool.h"
#include "scatter.h"

/* clang-format off */
static const char intro[] =
"Usage: mpirun -np P otk-sinkhorn-mpi --reg R --x X.csv --y Y.csv [OPTIONS]\n"
"\n"
"Entropic optimal transport between point clouds, as otk-sinkhorn solves\n"
"it in the log domain (epsilon scaling, over-relaxation, KL penalties\n"
"--tau-a/--tau-b), with the points split over the P ranks of an MPI job:\n"
"rank 0 reads the files, sends each rank its block of sources and targets,\n"
"and writes the outputs (docs/distributed.md).\n"
"\n";
static const char outro[] =
"Exit status (the same on every rank): 0 converged, 1 data or runtime\n"
"error, 2 usage error, 3 not converged (outputs still written).\n"
"See docs/distributed.md.\n";
/* clang-format on */

enum {
    O_REG = OTKCLI_OPT_TOOL,
    O_TAU_A,
    O_TAU_B,
    O_TAU,
    O_TOL,
    O_MAXIT,
    O_CHECK,
    O_EPS,
    O_RELAX,
    O_THREADS,
    O_DIV
};

static const otkcli_opt opts[] = {
    OTKCLI_HEADING("Input (read by rank 0):"),
    OTKCLI_OPT("x", 0, "FILE", OTKCLI_OPT_X,
               "n x d source points (CSV, blank-separated text or .npy)"),
    OTKCLI_OPT("y", 0, "FILE", OTKCLI_OPT_Y, "m x d target points"),
    OTKCLI_OPT("metric", 0, "M", OTKCLI_OPT_METRIC,
               "sqeuclidean (default), euclidean or pnorm"),
    OTKCLI_OPT("p", 0, "P", OTKCLI_OPT_P,
               "exponent for --metric pnorm: cost ||x-y||_p^p (2)"),
    OTKCLI_OPT("a", 'a', "FILE", OTKCLI_OPT_A,
               "n source weights (default uniform 1/n)"),
    OTKCLI_OPT("b", 'b', "FILE", OTKCLI_OPT_B,
               "m target weights (default uniform 1/m)"),
    OTKCLI_HEADING("Problem and solver:"),
    OTKCLI_OPT("reg", 'e', "R", O_REG,
               "regularization, > 0, in units of the cost (required)"),
    OTKCLI_SETTING("tau-a", "T", O_TAU_A,
                   "KL penalty on the source marginal (inf: balanced)", tau_a),
    OTKCLI_SETTING("tau-b", "T", O_TAU_B, "the same on the target marginal",
                   tau_b),
    OTKCLI_SETTING("tau", "T", O_TAU, "both penalties", tau_a),
    OTKCLI_SETTING("tol", "T", O_TOL,
                   "stop when the L1 marginal residual <= T times the mass",
                   tol),
    OTKCLI_SETTING("max-iter", "N", O_MAXIT, "iteration limit", max_iter),
    OTKCLI_SETTING("check-every", "K", O_CHECK,
                   "measure the residual every K iterations", check_every),
    OTKCLI_OPT("eps-scaling", 0, "S", O_EPS, "auto (default), on or off"),
    OTKCLI_SETTING("relaxation", "W", O_RELAX,
                   "over-relaxation: 0 adaptive, 1 plain Sinkhorn, or\n"
                   "a fixed value in (0, 2)",
                   relaxation),
    OTKCLI_SETTING("threads", "N", O_THREADS,
                   "threads per rank (0: all cores on large blocks)", threads),
    OTKCLI_HEADING("Output (written by rank 0):"),
    OTKCLI_OPTS_PLAN,
    OTKCLI_OPT("divergence", 0, NULL, O_DIV,
               "also compute the debiased Sinkhorn divergence"),
    OTKCLI_OPTS_GENERAL,
    OTKCLI_END};

static const otkcli_key keys[] = {
    OTKCLI_KEYS_SOLVER, {"sinkhorn_divergence", "with --divergence"},
    {"ranks", NULL},    {"time_s", NULL},
    {"comm_s", NULL},   {"compute_s", NULL},
    {"messages", NULL}, {"comm_bytes", NULL},
    {NULL, NULL}};

static const otkcli_spec spec = {intro, opts, keys, outro,
                                 otk_sinkhorn_setting_bounds};

static int progress(void *user, const otk_progress *p)
{
    const otkcli_tool *t = user;
    const otk_sinkhorn_progress *d = p->detail;
    fprintf(stderr, "%s: iteration %zu  stage %zu  reg %.3g  residual %.3e\n",
            t->prog, p->iteration, d->stage, p->reg, p->error);
    return 0;
}

typedef struct options {
    otk_sinkhorn_settings s;
    double reg;
    int divergence;
} options;

static int own_option(options *o, int c, otkcli_error *err)
{
    switch (c) {
    case O_REG: return otkcli_parse_double("--reg", optarg, &o->reg, err);
    case O_DIV: o->divergence = 1; return 0;
    case O_EPS:
        o->s.eps_scaling = strcmp(optarg, "auto") == 0  ? -1
                           : strcmp(optarg, "on") == 0  ? 1
                           : strcmp(optarg, "off") == 0 ? 0
                                                        : 2;
        if (o->s.eps_scaling == 2) {
            snprintf(err->msg, sizeof err->msg,
                     "--eps-scaling: expected auto, on or off");
            return -1;
        }
        return 0;
    }
    return 1;
}

/* The options, parsed the same way on every rank; only rank 0 prints
 * (usage errors, --help, --version). Returns -1 to go on, or the exit
 * code. */
static int parse(otkcli_tool *t, options *o, int argc, char **argv)
{
    otkcli_error err;
    int c, code;
    while ((c = otkcli_next_option(t, argc, argv)) != -1) {
        int set = otkcli_setting_option(t, c, optarg, &o->s, &code);
        if (set < 0)
            return code;
        if (set > 0) {
            if (c == O_TAU)
                o->s.tau_b = o->s.tau_a;
            continue;
        }
        int r = own_option(o, c, &err);
        if (r < 0)
            return otkcli_usage_error(t, err.msg);
        if (r > 0 && otkcli_tool_option(t, c, argv, &code) != 0)
            return code;
    }
    if (isnan(o->reg))
        return otkcli_usage_error(t, "missing --reg (the entropic "
                                     "regularization)");
    if (!(o->reg > 0.0) || isinf(o->reg))
        return otkcli_usage_error(t, "--reg: must be a positive finite number");
    if ((code = otkcli_tool_check(t, argc, argv, optind)) != 0)
        return code;
    return -1;
}

/* Ranks other than 0 parse with stdout and stderr closed (to /dev/null),
 * so a usage error or --help prints once. */
static int parse_quietly(otkcli_tool *t, options *o, int argc, char **argv,
                         int rank)
{
    int out = -1, err = -1, null = -1;
    if (rank != 0) {
        fflush(stdout);
        fflush(stderr);
        out = dup(1);
        err = dup(2);
        null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
    }
    int code = parse(t, o, argc, argv);
    if (rank != 0) {
        fflush(stdout);
        fflush(stderr);
        if (out >= 0)
            dup2(out, 1);
        if (err >= 0)
            dup2(err, 2);
        for (int fd = 0; fd < 3; fd++) {
            int f = fd == 0 ? out : fd == 1 ? err : null;
            if (f >= 0)
                close(f);
        }
    }
    return code;
}

/* A library error in the tool's words (rank 0). */
static void report(const otkcli_tool *t, const otkcli_problem *pb,
                   const otk_sinkhorn_info *info)
{
    const char *what = info->outcome.bad_argument;
    if (info->outcome.status == OTK_ERR_INVALID_ARGUMENT && what &&
        strcmp(what, "reg") == 0)
        fprintf(stderr,
                "%s: --reg is too small for this cost: it must be at least "
                "1e-10 times the cost's range (max - min)\n",
                t->prog);
    else
        otkcli_report(t, pb, info->outcome.status, what ? what : "");
}

/* The results on rank 0: f, g and the plan's rows from every rank. */
typedef struct results {
    double *f, *g, *P;    /* rank 0: whole; NULL elsewhere */
    double *lf, *lg, *lP; /* this rank's blocks */
} results;

static int alloc_results(results *r, const blocks *B, int plan)
{
    memset(r, 0, sizeof *r);
    const int root = B->rank == 0;
    int bad = plan && B->n > (size_t)INT_MAX / B->m;
    if (!bad) {
        r->lf = malloc(B->n_loc * sizeof *r->lf);
        r->lg = malloc(B->m_loc * sizeof *r->lg);
        r->lP = plan ? malloc(B->n_loc * B->m * sizeof *r->lP) : NULL;
        r->f = root ? malloc(B->n * sizeof *r->f) : NULL;
        r->g = root ? malloc(B->m * sizeof *r->g) : NULL;
        r->P = root && plan ? malloc(B->n * B->m * sizeof *r->P) : NULL;
        bad = !r->lf || !r->lg || (plan && !r->lP) ||
              (root && (!r->f || !r->g || (plan && !r->P)));
    }
    return bad;
}

static void free_results(results *r)
{
    free(r->f);
    free(r->g);
    free(r->P);
    free(r->lf);
    free(r->lg);
    free(r->lP);
}

/* The largest of every rank's v, on rank 0. */
static double largest(double v)
{
    double mx = v;
    MPI_Reduce(&v, &mx, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    return mx;
}

/* Rank 0: the outputs and the summary; the exit code. */
static int write_outputs(otkcli_tool *t, const options *o, const blocks *B,
                         const results *r, const otk_sinkhorn_info *info,
                         double div, const otk_mpi_stats *st, double comm_s,
                         double compute_s)
{
    otk_status status = info->outcome.status;
    if (status == OTK_MAX_ITER) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "residual %.3g > --tol %.3g after %zu iterations; raise "
                 "--max-iter, loosen --tol, or raise --reg",
                 info->residual, o->s.tol, info->iterations);
        otkcli_warn_not_converged(t, msg);
    }
    if (t->plan_path &&
        otkcli_tool_write_matrix(t, t->plan_path, r->P, B->n, B->m) != 0)
        return OTKCLI_EXIT_FAILURE;
    if (otkcli_write_potentials(t, r->f, B->n, r->g, B->m) != 0)
        return OTKCLI_EXIT_FAILURE;
    otkcli_summary sm = {.keys = keys};
    otkcli_summary_str(&sm, "status", otk_status_name(status));
    otkcli_summary_count(&sm, "iterations", info->iterations);
    otkcli_summary_num(&sm, "marginal_error", info->marginal_error);
    otkcli_summary_num(&sm, "transport_cost", info->transport_cost);
    otkcli_summary_num(&sm, "objective", info->objective);
    otkcli_summary_num(&sm, "dual_objective", info->dual_objective);
    if (o->divergence)
        otkcli_summary_num(&sm, "sinkhorn_divergence", div);
    otkcli_summary_count(&sm, "ranks", (size_t)B->size);
    otkcli_summary_num(&sm, "time_s", st->comm_s + st->compute_s);
    otkcli_summary_num(&sm, "comm_s", comm_s);
    otkcli_summary_num(&sm, "compute_s", compute_s);
    otkcli_summary_count(&sm, "messages", st->messages);
    otkcli_summary_num(&sm, "comm_bytes", st->bytes);
    return otkcli_finish(t, &sm) == 0 ? otkcli_exit_code(status)
                                      : OTKCLI_EXIT_FAILURE;
}

/* Load, scatter, solve, gather and write; the exit code (rank 0's). */
static int run(otkcli_tool *t, const options *o, int rank)
{
    otkcli_problem pb = {0};
    otkcli_error err;
    int ok = 1;
    if (rank == 0 && otkcli_problem_load(&t->in, &pb, &err) != 0) {
        fprintf(stderr, "%s: %s\n", t->prog, err.msg);
        ok = 0;
    }
    blocks B;
    results r = {0};
    int code = OTKCLI_EXIT_FAILURE;
    if (otkcli_scatter(&B, MPI_COMM_WORLD, ok, &pb.cost, pb.a, pb.b, t->prog) !=
        0)
        goto done;
    if (otkcli_any(MPI_COMM_WORLD, alloc_results(&r, &B, t->plan_path != 0))) {
        if (rank == 0)
            fprintf(stderr, "%s: out of memory for the results\n", t->prog);
        goto done;
    }
    const otk_problem local = {&B.cost, B.a, B.b, o->reg};
    otk_solution sol = {.f = r.lf, .g = r.lg, .P = r.lP};
    otk_sinkhorn_info info[3];
    otk_mpi_stats stats;
    double div = NAN;
    otk_status st =
        o->divergence
            ? otk_sinkhorn_divergence_mpi(MPI_COMM_WORLD, &local, &o->s, &div,
                                          &sol, info, &stats)
            : otk_sinkhorn_mpi(MPI_COMM_WORLD, &local, &o->s, &sol, info,
                               &stats);
    if (st < 0) {
        for (int k = 1; o->divergence && k < 3; k++)
            if (info[k].outcome.status < 0)
                info[0] = info[k];
        if (rank == 0)
            report(t, &pb, &info[0]);
        goto done;
    }
    info[0].outcome.status = st;
    otkcli_gather(&B, MPI_COMM_WORLD, r.lf, 1, 1, r.f);
    otkcli_gather(&B, MPI_COMM_WORLD, r.lg, 0, 1, r.g);
    if (t->plan_path)
        otkcli_gather(&B, MPI_COMM_WORLD, r.lP, 1, B.m, r.P);
    double comm_s = largest(stats.comm_s);
    double compute_s = largest(stats.compute_s);
    if (rank == 0)
        code = write_outputs(t, o, &B, &r, &info[0], div, &stats, comm_s,
                             compute_s);
done:
    if (rank == 0)
        otkcli_abort_all();
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    free_results(&r);
    otkcli_blocks_free(&B);
    otkcli_problem_free(&pb);
    return code;
}

int main(int argc, char **argv)
{
    /* OpenMP threads inside a rank never call MPI: FUNNELED suffices */
    int provided, rank;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    otkcli_tool t;
    otkcli_tool_init(&t, "otk-sinkhorn-mpi", &spec);
    options o = {.reg = NAN};
    otk_sinkhorn_default_settings(&o.s);
    int code = parse_quietly(&t, &o, argc, argv, rank);
    if (code >= 0) { /* usage error, --help or --version (stdout closed) */
        MPI_Finalize();
        return code;
    }
    if (t.verbose && rank == 0) {
        o.s.progress = progress;
        o.s.progress_user = &t;
    }
    code = run(&t, &o, rank);
    MPI_Finalize();
    return otkcli_close_stdout(t.prog, code);
}
