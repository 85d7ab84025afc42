/* otk-sinkhorn: entropic optimal transport from CSV files. */
#include <getopt.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

#include "common/cli.h"
#include "common/problem.h"

static const char *prog = "otk-sinkhorn";

/* clang-format off */
static const char help_text[] =
"Usage: otk-sinkhorn --reg R (--cost C.csv | --x X.csv --y Y.csv) [OPTIONS]\n"
"\n"
"Entropic optimal transport: min <P,C> + R*KL(P | a b^T) subject to P1 = a,\n"
"P^T 1 = b (or KL penalties of strength --tau-a/--tau-b on the marginals),\n"
"solved by Sinkhorn iterations in the log domain, with a kernel fast path\n"
"where it is safe, epsilon scaling and over-relaxation (docs/entropic.md).\n"
"\n"
"Input:\n"
"  -c, --cost FILE        n x m cost matrix (CSV, optional header row)\n"
"      --x FILE --y FILE  point clouds (n x d and m x d); the cost is computed\n"
"                         on the fly and no n x m matrix is stored\n"
"      --metric M         sqeuclidean (default), euclidean or pnorm\n"
"      --p P              exponent for --metric pnorm: cost ||x-y||_p^p (2)\n"
"  -a, --a FILE           n source weights (default uniform 1/n)\n"
"  -b, --b FILE           m target weights (default uniform 1/m)\n"
"Problem and solver:\n"
"  -e, --reg R            regularization, > 0, in units of the cost (required)\n"
"      --tau-a T, --tau-b T, --tau T\n"
"                         KL marginal penalties (default inf: balanced)\n"
"      --tol T            stop when the L1 marginal residual <= T (1e-9)\n"
"      --max-iter N       iteration limit (10000)\n"
"      --check-every K    measure the residual every K iterations (10)\n"
"      --domain D         auto (default), log or scaling\n"
"      --eps-scaling S    auto (default), on or off\n"
"      --relaxation W     over-relaxation: 0 adaptive (default), 1 plain\n"
"                         Sinkhorn, or a fixed value in (0, 2)\n"
"      --threads N        threads (0: all cores on large problems; default)\n"
"Output:\n"
"      --plan FILE        write the n x m plan (dense CSV)\n"
"      --potentials FILE  write f and g as rows 'potential,index,value'\n"
"      --divergence       also compute the debiased Sinkhorn divergence\n"
"      --cost-xx FILE --cost-yy FILE\n"
"                         the n x n and m x m costs it needs with --cost\n"
"  -f, --format F         summary as csv (default) or json\n"
"  -v, --verbose          progress on stderr\n"
"  -h, --help             this help;  -V, --version  the version\n"
"\n"
"The summary (stdout) has status, iterations, marginal_error, transport_cost,\n"
"objective, dual_objective, [sinkhorn_divergence,] time_s.\n"
"Exit status: 0 converged, 1 data or runtime error, 2 usage error,\n"
"3 not converged (outputs still written). See docs/cli.md.\n";
/* clang-format on */

static void usage(FILE *fp) { fputs(help_text, fp); }

static int usage_error(const char *msg)
{
    fprintf(stderr, "%s: %s\nTry '%s --help'.\n", prog, msg, prog);
    return OTKCLI_EXIT_USAGE;
}

static int progress(void *user, const otk_progress *p)
{
    (void)user;
    fprintf(stderr, "%s: iteration %zu  reg %.3g  residual %.3e\n", prog,
            p->iteration, p->reg, p->error);
    return 0;
}

/* Name the input behind a library error. */
static void report(const otk_sinkhorn_info *info, const otkcli_problem_args *in,
                   const otkcli_problem *pb)
{
    const char *what = info->bad_argument ? info->bad_argument : "";
    if (info->status == OTK_ERR_MASS_MISMATCH) {
        double ma = 0, mb = 0;
        for (size_t i = 0; i < pb->cost.n; i++)
            ma += pb->a ? pb->a[i] : 1.0 / (double)pb->cost.n;
        for (size_t j = 0; j < pb->cost.m; j++)
            mb += pb->b ? pb->b[j] : 1.0 / (double)pb->cost.m;
        if (!(ma > 0) || !(mb > 0))
            fprintf(stderr, "%s: %s: the weights sum to zero\n", prog,
                    !(ma > 0) ? (in->a_path ? in->a_path : "a")
                              : (in->b_path ? in->b_path : "b"));
        else
            fprintf(stderr,
                    "%s: unequal masses: sum(a) = %.17g, sum(b) = %.17g; "
                    "normalize the weights, or give --tau-a/--tau-b for "
                    "unbalanced transport\n",
                    prog, ma, mb);
        return;
    }
    if (info->status == OTK_ERR_INVALID_ARGUMENT && strcmp(what, "reg") == 0) {
        fprintf(stderr,
                "%s: --reg is too small for this cost: it must be at least "
                "1e-10 times the cost's range (max - min), or the potentials "
                "divided by reg exceed double precision\n",
                prog);
        return;
    }
    fprintf(stderr, "%s: %s%s%s\n", prog, otk_status_string(info->status),
            *what ? ": " : "", what);
}

