/*
 * bench-mongegap: timing driver for otk_monge_gap and otk_mg_fit, run by
 * bench/run_bench.py (section "mongegap"), which computes the same Monge
 * gap with POT (ot.dist + ot.sinkhorn(method='sinkhorn_log')) and prints
 * the ratios.
 *
 *   bench-mongegap [--data DIR] [--seed S] [--repeats R] MODE ARGS...
 *
 * Modes (one JSON object per line on stdout):
 *   gap N D REG TOL     the entropic Monge gap of the pairs (x_i, y_i),
 *                       i < N, in R^D: squared Euclidean cost, absolute reg
 *                       REG, settings.sinkhorn.tol = TOL (L1 error of both
 *                       marginals), max_iter 100000, otherwise defaults.
 *                       R runs without the gradient (grad = NULL), then R
 *                       runs with it; one line per run. Then a line
 *                       "gap-check": otk_sinkhorn on the same point-cloud
 *                       cost with the same settings (not the timed call),
 *                       for what otk_mg_info does not report: the marginal
 *                       error, the stages and the domain; and a line
 *                       "gap-check-noscaling": the same with eps_scaling
 *                       = 0.
 *   fit D STEPS BATCH   otk_mg_fit of a residual MLP (hidden [64, 64],
 *                       GELU, seed 0) with lambda = 1 and otherwise the
 *                       default fit settings, STEPS steps at batch BATCH;
 *                       R runs,
 *                       each from a fresh map. Source: 4 * BATCH points of
 *                       N(0, I_D); target: 4 * BATCH points of
 *                       N(1, diag(s_k^2)), s_k = 0.5 + k / D (k < D).
 *
 *   fit-uvp D TARGET    a default fit (otk_mg_fit_default_settings, hidden
 *                       [64, 64]) on 2048 samples of N(0, diag(a_k^2)) to
 *                       N(1, diag(c_k^2)), a_k = 0.5 + k/D, c_k = 1.5 -
 *                       k/(2D), whose optimal map is coordinatewise; the
 *                       L2-UVP on 2048 held-out points every 25 steps
 *                       (its time subtracted), and the first step and
 *                       fit time at which it is <= TARGET (%).
 *
 * Problem data (gap). With --data DIR the program reads raw little-endian
 * float64 files written by run_bench.py: DIR/x.bin and DIR/y.bin (N x D,
 * row-major). Without --data it generates x ~ N(0, I_D) from --seed and
 * y = x + 0.5 tanh(x W), W_kl ~ N(0, 1 / D), from the same stream. The fit
 * data are always generated here from --seed.
 *
 * Per gap run: otk_mg_info (status, iterations, gap, displacement and OT
 * costs, reg), its own clock info.outcome.time_s and the wall clock of the call
 * (wall_s), and the peak resident memory so far (VmHWM). Per fit run:
 * steps, info.outcome.time_s, steps_per_s = steps / time_s, Sinkhorn iterations
 * over all steps (four solves a step: the three of the debiased divergence
 * and the gap's) and per step, the regs used and the last step's loss
 * terms, then (untimed) the status and iterations of otk_monge_gap on the
 * first BATCH source points and their images under the fitted map, with
 * the fit's gap reg and Sinkhorn settings (check_gap_*), to show whether
 * the fitted map's gap solve still runs into max_iter (otk_mg_fit's own
 * status and inner_not_converged cover the training steps).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/otkit.h>
#include <otkit/mongegap.h>

#include "bench_util.h"

typedef bench_options options;

/* ---- data --------------------------------------------------------------- */

/* x (n x d) and y = T(x): from DIR or generated. */
static void load_pairs(const options *o, size_t n, size_t d, double *x,
                       double *y)
{
    if (o->data_dir != NULL) {
        bench_read_raw(o->data_dir, "x.bin", x, n * d, 0);
        bench_read_raw(o->data_dir, "y.bin", y, n * d, 0);
        return;
    }
    uint64_t s = o->seed;
    double *W = bench_xmalloc(d * d, sizeof *W);
    for (size_t k = 0; k < d * d; k++)
        W[k] = bench_rng_normal(&s) / sqrt((double)d);
    for (size_t k = 0; k < n * d; k++)
        x[k] = bench_rng_normal(&s);
    for (size_t i = 0; i < n; i++)
        for (size_t l = 0; l < d; l++) {
            double t = 0.0;
            for (size_t k = 0; k < d; k++)
                t += x[i * d + k] * W[k * d + l];
            y[i * d + l] = x[i * d + l] + 0.5 * tanh(t);
        }
    free(W);
}

