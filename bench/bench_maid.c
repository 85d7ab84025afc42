/*
 * bench-maid: cost of MAID and its baselines to reach a target upper loss
 * on one built-in bilevel problem, run by bench/run_bench.py (section
 * "maid"). There is no POT peer: the comparison is between the methods of
 * one run, on the same instance, from the same start, with the same
 * settings and budget.
 *
 *   bench-maid [OPTIONS] tv2d SIZE NOISE IMAGE...
 *   bench-maid [OPTIONS] foe SIZE NOISE IMAGE...
 *   bench-maid [OPTIONS] logreg TRAIN CSV
 *   bench-maid [OPTIONS] quadratic ROWS DIM COND
 *
 * Problems:
 *   tv2d    otk_bilevel_tv2d_create on the given PGM/PPM images (read as
 *           BT.601 luma in [0, 1]), each cut to its centre square and
 *           averaged down to SIZE x SIZE (box filter over the source pixels
 *           of each target pixel), noise N(0, NOISE^2) from --seed.
 *   foe     otk_bilevel_foe_create on the same images, --filters filters of
 *           --filter-size taps.
 *   logreg  otk_bilevel_logreg_create on a CSV of features with an integer
 *           label last (its first --lr-rows rows; 0: all): the rows are
 *           shuffled by GSL's mt19937 seeded with --seed (gsl_ran_shuffle),
 *           features scaled by their largest magnitude, the first TRAIN
 *           rows train (0: half), the rest validate. The instances are
 *           those `otk-maid` builds from the same files and seed.
 *   quadratic  otk_bilevel_quadratic_conditioned_create(ROWS, DIM, COND,
 *           --seed), or the paper's uniform draws for COND 0.
 *
 * Runs (--methods, comma list of names; default all, in the order of
 * specs[] below): MAID with the library's defaults ("maid", practical
 * error bound) and with eps0 = delta0 = 1, 1e-3, 1e-5; the same four in
 * certified mode ("certified*"); the fixed-accuracy baseline at 0.1,
 * 1e-3, 1e-5; HOAG geometric, quadratic and cubic with eps0 = --eps0.
 * Every run: otk_bilevel_default_settings, then budget = --budget (lower-
 * level + CG iterations), max_iter = --max-iter, ll_max_iter = cg_max_iter
 * = --caps, and the run's method, error_mode, eps0 = delta0; theta0 and x0 from
 * the instance. A run stuck at one point (see same_point_rejected) is cancelled
 * by its progress callback: status "cancelled", "cancelled_stuck": true.
 *
 * Output, one JSON object per line:
 *   "instance"  sizes, f0 = g at theta0 by a tight lower solve.
 *   "run"       per method: settings, info (status, iterations, accepted,
 *               upper loss, lower and CG iterations, outcome.time_s), the wall
 *               clock and the process CPU time of the call, f_tight = g at the
 * final theta by a tight lower solve (untimed), the callbacks' call counts and
 *               their summed wall time (every callback is wrapped by a
 *               timer: two clock_gettime calls, ~50 ns, per call), the load
 *               average, and the trace: [iteration, upper_loss,
 *               upper_bound, lower_bound, eps, step, lower its, CG its,
 *               accepted, time_s] per outer iteration.
 *   "kernels"   the best and the median wall time of one call to ll_grad,
 *               ll_hvp and upper, and of one pass over the data (up to
 *               2000 calls or about 0.2 s of each, at least 10, after one
 *               untimed call), at the first run's final theta and x: tv2d, the
 * sum of the n noisy pixels (8 accumulators, in cache); logreg, one cblas_dgemm
 * X W (n_train x features times features x classes). ll_grad of logreg is timed
 * alternating between two W, so that its softmax cache misses every time (as in
 *               FISTA); ll_hvp at one W, cache warm (as in CG).
 *   "reach"     per target and method: the first trace row whose
 *               upper_loss <= target AND whose true f (a tight re-solve at
 *               --tight-eps, warm-started from the run's final x) is <=
 *               target too, with its cumulative lower + CG iterations,
 *               time_s and that f (reached false when no row is
 *               confirmed within 40 re-solves).
 * Targets, the same for every method: with f_best the lowest f_tight at
 * the final theta of all runs and f0 = f at theta0 (tight), "90%" is
 * f_best + 0.1 (f0 - f_best) (90 percent of the best decrease),
 * "best+1%" is f_best (1 + 1e-2) and "best+0.1%" is f_best (1 + 1e-3).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* cblas_dgemm as GSL declares it; the symbol must come from OpenBLAS,
 * which bench/meson.build puts first on the link line. */
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <otkit/otkit.h>

#include "bench_util.h"
#include "common/cli.h"

/* ---- options ------------------------------------------------------------ */

/* The runs: MAID in both error modes over the eps0 = delta0 sweep, the
 * fixed-accuracy baseline at three accuracies, the three HOAG
 * schedules (eps0 = --eps0). "maid" is the library's defaults. */
typedef struct method_spec {
    const char *name;
    otk_bilevel_method method;
    otk_bilevel_error_mode mode;
    double eps0; /* 0: --eps0 */
} method_spec;

