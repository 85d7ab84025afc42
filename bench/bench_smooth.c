/*
 * bench-smooth: timing driver for otk_quadratic and otk_sparse, run by
 * bench/run_bench.py (section "smooth"), which solves the same problems with
 * POT's ot.smooth.smooth_ot_dual / smooth_ot_semi_dual and prints the
 * ratios.
 *
 *   bench-smooth [--data DIR] [--seed S] [--repeats R] [--reg G]
 *                MODE ARGS...
 *
 * Modes (one JSON object per line on stdout):
 *   pass N                  the time of one pass over the n x n cost: the
 *                           sum of its entries in storage order, best of 5
 *   solve N FORM TOL        otk_quadratic to the L1 marginal error TOL,
 *                           default max_iter (10000); R runs
 *   fixed N FORM K ITERS    a fixed budget: tol = 0, max_iter = ITERS; R runs
 *                           of otk_quadratic, then R runs of otk_sparse with
 *                           k = K (time per evaluation of both)
 *   routing B N M K         B routing problems of N tokens x M experts, at
 *                           most K tokens per expert: otk_sparse_batch vs
 *                           a loop of otk_sparse_solve (problems per
 *                           second; see mode_routing)
 *   finish N M FORM K       otk_sparse certified (tol 1e-9) on N x M point
 *                           clouds with non-uniform weights: total time
 *                           and its L-BFGS phase (see mode_finish)
 *
 * FORM is "dual" or "semi-dual". reg (--reg, or its alias --gamma: Blondel's
 * name) defaults to 0.1, in the units of the cost.
 *
 * Problem data. With --data DIR the program reads raw little-endian float64
 * files written by run_bench.py: DIR/C.bin (N x N, row-major). Without
 * --data it generates x ~ N(0, I_2), y ~ N(0, I_2) + 1 from --seed and
 * C_ij = ||x_i - y_j||^2 / max_kl ||x_k - y_l||^2. Weights are uniform
 * (NULL). Every run asks for both potentials and the sparse plan (capacity
 * n * m for otk_quadratic, which is address space only: pages are touched
 * for the nonzeros alone; k * m for otk_sparse), not for the dense plan.
 *
 * Per run: the solver's info (status, iterations, evaluations, marginal
 * error, costs, nnz), its own wall clock info.outcome.time_s, time_per_eval_s =
 * info.outcome.time_s / info.evaluations (set-up, the final objective and the
 * plan recovery amortized over the evaluations), the wall clock of the call
 * (wall_s) and the peak resident memory so far (VmHWM). After each run,
 * outside the timings, the returned sparse plan is checked: its L1 marginal
 * error and transport cost recomputed from the entries (check_*; they
 * should equal info's up to rounding).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>
#include <otkit/quadratic.h>
#include <otkit/sparse.h>

#include "bench_util.h"

typedef bench_options options;

/* ---- arguments ---------------------------------------------------------- */

static otk_formulation parse_formulation(const char *s)
{
    if (strcmp(s, "dual") == 0)
        return OTK_FORMULATION_DUAL;
    if (strcmp(s, "semi-dual") == 0)
        return OTK_FORMULATION_SEMI_DUAL;
    bench_die("FORM must be dual or semi-dual, not %s", s);
    return OTK_FORMULATION_SEMI_DUAL;
}

static const char *formulation_name(otk_formulation f)
{
    return f == OTK_FORMULATION_DUAL ? "dual" : "semi-dual";
}

/* ---- one pass over C ------------------------------------------------------
 */

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

