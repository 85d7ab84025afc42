/*
 * monge_gap_figures: the computations behind the Monge-gap figures
 * (Uscidda and Cuturi, "The Monge Gap: A Regularizer to Learn All
 * Transport Maps", ICML 2023; ott-jax's Monge-gap tutorial), done with
 * otkit: map fitting (otk_mg_fit), entropic and exact Monge gaps
 * (otk_monge_gap), Sinkhorn divergences (otk_mg_divergence). It writes CSV
 * files into OUT_DIR; plot_figures.py turns them into PNGs. Nothing here
 * plots. Settings: project notes monge_gap_entropic.md A5 and A7 (R1, R3),
 * shortened to run in a few minutes (docs/figures.md lists them).
 *
 *   monge_gap_figures OUT_DIR [FIGURES]
 *
 * FIGURES is a string of figure numbers to compute (default "123").
 * For quick experiments only (make_figures.sh sets none of them), the
 * environment variables MGF_STEPS1, MGF_BATCH1, MGF_LR1 (figure 1),
 * MGF_TOL_FIT (figure 1's training Sinkhorn tolerance), MGF_NOSWEEP
 * (figure 1 without the lambda sweep), MGF_STEPS4 (steps of the Gaussian
 * fits), MGF_RELREG4 (their gap.relative_reg), MGF_VALIDATE4 (their
 * validate_every), MGF_T4_DIMS="D,D,.." (their dimensions), MGF_T4_SEEDS
 * (table 4's seed count, default 3), MGF_T4_FIRST_SEED (its first seed,
 * default 0: two processes can share the grid), MGF_T4_LAMBDAS = K and
 * MGF_T4_FROM = J (table 4's lambdas J..K-1 of 0, 1, 10) override the
 * settings below;
 * MGF_T4_WRITE also writes the Gaussian fits' training samples
 * (t4_dD_sS_source.csv and _target.csv, for timing otk-mongegap fit on
 * the same data). Figure 3 and table
 * 4 fit with otk_mg_fit's defaults: figure 3 is seed 0 of table 4's grid.
 *
 * Files written (all CSV have a header line):
 *   fig1_points.csv   held-out moon (source) and S-curve (target) points:
 *                     set, x, y
 *   fig1_map_<run>.csv
 *                     the fitted map on the held-out sources: x0, x1, y0,
 *                     y1, shown (1 for the 30 points drawn as arrows)
 *   fig1_trace.csv    every 10 steps: run, step, loss, fitting, gap (the
 *                     training batch's terms, from the progress callback)
 *   fig1_valid.csv    every 100 steps, on held-out batches: run, step,
 *                     divergence, gap_entropic (the run's own cost and
 *                     reg), gap_exact_sq, gap_exact_l2
 *   fig1_runs.csv     one row per fitted map, measured on the held-out
 *                     points: exact gaps under both costs, the entropic
 *                     gap (own cost and reg), displacement costs, the
 *                     divergence, crossing segments among the first 256
 *                     and among the 30 drawn
 *   fig2_rotation.csv rotation maps of a 2-D Gaussian sample: cost, angle,
 *                     the exact gap and entropic gaps at two regs
 *   fig3_gauss.csv    Gaussian -> Gaussian, one row per default fit (seed
 *                     0): d, seed, lambda, status, L2-UVP beside the moment
 *                     map's and the identity's, cosine, held-out divergence
 *                     and exact gap of the fitted and the true map, regs,
 *                     gradient norms, Sinkhorn iterations, CPU time
 *   table4_gauss.csv  the same columns, seeds 0..2, lambda 0, 1, 10 (with
 *                     "4" in FIGURES)
 *   summary.csv       one row per otk_mg_fit call: figure, run, status,
 *                     steps, Sinkhorn iterations, steps with an inner solve
 *                     stopped at its cap, regs, time
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include <otkit/otkit.h>

#include "../figure_util.h"

#include "gauss_linalg.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static FILE *summary;

static const char *cost_name(otk_metric c)
{
    return c == OTK_METRIC_SQEUCLIDEAN ? "sqeuclidean"
           : c == OTK_METRIC_EUCLIDEAN ? "euclidean"
                                       : "pnorm";
}

/* Mean of the cost over all pairs (x_i, y_j): the base of the tutorial's
 * relative regs (epsilon = 0.01 or 0.1 times this). */
static double mean_cost(otk_metric cost, const double *x, size_t n,
                        const double *y, size_t m, size_t d)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double q = 0.0;
            for (size_t k = 0; k < d; k++) {
                double t = x[i * d + k] - y[j * d + k];
                q += t * t;
            }
            s += cost == OTK_METRIC_EUCLIDEAN ? sqrt(q) : q;
        }
    return s / ((double)n * (double)m);
}

/* Sinkhorn settings for every solve here: one thread (the machine is
 * shared and results are then reproducible), tolerance as given. */
static void gap_settings(otk_mg_settings *s, otk_metric cost, int exact,
                         double reg, double tol)
{
    otk_mg_default_settings(s);
    s->metric = cost;
    s->exact = exact;
    s->reg = reg;
    s->sinkhorn.threads = 1;
    s->sinkhorn.tol = tol;
}

/* The exact (network simplex) Monge gap of the pairs (x_i, y_i). */
static double exact_gap(otk_metric cost, const double *x, const double *y,
                        size_t n, size_t d, otk_status *status)
{
    otk_mg_settings s;
    gap_settings(&s, cost, 1, 0.0, 1e-9);
    otk_mg_info info;
    otk_status st = otk_monge_gap(x, y, n, d, &s, NULL, &info);
    if (status != NULL)
        *status = st;
    if (st < 0) {
        fprintf(stderr, "exact gap: %s (%s)\n", otk_status_name(st),
                info.outcome.bad_argument ? info.outcome.bad_argument : "-");
        return NAN;
    }
    return info.monge_gap;
}