#define P OTK_BILEVEL_PRACTICAL
#define C OTK_BILEVEL_CERTIFIED
static const method_spec specs[] = {
    {"maid", OTK_BILEVEL_MAID, P, 0},
    {"maid-eps1", OTK_BILEVEL_MAID, P, 1},
    {"maid-eps1e-3", OTK_BILEVEL_MAID, P, 1e-3},
    {"maid-eps1e-5", OTK_BILEVEL_MAID, P, 1e-5},
    {"certified", OTK_BILEVEL_MAID, C, 0},
    {"certified-eps1", OTK_BILEVEL_MAID, C, 1},
    {"certified-eps1e-3", OTK_BILEVEL_MAID, C, 1e-3},
    {"certified-eps1e-5", OTK_BILEVEL_MAID, C, 1e-5},
    {"fixed-eps0.1", OTK_BILEVEL_FIXED, P, 0.1},
    {"fixed-eps1e-3", OTK_BILEVEL_FIXED, P, 1e-3},
    {"fixed-eps1e-5", OTK_BILEVEL_FIXED, P, 1e-5},
    {"hoag-geometric", OTK_BILEVEL_HOAG_GEOMETRIC, P, 0},
    {"hoag-quadratic", OTK_BILEVEL_HOAG_QUADRATIC, P, 0},
    {"hoag-cubic", OTK_BILEVEL_HOAG_CUBIC, P, 0},
};
#undef P
#undef C
#define N_METHODS ((int)(sizeof specs / sizeof specs[0]))

typedef struct options {
    unsigned long seed;
    double budget, eps0, tight_eps;
    size_t max_iter, caps, lr_rows, filters, filter_size;
    int use[32];
} options;

static unsigned long parse_seed(const char *s)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end != '\0' || s[0] == '-')
        bench_die("--seed must be an integer >= 0 (got %s)", s);
    return v;
}

static void parse_methods(const char *list, int *use)
{
    memset(use, 0, sizeof(int) * (size_t)N_METHODS);
    char buf[512];
    if (strlen(list) >= sizeof buf)
        bench_die("--methods too long%s", "");
    strcpy(buf, list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int k = 0;
        while (k < N_METHODS && strcmp(tok, specs[k].name) != 0)
            k++;
        if (k == N_METHODS)
            bench_die("--methods: unknown method %s", tok);
        use[k] = 1;
    }
}

/* The 1-minute load average (other work skews every timing). */
static double loadavg(void)
{
    double v = NAN;
    FILE *fp = fopen("/proc/loadavg", "r");
    if (fp) {
        if (fscanf(fp, "%lf", &v) != 1)
            v = NAN;
        fclose(fp);
    }
    return v;
}

/* ---- problem data ------------------------------------------------------- */

/* Averages the centre square of img (rows x cols) down to size x size:
 * target pixel (i, j) is the mean of the source block
 * [i side / size, (i + 1) side / size) x [same for j], side = the shorter
 * edge, offset so that the square is centred. */
static void centre_box_average(const double *img, size_t rows, size_t cols,
                               size_t size, double *out)
{
    const size_t side = rows < cols ? rows : cols;
    const size_t top = (rows - side) / 2, left = (cols - side) / 2;
    for (size_t i = 0; i < size; i++) {
        const size_t r_lo = top + i * side / size;
        const size_t r_hi = top + (i + 1) * side / size;
        for (size_t j = 0; j < size; j++) {
            const size_t c_lo = left + j * side / size;
            const size_t c_hi = left + (j + 1) * side / size;
            double acc = 0.0;
            for (size_t r = r_lo; r < r_hi; r++)
                for (size_t c = c_lo; c < c_hi; c++)
                    acc += img[r * cols + c];
            out[i * size + j] = acc / (double)((r_hi - r_lo) * (c_hi - c_lo));
        }
    }
}

typedef struct problem_data {
    const char *name;
    size_t size, images;         /* tv2d */
    double noise;                /* tv2d */
    size_t n_train, n_val, f, C; /* logreg */
    double *x_train;             /* logreg: n_train x f (for the pass) */
} problem_data;

/* tv2d and foe: the images cut and averaged to size x size, stacked. */
static void make_denoise(const options *o, int foe, int argc, char **argv,
                         otk_bilevel_instance *in, problem_data *pd)
{
    if (argc < 3)
        bench_die("usage: %s SIZE NOISE IMAGE...", foe ? "foe" : "tv2d");
    const size_t size = bench_parse_size(argv[0], "SIZE");
    const double noise = bench_parse_double(argv[1], "NOISE");
    const size_t count = (size_t)argc - 2, px = size * size;
    double *stack = bench_xmalloc(count * px, sizeof *stack);
    for (size_t k = 0; k < count; k++) {
        otkcli_error err;
        double *img;
        size_t rows, cols;
        if (otkcli_read_netpbm(argv[2 + k], &img, &rows, &cols, &err) != 0)
            bench_die("%s", err.msg);
        if (rows < size || cols < size)
            bench_die("%s is smaller than SIZE", argv[2 + k]);
        centre_box_average(img, rows, cols, size, stack + k * px);
        free(img);
    }
    otk_status st =
        foe ? otk_bilevel_foe_create(stack, count, size, size, noise,
                                     o->filters, o->filter_size, o->seed, in)
            : otk_bilevel_tv2d_create(stack, count, size, size, noise, o->seed,
                                      in);
    free(stack);
    if (st != OTK_CONVERGED)
        bench_die("creating the instance: %s", otk_status_string(st));
    pd->name = foe ? "foe" : "tv2d";
    pd->size = size;
    pd->images = count;
    pd->noise = noise;
}