/* ---- gap ---------------------------------------------------------------- */

static void gap_line(const char *mode, size_t n, size_t d, int run, int repeats,
                     int with_grad, const otk_mg_settings *s,
                     const otk_mg_info *info, double wall, double grad_norm)
{
    printf("{\"mode\": \"%s\", \"n\": %zu, \"d\": %zu, "
           "\"cost\": \"sqeuclidean\", \"run\": %d, \"repeats\": %d, "
           "\"with_grad\": %d, \"otkit_version\": \"%s\", ",
           mode, n, d, run, repeats, with_grad, otk_version());
    bench_jnum("tol", s->sinkhorn.tol, 0);
    printf("\"max_iter\": %zu, \"status\": \"%s\", \"status_code\": %d, "
           "\"iterations\": %zu, ",
           s->sinkhorn.max_iter, otk_status_name(info->outcome.status),
           (int)info->outcome.status, info->iterations);
    bench_jnum("reg", info->reg, 0);
    bench_jnum("monge_gap", info->monge_gap, 0);
    bench_jnum("displacement_cost", info->displacement_cost, 0);
    bench_jnum("ot_cost", info->ot_cost, 0);
    if (with_grad)
        bench_jnum("grad_norm", grad_norm, 0);
    bench_jnum("time_s", info->outcome.time_s, 0);
    bench_jnum("wall_s", wall, 0);
    bench_jnum("peak_rss_mib", bench_peak_rss_mib(), 1);
    printf("}\n");
    fflush(stdout);
}

/* An otk_sinkhorn solve of the gap's problem (untimed by the driver). */
static void gap_check(const char *mode, const double *x, const double *y,
                      size_t n, size_t d, double reg,
                      const otk_sinkhorn_settings *ss)
{
    otk_cost c = otk_cost_points(n, n, d, x, y, OTK_METRIC_SQEUCLIDEAN, 2.0);
    otk_sinkhorn_info si;
    otk_sinkhorn(&(otk_problem){&c, NULL, NULL, reg}, ss, NULL, &si);
    if (si.outcome.status < 0) {
        fprintf(stderr, "%s: otk_sinkhorn failed: %s (%s)\n", bench_prog,
                otk_status_string(si.outcome.status),
                si.outcome.bad_argument ? si.outcome.bad_argument : "-");
        exit(1);
    }
    double disp = 0.0;
    for (size_t i = 0; i < n; i++)
        disp += otk_cost_entry(&c, i, i) / (double)n;
    /* W_eps = <P,C> - reg H(P) = objective - 2 reg log n (uniform) */
    const double w = si.objective - 2.0 * reg * log((double)n);
    printf("{\"mode\": \"%s\", \"n\": %zu, \"d\": %zu, "
           "\"eps_scaling\": %d, \"status\": \"%s\", "
           "\"iterations\": %zu, \"stages\": %zu, \"domain\": \"%s\", ",
           mode, n, d, ss->eps_scaling, otk_status_name(si.outcome.status),
           si.iterations, si.stages,
           si.domain == OTK_DOMAIN_LOG ? "log" : "scaling");
    bench_jnum("tol", ss->tol, 0);
    bench_jnum("marginal_error", si.marginal_error, 0);
    bench_jnum("transport_cost", si.transport_cost, 0);
    bench_jnum("objective", si.objective, 0);
    bench_jnum("ot_cost", w, 0);
    bench_jnum("monge_gap", disp - w, 0);
    bench_jnum("time_s", si.outcome.time_s, 1);
    printf("}\n");
    fflush(stdout);
}