/* Stopping tolerance (L1 marginal residual) of the evaluation solves.
 * 1e-9 is out of reach in 100000 iterations for some of the small-reg
 * problems here (docs/figures.md, anomalies); 1e-5 changes the values by
 * less than 1e-6 relative. */
static double eval_tol = 1e-5;

/* Entropic Monge gap at an absolute reg. */
static double entropic_gap(otk_metric cost, const double *x, const double *y,
                           size_t n, size_t d, double reg, otk_mg_info *info)
{
    otk_mg_settings s;
    gap_settings(&s, cost, 0, reg, eval_tol);
    s.sinkhorn.max_iter = 100000;
    otk_status st = otk_monge_gap(x, y, n, d, &s, NULL, info);
    if (st != OTK_CONVERGED)
        fprintf(stderr, "  entropic gap (%s, reg %.3g): %s\n", cost_name(cost),
                reg, otk_status_name(st));
    return st < 0 ? NAN : info->monge_gap;
}

/* Sinkhorn divergence S(y, z), squared Euclidean cost, at an absolute reg. */
static double divergence(const double *y, size_t n, const double *z, size_t m,
                         size_t d, double reg, otk_status *status)
{
    otk_mg_settings s;
    gap_settings(&s, OTK_METRIC_SQEUCLIDEAN, 0, reg, eval_tol);
    s.sinkhorn.max_iter = 100000;
    double v = NAN;
    otk_mg_info info;
    otk_status st = otk_mg_divergence(y, n, z, m, d, &s, &v, NULL, &info);
    if (status != NULL)
        *status = st;
    if (st != OTK_CONVERGED)
        fprintf(stderr, "  divergence (reg %.3g): %s\n", reg,
                otk_status_name(st));
    return st < 0 ? NAN : v;
}

/* ---- map fitting with a progress recorder ---- */

typedef struct fit_job {
    const char *fig, *run;
    size_t d;
    size_t hidden[3]; /* widths of the 3 hidden layers */
    otk_metric cost;
    double lambda;
    size_t steps, batch;
    double lr;
    unsigned long seed;
    const double *src, *tgt; /* training pools, n_pool x d each */
    size_t n_pool;
    double fit_reg, gap_reg; /* absolute regs (tutorial: relative, fixed) */
    int eps_scaling;         /* of the training solves: -1 auto, 0 off */
    /* optional held-out batches for validation curves (n_valid each) */
    const double *vsrc, *vtgt;
    size_t n_valid, valid_every;
    FILE *trace, *valid; /* or NULL */
} fit_job;

typedef struct recorder {
    const fit_job *job;
    const otk_mg_map *map;
    double *mapped; /* n_valid x d */
    size_t nonfinite;
} recorder;

static int record(void *user, const otk_progress *pr)
{
    recorder *r = user;
    const otk_mg_fit_progress *p = pr->detail;
    const fit_job *j = r->job;
    if (!isfinite(p->loss))
        r->nonfinite++;
    if (j->trace != NULL && (p->step % 10 == 0 || p->step == 1))
        fprintf(j->trace, "%s,%zu,%.8g,%.8g,%.8g\n", j->run, p->step, p->loss,
                p->fitting, p->monge_gap);
    if (j->valid != NULL && j->vsrc != NULL &&
        (p->step % j->valid_every == 0 || p->step == 1)) {
        if (otk_mg_map_apply(r->map, j->vsrc, j->n_valid, r->mapped) != 0)
            figure_die("map apply failed");
        double s = divergence(r->mapped, j->n_valid, j->vtgt, j->n_valid, j->d,
                              j->fit_reg, NULL);
        otk_mg_info gi;
        double m = entropic_gap(j->cost, j->vsrc, r->mapped, j->n_valid, j->d,
                                j->gap_reg, &gi);
        double sq = exact_gap(OTK_METRIC_SQEUCLIDEAN, j->vsrc, r->mapped,
                              j->n_valid, j->d, NULL);
        double l2 = exact_gap(OTK_METRIC_EUCLIDEAN, j->vsrc, r->mapped,
                              j->n_valid, j->d, NULL);
        fprintf(j->valid, "%s,%zu,%.8g,%.8g,%.8g,%.8g\n", j->run, p->step, s, m,
                sq, l2);
    }
    return 0;
}

/* Sinkhorn tolerance of the training solves: ott-jax's threshold (L1
 * column-marginal error 1e-3, the same units as otkit's residual) rather
 * than otk_mg_fit's default 1e-6, which took 24-50% more iterations on
 * figure 1 for the same final losses (to 4 digits) */
static double fit_tol = 1e-3;

