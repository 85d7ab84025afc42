/*
 * bench-exact: timing driver for otk_exact (the network simplex), run by
 * bench/run_bench.py (section "exact"), which solves the same problems with
 * POT's ot.emd and prints the ratios.
 *
 *   bench-exact [--data DIR] [--seed S] [--repeats R] MODE ARGS...
 *
 * Modes (one JSON object per run, i.e. R lines, on stdout):
 *   dense N       dense n x n cost (otk_cost_dense)
 *   points N D    point clouds via otk_cost_points (squared Euclidean,
 *                 scale 1, no n x m matrix: costs computed on the fly)
 *
 * Problem data. With --data DIR the program reads raw little-endian float64
 * files written by run_bench.py: DIR/x.bin (N x D), DIR/y.bin (N x D), and
 * for the dense mode DIR/C.bin (N x N, row-major). Without --data it
 * generates x ~ N(0, I_D), y ~ N(0, I_D) + 1 from --seed (D = 2 for the
 * dense mode) and C_ij = ||x_i - y_j||^2, unscaled. Weights are uniform
 * (NULL). Each run asks for the sparse plan and both potentials (the
 * outputs a user of exact OT needs), not for the dense plan.
 *
 * Per run: the solver's info (status, pivots, nnz, costs, marginal error),
 * its own wall clock info.outcome.time_s, the wall clock and the process
 * CPU time of the call (wall_s, cpu_s), and the peak resident memory of this
 * process so far (VmHWM, see bench_peak_rss_mib()). After each run, outside the
 * timings, it also checks the potentials: dual_violation = max_ij (f_i + g_j -
 * C_ij) (<= 0 up to rounding when the potentials are feasible) and the
 * complementary slackness residual max |f_i + g_j - C_ij| over the plan's
 * support. In the dense mode with x.bin/y.bin present, points_cost_maxdiff is
 * the largest |C_ij - c(x_i, y_j)| as otk_cost_points computes it (0 when the
 * driver's matrix is bit-identical to the point-cloud costs).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <otkit/otkit.h>

#include "bench_util.h"

typedef bench_options options;

/* ---- output ------------------------------------------------------------- */

/* The exact solver's OTK_OPTIMAL shares its value with OTK_CONVERGED, whose
 * name otk_status_name() returns; say "optimal" here. */
static const char *status_name(otk_status st)
{
    return st == OTK_OPTIMAL ? "optimal" : otk_status_name(st);
}

/* Feasibility of the potentials over all pairs, and complementary
 * slackness over the plan's support (both O(n m) / O(nnz), untimed). */
static void check_duals(const otk_cost *cost, const double *f, const double *g,
                        const otk_plan_entry *plan, size_t nnz,
                        double *violation, double *slackness)
{
    double viol = -INFINITY, slack = 0.0;
    for (size_t i = 0; i < cost->n; i++)
        for (size_t j = 0; j < cost->m; j++) {
            double r = f[i] + g[j] - otk_cost_entry(cost, i, j);
            viol = r > viol ? r : viol;
        }
    for (size_t k = 0; k < nnz; k++) {
        double r = fabs(f[plan[k].i] + g[plan[k].j] -
                        otk_cost_entry(cost, plan[k].i, plan[k].j));
        slack = r > slack ? r : slack;
    }
    *violation = viol;
    *slackness = slack;
}