static int mode_pass(const options *o, int argc, char **argv)
{
    if (argc != 1)
        bench_die("usage: pass N%s", "");
    const size_t n = bench_parse_size(argv[0], "N");
    double *C = bench_load_dense(o, n);
    double best = INFINITY, check = 0.0;
    for (int r = 0; r < 5; r++) {
        double t0 = bench_now();
        check += sum_array(C, n * n);
        double t = bench_now() - t0;
        best = t < best ? t : best;
    }
    printf("{\"mode\": \"pass\", \"n\": %zu, \"m\": %zu, "
           "\"otkit_version\": \"%s\", ",
           n, n, otk_version());
    bench_jnum("pass_s", best, 0);
    bench_jnum("gbps", 8.0 * (double)n * (double)n / best / 1e9, 0);
    bench_jnum("checksum", check, 1);
    printf("}\n");
    free(C);
    return 0;
}

/* ---- solves ---------------------------------------------------------------
 */

/* L1 marginal error and transport cost of a sparse plan (uniform weights),
 * recomputed from its entries. */
static void check_plan(const otk_cost *cost, const otk_plan_entry *plan,
                       size_t nnz, double *err, double *transport)
{
    const size_t n = cost->n, m = cost->m;
    double *rows = calloc(n + m, sizeof *rows);
    if (rows == NULL)
        bench_die("out of memory%s", "");
    double *cols = rows + n, tc = 0.0;
    for (size_t k = 0; k < nnz; k++) {
        rows[plan[k].i] += plan[k].value;
        cols[plan[k].j] += plan[k].value;
        tc += plan[k].value * otk_cost_entry(cost, plan[k].i, plan[k].j);
    }
    double e = 0.0;
    for (size_t i = 0; i < n; i++)
        e += fabs(rows[i] - 1.0 / (double)n);
    for (size_t j = 0; j < m; j++)
        e += fabs(cols[j] - 1.0 / (double)m);
    free(rows);
    *err = e;
    *transport = tc;
}

/* o->repeats fresh calls of otk_quadratic (k == 0) or otk_sparse (k >= 1);
 * one JSON line each. */
static void run(const options *o, const char *mode, const otk_cost *cost,
                otk_formulation form, size_t k, double tol, size_t max_iter)
{
    const size_t n = cost->n, m = cost->m;
    const size_t capacity = k == 0 ? n * m : k * m;
    otk_plan_entry *plan = bench_xmalloc(capacity, sizeof *plan);
    double *f = bench_xmalloc(n, sizeof *f), *g = bench_xmalloc(m, sizeof *g);
    otk_quadratic_settings s;
    otk_quadratic_default_settings(&s);
    s.formulation = form;
    s.tol = tol;
    if (max_iter > 0)
        s.max_iter = max_iter;
    const otk_problem problem = {cost, NULL, NULL, o->reg};
    otk_solution sol = {f, g, NULL, plan, capacity};
    for (int r = 0; r < o->repeats; r++) {
        otk_quadratic_info info;
        double t0 = bench_now();
        if (k == 0)
            otk_quadratic(&problem, &s, &sol, &info);
        else
            otk_sparse(&problem, k, &s, &sol, &info);
        double wall = bench_now() - t0;
        if (info.outcome.status < 0) {
            fprintf(stderr, "%s: %s failed: %s (%s)\n", bench_prog,
                    k == 0 ? "otk_quadratic" : "otk_sparse",
                    otk_status_string(info.outcome.status),
                    info.outcome.bad_argument ? info.outcome.bad_argument
                                              : "-");
            exit(1);
        }
        double chk_err = NAN, chk_cost = NAN;
        if (info.nnz <= capacity)
            check_plan(cost, plan, info.nnz, &chk_err, &chk_cost);
        printf("{\"mode\": \"%s\", \"solver\": \"%s\", \"n\": %zu, "
               "\"m\": %zu, \"formulation\": \"%s\", \"k\": %zu, ",
               mode, k == 0 ? "quadratic" : "sparse", n, m,
               formulation_name(form), k == 0 ? n : k);
        bench_jnum("reg", o->reg, 0);
        bench_jnum("tol", s.tol, 0);
        printf("\"max_iter\": %zu, \"run\": %d, \"repeats\": %d, "
               "\"otkit_version\": \"%s\", ",
               s.max_iter, r + 1, o->repeats, otk_version());
        printf("\"status\": \"%s\", \"status_code\": %d, ",
               otk_status_name(info.outcome.status), (int)info.outcome.status);
        printf("\"iterations\": %zu, \"evaluations\": %zu, \"nnz\": %zu, "
               "\"max_col_nnz\": %zu, ",
               info.iterations, info.evaluations, info.nnz, info.max_col_nnz);
        bench_jnum("marginal_error", info.marginal_error, 0);
        bench_jnum("transport_cost", info.transport_cost, 0);
        bench_jnum("objective", info.objective, 0);
        bench_jnum("dual_objective", info.dual_objective, 0);
        bench_jnum("check_marginal_error", chk_err, 0);
        bench_jnum("check_transport_cost", chk_cost, 0);
        bench_jnum("time_s", info.outcome.time_s, 0);
        bench_jnum("time_per_eval_s",
                   info.evaluations > 0
                       ? info.outcome.time_s / (double)info.evaluations
                       : NAN,
                   0);
        bench_jnum("wall_s", wall, 0);
        bench_jnum("peak_rss_mib", bench_peak_rss_mib(), 1);
        printf("}\n");
        fflush(stdout);
    }
    free(plan);
    free(f);
    free(g);
}

