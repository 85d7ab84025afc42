/*
 * bench-sinkhorn: timing driver for otk_sinkhorn, run by bench/run_bench.py
 * (which solves the same problems with POT and prints the ratios).
 *
 *   bench-sinkhorn [--data DIR] [--seed S] [--repeats R] MODE ARGS...
 *
 * Modes (one JSON object per line on stdout):
 *   dense-fixed N ITERS REG     dense cost, tol 0, exactly ITERS iterations,
 *                               eps scaling off; once with OTK_DOMAIN_AUTO
 *                               and once with OTK_DOMAIN_LOG; per-iteration
 *                               time and achieved GB/s (8 n m bytes/iter)
 *   log-tol N TOL REG [MAXITER] dense cost, OTK_DOMAIN_LOG, eps scaling off,
 *                               run to the L1 marginal residual TOL
 *   e2e N REG TOL [MAXITER]     dense cost, default settings (auto domain,
 *                               auto eps scaling), run to TOL
 *   points N D REG TOL MAXITER  point clouds via otk_cost_points (squared
 *                               Euclidean, scale 1, no n x m matrix);
 *                               default settings; reports peak RSS
 *                               (VmHWM, see bench_peak_rss_mib())
 *   membw [MB]                  single-threaded read bandwidth: sum of a
 *                               MB-megabyte double array (256), best of 5
 *   exp-kernel [LEN]            ns per exponential of the sweeps' kernel
 *                               (otk__exp_affine_sum) on LEN (4096) entries
 *                               that stay in L1, arguments in [-30, 0],
 *                               best of 5 runs of about 0.2 s; CPU and wall
 *   sweep-cost KIND N D REG ITERS
 *                               ns per pair and iteration of single-threaded
 *                               log-domain sweeps, KIND points (d = D,
 *                               squared Euclidean, no matrix) or dense (the
 *                               n x n matrix of those points; D ignored
 *                               beyond building it): a solve with tol 0,
 *                               eps scaling and multiscale off, timed at
 *                               each sweep by the progress callback; the
 *                               mean of sweeps 2 .. ITERS + 1 (after the
 *                               set-up and the first sweep, cancelled
 *                               before the final pass), best of --repeats
 *                               solves. CPU (process) and wall time.
 *   iterations N D REG TOL MAXITER
 *                               iteration counts (deterministic) of point
 *                               clouds to TOL, one line per variant: the
 *                               defaults, plain iterations (relaxation 1),
 *                               no epsilon scaling, and the divergence's
 *                               three solves with the defaults
 *
 * Problem data. With --data DIR the program reads raw little-endian float64
 * files written by run_bench.py: DIR/x.bin (N x D), DIR/y.bin (N x D), and
 * for the dense modes DIR/C.bin (N x N, row-major) if present. Without
 * --data (or when DIR/C.bin is absent) it generates the data itself from
 * --seed: x ~ N(0, I_D), y ~ N(0, I_D) + 1 (D = 2 for the dense modes), and
 * the dense cost C_ij = ||x_i - y_j||^2 / max_kl ||x_k - y_l||^2. Weights
 * are uniform (NULL) throughout.
 *
 * Timings are the solver's own info.outcome.time_s (wall clock of the solve)
 * and the best of --repeats runs (default 3); each run is a fresh
 * otk_sinkhorn() call, so scaling-domain runs include building the n x m
 * kernel.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <otkit/otkit.h>

#include "linalg/linalg.h"

#include "bench_util.h"

typedef bench_options options;

/* ---- output ------------------------------------------------------------- */

static const char *domain_name(otk_sinkhorn_domain d)
{
    switch (d) {
    case OTK_DOMAIN_AUTO: return "auto";
    case OTK_DOMAIN_LOG: return "log";
    case OTK_DOMAIN_SCALING: return "scaling";
    }
    return "unknown";
}