/* o->repeats fresh otk_exact() calls; one JSON line each. */
static void run(const options *o, const char *mode, const otk_cost *cost,
                double points_cost_maxdiff)
{
    const size_t n = cost->n, m = cost->m;
    otk_plan_entry *plan = bench_xmalloc(n + m - 1, sizeof *plan);
    double *f = bench_xmalloc(n, sizeof *f), *g = bench_xmalloc(m, sizeof *g);
    otk_exact_settings s;
    otk_exact_default_settings(&s);
    for (int r = 0; r < o->repeats; r++) {
        double rss_before = bench_peak_rss_mib();
        otk_exact_info info;
        double c0 = bench_cpu_now(), t0 = bench_now();
        otk_problem pb = {.cost = cost};
        otk_solution sol = {
            .f = f, .g = g, .plan = plan, .capacity = n + m - 1};
        otk_exact(&pb, &s, &sol, &info);
        double wall = bench_now() - t0, cpu = bench_cpu_now() - c0;
        double rss_after = bench_peak_rss_mib();
        const otk_outcome *out = &info.outcome;
        if (out->status < 0) {
            fprintf(stderr, "%s: otk_exact failed: %s (%s)\n", bench_prog,
                    otk_status_string(out->status),
                    out->bad_argument ? out->bad_argument : "-");
            exit(1);
        }
        double viol, slack;
        check_duals(cost, f, g, plan, info.nnz, &viol, &slack);
        printf("{\"mode\": \"%s\", \"n\": %zu, \"m\": %zu, ", mode, n, m);
        if (cost->C == NULL)
            printf("\"d\": %zu, \"metric\": \"sqeuclidean\", ", cost->d);
        printf("\"run\": %d, \"repeats\": %d, \"otkit_version\": \"%s\", ",
               r + 1, o->repeats, otk_version());
        printf("\"status\": \"%s\", \"status_code\": %d, ",
               status_name(out->status), (int)out->status);
        printf("\"iterations\": %zu, \"nnz\": %zu, \"rescaled\": %d, ",
               info.iterations, info.nnz, info.rescaled);
        bench_jnum("transport_cost", info.transport_cost, 0);
        bench_jnum("dual_objective", info.dual_objective, 0);
        bench_jnum("marginal_error", info.marginal_error, 0);
        bench_jnum("dual_violation", viol, 0);
        bench_jnum("slackness_residual", slack, 0);
        if (cost->C != NULL)
            bench_jnum("points_cost_maxdiff", points_cost_maxdiff, 0);
        bench_jnum("time_s", out->time_s, 0);
        bench_jnum("wall_s", wall, 0);
        bench_jnum("cpu_s", cpu, 0);
        bench_jnum("peak_rss_before_mib", rss_before, 0);
        bench_jnum("peak_rss_mib", rss_after, 0);
        bench_jnum("nxm_matrix_mib", 8.0 * (double)n * (double)m / 1048576.0,
                   1);
        printf("}\n");
        fflush(stdout);
    }
    free(plan);
    free(f);
    free(g);
}

/* ---- modes -------------------------------------------------------------- */

static int mode_dense(const options *o, int argc, char **argv)
{
    if (argc != 1)
        bench_die("usage: dense N%s", "");
    const size_t n = bench_parse_size(argv[0], "N"), d = 2;
    double *x = bench_xmalloc(n * d, sizeof *x),
           *y = bench_xmalloc(n * d, sizeof *y);
    int have_points = bench_load_points(o, n, d, x, y, 1);
    double *C = bench_xmalloc(n * n, sizeof *C);
    int have_matrix = o->data_dir != NULL &&
                      bench_read_raw(o->data_dir, "C.bin", C, n * n, 1);
    if (!have_matrix && !have_points)
        bench_die("%s holds neither C.bin nor x.bin/y.bin", o->data_dir);
    otk_cost pts = otk_cost_points(n, n, d, x, y, OTK_METRIC_SQEUCLIDEAN, 2.0);
    double maxdiff = NAN;
    if (have_points) {
        maxdiff = 0.0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double c = otk_cost_entry(&pts, i, j);
                if (!have_matrix)
                    C[i * n + j] = c;
                double e = fabs(C[i * n + j] - c);
                maxdiff = e > maxdiff ? e : maxdiff;
            }
    }
    free(x);
    free(y);
    otk_cost cost = otk_cost_dense(n, n, C);
    run(o, "dense", &cost, maxdiff);
    free(C);
    return 0;
}

static int mode_points(const options *o, int argc, char **argv)
{
    if (argc != 2)
        bench_die("usage: points N D%s", "");
    const size_t n = bench_parse_size(argv[0], "N");
    const size_t d = bench_parse_size(argv[1], "D");
    double *x = bench_xmalloc(n * d, sizeof *x),
           *y = bench_xmalloc(n * d, sizeof *y);
    bench_load_points(o, n, d, x, y, 0);
    otk_cost cost = otk_cost_points(n, n, d, x, y, OTK_METRIC_SQEUCLIDEAN, 2.0);
    run(o, "points", &cost, NAN);
    free(x);
    free(y);
    return 0;
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s [--data DIR] [--seed S] [--repeats R] MODE ARGS...\n"
            "Modes:\n"
            "  dense N\n"
            "  points N D\n"
            "One JSON object per run on stdout. See the comment at the top "
            "of bench/bench_exact.c.\n",
            bench_prog);
}

int main(int argc, char **argv)
{
    bench_prog = "bench-exact";
    static const bench_mode modes[] = {{"dense", mode_dense},
                                       {"points", mode_points}};
    return bench_main(argc, argv, (bench_options){NULL, 42, 3, NAN}, modes,
                      sizeof modes / sizeof *modes, usage);
}