/* quadratic ROWS DIM COND: otk_bilevel_quadratic_conditioned_create (COND
 * 0: the paper's uniform draws, otk_bilevel_quadratic_create). */
static void make_quadratic(const options *o, int argc, char **argv,
                           otk_bilevel_instance *in, problem_data *pd)
{
    if (argc != 3)
        bench_die("usage: quadratic ROWS DIM COND%s", "");
    const size_t rows = bench_parse_size(argv[0], "ROWS");
    const size_t dim = bench_parse_size(argv[1], "DIM");
    const double cond = bench_parse_double(argv[2], "COND");
    otk_status st =
        cond == 0 ? otk_bilevel_quadratic_create(rows, dim, o->seed, in)
                  : otk_bilevel_quadratic_conditioned_create(rows, dim, cond,
                                                             o->seed, in);
    if (st != OTK_CONVERGED)
        bench_die("creating the instance: %s", otk_status_string(st));
    pd->name = "quadratic";
    pd->size = rows;
    pd->images = dim;
}

static void make_logreg(const options *o, int argc, char **argv,
                        otk_bilevel_instance *in, problem_data *pd)
{
    if (argc != 2)
        bench_die("usage: logreg TRAIN CSV%s", "");
    char *end;
    size_t train = (size_t)strtoul(argv[0], &end, 10);
    if (end == argv[0] || *end != '\0' || argv[0][0] == '-')
        bench_die("TRAIN must be an integer >= 0 (got %s)", argv[0]);
    otkcli_matrix m = {0};
    otkcli_error err;
    if (otkcli_read_matrix(argv[1], &m, &err) != 0)
        bench_die("%s", err.msg);
    const size_t n = o->lr_rows && o->lr_rows < m.rows ? o->lr_rows : m.rows;
    const size_t f = m.cols - 1;
    if (m.cols < 2 || n < 4)
        bench_die("%s: need 4 rows of features and a label", argv[1]);
    if (train == 0)
        train = n / 2;
    if (train < 2 || train > n - 2)
        bench_die("TRAIN out of range for %s", argv[1]);
    size_t classes = 0;
    double scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double label = m.data[i * m.cols + f];
        if (!(label >= 0 && label < 1e6) || label != floor(label))
            bench_die("%s: labels must be integers >= 0", argv[1]);
        if ((size_t)label + 1 > classes)
            classes = (size_t)label + 1;
        for (size_t j = 0; j < f; j++)
            scale = fmax(scale, fabs(m.data[i * m.cols + j]));
    }
    if (scale == 0.0)
        scale = 1.0;
    size_t *order = bench_xmalloc(n, sizeof *order);
    double *x = bench_xmalloc(n * f, sizeof *x);
    int *y = bench_xmalloc(n, sizeof *y);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng)
        bench_die("out of memory%s", "");
    gsl_rng_set(rng, o->seed);
    gsl_ran_shuffle(rng, order, n, sizeof *order);
    gsl_rng_free(rng);
    for (size_t i = 0; i < n; i++) {
        const double *row = m.data + order[i] * m.cols;
        for (size_t j = 0; j < f; j++)
            x[i * f + j] = row[j] / scale;
        y[i] = (int)row[f];
    }
    otk_status st = otk_bilevel_logreg_create(
        x, y, train, x + train * f, y + train, n - train, f, classes, in);
    if (st != OTK_CONVERGED)
        bench_die("otk_bilevel_logreg_create: %s", otk_status_string(st));
    free(order);
    free(y);
    otkcli_matrix_free(&m);
    pd->name = "logreg";
    pd->n_train = train;
    pd->n_val = n - train;
    pd->f = f;
    pd->C = classes;
    pd->x_train = x; /* x + train * f is the validation part */
}

/* ---- callback profiling ------------------------------------------------- */

enum {
    CB_GRAD,
    CB_HVP,
    CB_CROSS_T,
    CB_UPPER,
    CB_CONST,
    CB_NORM,
    CB_LIP,
    CB_VALUE,
    CB_N
};
static const char *const cb_names[CB_N] = {
    "ll_grad",      "ll_hvp",     "cross_t",   "upper",
    "ll_constants", "cross_norm", "lipschitz", "ll_value"};

typedef struct prof {
    const otk_bilevel_problem *pb;
    size_t calls[CB_N];
    double secs[CB_N];
} prof;

#define PROF_CALL(pf, k, expr)                                                 \
    do {                                                                       \
        double t0_ = bench_now();                                              \
        int rc_ = (expr);                                                      \
        (pf)->secs[k] += bench_now() - t0_;                                    \
        (pf)->calls[k]++;                                                      \
        return rc_;                                                            \
    } while (0)

static int w_grad(void *u, const double *th, const double *x, double *g)
{
    prof *pf = u;
    PROF_CALL(pf, CB_GRAD, pf->pb->ll_grad(pf->pb->user, th, x, g));
}