static void print_info_fields(const otk_sinkhorn_info *info)
{
    printf("\"status\": \"%s\", \"status_code\": %d, ",
           otk_status_name(info->outcome.status), (int)info->outcome.status);
    printf("\"domain\": \"%s\", \"iterations\": %zu, \"stages\": %zu, ",
           domain_name(info->domain), info->iterations, info->stages);
    bench_jnum("marginal_error", info->marginal_error, 0);
    bench_jnum("residual", info->residual, 0);
    bench_jnum("transport_cost", info->transport_cost, 0);
    bench_jnum("objective", info->objective, 0);
    bench_jnum("dual_objective", info->dual_objective, 0);
}

static void check_status(const otk_sinkhorn_info *info)
{
    if (info->outcome.status < 0) {
        fprintf(stderr, "%s: otk_sinkhorn failed: %s (%s)\n", bench_prog,
                otk_status_string(info->outcome.status),
                info->outcome.bad_argument ? info->outcome.bad_argument : "-");
        exit(1);
    }
}

/* Best (smallest info.outcome.time_s) of o->repeats solves; *wall gets the wall
 * clock of that run's otk_sinkhorn() call (workspace creation included). */
static otk_sinkhorn_info best_of(const options *o, const otk_cost *cost,
                                 double reg, const otk_sinkhorn_settings *s,
                                 double *wall)
{
    otk_sinkhorn_info best;
    memset(&best, 0, sizeof best);
    best.outcome.time_s = INFINITY;
    *wall = INFINITY;
    for (int r = 0; r < o->repeats; r++) {
        otk_sinkhorn_info info;
        double t0 = bench_now();
        otk_sinkhorn(&(otk_problem){cost, NULL, NULL, reg}, s, NULL, &info);
        double t = bench_now() - t0;
        check_status(&info);
        if (info.outcome.time_s < best.outcome.time_s) {
            best = info;
            *wall = t;
        }
    }
    return best;
}

/* ---- modes -------------------------------------------------------------- */

static int mode_dense_fixed(const options *o, int argc, char **argv)
{
    if (argc != 3)
        bench_die("usage: dense-fixed N ITERS REG%s", "");
    size_t n = bench_parse_size(argv[0], "N");
    size_t iters = bench_parse_size(argv[1], "ITERS");
    double reg = bench_parse_double(argv[2], "REG");
    double *C = bench_load_dense(o, n);
    otk_cost cost = otk_cost_dense(n, n, C);
    const otk_sinkhorn_domain domains[2] = {OTK_DOMAIN_AUTO, OTK_DOMAIN_LOG};
    for (int k = 0; k < 2; k++) {
        otk_sinkhorn_settings s;
        otk_sinkhorn_default_settings(&s);
        s.tol = 0.0;
        s.max_iter = iters;
        s.eps_scaling = 0;
        s.domain = domains[k];
        double wall;
        otk_sinkhorn_info info = best_of(o, &cost, reg, &s, &wall);
        double per_iter = info.outcome.time_s / (double)info.iterations;
        double bytes = 8.0 * (double)n * (double)n;
        printf("{\"mode\": \"dense-fixed\", \"n\": %zu, \"m\": %zu, ", n, n);
        bench_jnum("reg", reg, 0);
        printf("\"max_iter\": %zu, \"domain_requested\": \"%s\", "
               "\"repeats\": %d, ",
               iters, domain_name(domains[k]), o->repeats);
        print_info_fields(&info);
        bench_jnum("time_s", info.outcome.time_s, 0);
        bench_jnum("wall_s", wall, 0);
        bench_jnum("time_per_iter_s", per_iter, 0);
        bench_jnum("gbps", bytes / per_iter / 1e9, 1);
        printf("}\n");
        fflush(stdout);
    }
    free(C);
    return 0;
}