/* A new map fitted as the job says; the caller frees it. */
static otk_mg_map *fit(const fit_job *j, otk_mg_fit_info *info)
{
    otk_mg_map *map =
        otk_mg_map_create(j->d, j->hidden, 3, OTK_ACT_GELU, 1000 + j->seed);
    if (map == NULL)
        figure_die("otk_mg_map_create failed");
    otk_mg_fit_settings s;
    otk_mg_fit_default_settings(&s);
    s.gap.metric = j->cost;
    s.gap.reg = j->gap_reg;
    s.gap.sinkhorn.threads = 1;
    s.gap.sinkhorn.tol = fit_tol;
    s.gap.sinkhorn.eps_scaling = j->eps_scaling;
    s.lambda = j->lambda;
    s.fit_reg = j->fit_reg;
    s.steps = j->steps;
    s.batch = j->batch;
    s.lr = j->lr;
    s.seed = j->seed;
    recorder r = {j, map, NULL, 0};
    if (j->vsrc != NULL)
        r.mapped = figure_xmalloc(j->n_valid * j->d * sizeof *r.mapped);
    s.progress = record;
    s.progress_user = &r;
    otk_status st =
        otk_mg_fit(map, j->src, j->n_pool, j->tgt, j->n_pool, &s, info);
    free(r.mapped);
    fprintf(summary,
            "%s,%s,%zu,%s,%.6g,%s,%zu,%zu,%zu,%zu,%.6g,%.6g,%.6g,%.8g,%zu,"
            "%.3f\n",
            j->fig, j->run, j->d, cost_name(j->cost), j->lambda,
            otk_status_name(st), info->steps, j->batch,
            info->sinkhorn_iterations, info->inner_not_converged, info->fit_reg,
            info->gap_reg, j->lr, info->last.loss, r.nonfinite,
            info->outcome.time_s);
    fflush(summary);
    fprintf(stderr,
            "  fit %-4s %-14s d=%-3zu %-11s lambda=%-5g %s steps=%zu "
            "sinkhorn_its=%zu (%.0f/step, capped in %zu steps) loss=%.4g "
            "%.1fs\n",
            j->fig, j->run, j->d, cost_name(j->cost), j->lambda,
            otk_status_name(st), info->steps, info->sinkhorn_iterations,
            (double)info->sinkhorn_iterations /
                (double)(info->steps + !info->steps),
            info->inner_not_converged, info->last.loss, info->outcome.time_s);
    if (st < 0) {
        fprintf(stderr, "otk_mg_fit: %s (%s)\n", otk_status_string(st),
                info->outcome.bad_argument ? info->outcome.bad_argument : "-");
        exit(1);
    }
    return map;
}

/* ---- figure 1: moons -> S-curve ---- */

static void rotate2(double *p, double theta)
{
    double c = cos(theta), s = sin(theta);
    double x = c * p[0] - s * p[1], y = s * p[0] + c * p[1];
    p[0] = x;
    p[1] = y;
}

/* sklearn make_moons(n_samples=(n, 0), noise): the upper half circle on an
 * even grid of angles, plus N(0, noise^2); rotated by pi/6, shifted by
 * (0, -0.5) as in the tutorial. */
static void sample_moon(gsl_rng *rng, size_t n, double noise, double *X)
{
    for (size_t i = 0; i < n; i++) {
        double t = n > 1 ? M_PI * (double)i / (double)(n - 1) : 0.0;
        double *p = X + 2 * i;
        p[0] = cos(t) + gsl_ran_gaussian(rng, noise);
        p[1] = sin(t) + gsl_ran_gaussian(rng, noise);
        rotate2(p, M_PI / 6);
        p[1] += -0.5;
    }
}

/* sklearn make_s_curve(n, noise), columns [2, 0]: t = 3 pi (U - 1/2),
 * (sign(t)(cos t - 1), sin t) plus N(0, noise^2) per coordinate; rotated by
 * pi/2, scaled by 0.6, shifted by (1, -2) as in the tutorial. */
static void sample_s_curve(gsl_rng *rng, size_t n, double noise, double *X)
{
    for (size_t i = 0; i < n; i++) {
        double t = 3.0 * M_PI * (gsl_rng_uniform(rng) - 0.5);
        (void)gsl_rng_uniform(rng); /* sklearn's y = 2U, dropped */
        double *p = X + 2 * i;
        double z = (t > 0 ? 1.0 : t < 0 ? -1.0 : 0.0) * (cos(t) - 1.0);
        p[0] = z + gsl_ran_gaussian(rng, noise);
        p[1] = sin(t) + gsl_ran_gaussian(rng, noise);
        rotate2(p, M_PI / 2);
        p[0] = 1.0 + 0.6 * p[0];
        p[1] = -2.0 + 0.6 * p[1];
    }
}

/* Fisher-Yates shuffle of n 2-D points (the moon grid comes ordered). */
static void shuffle2(gsl_rng *rng, size_t n, double *X)
{
    for (size_t i = n; i > 1; i--) {
        size_t k = gsl_rng_uniform_int(rng, i);
        double t0 = X[2 * (i - 1)], t1 = X[2 * (i - 1) + 1];
        X[2 * (i - 1)] = X[2 * k];
        X[2 * (i - 1) + 1] = X[2 * k + 1];
        X[2 * k] = t0;
        X[2 * k + 1] = t1;
    }
}

static double orient(const double *a, const double *b, const double *c)
{
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
}

/* Pairs i < j among the first n whose displacement segments
 * [x_i, y_i] and [x_j, y_j] cross properly (strictly opposite sides). */
static size_t crossings(const double *x, const double *y, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            const double *p = x + 2 * i, *q = y + 2 * i, *r = x + 2 * j,
                         *s = y + 2 * j;
            double o1 = orient(p, q, r), o2 = orient(p, q, s);
            double o3 = orient(r, s, p), o4 = orient(r, s, q);
            if (((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) &&
                ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0)))
                count++;
        }
    return count;
}

enum {
    F1_POOL = 4096, /* training pools (batches are drawn from these) */
    F1_VALID = 256, /* held-out batches for the validation curves */
    F1_TEST = 512,  /* held-out sources for the reported metrics */
    F1_CROSS = 256, /* crossings are counted among the first 256 */
    F1_SHOWN = 30   /* arrows drawn */
};
static size_t f1_steps = 2000, f1_batch = 128;
static double f1_lr = 3e-3;

typedef struct f1_data {
    double *src, *tgt, *vsrc, *vtgt, *xtest, *ztest;
    double fit_reg, gap_reg_sq, gap_reg_l2;
    FILE *trace, *valid, *runs;
} f1_data;