static int w_hvp(void *u, const double *th, const double *x, const double *v,
                 double *out)
{
    prof *pf = u;
    PROF_CALL(pf, CB_HVP, pf->pb->ll_hvp(pf->pb->user, th, x, v, out));
}

static int w_cross_t(void *u, const double *th, const double *x,
                     const double *q, double *out)
{
    prof *pf = u;
    PROF_CALL(pf, CB_CROSS_T, pf->pb->cross_t(pf->pb->user, th, x, q, out));
}

static int w_upper(void *u, const double *x, double *g, double *grad)
{
    prof *pf = u;
    PROF_CALL(pf, CB_UPPER, pf->pb->upper(pf->pb->user, x, g, grad));
}

static int w_const(void *u, const double *th, double *mu, double *L)
{
    prof *pf = u;
    PROF_CALL(pf, CB_CONST, pf->pb->ll_constants(pf->pb->user, th, mu, L));
}

static int w_norm(void *u, const double *th, const double *x, double *nrm)
{
    prof *pf = u;
    PROF_CALL(pf, CB_NORM, pf->pb->cross_norm(pf->pb->user, th, x, nrm));
}

static int w_lip(void *u, const double *th, double *lb, double *la)
{
    prof *pf = u;
    PROF_CALL(pf, CB_LIP, pf->pb->lipschitz(pf->pb->user, th, lb, la));
}

static int w_value(void *u, const double *th, const double *x, double *h)
{
    prof *pf = u;
    PROF_CALL(pf, CB_VALUE, pf->pb->ll_value(pf->pb->user, th, x, h));
}

/* A copy of *pb whose callbacks time themselves into *pf. */
static otk_bilevel_problem wrap_problem(const otk_bilevel_problem *pb, prof *pf)
{
    memset(pf, 0, sizeof *pf);
    pf->pb = pb;
    otk_bilevel_problem w = *pb;
    w.user = pf;
    w.ll_grad = w_grad;
    w.ll_hvp = w_hvp;
    w.cross_t = w_cross_t;
    w.upper = w_upper;
    w.ll_constants = w_const;
    w.cross_norm = pb->cross_norm ? w_norm : NULL;
    w.lipschitz = pb->lipschitz ? w_lip : NULL;
    /* called by the L-BFGS lower solver only */
    w.ll_value = pb->ll_value ? w_value : NULL;
    if (pb->ll_solve)
        bench_die("a problem with its own ll_solve is not profiled%s", "");
    return w;
}

/* ---- trace recording ---------------------------------------------------- */

typedef struct trace_buf {
    size_t len, cap, p;
    otk_bilevel_trace_row *rows;
    double *thetas; /* len x p */
    size_t repeats; /* consecutive rejected rows at one point */
    int cancelled;  /* 1: the guard below stopped the run */
} trace_buf;

/* A rejected outer iteration at the theta, eps and delta of the row
 * before, which was rejected too. The fixed-accuracy baseline gets there
 * when no step can pass its test: its step size, eps and delta then never
 * change, and each further outer iteration redoes the same hypergradient
 * and the same trial steps (only x still moves, by the gradient step each
 * certified lower-level check ends with). After STUCK_ROWS such rows the
 * run is cancelled instead of spinning until max_iter. MAID and HOAG
 * change eps on every rejection, so this never stops them. */
#define STUCK_ROWS 50
static int same_point_rejected(const trace_buf *t,
                               const otk_bilevel_trace_row *row,
                               const double *theta)
{
    if (t->len < 2 || row->accepted)
        return 0;
    const otk_bilevel_trace_row *prev = &t->rows[t->len - 1];
    return !prev->accepted && prev->iteration > 0 && prev->eps == row->eps &&
           prev->delta == row->delta &&
           memcmp(t->thetas + (t->len - 1) * t->p, theta,
                  t->p * sizeof *theta) == 0;
}

static int on_row(void *user, const otk_progress *pr)
{
    trace_buf *t = user;
    const otk_bilevel_trace_row *row = pr->detail;
    const double *theta = row->theta;
    t->repeats = same_point_rejected(t, row, theta) ? t->repeats + 1 : 0;
    if (t->len == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        otk_bilevel_trace_row *r = realloc(t->rows, cap * sizeof *r);
        double *th = r ? realloc(t->thetas, cap * t->p * sizeof *th) : NULL;
        if (r)
            t->rows = r;
        if (!th)
            bench_die("out of memory%s", "");
        t->thetas = th;
        t->cap = cap;
    }
    t->rows[t->len] = *row;
    memcpy(t->thetas + t->len * t->p, theta, t->p * sizeof *theta);
    t->len++;
    if (t->repeats >= STUCK_ROWS)
        t->cancelled = 1;
    return t->cancelled;
}

/* ---- tight evaluation of f = g(xhat(theta)) (untimed) ------------------- */

/* g at a lower solution of accuracy eps from the warm start xw; the CG
 * tolerance is huge so that no CG iteration runs (only the lower solve
 * matters here). NaN when the solve fails. */