static int mode_tol(const options *o, int argc, char **argv, int e2e)
{
    const char *mode = e2e ? "e2e" : "log-tol";
    if (argc != 3 && argc != 4)
        bench_die(e2e ? "usage: e2e N REG TOL [MAXITER]%s"
                      : "usage: log-tol N TOL REG [MAXITER]%s",
                  "");
    size_t n = bench_parse_size(argv[0], "N");
    double reg = bench_parse_double(argv[e2e ? 1 : 2], "REG");
    double tol = bench_parse_double(argv[e2e ? 2 : 1], "TOL");
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.tol = tol;
    if (argc == 4)
        s.max_iter = bench_parse_size(argv[3], "MAXITER");
    if (!e2e) {
        s.domain = OTK_DOMAIN_LOG;
        s.eps_scaling = 0;
    }
    double *C = bench_load_dense(o, n);
    otk_cost cost = otk_cost_dense(n, n, C);
    double wall;
    otk_sinkhorn_info info = best_of(o, &cost, reg, &s, &wall);
    printf("{\"mode\": \"%s\", \"n\": %zu, \"m\": %zu, ", mode, n, n);
    bench_jnum("reg", reg, 0);
    bench_jnum("tol", tol, 0);
    printf("\"max_iter\": %zu, \"domain_requested\": \"%s\", "
           "\"eps_scaling_requested\": %d, \"repeats\": %d, ",
           s.max_iter, domain_name(s.domain), s.eps_scaling, o->repeats);
    print_info_fields(&info);
    bench_jnum("time_s", info.outcome.time_s, 0);
    bench_jnum("wall_s", wall, 0);
    bench_jnum("time_per_iter_s", info.outcome.time_s / (double)info.iterations,
               1);
    printf("}\n");
    free(C);
    return 0;
}

/* The arguments N D REG TOL MAXITER of the point-cloud modes, and the
 * points (n x d each) they ask for. */
typedef struct points_args {
    size_t n, d, max_iter;
    double reg, tol;
    double *x, *y;
} points_args;

static points_args parse_points(const options *o, int argc, char **argv,
                                const char *usage_fmt, const char *mode)
{
    if (argc != 5)
        bench_die(usage_fmt, mode);
    points_args pa;
    pa.n = bench_parse_size(argv[0], "N");
    pa.d = bench_parse_size(argv[1], "D");
    pa.reg = bench_parse_double(argv[2], "REG");
    pa.tol = bench_parse_double(argv[3], "TOL");
    pa.max_iter = bench_parse_size(argv[4], "MAXITER");
    pa.x = bench_xmalloc(pa.n * pa.d, sizeof *pa.x);
    pa.y = bench_xmalloc(pa.n * pa.d, sizeof *pa.y);
    bench_load_points(o, pa.n, pa.d, pa.x, pa.y, 0);
    return pa;
}

static int mode_points(const options *o, int argc, char **argv)
{
    points_args pa =
        parse_points(o, argc, argv, "usage: %s N D REG TOL MAXITER", "points");
    const size_t n = pa.n, d = pa.d, max_iter = pa.max_iter;
    const double reg = pa.reg, tol = pa.tol;
    double *x = pa.x, *y = pa.y;
    double rss_before = bench_peak_rss_mib();
    otk_cost cost = otk_cost_points(n, n, d, x, y, OTK_METRIC_SQEUCLIDEAN, 2.0);
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.tol = tol;
    s.max_iter = max_iter;
    double wall;
    otk_sinkhorn_info info = best_of(o, &cost, reg, &s, &wall);
    double rss_after = bench_peak_rss_mib();
    printf("{\"mode\": \"points\", \"n\": %zu, \"m\": %zu, \"d\": %zu, "
           "\"metric\": \"sqeuclidean\", ",
           n, n, d);
    bench_jnum("reg", reg, 0);
    bench_jnum("tol", tol, 0);
    printf("\"max_iter\": %zu, \"repeats\": %d, ", max_iter, o->repeats);
    print_info_fields(&info);
    bench_jnum("time_s", info.outcome.time_s, 0);
    bench_jnum("wall_s", wall, 0);
    bench_jnum("time_per_iter_s", info.outcome.time_s / (double)info.iterations,
               0);
    bench_jnum("peak_rss_before_mib", rss_before, 0);
    bench_jnum("peak_rss_mib", rss_after, 0);
    bench_jnum("ru_maxrss_mib", bench_ru_maxrss_mib(), 0);
    bench_jnum("nxm_matrix_mib", 8.0 * (double)n * (double)n / 1048576.0, 1);
    printf("}\n");
    free(x);
    free(y);
    return 0;
}