static void f1_run(f1_data *D, const char *run, otk_metric cost, double lambda,
                   int curves)
{
    fit_job j = {0};
    j.fig = "fig1";
    j.run = run;
    j.d = 2;
    j.hidden[0] = 32; /* the tutorial's PotentialMLP([32, 64, 32]) */
    j.hidden[1] = 64;
    j.hidden[2] = 32;
    j.cost = cost;
    j.lambda = lambda;
    j.steps = f1_steps;
    j.batch = f1_batch;
    j.lr = f1_lr;
    j.seed = 1;
    j.src = D->src;
    j.tgt = D->tgt;
    j.n_pool = F1_POOL;
    j.fit_reg = D->fit_reg;
    j.gap_reg = cost == OTK_METRIC_EUCLIDEAN ? D->gap_reg_l2 : D->gap_reg_sq;
    /* off: here the automatic choice (on, as cost range / reg > 50)
     * doubles the iterations per step without changing the losses */
    j.eps_scaling = 0;
    if (curves) {
        j.vsrc = D->vsrc;
        j.vtgt = D->vtgt;
        j.n_valid = F1_VALID;
        j.valid_every = 100;
        j.trace = D->trace;
        j.valid = D->valid;
    }
    otk_mg_fit_info info;
    otk_mg_map *map = fit(&j, &info);

    double *y = figure_xmalloc(F1_TEST * 2 * sizeof *y);
    if (otk_mg_map_apply(map, D->xtest, F1_TEST, y) != 0)
        figure_die("map apply failed");
    char name[256];
    snprintf(name, sizeof name, "fig1_map_%s.csv", run);
    FILE *fp = figure_open(name);
    fprintf(fp, "x0,x1,y0,y1,shown\n");
    for (size_t i = 0; i < F1_TEST; i++)
        fprintf(fp, "%.10g,%.10g,%.10g,%.10g,%d\n", D->xtest[2 * i],
                D->xtest[2 * i + 1], y[2 * i], y[2 * i + 1], i < F1_SHOWN);
    figure_close(fp);

    otk_status st_sq, st_l2, st_div;
    double m0_sq =
        exact_gap(OTK_METRIC_SQEUCLIDEAN, D->xtest, y, F1_TEST, 2, &st_sq);
    double m0_l2 =
        exact_gap(OTK_METRIC_EUCLIDEAN, D->xtest, y, F1_TEST, 2, &st_l2);
    otk_mg_info gi;
    double meps = entropic_gap(cost, D->xtest, y, F1_TEST, 2, j.gap_reg, &gi);
    double S =
        divergence(y, F1_TEST, D->ztest, F1_TEST, 2, D->fit_reg, &st_div);
    /* displacement costs (1/n) sum c(x_i, T(x_i)), both costs */
    double disp_sq = 0.0, disp_l2 = 0.0;
    for (size_t i = 0; i < F1_TEST; i++) {
        double a = y[2 * i] - D->xtest[2 * i],
               b = y[2 * i + 1] - D->xtest[2 * i + 1];
        disp_sq += (a * a + b * b) / F1_TEST;
        disp_l2 += sqrt(a * a + b * b) / F1_TEST;
    }
    size_t cr = crossings(D->xtest, y, F1_CROSS);
    size_t cr_shown = crossings(D->xtest, y, F1_SHOWN);
    fprintf(D->runs,
            "%s,%s,%.6g,%s,%zu,%zu,%.6g,%.6g,%.8g,%s,%.8g,%s,%.8g,%.8g,%.8g,"
            "%.8g,%s,%zu,%zu,%zu,%.3f\n",
            run, cost_name(cost), lambda, otk_status_name(info.outcome.status),
            info.steps, f1_batch, info.fit_reg, info.gap_reg, m0_sq,
            otk_status_name(st_sq), m0_l2, otk_status_name(st_l2), meps,
            disp_sq, disp_l2, S, otk_status_name(st_div), cr,
            (size_t)F1_CROSS * (F1_CROSS - 1) / 2, cr_shown,
            info.outcome.time_s);
    fflush(D->runs);
    fprintf(stderr,
            "    test: M0 sq=%.5f l2=%.5f  S=%.5f  crossings %zu of %zu pairs "
            "(%zu among the %d shown)\n",
            m0_sq, m0_l2, S, cr, (size_t)F1_CROSS * (F1_CROSS - 1) / 2,
            cr_shown, F1_SHOWN);
    free(y);
    otk_mg_map_free(map);
}