static double tight_f(const otk_bilevel_problem *pb, const double *theta,
                      const double *xw, double eps, size_t *iterations)
{
    double *x = bench_xmalloc(pb->n, sizeof *x);
    double *z = bench_xmalloc(pb->p, sizeof *z);
    memcpy(x, xw, pb->n * sizeof *x);
    double g = NAN;
    otk_bilevel_settings s;
    otk_bilevel_default_settings(&s);
    s.ll_max_iter = 10000000;
    s.cg_max_iter = 10;
    otk_bilevel_info info;
    otk_status st =
        otk_bilevel_hypergradient(pb, &s, theta, eps, 1e300, x, NULL, z, &info);
    if (st == OTK_CONVERGED && pb->upper(pb->user, x, &g, NULL) != 0)
        g = NAN;
    if (iterations)
        *iterations = info.ll_iterations;
    free(x);
    free(z);
    return st == OTK_CONVERGED ? g : NAN;
}

/* ---- one method ---------------------------------------------------------- */

typedef struct run_result {
    int used;
    trace_buf trace;
    otk_bilevel_info info;
    otk_status status;
    double *theta, *x; /* final */
    double wall, cpu, f_tight;
} run_result;

static void settings_for(int k, const options *o, otk_bilevel_settings *s)
{
    otk_bilevel_default_settings(s);
    s->budget = o->budget;
    s->max_iter = o->max_iter;
    s->ll_max_iter = o->caps;
    s->cg_max_iter = o->caps;
    s->method = specs[k].method;
    s->error_mode = specs[k].mode;
    s->eps0 = s->delta0 = specs[k].eps0 > 0 ? specs[k].eps0 : o->eps0;
}

static void run_method(int k, const otk_bilevel_instance *in, const options *o,
                       const problem_data *pd, run_result *res)
{
    const otk_bilevel_problem *pb = &in->problem;
    otk_bilevel_settings s;
    settings_for(k, o, &s);
    prof pf;
    otk_bilevel_problem w = wrap_problem(pb, &pf);
    res->used = 1;
    res->trace.p = pb->p;
    res->theta = bench_xmalloc(pb->p, sizeof *res->theta);
    res->x = bench_xmalloc(pb->n, sizeof *res->x);
    memcpy(res->theta, in->theta0, pb->p * sizeof *res->theta);
    memcpy(res->x, in->x0, pb->n * sizeof *res->x);
    s.progress = on_row;
    s.progress_user = &res->trace;
    const double load0 = loadavg();
    const double c0 = bench_cpu_now(), t0 = bench_now();
    res->status = otk_bilevel_solve(&w, &s, res->theta, res->x, &res->info);
    res->wall = bench_now() - t0;
    res->cpu = bench_cpu_now() - c0;
    const double load1 = loadavg();
    if (res->status < 0)
        bench_die("otk_bilevel_solve failed: %s",
                  otk_status_string(res->status));
    size_t tight_its = 0;
    res->f_tight = tight_f(pb, res->theta, res->x, o->tight_eps, &tight_its);

    const otk_bilevel_info *info = &res->info;
    const size_t cost = info->ll_iterations + info->cg_iterations;
    printf("{\"mode\": \"run\", \"problem\": \"%s\", \"method\": \"%s\", "
           "\"otkit_version\": \"%s\", ",
           pd->name, specs[k].name, otk_version());
    printf("\"error_mode\": \"%s\", ",
           s.error_mode == OTK_BILEVEL_CERTIFIED ? "certified" : "practical");
    bench_jnum("eps0", s.eps0, 0);
    bench_jnum("delta0", s.delta0, 0);
    bench_jnum("alpha0", s.alpha0, 0);
    bench_jnum("budget", s.budget, 0);
    printf("\"max_iter\": %zu, \"ll_max_iter\": %zu, \"cg_max_iter\": %zu, "
           "\"status\": \"%s\", \"cause\": \"%s\", "
           "\"cancelled_stuck\": %s, \"iterations\": %zu, "
           "\"accepted\": %zu, ",
           s.max_iter, s.ll_max_iter, s.cg_max_iter,
           otk_status_name(res->status),
           info->outcome.cause ? info->outcome.cause : "",
           res->trace.cancelled ? "true" : "false", info->iterations,
           info->accepted);
    bench_jnum("upper_loss", info->upper_loss, 0);
    bench_jnum("f_tight", res->f_tight, 0);
    printf("\"f_tight_iterations\": %zu, \"ll_iterations\": %zu, "
           "\"cg_iterations\": %zu, ",
           tight_its, info->ll_iterations, info->cg_iterations);
    bench_jnum("eps_final", info->eps, 0);
    bench_jnum("grad_norm", info->grad_norm, 0);
    bench_jnum("time_s", info->outcome.time_s, 0);
    bench_jnum("wall_s", res->wall, 0);
    bench_jnum("cpu_s", res->cpu, 0);
    bench_jnum("time_per_iteration_s",
               cost ? info->outcome.time_s / (double)cost : NAN, 0);
    bench_jnum("cpu_per_iteration_s", cost ? res->cpu / (double)cost : NAN, 0);
    bench_jnum("loadavg_start", load0, 0);
    bench_jnum("loadavg_end", load1, 0);
    printf("\"calls\": {");
    for (int c = 0; c < CB_N; c++)
        printf("\"%s\": %zu%s", cb_names[c], pf.calls[c],
               c + 1 < CB_N ? ", " : "");
    printf("}, \"callback_s\": {");
    for (int c = 0; c < CB_N; c++)
        bench_jnum(cb_names[c], pf.secs[c], c + 1 == CB_N);
    printf("}, \"trace_columns\": [\"iteration\", \"upper_loss\", "
           "\"upper_bound\", \"lower_bound\", \"eps\", \"step\", "
           "\"ll_iterations\", \"cg_iterations\", \"accepted\", \"time_s\"], "
           "\"trace\": [");
    for (size_t r = 0; r < res->trace.len; r++) {
        const otk_bilevel_trace_row *row = &res->trace.rows[r];
        const double v[6] = {row->upper_loss,  row->upper_bound,
                             row->lower_bound, row->eps,
                             row->step,        row->time_s};
        printf("%s[%zu", r ? ", " : "", row->iteration);
        for (int c = 0; c < 5; c++)
            printf(isfinite(v[c]) ? ", %.17g" : ", null", v[c]);
        printf(", %zu, %zu, %d, %.9g]", row->ll_iterations, row->cg_iterations,
               row->accepted, v[5]);
    }
    printf("]}\n");
    fflush(stdout);
}