static int mode_solve(const options *o, int argc, char **argv)
{
    if (argc != 3)
        bench_die("usage: solve N FORM TOL%s", "");
    const size_t n = bench_parse_size(argv[0], "N");
    otk_formulation form = parse_formulation(argv[1]);
    double tol = bench_parse_double(argv[2], "TOL");
    double *C = bench_load_dense(o, n);
    otk_cost cost = otk_cost_dense(n, n, C);
    run(o, "solve", &cost, form, 0, tol, 0);
    free(C);
    return 0;
}

static int mode_fixed(const options *o, int argc, char **argv)
{
    if (argc != 4)
        bench_die("usage: fixed N FORM K ITERS%s", "");
    const size_t n = bench_parse_size(argv[0], "N");
    otk_formulation form = parse_formulation(argv[1]);
    const size_t k = bench_parse_size(argv[2], "K");
    const size_t iters = bench_parse_size(argv[3], "ITERS");
    if (k < 1 || iters < 1)
        bench_die("K and ITERS must be >= 1%s", "");
    double *C = bench_load_dense(o, n);
    otk_cost cost = otk_cost_dense(n, n, C);
    run(o, "fixed", &cost, form, 0, 0.0, iters);
    run(o, "fixed", &cost, form, k, 0.0, iters);
    free(C);
    return 0;
}

/* routing B N M K: B problems of N tokens x M experts (the cost: minus the
 * scores <token, expert> of random 16-dimensional features, or with --data
 * DIR the B stacked N x M blocks of DIR/C.bin), at most K
 * tokens per expert, uniform weights: otk_sparse_batch once, then one
 * otk_sparse_solve per problem in a loop with one workspace (same
 * settings, threads = 1 for both). Prints problems per second of each,
 * the worst status and the iterations of all problems, R times. */