static void figure1(void)
{
    fprintf(stderr,
            "figure 1: moons -> S-curve (%zu steps, batch %zu, lr %g)\n",
            f1_steps, f1_batch, f1_lr);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    f1_data D;
    D.src = figure_xmalloc(2 * F1_POOL * sizeof *D.src);
    D.tgt = figure_xmalloc(2 * F1_POOL * sizeof *D.tgt);
    D.vsrc = figure_xmalloc(2 * F1_VALID * sizeof *D.vsrc);
    D.vtgt = figure_xmalloc(2 * F1_VALID * sizeof *D.vtgt);
    D.xtest = figure_xmalloc(2 * F1_TEST * sizeof *D.xtest);
    D.ztest = figure_xmalloc(2 * F1_TEST * sizeof *D.ztest);
    const double noise = 0.05;
    sample_moon(rng, F1_POOL, noise, D.src);
    /* the moon sampler walks its angles in order: shuffled, the pool's
     * first batch is a random batch (not one end of the moon) */
    shuffle2(rng, F1_POOL, D.src);
    sample_s_curve(rng, F1_POOL, noise, D.tgt);
    sample_moon(rng, F1_VALID, noise, D.vsrc);
    sample_s_curve(rng, F1_VALID, noise, D.vtgt);
    sample_moon(rng, F1_TEST, noise, D.xtest);
    shuffle2(rng, F1_TEST, D.xtest); /* so the first 30 / 256 are random */
    sample_s_curve(rng, F1_TEST, noise, D.ztest);
    gsl_rng_free(rng);

    /* The tutorial's regs, fixed for the run: fit 0.1 x mean C(y, y) on a
     * target batch, gap 0.01 x mean C(x, y) between a source and a target
     * batch, each under its own cost (here on the first batch of each
     * shuffled pool, a random batch of the distribution, as the
     * tutorial's first batches are). */
    D.fit_reg =
        0.1 * mean_cost(OTK_METRIC_SQEUCLIDEAN, D.tgt, 256, D.tgt, 256, 2);
    D.gap_reg_sq =
        0.01 * mean_cost(OTK_METRIC_SQEUCLIDEAN, D.src, 256, D.tgt, 256, 2);
    D.gap_reg_l2 =
        0.01 * mean_cost(OTK_METRIC_EUCLIDEAN, D.src, 256, D.tgt, 256, 2);
    fprintf(stderr, "  regs: fit %.4g, gap sq %.4g, gap l2 %.4g\n", D.fit_reg,
            D.gap_reg_sq, D.gap_reg_l2);

    FILE *fp = figure_open("fig1_points.csv");
    fprintf(fp, "set,x,y\n");
    for (size_t i = 0; i < F1_TEST; i++)
        fprintf(fp, "source,%.10g,%.10g\n", D.xtest[2 * i], D.xtest[2 * i + 1]);
    for (size_t i = 0; i < F1_TEST; i++)
        fprintf(fp, "target,%.10g,%.10g\n", D.ztest[2 * i], D.ztest[2 * i + 1]);
    figure_close(fp);

    D.trace = figure_open("fig1_trace.csv");
    fprintf(D.trace, "run,step,loss,fitting,gap\n");
    D.valid = figure_open("fig1_valid.csv");
    fprintf(D.valid,
            "run,step,divergence,gap_entropic,gap_exact_sq,gap_exact_l2\n");
    D.runs = figure_open("fig1_runs.csv");
    fprintf(D.runs,
            "run,cost,lambda,status,steps,batch,fit_reg,gap_reg,exact_gap_sq,"
            "status_sq,exact_gap_l2,status_l2,entropic_gap,disp_sq,disp_l2,"
            "divergence,status_div,crossings,pairs,crossings_shown,time_s\n");

    size_t lambda_count = 5;
    /* the three tutorial runs, with validation curves */
    f1_run(&D, "none", OTK_METRIC_SQEUCLIDEAN, 0.0, 1);
    f1_run(&D, "l2_2", OTK_METRIC_EUCLIDEAN, 2.0, 1);
    f1_run(&D, "sq_0.1", OTK_METRIC_SQEUCLIDEAN, 0.1, 1);
    /* the lambda sweep (notes A7 R1), both costs */
    if (getenv("MGF_NOSWEEP") != NULL)
        lambda_count = 0;
    static const double lambdas[] = {0.1, 0.5, 1.0, 2.0, 5.0};
    for (size_t k = 0; k < lambda_count; k++) {
        char run[64];
        if (lambdas[k] != 2.0) {
            snprintf(run, sizeof run, "l2_%g", lambdas[k]);
            f1_run(&D, run, OTK_METRIC_EUCLIDEAN, lambdas[k], 0);
        }
        if (lambdas[k] != 0.1) {
            snprintf(run, sizeof run, "sq_%g", lambdas[k]);
            f1_run(&D, run, OTK_METRIC_SQEUCLIDEAN, lambdas[k], 0);
        }
    }
    figure_close(D.trace);
    figure_close(D.valid);
    figure_close(D.runs);
    free(D.src);
    free(D.tgt);
    free(D.vsrc);
    free(D.vtgt);
    free(D.xtest);
    free(D.ztest);
}

/* ---- figure 2: the Monge gap of rotations ---- */

static void figure2(void)
{
    enum { N = 256, ANGLES = 37 };
    fprintf(stderr, "figure 2: rotations of a 2-D Gaussian sample (n = %d)\n",
            N);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 22);
    static double x[2 * N], y[2 * N];
    for (size_t i = 0; i < 2 * N; i++)
        x[i] = gsl_ran_gaussian(rng, 1.0);
    gsl_rng_free(rng);
    FILE *fp = figure_open("fig2_rotation.csv");
    fprintf(fp, "cost,angle_deg,exact_gap,status_exact,disp,population,"
                "reg1,entropic1,iters1,status1,reg2,entropic2,iters2,status2,"
                "log_n\n");
    static const otk_metric costs[2] = {OTK_METRIC_SQEUCLIDEAN,
                                        OTK_METRIC_EUCLIDEAN};
    static const double rel[2] = {0.01, 0.1};
    double t0 = figure_now();
    for (size_t c = 0; c < 2; c++) {
        /* relative regs: times the mean cost between the x_i and the
         * rotated x_j, which does not depend on the angle for an isotropic
         * law; computed once at 0 (the sample's own mean cost) */
        double base = mean_cost(costs[c], x, N, x, N, 2);
        for (size_t a = 0; a < ANGLES; a++) {
            double deg = 180.0 * (double)a / (double)(ANGLES - 1);
            double th = deg * M_PI / 180.0;
            for (size_t i = 0; i < N; i++) {
                y[2 * i] = x[2 * i];
                y[2 * i + 1] = x[2 * i + 1];
                rotate2(y + 2 * i, th);
            }
            otk_status se;
            double m0 = exact_gap(costs[c], x, y, N, 2, &se);
            otk_mg_info g1, g2;
            double r1 = rel[0] * base, r2 = rel[1] * base;
            double e1 = entropic_gap(costs[c], x, y, N, 2, r1, &g1);
            double e2 = entropic_gap(costs[c], x, y, N, 2, r2, &g2);
            /* population value for rho = N(0, I_2): rotations keep rho, so
             * W = 0 and M = E c(x, Rx): 2(1 - cos t) E|x|^2 = 4(1 - cos t),
             * or 2 sin(t/2) E|x| = 2 sin(t/2) sqrt(pi/2) */
            double pop = costs[c] == OTK_METRIC_SQEUCLIDEAN
                             ? 4.0 * (1.0 - cos(th))
                             : 2.0 * sin(th / 2.0) * sqrt(M_PI / 2.0);
            fprintf(fp,
                    "%s,%.4g,%.10g,%s,%.10g,%.10g,%.6g,%.10g,%zu,%s,%.6g,"
                    "%.10g,%zu,%s,%.10g\n",
                    cost_name(costs[c]), deg, m0, otk_status_name(se),
                    g1.displacement_cost, pop, r1, e1, g1.iterations,
                    otk_status_name(g1.outcome.status), r2, e2, g2.iterations,
                    otk_status_name(g2.outcome.status), log((double)N));
        }
    }
    figure_close(fp);
    fprintf(stderr, "  %.1fs\n", figure_now() - t0);
}