/* ---- kernels: one callback call against one pass over the data ---------- */

static double sum8(const double *v, size_t len)
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

typedef struct kernel_ctx {
    const otk_bilevel_problem *pb;
    const problem_data *pd;
    const double *theta, *xa, *xb, *v, *data;
    double *out, *prod, *W;
    size_t calls;
    volatile double sink;
} kernel_ctx;

enum { K_GRAD, K_HVP, K_UPPER, K_PASS };

static void kernel_once(kernel_ctx *c, int which)
{
    const otk_bilevel_problem *pb = c->pb;
    double g;
    int rc = 0;
    switch (which) {
    case K_GRAD: /* alternate W so that logreg's softmax cache misses */
        rc = pb->ll_grad(pb->user, c->theta, (c->calls & 1) ? c->xb : c->xa,
                         c->out);
        break;
    case K_HVP: rc = pb->ll_hvp(pb->user, c->theta, c->xa, c->v, c->out); break;
    case K_UPPER: rc = pb->upper(pb->user, c->xa, &g, c->out); break;
    default:
        if (c->pd->x_train) {
            const problem_data *pd = c->pd;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                        (int)pd->n_train, (int)pd->C, (int)pd->f, 1.0,
                        pd->x_train, (int)pd->f, c->W, (int)pd->C, 0.0, c->prod,
                        (int)pd->C);
            c->sink = c->prod[0];
        } else {
            c->sink = sum8(c->data, pb->n);
        }
    }
    if (rc != 0)
        bench_die("a callback failed while timing %s", "kernels");
    c->calls++;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Up to 2000 calls or about 0.2 s of them (at least 10), after one
 * untimed call: the best time, and the median in *median. */
static double best_of(kernel_ctx *c, int which, size_t *reps, double *median)
{
    double t[2000], spent = 0.0;
    size_t r;
    kernel_once(c, which); /* warm caches; not counted */
    for (r = 0; r < 2000 && (r < 10 || spent < 0.2); r++) {
        double t0 = bench_now();
        kernel_once(c, which);
        t[r] = bench_now() - t0;
        spent += t[r];
    }
    qsort(t, r, sizeof *t, cmp_double);
    *reps = r;
    *median = r % 2 ? t[r / 2] : 0.5 * (t[r / 2 - 1] + t[r / 2]);
    return t[0];
}