static int mode_routing(const options *o, int argc, char **argv)
{
    if (argc != 4)
        bench_die("usage: routing B N M K%s", "");
    const size_t B = bench_parse_size(argv[0], "B");
    const size_t n = bench_parse_size(argv[1], "N");
    const size_t m = bench_parse_size(argv[2], "M");
    const size_t k = bench_parse_size(argv[3], "K");
    enum { DIM = 16 };
    double *C = malloc(B * n * m * sizeof *C);
    double *f = malloc(B * n * sizeof *f), *g = malloc(B * m * sizeof *g);
    otk_sparse_info *infos = malloc(B * sizeof *infos);
    if (C == NULL || f == NULL || g == NULL || infos == NULL)
        bench_die("out of memory%s", "");
    uint64_t rng = (uint64_t)o->seed;
    double *tok = malloc(n * DIM * sizeof *tok);
    if (tok == NULL)
        bench_die("out of memory%s", "");
    for (size_t q = 0; q < B; q++) {
        double *Cq = C + q * n * m, expert[DIM];
        for (size_t i = 0; i < n * DIM; i++)
            tok[i] = bench_rng_normal(&rng);
        for (size_t j = 0; j < m; j++) {
            for (int d = 0; d < DIM; d++)
                expert[d] = bench_rng_normal(&rng);
            for (size_t i = 0; i < n; i++) {
                double sc = 0.0;
                for (int d = 0; d < DIM; d++)
                    sc += tok[i * DIM + d] * expert[d];
                Cq[i * m + j] = -sc / DIM;
            }
        }
    }
    free(tok);
    if (o->data_dir != NULL) /* run_bench.py's costs, shared with POT */
        bench_read_raw(o->data_dir, "C.bin", C, B * n * m, 0);
    otk_sparse_settings s;
    otk_sparse_default_settings(&s);
    s.threads = 1;
    for (int r = 0; r < o->repeats; r++) {
        otk_cost cost = otk_cost_dense(n, m, C);
        const otk_problem pb = {&cost, NULL, NULL, o->reg};
        double t0 = bench_now();
        otk_status st = otk_sparse_batch(
            B, &pb, k, &s, &(otk_solution){f, g, NULL, NULL, 0}, infos);
        double batch_s = bench_now() - t0;
        size_t it_batch = 0;
        for (size_t q = 0; q < B; q++)
            it_batch += infos[q].iterations;
        otk_sparse_workspace *ws = otk_sparse_workspace_create(n, m);
        if (ws == NULL)
            bench_die("out of memory%s", "");
        t0 = bench_now();
        otk_status worst = OTK_CONVERGED;
        size_t it_loop = 0;
        for (size_t q = 0; q < B; q++) {
            otk_cost cq = otk_cost_dense(n, m, C + q * n * m);
            const otk_problem pq = {&cq, NULL, NULL, o->reg};
            otk_sparse_info in;
            otk_status sq = otk_sparse_solve(
                ws, &pq, k, &s, &(otk_solution){f, g, NULL, NULL, 0}, &in);
            worst = sq > worst ? sq : worst;
            it_loop += in.iterations;
        }
        double loop_s = bench_now() - t0;
        otk_sparse_workspace_free(ws);
        printf("{\"mode\": \"routing\", \"B\": %zu, \"n\": %zu, \"m\": %zu, "
               "\"k\": %zu, \"status_batch\": \"%s\", "
               "\"status_loop\": \"%s\", \"iterations_batch\": %zu, "
               "\"iterations_loop\": %zu, ",
               B, n, m, k, otk_status_name(st), otk_status_name(worst),
               it_batch, it_loop);
        bench_jnum("batch_problems_per_s", (double)B / batch_s, 0);
        bench_jnum("loop_problems_per_s", (double)B / loop_s, 1);
        printf("}\n");
        fflush(stdout);
    }
    free(C);
    free(f);
    free(g);
    free(infos);
    return 0;
}

/* The L-BFGS phase of a solve: the time of its last progress call (the
 * callback runs once per L-BFGS iteration, not in the finish). */
typedef struct lbfgs_clock {
    double t0, last;
    size_t calls;
} lbfgs_clock;

static int lbfgs_tick(void *user, const otk_progress *p)
{
    (void)p;
    lbfgs_clock *c = user;
    c->last = bench_now() - c->t0;
    c->calls++;
    return 0;
}

/* finish N M FORM K: otk_sparse (default settings, tol 1e-9) on N x M
 * point clouds, x ~ N(0, I_2), y ~ N(0, I_2) + 1, squared Euclidean cost,
 * weights uniform in [0.5, 1.5] normalised. Prints the certified solve's
 * time beside its L-BFGS phase (which is the L-BFGS run to its stall or
 * tolerance that the finish starts from), R times. */