/* ---- figure 3 and table 4: Gaussian -> Gaussian, a known affine map ---- */

typedef struct gauss_problem {
    size_t d;
    double *m1, *m2, *S1, *S2, *A, *R1, *R2; /* R = S^{1/2} */
    double var2;                             /* trace S2 = Var(nu) */
} gauss_problem;

static void gauss_make(gsl_rng *rng, size_t d, gauss_problem *g)
{
    g->d = d;
    g->m1 = figure_xmalloc(2 * d * sizeof *g->m1);
    g->m2 = g->m1 + d;
    g->S1 = figure_xmalloc(5 * d * d * sizeof *g->S1);
    g->S2 = g->S1 + d * d;
    g->A = g->S2 + d * d;
    g->R1 = g->A + d * d;
    g->R2 = g->R1 + d * d;
    for (size_t k = 0; k < d; k++) {
        g->m1[k] = 0.0;
        g->m2[k] = gsl_ran_gaussian(rng, 0.5);
    }
    double res;
    if (gl_random_covariance(rng, d, 0.5, 2.0, g->S1) != 0 ||
        gl_random_covariance(rng, d, 0.5, 2.0, g->S2) != 0 ||
        gl_sqrt(d, g->S1, g->R1) != 0 || gl_sqrt(d, g->S2, g->R2) != 0 ||
        gl_gaussian_map(d, g->S1, g->S2, g->A, &res) != 0)
        figure_die("Gaussian setup failed");
    if (!(res < 1e-8))
        figure_die("A S1 A != S2");
    g->var2 = 0.0;
    for (size_t k = 0; k < d; k++)
        g->var2 += g->S2[k * d + k];
}

static void gauss_free(gauss_problem *g)
{
    free(g->m1);
    free(g->S1);
}

/* n points m + R z, z ~ N(0, I). */
static void gauss_sample(gsl_rng *rng, size_t n, size_t d, const double *m,
                         const double *R, double *X)
{
    double *z = figure_xmalloc(d * sizeof *z);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < d; k++)
            z[k] = gsl_ran_gaussian(rng, 1.0);
        for (size_t r = 0; r < d; r++) {
            double s = m[r];
            for (size_t k = 0; k < d; k++)
                s += R[r * d + k] * z[k];
            X[i * d + r] = s;
        }
    }
    free(z);
}

static void gauss_map(const gauss_problem *g, size_t n, const double *x,
                      double *y)
{
    const size_t d = g->d;
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < d; r++) {
            double s = g->m2[r];
            for (size_t k = 0; k < d; k++)
                s += g->A[r * d + k] * (x[i * d + k] - g->m1[k]);
            y[i * d + r] = s;
        }
}

/* Held-out points for L2-UVP, and the subset for the exact gap and the
 * divergence (the network simplex on 4096 points would dominate). */
enum { GAUSS_TEST = 4096, GAUSS_EVAL = 512 };

enum { F4_TRAIN = 2048, F4_BATCH = 256 };

/* CPU seconds of this process (the fits run on one thread). */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Moments of n points: mean m (d) and covariance S (d x d). */
static void moments(const double *X, size_t n, size_t d, double *m, double *S)
{
    for (size_t k = 0; k < d; k++) {
        m[k] = 0.0;
        for (size_t i = 0; i < n; i++)
            m[k] += X[i * d + k] / (double)n;
    }
    for (size_t a = 0; a < d; a++)
        for (size_t c = 0; c < d; c++) {
            double v = 0.0;
            for (size_t i = 0; i < n; i++)
                v += (X[i * d + a] - m[a]) * (X[i * d + c] - m[c]);
            S[a * d + c] = v / (double)(n - 1);
        }
}

/* L2-UVP (%) of the images y of xt against the true map's ts. */
static double uvp(const gauss_problem *g, const double *y, const double *ts,
                  size_t n)
{
    double err = 0.0;
    for (size_t k = 0; k < n * g->d; k++)
        err += (y[k] - ts[k]) * (y[k] - ts[k]);
    return 100.0 * (err / (double)n) / g->var2;
}

/* The closed-form map between the Gaussians fitted to the samples'
 * moments, applied to xt (the baseline a user with this prior would use). */
static double moment_uvp(const gauss_problem *g, const double *src,
                         const double *tgt, size_t n, const double *xt,
                         const double *ts, double *y)
{
    const size_t d = g->d;
    gauss_problem e = *g;
    double *S1 = figure_xmalloc(3 * d * d * sizeof *S1), *S2 = S1 + d * d;
    double *m1 = figure_xmalloc(2 * d * sizeof *m1), res;
    e.A = S2 + d * d;
    e.m1 = m1;
    e.m2 = m1 + d;
    moments(src, n, d, e.m1, S1);
    moments(tgt, n, d, e.m2, S2);
    if (gl_gaussian_map(d, S1, S2, e.A, &res) != 0)
        figure_die("moment map failed");
    gauss_map(&e, GAUSS_TEST, xt, y);
    free(S1);
    free(m1);
    return uvp(g, y, ts, GAUSS_TEST);
}

/* Norm of an n x d array. */
static double norm2(const double *v, size_t len)
{
    double s = 0.0;
    for (size_t k = 0; k < len; k++)
        s += v[k] * v[k];
    return sqrt(s);
}