static int mode_gap(const options *o, int argc, char **argv)
{
    if (argc != 4)
        bench_die("usage: gap N D REG TOL%s", "");
    const size_t n = bench_parse_size(argv[0], "N");
    const size_t d = bench_parse_size(argv[1], "D");
    const double reg = bench_parse_double(argv[2], "REG");
    const double tol = bench_parse_double(argv[3], "TOL");
    if (!(reg > 0.0))
        bench_die("REG must be > 0%s", "");
    double *x = bench_xmalloc(n * d, sizeof *x),
           *y = bench_xmalloc(n * d, sizeof *y),
           *grad = bench_xmalloc(n * d, sizeof *grad);
    load_pairs(o, n, d, x, y);

    otk_mg_settings s;
    otk_mg_default_settings(&s);
    s.metric = OTK_METRIC_SQEUCLIDEAN;
    s.reg = reg;
    s.sinkhorn.tol = tol;
    s.sinkhorn.max_iter = 100000;
    for (int with_grad = 0; with_grad <= 1; with_grad++)
        for (int r = 0; r < o->repeats; r++) {
            otk_mg_info info;
            double t0 = bench_now();
            otk_monge_gap(x, y, n, d, &s, with_grad ? grad : NULL, &info);
            double wall = bench_now() - t0;
            if (info.outcome.status < 0) {
                fprintf(stderr, "%s: otk_monge_gap failed: %s (%s)\n",
                        bench_prog, otk_status_string(info.outcome.status),
                        info.outcome.bad_argument ? info.outcome.bad_argument
                                                  : "-");
                exit(1);
            }
            double gn = 0.0;
            if (with_grad)
                for (size_t k = 0; k < n * d; k++)
                    gn += grad[k] * grad[k];
            gap_line("gap", n, d, r + 1, o->repeats, with_grad, &s, &info, wall,
                     sqrt(gn));
        }

    /* The same solve through otk_sinkhorn: what otk_mg_info leaves out;
     * then without epsilon scaling. */
    gap_check("gap-check", x, y, n, d, reg, &s.sinkhorn);
    otk_sinkhorn_settings plain = s.sinkhorn;
    plain.eps_scaling = 0;
    gap_check("gap-check-noscaling", x, y, n, d, reg, &plain);
    free(x);
    free(y);
    free(grad);
    return 0;
}

/* ---- fit ---------------------------------------------------------------- */