static void kernels(const otk_bilevel_instance *in, const problem_data *pd,
                    const double *theta, const double *x)
{
    const otk_bilevel_problem *pb = &in->problem;
    if (!pd->x_train && !in->noisy)
        return; /* quadratic: no data to pass over */
    kernel_ctx c = {0};
    double *xb = bench_xmalloc(pb->n, sizeof *xb);
    double *v = bench_xmalloc(pb->n, sizeof *v);
    c.out = bench_xmalloc(pb->n, sizeof *c.out);
    uint64_t s = 7;
    for (size_t i = 0; i < pb->n; i++) {
        xb[i] = x[i] + 1e-3 * bench_rng_normal(&s);
        v[i] = bench_rng_normal(&s);
    }
    c.pb = pb;
    c.pd = pd;
    c.theta = theta;
    c.xa = x;
    c.xb = xb;
    c.v = v;
    c.data = in->noisy;
    if (pd->x_train) {
        c.prod = bench_xmalloc(pd->n_train * pd->C, sizeof *c.prod);
        c.W = bench_xmalloc(pd->f * pd->C, sizeof *c.W);
        memcpy(c.W, x, pd->f * pd->C * sizeof *c.W);
    }
    const double load0 = loadavg();
    size_t r_grad, r_hvp, r_upper, r_pass;
    double m_grad, m_hvp, m_upper, m_pass;
    const double t_pass = best_of(&c, K_PASS, &r_pass, &m_pass);
    const double t_grad = best_of(&c, K_GRAD, &r_grad, &m_grad);
    const double t_hvp = best_of(&c, K_HVP, &r_hvp, &m_hvp);
    const double t_upper = best_of(&c, K_UPPER, &r_upper, &m_upper);
    printf("{\"mode\": \"kernels\", \"problem\": \"%s\", \"n\": %zu, "
           "\"p\": %zu, ",
           pd->name, pb->n, pb->p);
    if (pd->x_train)
        printf("\"pass\": \"cblas_dgemm X W: %zu x %zu times %zu x %zu\", "
               "\"pass_flops\": %zu, ",
               pd->n_train, pd->f, pd->f, pd->C,
               2 * pd->n_train * pd->f * pd->C);
    else
        printf("\"pass\": \"sum of the %zu noisy pixels (8 accumulators)\", "
               "\"pass_bytes\": %zu, ",
               pb->n, pb->n * sizeof(double));
    printf("\"reps\": {\"pass\": %zu, \"ll_grad\": %zu, \"ll_hvp\": %zu, "
           "\"upper\": %zu}, ",
           r_pass, r_grad, r_hvp, r_upper);
    bench_jnum("pass_s", t_pass, 0);
    bench_jnum("ll_grad_s", t_grad, 0);
    bench_jnum("ll_hvp_s", t_hvp, 0);
    bench_jnum("upper_s", t_upper, 0);
    bench_jnum("pass_median_s", m_pass, 0);
    bench_jnum("ll_grad_median_s", m_grad, 0);
    bench_jnum("ll_hvp_median_s", m_hvp, 0);
    bench_jnum("upper_median_s", m_upper, 0);
    bench_jnum("ll_grad_per_pass", t_grad / t_pass, 0);
    bench_jnum("ll_hvp_per_pass", t_hvp / t_pass, 0);
    bench_jnum("loadavg_start", load0, 0);
    bench_jnum("loadavg_end", loadavg(), 1);
    printf("}\n");
    fflush(stdout);
    free(xb);
    free(v);
    free(c.out);
    free(c.prod);
    free(c.W);
}

/* ---- targets ------------------------------------------------------------- */

/* The first row of a run whose trace loss is <= target and whose true f
 * (a tight re-solve, warm-started from the run's final x) confirms it;
 * rows whose trace loss is under the target only because of an inexact
 * lower solution are skipped. At most MAX_CONFIRM re-solves; -1 when no
 * row is confirmed. */
#define MAX_CONFIRM 40
static long confirmed_row(const otk_bilevel_problem *pb, const options *o,
                          const run_result *res, double target, double *f,
                          size_t *tries)
{
    const trace_buf *tb = &res->trace;
    *tries = 0;
    for (size_t r = 0; r < tb->len && *tries < MAX_CONFIRM; r++) {
        if (!(tb->rows[r].upper_loss <= target))
            continue;
        (*tries)++;
        *f = tight_f(pb, tb->thetas + r * tb->p, res->x, o->tight_eps, NULL);
        if (*f <= target)
            return (long)r;
    }
    return -1;
}

static void reach(const otk_bilevel_instance *in, const options *o,
                  const problem_data *pd, const run_result *res, double f0)
{
    const otk_bilevel_problem *pb = &in->problem;
    double f_best = INFINITY;
    int best_k = -1;
    for (int k = 0; k < N_METHODS; k++)
        if (res[k].used && res[k].f_tight < f_best) {
            f_best = res[k].f_tight;
            best_k = k;
        }
    if (best_k < 0)
        return;
    const char *names[3] = {"90%", "best+1%", "best+0.1%"};
    const double targets[3] = {f_best + 0.1 * (f0 - f_best),
                               f_best * (1.0 + 1e-2), f_best * (1.0 + 1e-3)};
    for (int t = 0; t < 3; t++)
        for (int k = 0; k < N_METHODS; k++) {
            if (!res[k].used)
                continue;
            const trace_buf *tb = &res[k].trace;
            double ft = NAN;
            size_t tries;
            long r = confirmed_row(pb, o, &res[k], targets[t], &ft, &tries);
            printf("{\"mode\": \"reach\", \"problem\": \"%s\", "
                   "\"target_name\": \"%s\", ",
                   pd->name, names[t]);
            bench_jnum("target", targets[t], 0);
            bench_jnum("f0", f0, 0);
            bench_jnum("f_best", f_best, 0);
            printf("\"best_method\": \"%s\", \"method\": \"%s\", "
                   "\"tight_resolves\": %zu, ",
                   specs[best_k].name, specs[k].name, tries);
            if (r < 0) {
                printf("\"reached\": false}\n");
                continue;
            }
            const otk_bilevel_trace_row *row = &tb->rows[r];
            printf("\"reached\": true, \"iteration\": %zu, "
                   "\"ll_iterations\": %zu, \"cg_iterations\": %zu, "
                   "\"lower_plus_cg\": %zu, ",
                   row->iteration, row->ll_iterations, row->cg_iterations,
                   row->ll_iterations + row->cg_iterations);
            bench_jnum("upper_loss", row->upper_loss, 0);
            bench_jnum("f_tight", ft, 0);
            bench_jnum("time_s", row->time_s, 1);
            printf("}\n");
        }
    fflush(stdout);
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s [OPTIONS] tv2d SIZE NOISE IMAGE...\n"
            "       %s [OPTIONS] foe SIZE NOISE IMAGE...\n"
            "       %s [OPTIONS] logreg TRAIN CSV\n"
            "       %s [OPTIONS] quadratic ROWS DIM COND\n"
            "Options: --seed S (0) --budget B (1e5) --max-iter K (2000)\n"
            "  --caps N (100000: ll_max_iter and cg_max_iter)\n"
            "  --eps0 E (0.1: the runs without their own eps0)\n"
            "  --tight-eps E (1e-6: the untimed evaluations of f)\n"
            "  --lr-rows N (0: all; logreg uses the first N rows)\n"
            "  --filters K (8) --filter-size S (5): foe\n"
            "  --methods LIST (a comma list of the run names, default all)\n"
            "JSON lines on stdout; see the comment at the top of "
            "bench/bench_maid.c.\n",
            bench_prog, bench_prog, bench_prog, bench_prog);
}

