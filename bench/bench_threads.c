/*
 * bench-threads: the threaded solvers with a given threads setting, run by
 * bench/run_bench.py (section "threads"), which runs each case with the
 * default threads and with one thread, on an idle machine and next to a
 * busy process on one core.
 *
 *   bench-threads [--seed S] [--repeats R] MODE ARGS...
 *
 * Modes (one JSON object per run on stdout):
 *   sinkhorn N ITERS REG DOMAIN THREADS
 *       dense N x N Sinkhorn (the cost of bench-sinkhorn's dense modes,
 *       divided by its maximum), tol 0, exactly ITERS iterations, epsilon
 *       scaling off, DOMAIN log or scaling
 *   quadratic N ITERS REG THREADS
 *       otk_quadratic (dual) on the same cost, tol 0, ITERS L-BFGS
 *       iterations
 * THREADS is the solver's threads setting (0: the default).
 *
 * Per run: wall clock and process CPU time of the call (all threads), the
 * iterations, the parallel regions the call ran (linalg/par.h: all of
 * them, and those run by a team rather than the calling thread; counts
 * that, unlike the times, mean something on a loaded machine), the
 * OpenMP parallel regions it opened with more than one thread and the
 * jobs it handed to a crew (one region per solve, par.h), and a
 * checksum of the plan (the sum of its entries in index
 * order, printed to 17 digits): the same for every thread count up to
 * rounding, and the same bit for bit between runs of one thread count.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>

#include "bench_util.h"
#include "linalg/par.h"

typedef bench_options options;

/* A threads setting: 0 (the default) or a positive count. */
static int parse_threads(const char *s)
{
    return strcmp(s, "0") == 0 ? 0 : (int)bench_parse_size(s, "THREADS");
}

static double checksum(const double *P, size_t len)
{
    double s = 0.0;
    for (size_t k = 0; k < len; k++)
        s += P[k];
    return s;
}

/* The region counts start at 0 for each run. */
static void reset_regions(void)
{
    otk__par_regions[0] = otk__par_regions[1] = 0;
    otk__par_opened[0] = otk__par_opened[1] = 0;
}

static void report(const char *mode, size_t n, int threads, int run,
                   int repeats, const char *status, size_t iterations,
                   double wall, double cpu, double sum)
{
    printf("{\"mode\": \"%s\", \"n\": %zu, \"threads\": %d, \"run\": %d, "
           "\"repeats\": %d, \"status\": \"%s\", \"iterations\": %zu, "
           "\"regions\": %lu, \"team_regions\": %lu, "
           "\"opened\": %lu, \"crew_jobs\": %lu, ",
           mode, n, threads, run, repeats, status, iterations,
           otk__par_regions[0] + otk__par_regions[1], otk__par_regions[1],
           otk__par_opened[0], otk__par_opened[1]);
    bench_jnum("wall_s", wall, 0);
    bench_jnum("cpu_s", cpu, 0);
    printf("\"plan_sum\": %.17g}\n", sum);
    fflush(stdout);
}

static int mode_sinkhorn(const options *o, int argc, char **argv)
{
    if (argc != 5)
        bench_die("usage: sinkhorn N ITERS REG DOMAIN THREADS%s", "");
    const size_t n = bench_parse_size(argv[0], "N");
    const size_t iters = bench_parse_size(argv[1], "ITERS");
    const double reg = bench_parse_double(argv[2], "REG");
    const int log_domain = strcmp(argv[3], "log") == 0;
    if (!log_domain && strcmp(argv[3], "scaling") != 0)
        bench_die("DOMAIN must be log or scaling, not %s", argv[3]);
    const int threads = parse_threads(argv[4]);
    double *C = bench_load_dense(o, n);
    double *P = bench_xmalloc(n * n, sizeof *P);
    otk_cost cost = otk_cost_dense(n, n, C);
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.tol = 0.0;
    s.max_iter = iters;
    s.eps_scaling = 0;
    s.domain = log_domain ? OTK_DOMAIN_LOG : OTK_DOMAIN_SCALING;
    s.threads = threads;
    for (int r = 0; r < o->repeats; r++) {
        otk_sinkhorn_info info;
        reset_regions();
        double c0 = bench_cpu_now(), t0 = bench_now();
        otk_sinkhorn(&(otk_problem){&cost, NULL, NULL, reg}, &s,
                     &(otk_solution){NULL, NULL, P, NULL, 0}, &info);
        double wall = bench_now() - t0, cpu = bench_cpu_now() - c0;
        if (info.outcome.status < 0)
            bench_die("otk_sinkhorn failed: %s",
                      otk_status_string(info.outcome.status));
        report(log_domain ? "sinkhorn-log" : "sinkhorn-scaling", n, threads,
               r + 1, o->repeats, otk_status_name(info.outcome.status),
               info.iterations, wall, cpu, checksum(P, n * n));
    }
    free(P);
    free(C);
    return 0;
}

static int mode_quadratic(const options *o, int argc, char **argv)
{
    if (argc != 4)
        bench_die("usage: quadratic N ITERS REG THREADS%s", "");
    const size_t n = bench_parse_size(argv[0], "N");
    const size_t iters = bench_parse_size(argv[1], "ITERS");
    const double reg = bench_parse_double(argv[2], "REG");
    const int threads = parse_threads(argv[3]);
    double *C = bench_load_dense(o, n);
    double *P = bench_xmalloc(n * n, sizeof *P);
    otk_cost cost = otk_cost_dense(n, n, C);
    otk_quadratic_settings s;
    otk_quadratic_default_settings(&s);
    s.tol = 0.0;
    s.max_iter = iters;
    s.threads = threads;
    for (int r = 0; r < o->repeats; r++) {
        otk_quadratic_info info;
        reset_regions();
        double c0 = bench_cpu_now(), t0 = bench_now();
        otk_quadratic(&(otk_problem){&cost, NULL, NULL, reg}, &s,
                      &(otk_solution){NULL, NULL, P, NULL, 0}, &info);
        double wall = bench_now() - t0, cpu = bench_cpu_now() - c0;
        if (info.outcome.status < 0)
            bench_die("otk_quadratic failed: %s",
                      otk_status_string(info.outcome.status));
        report("quadratic", n, threads, r + 1, o->repeats,
               otk_status_name(info.outcome.status), info.iterations, wall, cpu,
               checksum(P, n * n));
    }
    free(P);
    free(C);
    return 0;
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s [--seed S] [--repeats R] MODE ARGS...\n"
            "Modes:\n"
            "  sinkhorn N ITERS REG log|scaling THREADS\n"
            "  quadratic N ITERS REG THREADS\n"
            "One JSON object per run on stdout. See the comment at the top "
            "of bench/bench_threads.c.\n",
            bench_prog);
}

int main(int argc, char **argv)
{
    bench_prog = "bench-threads";
    static const bench_mode modes[] = {{"sinkhorn", mode_sinkhorn},
                                       {"quadratic", mode_quadratic}};
    return bench_main(argc, argv, (bench_options){NULL, 42, 3, NAN}, modes,
                      sizeof modes / sizeof *modes, usage);
}