static int mode_fit(const options *o, int argc, char **argv)
{
    if (argc != 3)
        bench_die("usage: fit D STEPS BATCH%s", "");
    const size_t d = bench_parse_size(argv[0], "D");
    const size_t steps = bench_parse_size(argv[1], "STEPS");
    const size_t batch = bench_parse_size(argv[2], "BATCH");
    const size_t ns = 4 * batch, nt = 4 * batch;
    double *src = bench_xmalloc(ns * d, sizeof *src),
           *tgt = bench_xmalloc(nt * d, sizeof *tgt),
           *mapped = bench_xmalloc(batch * d, sizeof *mapped);
    uint64_t rs = o->seed;
    for (size_t k = 0; k < ns * d; k++)
        src[k] = bench_rng_normal(&rs);
    for (size_t j = 0; j < nt; j++)
        for (size_t k = 0; k < d; k++)
            tgt[j * d + k] =
                1.0 + (0.5 + (double)k / (double)d) * bench_rng_normal(&rs);
    const size_t hidden[2] = {64, 64};

    otk_mg_fit_settings s;
    otk_mg_fit_default_settings(&s);
    s.lambda = 1.0;
    s.steps = steps;
    s.batch = batch;
    for (int r = 0; r < o->repeats; r++) {
        otk_mg_map *map = otk_mg_map_create(d, hidden, 2, OTK_ACT_GELU, 0);
        if (map == NULL)
            bench_die("otk_mg_map_create failed%s", "");
        otk_mg_fit_info info;
        double t0 = bench_now();
        otk_mg_fit(map, src, ns, tgt, nt, &s, &info);
        double wall = bench_now() - t0;
        if (info.outcome.status < 0) {
            fprintf(stderr, "%s: otk_mg_fit failed: %s (%s)\n", bench_prog,
                    otk_status_string(info.outcome.status),
                    info.outcome.bad_argument ? info.outcome.bad_argument
                                              : "-");
            exit(1);
        }
        /* Untimed: the gap solve on the first batch of source points under
         * the fitted map, with the fit's gap reg and Sinkhorn settings. */
        const size_t nb = batch < ns ? batch : ns;
        otk_mg_map_apply(map, src, nb, mapped);
        otk_mg_settings gs = s.gap;
        gs.reg = info.gap_reg;
        gs.sinkhorn.warm_start = 0; /* the one-shot gap never warm starts */
        otk_mg_info gi;
        otk_monge_gap(src, mapped, nb, d, &gs, NULL, &gi);
        otk_mg_map_free(map);
        printf("{\"mode\": \"fit\", \"d\": %zu, \"hidden\": [64, 64], "
               "\"activation\": \"gelu\", \"batch\": %zu, \"ns\": %zu, "
               "\"nt\": %zu, \"steps_requested\": %zu, \"run\": %d, "
               "\"repeats\": %d, \"otkit_version\": \"%s\", ",
               d, batch, ns, nt, steps, r + 1, o->repeats, otk_version());
        bench_jnum("lambda", s.lambda, 0);
        bench_jnum("tol", s.gap.sinkhorn.tol, 0);
        printf("\"status\": \"%s\", \"status_code\": %d, \"steps\": %zu, "
               "\"sinkhorn_iterations\": %zu, ",
               otk_status_name(info.outcome.status), (int)info.outcome.status,
               info.steps, info.sinkhorn_iterations);
        bench_jnum("iterations_per_step",
                   info.steps
                       ? (double)info.sinkhorn_iterations / (double)info.steps
                       : NAN,
                   0);
        bench_jnum("fit_reg", info.fit_reg, 0);
        bench_jnum("gap_reg", info.gap_reg, 0);
        bench_jnum("loss", info.last.loss, 0);
        bench_jnum("fitting", info.last.fitting, 0);
        bench_jnum("monge_gap", info.last.monge_gap, 0);
        printf("\"check_gap_status\": \"%s\", "
               "\"check_gap_iterations\": %zu, ",
               otk_status_name(gi.outcome.status), gi.iterations);
        bench_jnum("check_gap", gi.monge_gap, 0);
        bench_jnum("time_s", info.outcome.time_s, 0);
        bench_jnum("steps_per_s",
                   info.outcome.time_s > 0
                       ? (double)info.steps / info.outcome.time_s
                       : NAN,
                   0);
        bench_jnum("wall_s", wall, 0);
        bench_jnum("peak_rss_mib", bench_peak_rss_mib(), 1);
        printf("}\n");
        fflush(stdout);
    }
    free(src);
    free(tgt);
    free(mapped);
    return 0;
}

/* ---- fit-uvp: time to a fixed L2-UVP -------------------------------- */

/* The problem: N(0, diag(a_k^2)) to N(1, diag(c_k^2)), a_k = 0.5 + k / D,
 * c_k = 1.5 - k / (2 D), whose optimal map is x_k -> 1 + (c_k / a_k) x_k
 * (coordinatewise: diagonal covariances commute). */
typedef struct uvp_watch {
    size_t d, n_test, every, reached_step;
    const double *xt, *ts;
    double *yt, var, target, eval_s, reached_s, last_uvp;
    const otk_mg_map *map;
} uvp_watch;

static double scale_a(size_t k, size_t d) { return 0.5 + (double)k / d; }
static double scale_c(size_t k, size_t d) { return 1.5 - 0.5 * k / d; }

/* Every `every` steps: the held-out L2-UVP (its time is not the fit's:
 * it is subtracted from the elapsed time); the first step at or below the
 * target is kept. */
static int uvp_progress(void *user, const otk_progress *pr)
{
    uvp_watch *w = user;
    if (pr->iteration % w->every != 0 || w->reached_step != 0)
        return 0;
    double t0 = bench_now(), err = 0.0;
    otk_mg_map_apply(w->map, w->xt, w->n_test, w->yt);
    for (size_t k = 0; k < w->n_test * w->d; k++)
        err += (w->yt[k] - w->ts[k]) * (w->yt[k] - w->ts[k]);
    w->last_uvp = 100.0 * err / (double)w->n_test / w->var;
    w->eval_s += bench_now() - t0;
    if (w->last_uvp <= w->target) {
        w->reached_step = pr->iteration;
        w->reached_s = pr->elapsed_s - w->eval_s;
    }
    return 0;
}