/* Column names of fig3_gauss.csv and table4_gauss.csv (one row per fit). */
static const char gauss_header[] =
    "d,seed,lambda,status,steps,inner_not_converged,uvp,uvp_moments,"
    "uvp_identity,cosine,divergence,divergence_true_map,exact_gap,"
    "exact_gap_true_map,gap_reg,fit_reg,gap_grad_norm,div_grad_norm,"
    "sinkhorn_iterations,nonfinite,cpu_s\n";

/* t4_dD_sS_WHAT.csv: n points of dimension d, one per row. */
static void write_points(size_t d, unsigned long seed, const char *what,
                         const double *x, size_t n)
{
    char name[64];
    snprintf(name, sizeof name, "t4_d%zu_s%lu_%s.csv", d, seed, what);
    FILE *fp = figure_open(name);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < d; k++)
            fprintf(fp, "%.17g%c", x[i * d + k], k + 1 < d ? ',' : '\n');
    figure_close(fp);
}

/* One problem (d, seed): 2048 training points from each Gaussian, fitted
 * with otk_mg_fit's defaults (the CLI's hidden 64,64, its seed) but
 * lambda, once per lambda; one row of gauss_header per fit into out. */
static void gauss_fits(FILE *out, size_t d, unsigned long seed,
                       const double *lambdas, size_t nl)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 300 + d + 1000 * seed);
    gauss_problem g;
    gauss_make(rng, d, &g);
    double *src = figure_xmalloc(F4_TRAIN * d * sizeof *src);
    double *tgt = figure_xmalloc(F4_TRAIN * d * sizeof *tgt);
    double *xt = figure_xmalloc(GAUSS_TEST * d * sizeof *xt);
    double *zt = figure_xmalloc(GAUSS_TEST * d * sizeof *zt);
    double *yt = figure_xmalloc(GAUSS_TEST * d * sizeof *yt);
    double *ts = figure_xmalloc(GAUSS_TEST * d * sizeof *ts);
    double *gg = figure_xmalloc(2 * F4_BATCH * d * sizeof *gg);
    gauss_sample(rng, F4_TRAIN, d, g.m1, g.R1, src);
    gauss_sample(rng, F4_TRAIN, d, g.m2, g.R2, tgt);
    gauss_sample(rng, GAUSS_TEST, d, g.m1, g.R1, xt);
    gauss_sample(rng, GAUSS_TEST, d, g.m2, g.R2, zt);
    gsl_rng_free(rng);
    if (getenv("MGF_T4_WRITE") != NULL) {
        write_points(d, seed, "source", src, F4_TRAIN);
        write_points(d, seed, "target", tgt, F4_TRAIN);
    }
    gauss_map(&g, GAUSS_TEST, xt, ts);
    double id = uvp(&g, xt, ts, GAUSS_TEST);
    double mom = moment_uvp(&g, src, tgt, F4_TRAIN, xt, ts, yt);
    for (size_t l = 0; l < nl; l++) {
        otk_mg_fit_settings s;
        otk_mg_fit_default_settings(&s);
        s.lambda = lambdas[l];
        s.seed = seed;
        const char *e = getenv("MGF_STEPS4"); /* quick checks only */
        if (e != NULL)
            s.steps = strtoul(e, NULL, 10);
        if ((e = getenv("MGF_RELREG4")) != NULL)
            s.gap.relative_reg = strtod(e, NULL);
        if ((e = getenv("MGF_VALIDATE4")) != NULL)
            s.validate_every = strtoul(e, NULL, 10);
        s.gap.sinkhorn.threads = 1;
        const size_t hidden[2] = {64, 64};
        otk_mg_map *map = otk_mg_map_create(d, hidden, 2, OTK_ACT_GELU, seed);
        otk_mg_fit_info info;
        double c0 = cpu_now();
        otk_status st =
            otk_mg_fit(map, src, F4_TRAIN, tgt, F4_TRAIN, &s, &info);
        double cpu = cpu_now() - c0;
        if (st < 0 || otk_mg_map_apply(map, xt, GAUSS_TEST, yt) != 0)
            figure_die("fit failed");
        double u = uvp(&g, yt, ts, GAUSS_TEST);
        /* the direction of the displacement against the true one */
        double dot = 0.0, nh = 0.0, ns = 0.0;
        size_t bad = 0;
        for (size_t k = 0; k < GAUSS_TEST * d; k++) {
            bad += !isfinite(yt[k]);
            double a = yt[k] - xt[k], b = ts[k] - xt[k];
            dot += a * b;
            nh += a * a;
            ns += b * b;
        }
        double cosine = dot / sqrt(nh * ns);
        /* the fitting loss of the fitted map against the true map's, on
         * the same held-out points (below 1: the loss prefers a wrong
         * map), and both maps' exact gaps */
        double S =
            divergence(yt, GAUSS_EVAL, zt, GAUSS_EVAL, d, info.fit_reg, NULL);
        double S_true =
            divergence(ts, GAUSS_EVAL, zt, GAUSS_EVAL, d, info.fit_reg, NULL);
        double m0 =
            exact_gap(OTK_METRIC_SQEUCLIDEAN, xt, yt, GAUSS_EVAL, d, NULL);
        double m0_true =
            exact_gap(OTK_METRIC_SQEUCLIDEAN, xt, ts, GAUSS_EVAL, d, NULL);
        /* the gap's share of the gradient: on one held-out batch, the
         * gradients with respect to the mapped points of the gap (at the
         * fit's gap reg) and of the divergence (at its fit reg) */
        otk_mg_settings es;
        otk_mg_default_settings(&es);
        es.reg = info.gap_reg;
        es.sinkhorn.tol = 1e-6;
        es.sinkhorn.max_iter = 100000;
        otk_mg_info gi;
        otk_status sg = otk_monge_gap(xt, yt, F4_BATCH, d, &es, gg, &gi);
        double gap_grad = sg >= 0 ? norm2(gg, F4_BATCH * d) : NAN;
        es.reg = info.fit_reg;
        double dv;
        otk_status sd = otk_mg_divergence(yt, F4_BATCH, zt, F4_BATCH, d, &es,
                                          &dv, gg + F4_BATCH * d, &gi);
        double div_grad =
            sd >= 0 ? norm2(gg + F4_BATCH * d, F4_BATCH * d) : NAN;
        fprintf(out,
                "%zu,%lu,%g,%s,%zu,%zu,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,"
                "%.6g,%.6g,%.6g,%.6g,%.6g,%zu,%zu,%.2f\n",
                d, seed, lambdas[l], otk_status_name(st), info.steps,
                info.inner_not_converged, u, mom, id, cosine, S, S_true, m0,
                m0_true, info.gap_reg, info.fit_reg, gap_grad, div_grad,
                info.sinkhorn_iterations, bad, cpu);
        fflush(out);
        fprintf(stderr,
                "  gauss d=%zu seed=%lu lambda=%g %s UVP %.3f%% (moments "
                "%.3f%%, identity %.1f%%) |dM| %.3g |dS| %.3g %.1fs CPU "
                "(best step %zu)\n",
                d, seed, lambdas[l], otk_status_name(st), u, mom, id, gap_grad,
                div_grad, cpu, info.best_step);
        otk_mg_map_free(map);
    }
    free(src);
    free(tgt);
    free(xt);
    free(zt);
    free(yt);
    free(ts);
    free(gg);
    gauss_free(&g);
}