/* Sum with 8 independent accumulators so that the loop is bound by memory,
 * not by the latency of one chain of additions. */
static double sum_array(const double *v, size_t len)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t k = 0;
    for (; k + 8 <= len; k += 8)
        for (int l = 0; l < 8; l++)
            s[l] += v[k + (size_t)l];
    for (; k < len; k++)
        s[0] += v[k];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static int mode_membw(int argc, char **argv)
{
    if (argc > 1)
        bench_die("usage: membw [MB]%s", "");
    size_t mb = argc == 1 ? bench_parse_size(argv[0], "MB") : 256;
    size_t len = mb * 1024 * 1024 / sizeof(double);
    double *v = bench_xmalloc(len, sizeof *v);
    for (size_t k = 0; k < len; k++)
        v[k] = (double)(k & 1023) * 0.5; /* touch every page */
    double best = INFINITY, check = 0.0;
    for (int r = 0; r < 5; r++) {
        double t0 = bench_now();
        check += sum_array(v, len);
        double t = bench_now() - t0;
        best = t < best ? t : best;
    }
    double bytes = (double)len * sizeof(double);
    printf("{\"mode\": \"membw\", \"otkit_version\": \"%s\", "
           "\"bytes\": %.0f, ",
           otk_version(), bytes);
    bench_jnum("best_s", best, 0);
    bench_jnum("gbps", bytes / best / 1e9, 0);
    bench_jnum("checksum", check, 1);
    printf("}\n");
    free(v);
    return 0;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int mode_exp_kernel(const options *o, int argc, char **argv)
{
    (void)o;
    if (argc > 1)
        bench_die("usage: exp-kernel [LEN]%s", "");
    size_t len = argc == 1 ? bench_parse_size(argv[0], "LEN") : 4096;
    double *h = bench_xmalloc(len, sizeof *h), *c = bench_xmalloc(len, 8),
           *e = bench_xmalloc(len, sizeof *e);
    for (size_t j = 0; j < len; j++) {
        h[j] = 0.0;
        c[j] = 30.0 * (double)((j * 2654435761u) % len) / (double)len;
    }
    size_t reps = 1 + (size_t)(2e8 / 4.0 / (double)len); /* about 0.2 s */
    double best_cpu = INFINITY, best_wall = INFINITY, check = 0.0;
    for (int r = 0; r < 5; r++) {
        double w0 = bench_now(), c0 = cpu_now();
        for (size_t k = 0; k < reps; k++)
            check += otk__exp_affine_sum(h, 1.0, c, 0.0, e, len);
        double cpu = cpu_now() - c0, wall = bench_now() - w0;
        best_cpu = cpu < best_cpu ? cpu : best_cpu;
        best_wall = wall < best_wall ? wall : best_wall;
    }
    double count = (double)reps * (double)len;
    printf("{\"mode\": \"exp-kernel\", \"len\": %zu, ", len);
    bench_jnum("cpu_ns_per_exp", 1e9 * best_cpu / count, 0);
    bench_jnum("wall_ns_per_exp", 1e9 * best_wall / count, 0);
    bench_jnum("checksum", check, 1);
    printf("}\n");
    free(h);
    free(c);
    free(e);
    return 0;
}

/* Clocks at each iteration of a sweep-cost solve (the progress callback,
 * called after every sweep with check_every 1). */
typedef struct sweep_clock {
    size_t iters;           /* timed sweeps wanted after the first one */
    size_t seen;            /* calls so far */
    double cpu[2], wall[2]; /* at the end of sweep 1 and of sweep iters + 1 */
} sweep_clock;

static int sweep_tick(void *user, const otk_progress *p)
{
    sweep_clock *c = user;
    double cpu = cpu_now(), wall = bench_now();
    c->seen++;
    if (p->iteration == 1) {
        c->cpu[0] = cpu;
        c->wall[0] = wall;
    }
    if (p->iteration == c->iters + 1) {
        c->cpu[1] = cpu;
        c->wall[1] = wall;
        return 1; /* done: no final pass needed */
    }
    return 0;
}

/* Best CPU and wall time per sweep over o->repeats solves: each solve's
 * sweeps 2 .. iters + 1, timed from the end of sweep 1 (set-up, cost
 * bounds, the first allocation touches and the first sweep, which has no
 * shift guess and takes two passes, are all before it) to the end of sweep
 * iters + 1 (the solve is then cancelled: no final pass). */
static void time_sweeps(const options *o, const otk_cost *cost, double reg,
                        size_t iters, double *cpu, double *wall)
{
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.tol = 0.0;
    s.max_iter = iters + 1;
    s.eps_scaling = 0;
    s.multiscale = 0; /* the dense sweeps, whatever the size */
    s.domain = OTK_DOMAIN_LOG;
    s.relaxation = 1.0;
    s.threads = 1;
    s.check_every = 1;
    *cpu = *wall = INFINITY;
    for (int r = 0; r < o->repeats; r++) {
        sweep_clock c = {iters, 0, {0, 0}, {0, 0}};
        s.progress = sweep_tick;
        s.progress_user = &c;
        otk_sinkhorn_info info;
        otk_sinkhorn(&(otk_problem){cost, NULL, NULL, reg}, &s, NULL, &info);
        check_status(&info);
        if (c.seen != iters + 1)
            bench_die("sweep-cost: the solve ended early (%s)",
                      otk_status_name(info.outcome.status));
        double c1 = (c.cpu[1] - c.cpu[0]) / (double)iters;
        double w1 = (c.wall[1] - c.wall[0]) / (double)iters;
        *cpu = c1 < *cpu ? c1 : *cpu;
        *wall = w1 < *wall ? w1 : *wall;
    }
}

static int mode_sweep_cost(const options *o, int argc, char **argv)
{
    if (argc != 5)
        bench_die("usage: sweep-cost KIND N D REG ITERS%s", "");
    int dense = strcmp(argv[0], "dense") == 0;
    if (!dense && strcmp(argv[0], "points") != 0)
        bench_die("sweep-cost: KIND must be points or dense, not '%s'",
                  argv[0]);
    size_t n = bench_parse_size(argv[1], "N");
    size_t d = bench_parse_size(argv[2], "D");
    double reg = bench_parse_double(argv[3], "REG");
    size_t iters = bench_parse_size(argv[4], "ITERS");
    if (iters == 0)
        bench_die("sweep-cost: ITERS must be at least 1%s", "");
    double *x = bench_xmalloc(n * d, sizeof *x),
           *y = bench_xmalloc(n * d, sizeof *y), *C = NULL;
    bench_load_points(o, n, d, x, y, 0);
    otk_cost cost = otk_cost_points(n, n, d, x, y, OTK_METRIC_SQEUCLIDEAN, 2.0);
    if (dense) {
        C = bench_xmalloc(n * n, sizeof *C);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                C[i * n + j] = otk_cost_entry(&cost, i, j);
        cost = otk_cost_dense(n, n, C);
    }
    double cpu, wall;
    time_sweeps(o, &cost, reg, iters, &cpu, &wall);
    double pairs = (double)n * (double)n;
    printf("{\"mode\": \"sweep-cost\", \"kind\": \"%s\", \"n\": %zu, "
           "\"d\": %zu, \"iters\": %zu, \"repeats\": %d, ",
           argv[0], n, d, iters, o->repeats);
    bench_jnum("reg", reg, 0);
    bench_jnum("cpu_s_per_sweep", cpu, 0);
    bench_jnum("wall_s_per_sweep", wall, 0);
    bench_jnum("cpu_ns_per_pair", 1e9 * cpu / pairs, 0);
    bench_jnum("wall_ns_per_pair", 1e9 * wall / pairs, 1);
    printf("}\n");
    free(x);
    free(y);
    free(C);
    return 0;
}

static void print_iterations(size_t n, size_t d, double reg, double tol,
                             const char *variant, const otk_sinkhorn_info *info,
                             size_t solves, double cpu)
{
    size_t its = 0;
    int worst = 0;
    for (size_t k = 0; k < solves; k++) {
        its += info[k].iterations;
        worst = (int)info[k].outcome.status > worst
                    ? (int)info[k].outcome.status
                    : worst;
    }
    printf("{\"mode\": \"iterations\", \"variant\": \"%s\", \"n\": %zu, "
           "\"d\": %zu, \"solves\": %zu, \"iterations\": %zu, "
           "\"stages\": %zu, \"status\": \"%s\", ",
           variant, n, d, solves, its, info[0].stages,
           otk_status_name((otk_status)worst));
    bench_jnum("reg", reg, 0);
    bench_jnum("tol", tol, 0);
    bench_jnum("residual", info[0].residual, 0);
    bench_jnum("cpu_s", cpu, 1);
    printf("}\n");
    fflush(stdout);
}

static int mode_iterations(const options *o, int argc, char **argv)
{
    points_args pa = parse_points(
        o, argc, argv, "usage: %s N D REG TOL MAXITER", "iterations");
    const size_t n = pa.n, d = pa.d, max_iter = pa.max_iter;
    const double reg = pa.reg, tol = pa.tol;
    double *x = pa.x, *y = pa.y;
    otk_cost cost = otk_cost_points(n, n, d, x, y, OTK_METRIC_SQEUCLIDEAN, 2.0);
    const otk_problem pr = {&cost, NULL, NULL, reg};
    static const char *variants[] = {"defaults", "plain", "no-eps-scaling"};
    for (int v = 0; v < 3; v++) {
        otk_sinkhorn_settings s;
        otk_sinkhorn_default_settings(&s);
        s.tol = tol;
        s.max_iter = max_iter;
        if (v == 1)
            s.relaxation = 1.0;
        if (v == 2)
            s.eps_scaling = 0;
        otk_sinkhorn_info info;
        double c0 = cpu_now();
        otk_sinkhorn(&pr, &s, NULL, &info);
        check_status(&info);
        print_iterations(n, d, reg, tol, variants[v], &info, 1, cpu_now() - c0);
    }
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.tol = tol;
    s.max_iter = max_iter;
    otk_sinkhorn_info info[3];
    double div, c0 = cpu_now();
    otk_sinkhorn_divergence(&pr, NULL, NULL, &s, &div, NULL, info);
    check_status(&info[0]);
    print_iterations(n, d, reg, tol, "divergence", info, 3, cpu_now() - c0);
    free(x);
    free(y);
    return 0;
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s [--data DIR] [--seed S] [--repeats R] MODE ARGS...\n"
            "Modes:\n"
            "  dense-fixed N ITERS REG\n"
            "  log-tol N TOL REG [MAXITER]\n"
            "  e2e N REG TOL [MAXITER]\n"
            "  points N D REG TOL MAXITER\n"
            "  membw [MB]\n"
            "  exp-kernel [LEN]\n"
            "  sweep-cost KIND N D REG ITERS\n"
            "  iterations N D REG TOL MAXITER\n"
            "One JSON object per line on stdout. See the comment at the top "
            "of bench/bench_sinkhorn.c.\n",
            bench_prog);
}

static int mode_log_tol(const options *o, int argc, char **argv)
{
    return mode_tol(o, argc, argv, 0);
}

static int mode_e2e(const options *o, int argc, char **argv)
{
    return mode_tol(o, argc, argv, 1);
}

static int mode_membw_opts(const options *o, int argc, char **argv)
{
    (void)o;
    return mode_membw(argc, argv);
}

int main(int argc, char **argv)
{
    bench_prog = "bench-sinkhorn";
    static const bench_mode modes[] = {{"dense-fixed", mode_dense_fixed},
                                       {"log-tol", mode_log_tol},
                                       {"e2e", mode_e2e},
                                       {"points", mode_points},
                                       {"membw", mode_membw_opts},
                                       {"exp-kernel", mode_exp_kernel},
                                       {"sweep-cost", mode_sweep_cost},
                                       {"iterations", mode_iterations}};
    return bench_main(argc, argv, (bench_options){NULL, 42, 3, NAN}, modes,
                      sizeof modes / sizeof *modes, usage);
}
