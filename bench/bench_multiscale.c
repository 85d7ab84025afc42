/*
 * bench-multiscale: the debiased Sinkhorn divergence of two clouds of n
 * uniform points in [0, 1]^d (squared Euclidean cost) by the dense
 * point-cloud solver, the multiscale path or the default settings (auto:
 * the path when its rule takes it), as one JSON line: the
 * divergence, the three solves' iterations, residuals and neglected-mass
 * bounds, wall and CPU seconds and peak memory, and on the multiscale
 * path each solve's stages (reg, iterations, kept point pairs) and the
 * point pairs its sweeps formed (deterministic work counts, from the
 * progress callback). bench/multiscale_bench.py runs it next to GeomLoss
 * (docs/benchmarks.md, "Multiscale").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <otkit/otkit.h>

#include "bench_util.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: bench-multiscale [OPTIONS] MODE N REG [TOL [TRUNCATION]]\n"
            "  MODE dense, multiscale or auto (the default settings: the\n"
            "  path when its rule takes it); points from --data DIR (x.bin,\n"
            "  y.bin: N x 3 float64) or uniform in [0,1]^3 from --seed.\n");
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define MAX_STAGES 32

/* One solve's stages as the progress callback saw them. */
typedef struct stage_log {
    size_t stages, evaluations, last_iteration;
    double reg[MAX_STAGES];
    size_t end[MAX_STAGES], kept[MAX_STAGES];
} stage_log;

/* The three solves of the divergence, told apart by the iteration count
 * starting again. */
typedef struct solve_log {
    int solve;
    stage_log s[3];
} solve_log;

static int record(void *user, const otk_progress *p)
{
    solve_log *log = user;
    const otk_sinkhorn_progress *d = p->detail;
    if (log->solve < 0 || p->iteration < log->s[log->solve].last_iteration)
        log->solve++;
    if (log->solve > 2 || d == NULL || d->stage == 0 || d->stage > MAX_STAGES)
        return 0;
    stage_log *sl = &log->s[log->solve];
    sl->stages = d->stage > sl->stages ? d->stage : sl->stages;
    sl->reg[d->stage - 1] = p->reg;
    sl->end[d->stage - 1] = p->iteration;
    sl->kept[d->stage - 1] = d->kept_pairs;
    sl->evaluations = d->pair_evaluations;
    sl->last_iteration = p->iteration;
    return 0;
}

/* "stages_xy": [[reg, iterations, kept pairs], ...] */
static void print_stages(const char *name, const stage_log *sl)
{
    printf("\"stages_%s\": [", name);
    for (size_t k = 0; k < sl->stages; k++)
        printf("%s[%.6g, %zu, %zu]", k > 0 ? ", " : "", sl->reg[k],
               sl->end[k] - (k > 0 ? sl->end[k - 1] : 0), sl->kept[k]);
    printf("], \"pair_evaluations_%s\": %zu, ", name, sl->evaluations);
}

static int run(const bench_options *o, int argc, char **argv, int multiscale)
{
    if (argc < 2 || argc > 4) {
        usage(stderr);
        return 2;
    }
    const size_t n = bench_parse_size(argv[0], "N"), d = 3;
    const double reg = bench_parse_double(argv[1], "REG");
    otk_sinkhorn_settings s;
    otk_sinkhorn_default_settings(&s);
    s.multiscale = multiscale;
    if (argc > 2)
        s.tol = bench_parse_double(argv[2], "TOL");
    if (argc > 3)
        s.truncation = bench_parse_double(argv[3], "TRUNCATION");
    double *x = bench_xmalloc(n * d, sizeof *x);
    double *y = bench_xmalloc(n * d, sizeof *y);
    if (o->data_dir != NULL) {
        bench_read_raw(o->data_dir, "x.bin", x, n * d, 0);
        bench_read_raw(o->data_dir, "y.bin", y, n * d, 0);
    } else {
        uint64_t st = o->seed;
        for (size_t k = 0; k < n * d; k++)
            x[k] = bench_rng_uniform(&st);
        for (size_t k = 0; k < n * d; k++)
            y[k] = bench_rng_uniform(&st);
    }
    otk_cost cost = otk_cost_points(n, n, d, x, y, OTK_METRIC_SQEUCLIDEAN, 2);
    const otk_problem pb = {&cost, NULL, NULL, reg};
    otk_sinkhorn_info info[3];
    solve_log log = {.solve = -1};
    if (multiscale != 0) {
        s.progress = record;
        s.progress_user = &log;
    }
    double div = NAN;
    const double w0 = bench_now(), c0 = cpu_now();
    otk_status st =
        otk_sinkhorn_divergence(&pb, NULL, NULL, &s, &div, NULL, info);
    const double wall = bench_now() - w0, cpu = cpu_now() - c0;
    const char *mode = multiscale == 1   ? "multiscale"
                       : multiscale == 0 ? "dense"
                                         : "auto";
    printf("{\"mode\": \"%s\", \"n\": %zu, \"reg\": %.17g, \"status\": %d, ",
           mode, n, reg, (int)st);
    bench_jnum("divergence", div, 0);
    const char *names[3] = {"xy", "xx", "yy"};
    for (int k = 0; k < 3; k++) {
        char key[64];
        snprintf(key, sizeof key, "iterations_%s", names[k]);
        bench_jnum(key, (double)info[k].iterations, 0);
        snprintf(key, sizeof key, "residual_%s", names[k]);
        bench_jnum(key, info[k].residual, 0);
        snprintf(key, sizeof key, "neglected_%s", names[k]);
        bench_jnum(key, info[k].neglected_mass, 0);
        if (multiscale != 0)
            print_stages(names[k], &log.s[k]);
    }
    bench_jnum("wall_s", wall, 0);
    bench_jnum("cpu_s", cpu, 0);
    bench_jnum("peak_rss_mib", bench_peak_rss_mib(), 1);
    printf("}\n");
    free(x);
    free(y);
    return st < 0 ? 1 : 0;
}

static int run_dense(const bench_options *o, int argc, char **argv)
{
    return run(o, argc, argv, 0);
}

static int run_multiscale(const bench_options *o, int argc, char **argv)
{
    return run(o, argc, argv, 1);
}

static int run_auto(const bench_options *o, int argc, char **argv)
{
    return run(o, argc, argv, -1);
}

int main(int argc, char **argv)
{
    bench_prog = "bench-multiscale";
    static const bench_mode modes[] = {{"dense", run_dense},
                                       {"multiscale", run_multiscale},
                                       {"auto", run_auto}};
    const bench_options defaults = {NULL, 20230401, 1, NAN};
    return bench_main(argc, argv, defaults, modes, 3, usage);
}