static int mode_fit_uvp(const options *o, int argc, char **argv)
{
    if (argc != 2)
        bench_die("usage: fit-uvp D TARGET%s", "");
    const size_t d = bench_parse_size(argv[0], "D");
    const double target = strtod(argv[1], NULL);
    const size_t n = 2048, nt = 2048;
    double *src = bench_xmalloc(n * d, sizeof *src);
    double *tgt = bench_xmalloc(n * d, sizeof *tgt);
    double *xt = bench_xmalloc(nt * d, sizeof *xt);
    double *ts = bench_xmalloc(nt * d, sizeof *ts);
    double *yt = bench_xmalloc(nt * d, sizeof *yt);
    uint64_t rs = o->seed;
    double var = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < d; k++) {
            src[i * d + k] = scale_a(k, d) * bench_rng_normal(&rs);
            tgt[i * d + k] = 1.0 + scale_c(k, d) * bench_rng_normal(&rs);
        }
    for (size_t i = 0; i < nt; i++)
        for (size_t k = 0; k < d; k++) {
            xt[i * d + k] = scale_a(k, d) * bench_rng_normal(&rs);
            ts[i * d + k] = 1.0 + scale_c(k, d) / scale_a(k, d) * xt[i * d + k];
        }
    for (size_t k = 0; k < d; k++)
        var += scale_c(k, d) * scale_c(k, d);
    const size_t hidden[2] = {64, 64};
    for (int r = 0; r < o->repeats; r++) {
        otk_mg_map *map = otk_mg_map_create(d, hidden, 2, OTK_ACT_GELU, 0);
        if (map == NULL)
            bench_die("otk_mg_map_create failed%s", "");
        otk_mg_fit_settings s;
        otk_mg_fit_default_settings(&s);
        uvp_watch w = {d,   nt,     25,  0,   xt,  ts, yt,
                       var, target, 0.0, NAN, NAN, map};
        s.progress = uvp_progress;
        s.progress_user = &w;
        otk_mg_fit_info info;
        otk_mg_fit(map, src, n, tgt, n, &s, &info);
        if (info.outcome.status < 0)
            bench_die("otk_mg_fit failed: %s",
                      otk_status_name(info.outcome.status));
        const size_t reached = w.reached_step;
        const double reached_s = w.reached_s,
                     fit_s = info.outcome.time_s - w.eval_s;
        w.reached_step = 0; /* then one more check: the final map's */
        w.every = 1;
        otk_progress last = {.iteration = info.steps, .elapsed_s = 0.0};
        uvp_progress(&w, &last);
        printf("{\"mode\": \"fit-uvp\", \"d\": %zu, \"n\": %zu, "
               "\"hidden\": [64, 64], \"run\": %d, \"repeats\": %d, "
               "\"otkit_version\": \"%s\", \"status\": \"%s\", "
               "\"steps\": %zu, \"batch\": %zu, \"reached_step\": %zu, "
               "\"sinkhorn_iterations\": %zu, ",
               d, n, r + 1, o->repeats, otk_version(),
               otk_status_name(info.outcome.status), info.steps, s.batch,
               reached, info.sinkhorn_iterations);
        bench_jnum("target_uvp", target, 0);
        bench_jnum("reached_s", reached ? reached_s : NAN, 0);
        bench_jnum("final_uvp", w.last_uvp, 0);
        bench_jnum("time_s", fit_s, 1);
        printf("}\n");
        fflush(stdout);
        otk_mg_map_free(map);
    }
    free(src);
    free(tgt);
    free(xt);
    free(ts);
    free(yt);
    return 0;
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s [--data DIR] [--seed S] [--repeats R] MODE ARGS...\n"
            "Modes:\n"
            "  gap N D REG TOL\n"
            "  fit D STEPS BATCH\n"
            "  fit-uvp D TARGET\n"
            "One JSON object per run on stdout. See the comment at the top "
            "of bench/bench_mongegap.c.\n",
            bench_prog);
}

int main(int argc, char **argv)
{
    bench_prog = "bench-mongegap";
    static const bench_mode modes[] = {
        {"gap", mode_gap}, {"fit", mode_fit}, {"fit-uvp", mode_fit_uvp}};
    return bench_main(argc, argv, (bench_options){NULL, 42, 3, NAN}, modes,
                      sizeof modes / sizeof *modes, usage);
}