int main(int argc, char **argv)
{
    otkcli_init();
    enum {
        O_X = 256,
        O_Y,
        O_METRIC,
        O_P,
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
        O_PLAN,
        O_POT,
        O_DIV,
        O_CXX,
        O_CYY
    };
    static const struct option longopts[] = {
        {"cost", required_argument, NULL, 'c'},
        {"x", required_argument, NULL, O_X},
        {"y", required_argument, NULL, O_Y},
        {"metric", required_argument, NULL, O_METRIC},
        {"p", required_argument, NULL, O_P},
        {"a", required_argument, NULL, 'a'},
        {"b", required_argument, NULL, 'b'},
        {"reg", required_argument, NULL, 'e'},
        {"tau-a", required_argument, NULL, O_TAU_A},
        {"tau-b", required_argument, NULL, O_TAU_B},
        {"tau", required_argument, NULL, O_TAU},
        {"tol", required_argument, NULL, O_TOL},
        {"max-iter", required_argument, NULL, O_MAXIT},
        {"check-every", required_argument, NULL, O_CHECK},
        {"domain", required_argument, NULL, O_DOMAIN},
        {"eps-scaling", required_argument, NULL, O_EPS},
        {"relaxation", required_argument, NULL, O_RELAX},
        {"threads", required_argument, NULL, O_THREADS},
        {"plan", required_argument, NULL, O_PLAN},
        {"potentials", required_argument, NULL, O_POT},
        {"divergence", no_argument, NULL, O_DIV},
        {"cost-xx", required_argument, NULL, O_CXX},
        {"cost-yy", required_argument, NULL, O_CYY},
        {"format", required_argument, NULL, 'f'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    otkcli_problem_args in = {NULL, NULL, NULL, NULL, NULL, "sqeuclidean", 2.0};
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    double reg = NAN;
    const char *plan_path = NULL, *pot_path = NULL, *cxx_path = NULL,
               *cyy_path = NULL;
    int divergence = 0, verbose = 0;
    otkcli_format fmt = OTKCLI_CSV;
    otkcli_error err;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:a:b:e:f:vhV", longopts, NULL)) !=
           -1) {
        int bad = 0;
        const char *opt = optind > 1 ? argv[optind - 1] : "";
        switch (c) {
        case 'c': in.cost_path = optarg; break;
        case O_X: in.x_path = optarg; break;
        case O_Y: in.y_path = optarg; break;
        case O_METRIC: in.metric = optarg; break;
        case O_P: bad = otkcli_parse_double("--p", optarg, &in.p, &err); break;
        case 'a': in.a_path = optarg; break;
        case 'b': in.b_path = optarg; break;
        case 'e': bad = otkcli_parse_double("--reg", optarg, &reg, &err); break;
        case O_TAU_A:
            bad = otkcli_parse_double("--tau-a", optarg, &s.tau_a, &err);
            break;
        case O_TAU_B:
            bad = otkcli_parse_double("--tau-b", optarg, &s.tau_b, &err);
            break;
        case O_TAU:
            bad = otkcli_parse_double("--tau", optarg, &s.tau_a, &err);
            s.tau_b = s.tau_a;
            break;
        case O_TOL:
            bad = otkcli_parse_double("--tol", optarg, &s.tol, &err);
            break;
        case O_MAXIT:
            bad = otkcli_parse_size("--max-iter", optarg, &s.max_iter, &err);
            break;
        case O_CHECK:
            bad = otkcli_parse_size("--check-every", optarg, &s.check_every,
                                    &err);
            break;
        case O_DOMAIN:
            if (strcmp(optarg, "auto") == 0)
                s.domain = OTK_DOMAIN_AUTO;
            else if (strcmp(optarg, "log") == 0)
                s.domain = OTK_DOMAIN_LOG;
            else if (strcmp(optarg, "scaling") == 0)
                s.domain = OTK_DOMAIN_SCALING;
            else
                return usage_error("--domain: expected auto, log or scaling");
            break;
        case O_EPS:
            if (strcmp(optarg, "auto") == 0)
                s.eps_scaling = -1;
            else if (strcmp(optarg, "on") == 0)
                s.eps_scaling = 1;
            else if (strcmp(optarg, "off") == 0)
                s.eps_scaling = 0;
            else
                return usage_error("--eps-scaling: expected auto, on or off");
            break;
        case O_RELAX:
            bad = otkcli_parse_double("--relaxation", optarg, &s.relaxation,
                                      &err);
            break;
        case O_THREADS: {
            size_t t = 0;
            bad = otkcli_parse_size("--threads", optarg, &t, &err);
            if (!bad && t > 1024)
                return usage_error("--threads: at most 1024");
            s.threads = (int)t;
            break;
        }
        case O_PLAN: plan_path = optarg; break;
        case O_POT: pot_path = optarg; break;
        case O_DIV: divergence = 1; break;
        case O_CXX: cxx_path = optarg; break;
        case O_CYY: cyy_path = optarg; break;
        case 'f':
            if (strcmp(optarg, "csv") == 0)
                fmt = OTKCLI_CSV;
            else if (strcmp(optarg, "json") == 0)
                fmt = OTKCLI_JSON;
            else
                return usage_error("--format: expected csv or json");
            break;
        case 'v': verbose = 1; break;
        case 'h': usage(stdout); return otkcli_close_stdout(prog, 0);
        case 'V':
            printf("otk-sinkhorn (otkit) %s\n", otk_version());
            return otkcli_close_stdout(prog, 0);
        case ':':
            snprintf(err.msg, sizeof err.msg, "option '%s' needs a value", opt);
            return usage_error(err.msg);
        default:
            if (optopt != 0 && optopt < 256)
                snprintf(err.msg, sizeof err.msg, "unknown option '-%c'",
                         optopt);
            else
                snprintf(err.msg, sizeof err.msg,
                         "unknown or ambiguous option '%s'", opt);
            return usage_error(err.msg);
        }
        if (bad)
            return usage_error(err.msg);
    }
    if (optind < argc) {
        snprintf(err.msg, sizeof err.msg, "unexpected argument '%s'",
                 argv[optind]);
        return usage_error(err.msg);
    }
    if (isnan(reg))
        return usage_error("missing --reg (the entropic regularization)");
    if (!(reg > 0.0) || isinf(reg))
        return usage_error("--reg: must be a positive finite number");
    if (!(s.tau_a > 0.0) || !(s.tau_b > 0.0))
        return usage_error("--tau-a/--tau-b: must be positive (inf: balanced)");
    if (!(s.tol >= 0.0) || isinf(s.tol))
        return usage_error("--tol: must be a finite number >= 0");
    if (!(s.relaxation >= 0.0 && s.relaxation < 2.0))
        return usage_error("--relaxation: must be in [0, 2)");
    if (s.max_iter < 1 || s.check_every < 1)
        return usage_error("--max-iter and --check-every must be >= 1");
    if (otkcli_problem_check_args(&in, &err) != 0)
        return usage_error(err.msg);
    const char *outs[] = {plan_path, pot_path};
    if (otkcli_check_outputs(outs, 2, &err) != 0)
        return usage_error(err.msg);
    if (!divergence && (cxx_path || cyy_path))
        return usage_error("--cost-xx/--cost-yy only go with --divergence");
    if (divergence && in.cost_path && (!cxx_path || !cyy_path))
        return usage_error("--divergence with --cost needs --cost-xx and "
                           "--cost-yy");
    if (divergence && in.x_path && (cxx_path || cyy_path))
        return usage_error("--cost-xx/--cost-yy go with --cost, not --x/--y");
    if (verbose)
        s.progress = progress;

    otkcli_problem pb;
    otkcli_matrix cxx = {0}, cyy = {0};
    if (otkcli_problem_load(&in, &pb, &err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        return OTKCLI_EXIT_FAILURE;
    }
    const size_t n = pb.cost.n, m = pb.cost.m;
    int code = OTKCLI_EXIT_FAILURE;
    double *f = NULL, *g = NULL, *P = NULL;
    if (cxx_path && (otkcli_read_matrix(cxx_path, &cxx, &err) != 0 ||
                     otkcli_read_matrix(cyy_path, &cyy, &err) != 0)) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        goto done;
    }
    if (cxx_path &&
        (cxx.rows != n || cxx.cols != n || cyy.rows != m || cyy.cols != m)) {
        int x_bad = cxx.rows != n || cxx.cols != n;
        fprintf(stderr, "%s: %s is %zu x %zu, expected %zu x %zu\n", prog,
                x_bad ? cxx_path : cyy_path, x_bad ? cxx.rows : cyy.rows,
                x_bad ? cxx.cols : cyy.cols, x_bad ? n : m, x_bad ? n : m);
        goto done;
    }
    f = malloc(n * sizeof *f);
    g = malloc(m * sizeof *g);
    if (plan_path != NULL && n > SIZE_MAX / sizeof(double) / m) {
        fprintf(stderr, "%s: the plan is too large to form\n", prog);
        goto done;
    }
    P = plan_path != NULL ? malloc(n * m * sizeof *P) : NULL;
    if (!f || !g || (plan_path && !P)) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto done;
    }
    otk_sinkhorn_info info[3];
    double div = NAN;
    otk_status st;
    if (divergence) {
        otk_cost xx = otk_cost_dense(n, n, cxx.data);
        otk_cost yy = otk_cost_dense(m, m, cyy.data);
        st = otk_sinkhorn_divergence(&pb.cost, cxx_path ? &xx : NULL,
                                     cyy_path ? &yy : NULL, pb.a, pb.b, reg, &s,
                                     &div, f, g, P, info);
        for (int k = 1; k < 3 && st < 0; k++)
            if (info[k].status < 0)
                info[0] = info[k];
        info[0].time_s += info[1].time_s + info[2].time_s;
    } else {
        st = otk_sinkhorn(&pb.cost, pb.a, pb.b, reg, &s, f, g, P, info);
    }
    if (st < 0) {
        info[0].status = st;
        report(&info[0], &in, &pb);
        goto done;
    }
    if (st == OTK_MAX_ITER)
        fprintf(stderr,
                "%s: warning: not converged: residual %.3g > --tol %.3g after "
                "%zu iterations; raise --max-iter, loosen --tol, or raise "
                "--reg\n",
                prog, info[0].residual, s.tol, info[0].iterations);
    if (plan_path) {
        FILE *fp = otkcli_open_output(plan_path, &err);
        if (fp == NULL || otkcli_write_rows(fp, P, n, m) != 0) {
            fprintf(stderr, "%s: %s\n", prog, fp ? plan_path : err.msg);
            goto done;
        }
    }
    if (pot_path) {
        FILE *fp = otkcli_open_output(pot_path, &err);
        if (fp == NULL) {
            fprintf(stderr, "%s: %s\n", prog, err.msg);
            goto done;
        }
        fprintf(fp, "potential,index,value\n");
        for (size_t i = 0; i < n; i++)
            fprintf(fp, "f,%zu,%.17g\n", i, f[i]);
        for (size_t j = 0; j < m; j++)
            fprintf(fp, "g,%zu,%.17g\n", j, g[j]);
    }
    otkcli_summary sm = {0};
    otkcli_summary_str(&sm, "status", otk_status_name(st));
    otkcli_summary_count(&sm, "iterations", info[0].iterations);
    otkcli_summary_num(&sm, "marginal_error", info[0].marginal_error);
    otkcli_summary_num(&sm, "transport_cost", info[0].transport_cost);
    otkcli_summary_num(&sm, "objective", info[0].objective);
    otkcli_summary_num(&sm, "dual_objective", info[0].dual_objective);
    if (divergence)
        otkcli_summary_num(&sm, "sinkhorn_divergence", div);
    otkcli_summary_num(&sm, "time_s", info[0].time_s);
    otkcli_summary_print(&sm, fmt, stdout);
    /* The summary first: if stdout cannot take it, no output file is
     * put in place either. */
    if (otkcli_flush_stdout(prog) != 0)
        goto done;
    if (otkcli_commit_all(&err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err.msg);
        goto done;
    }
    code = otkcli_exit_code(st);
done:
    otkcli_abort_all();
    free(f);
    free(g);
    free(P);
    otkcli_matrix_free(&cxx);
    otkcli_matrix_free(&cyy);
    otkcli_problem_free(&pb);
    return otkcli_close_stdout(prog, code);
}