static const size_t gauss_dims[] = {2, 4, 8, 16, 32, 64};

/* MGF_T4_DIMS = "D,D,..": only these dimensions (partial reruns). */
static int gauss_dim_selected(size_t d)
{
    const char *only = getenv("MGF_T4_DIMS");
    if (only == NULL)
        return 1;
    char list[128], tag[16];
    snprintf(list, sizeof list, ",%s,", only);
    snprintf(tag, sizeof tag, ",%zu,", d);
    return strstr(list, tag) != NULL;
}

/* Figure 3: seed 0 of table 4's problems, lambda in {0, 0.1, 1, 10} at
 * d = 4 and {0, 1} at every other d, each fit at otk_mg_fit's defaults. */
static void figure3(void)
{
    fprintf(stderr, "figure 3: Gaussian -> Gaussian, L2-UVP (defaults)\n");
    FILE *out = figure_open("fig3_gauss.csv");
    fputs(gauss_header, out);
    static const double sweep[] = {0.0, 0.1, 1.0, 10.0}, pair[] = {0.0, 1.0};
    for (size_t k = 0; k < sizeof gauss_dims / sizeof *gauss_dims; k++)
        if (gauss_dim_selected(gauss_dims[k])) {
            if (gauss_dims[k] == 4)
                gauss_fits(out, 4, 0, sweep, 4);
            else
                gauss_fits(out, gauss_dims[k], 0, pair, 2);
        }
    figure_close(out);
}

/* Table 4: every d, seeds 0..MGF_T4_SEEDS-1 (default 3), lambda in
 * {0, 1, 10}, each fit at otk_mg_fit's defaults. */
static void table4(void)
{
    static const double lambdas[] = {0.0, 1.0, 10.0};
    size_t from = 0, count = 3;
    const char *e = getenv("MGF_T4_LAMBDAS");
    if (e != NULL && strtoul(e, NULL, 10) >= 1 && strtoul(e, NULL, 10) <= 3)
        count = strtoul(e, NULL, 10);
    if ((e = getenv("MGF_T4_FROM")) != NULL && strtoul(e, NULL, 10) < count)
        from = strtoul(e, NULL, 10);
    const char *seeds_env = getenv("MGF_T4_SEEDS");
    unsigned long nseeds = seeds_env ? strtoul(seeds_env, NULL, 10) : 3;
    const char *first_env = getenv("MGF_T4_FIRST_SEED");
    unsigned long first = first_env ? strtoul(first_env, NULL, 10) : 0;
    fprintf(stderr, "table 4: Gaussian benchmark at otk_mg_fit's defaults\n");
    FILE *out = figure_open("table4_gauss.csv");
    fputs(gauss_header, out);
    for (size_t k = 0; k < sizeof gauss_dims / sizeof *gauss_dims; k++)
        if (gauss_dim_selected(gauss_dims[k]))
            for (unsigned long seed = first; seed < first + nseeds; seed++)
                gauss_fits(out, gauss_dims[k], seed, lambdas + from,
                           count - from);
    figure_close(out);
}

int main(int argc, char **argv)
{
    figure_prog = "monge_gap_figures";
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: monge_gap_figures OUT_DIR [FIGURES]\n");
        return 2;
    }
    figure_out_dir = argv[1];
    const char *which = argc == 3 ? argv[2] : "123";
    /* knobs for quick experiments (not used by make_figures.sh) */
    const char *e;
    if ((e = getenv("MGF_STEPS1")) != NULL)
        f1_steps = strtoul(e, NULL, 10);
    if ((e = getenv("MGF_BATCH1")) != NULL)
        f1_batch = strtoul(e, NULL, 10);
    if ((e = getenv("MGF_TOL_FIT")) != NULL)
        fit_tol = strtod(e, NULL);
    if ((e = getenv("MGF_LR1")) != NULL)
        f1_lr = strtod(e, NULL);
    double t0 = figure_now();
    summary = figure_open("summary.csv");
    fprintf(summary, "figure,run,d,cost,lambda,status,steps,batch,"
                     "sinkhorn_iterations,inner_not_converged,fit_reg,gap_reg,"
                     "lr,last_loss,nonfinite_losses,time_s\n");
    if (strchr(which, '1'))
        figure1();
    if (strchr(which, '2'))
        figure2();
    if (strchr(which, '3'))
        figure3();
    if (strchr(which, '4'))
        table4();
    figure_close(summary);
    fprintf(stderr, "monge_gap_figures: done in %.1f s\n", figure_now() - t0);
    return 0;
}