static int mode_finish(const options *o, int argc, char **argv)
{
    if (argc != 4)
        bench_die("usage: finish N M FORM K%s", "");
    const size_t n = bench_parse_size(argv[0], "N");
    const size_t m = bench_parse_size(argv[1], "M");
    otk_formulation form = parse_formulation(argv[2]);
    const size_t k = bench_parse_size(argv[3], "K");
    double *x = bench_xmalloc(2 * n, sizeof *x),
           *y = bench_xmalloc(2 * m, sizeof *y);
    double *a = bench_xmalloc(n, sizeof *a), *b = bench_xmalloc(m, sizeof *b);
    uint64_t rng = (uint64_t)o->seed;
    for (size_t i = 0; i < 2 * n; i++)
        x[i] = bench_rng_normal(&rng);
    for (size_t j = 0; j < 2 * m; j++)
        y[j] = bench_rng_normal(&rng) + 1.0;
    double sa = 0.0, sb = 0.0;
    for (size_t i = 0; i < n; i++)
        sa += a[i] = 0.5 + bench_rng_uniform(&rng);
    for (size_t j = 0; j < m; j++)
        sb += b[j] = 0.5 + bench_rng_uniform(&rng);
    for (size_t i = 0; i < n; i++)
        a[i] /= sa;
    for (size_t j = 0; j < m; j++)
        b[j] /= sb;
    otk_cost cost = otk_cost_points(n, m, 2, x, y, OTK_METRIC_SQEUCLIDEAN, 2.0);
    const otk_problem pb = {&cost, a, b, o->reg};
    otk_sparse_settings s;
    otk_sparse_default_settings(&s);
    s.formulation = form;
    s.threads = 1;
    lbfgs_clock clk;
    s.progress = lbfgs_tick;
    s.progress_user = &clk;
    for (int r = 0; r < o->repeats; r++) {
        otk_sparse_info info;
        clk = (lbfgs_clock){bench_now(), 0.0, 0};
        otk_status st = otk_sparse(&pb, k, &s, NULL, &info);
        if (st < 0)
            bench_die("otk_sparse failed: %s", otk_status_string(st));
        printf("{\"mode\": \"finish\", \"n\": %zu, \"m\": %zu, "
               "\"formulation\": \"%s\", \"k\": %zu, \"status\": \"%s\", "
               "\"iterations\": %zu, \"lbfgs_iterations\": %zu, "
               "\"evaluations\": %zu, ",
               n, m, formulation_name(form), k, otk_status_name(st),
               info.iterations, clk.calls, info.evaluations);
        bench_jnum("reg", o->reg, 0);
        bench_jnum("relative_gap", info.relative_gap, 0);
        bench_jnum("marginal_error", info.marginal_error, 0);
        bench_jnum("dual_objective", info.dual_objective, 0);
        bench_jnum("time_s", info.outcome.time_s, 0);
        bench_jnum("lbfgs_s", clk.last, 1);
        printf("}\n");
        fflush(stdout);
    }
    free(x);
    free(y);
    free(a);
    free(b);
    return 0;
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s [--data DIR] [--seed S] [--repeats R] [--reg G] "
            "MODE ARGS...\n"
            "Modes:\n"
            "  pass N\n"
            "  solve N FORM TOL        (FORM: dual or semi-dual)\n"
            "  fixed N FORM K ITERS\n"
            "  routing B N M K\n"
            "  finish N M FORM K\n"
            "One JSON object per run on stdout. See the comment at the top "
            "of bench/bench_smooth.c.\n",
            bench_prog);
}

int main(int argc, char **argv)
{
    bench_prog = "bench-smooth";
    static const bench_mode modes[] = {{"pass", mode_pass},
                                       {"solve", mode_solve},
                                       {"fixed", mode_fixed},
                                       {"routing", mode_routing},
                                       {"finish", mode_finish}};
    return bench_main(argc, argv, (bench_options){NULL, 42, 3, 0.1}, modes,
                      sizeof modes / sizeof *modes, usage);
}