int main(int argc, char **argv)
{
    bench_prog = "bench-maid";
    options o = {0, 1e5, 0.1, 1e-6, 2000, 100000, 0, 8, 5, {0}};
    for (int k = 0; k < N_METHODS; k++)
        o.use[k] = 1;
    int k = 1;
    while (k < argc && strncmp(argv[k], "--", 2) == 0) {
        const char *opt = argv[k];
        if (strcmp(opt, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (k + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        const char *val = argv[k + 1];
        if (strcmp(opt, "--seed") == 0)
            o.seed = parse_seed(val);
        else if (strcmp(opt, "--budget") == 0)
            o.budget = bench_parse_double(val, "--budget");
        else if (strcmp(opt, "--max-iter") == 0)
            o.max_iter = bench_parse_size(val, "--max-iter");
        else if (strcmp(opt, "--caps") == 0)
            o.caps = bench_parse_size(val, "--caps");
        else if (strcmp(opt, "--eps0") == 0)
            o.eps0 = bench_parse_double(val, "--eps0");
        else if (strcmp(opt, "--tight-eps") == 0)
            o.tight_eps = bench_parse_double(val, "--tight-eps");
        else if (strcmp(opt, "--lr-rows") == 0)
            o.lr_rows = bench_parse_size(val, "--lr-rows");
        else if (strcmp(opt, "--filters") == 0)
            o.filters = bench_parse_size(val, "--filters");
        else if (strcmp(opt, "--filter-size") == 0)
            o.filter_size = bench_parse_size(val, "--filter-size");
        else if (strcmp(opt, "--methods") == 0)
            parse_methods(val, o.use);
        else {
            usage(stderr);
            return 2;
        }
        k += 2;
    }
    if (k >= argc) {
        usage(stderr);
        return 2;
    }
    const char *mode = argv[k];
    otk_bilevel_instance in;
    problem_data pd = {0};
    int rest = argc - k - 1;
    char **args = argv + k + 1;
    if (strcmp(mode, "tv2d") == 0 || strcmp(mode, "foe") == 0)
        make_denoise(&o, mode[0] == 'f', rest, args, &in, &pd);
    else if (strcmp(mode, "logreg") == 0)
        make_logreg(&o, rest, args, &in, &pd);
    else if (strcmp(mode, "quadratic") == 0)
        make_quadratic(&o, rest, args, &in, &pd);
    else {
        usage(stderr);
        return 2;
    }
    const otk_bilevel_problem *pb = &in.problem;

    size_t f0_its = 0;
    const double f0 = tight_f(pb, in.theta0, in.x0, o.tight_eps, &f0_its);
    printf("{\"mode\": \"instance\", \"problem\": \"%s\", \"n\": %zu, "
           "\"p\": %zu, \"seed\": %lu, ",
           pd.name, pb->n, pb->p, o.seed);
    if (pd.x_train)
        printf("\"n_train\": %zu, \"n_val\": %zu, \"features\": %zu, "
               "\"classes\": %zu, ",
               pd.n_train, pd.n_val, pd.f, pd.C);
    else
        printf("\"size\": %zu, \"images\": %zu, \"noise\": %.17g, ", pd.size,
               pd.images, pd.noise);
    bench_jnum("f0", f0, 0);
    bench_jnum("tight_eps", o.tight_eps, 0);
    bench_jnum("loadavg", loadavg(), 1);
    printf("}\n");
    fflush(stdout);

    run_result res[N_METHODS];
    memset(res, 0, sizeof res);
    for (int m = 0; m < N_METHODS; m++)
        if (o.use[m])
            run_method(m, &in, &o, &pd, &res[m]);

    /* the kernels at the first run's final theta and x */
    int first = 0;
    while (first < N_METHODS && !res[first].used)
        first++;
    if (first < N_METHODS)
        kernels(&in, &pd, res[first].theta, res[first].x);
    else
        kernels(&in, &pd, in.theta0, in.x0);
    reach(&in, &o, &pd, res, f0);

    for (int m = 0; m < N_METHODS; m++) {
        free(res[m].trace.rows);
        free(res[m].trace.thetas);
        free(res[m].theta);
        free(res[m].x);
    }
    free(pd.x_train);
    otk_bilevel_instance_free(&in);
    return 0;
}
