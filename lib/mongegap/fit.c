/*
 * Map fitting: minimize S(T#mu, nu) + lambda M(T; mu) over mini-batches
 * with Adam. Every step draws a source and a target batch, maps the
 * source batch, computes the envelope gradients of both terms with respect
 * to the mapped points, back-propagates them through the network and
 * updates its parameters. Everything is allocated once before the loop.
 *
 * The inner Sinkhorn solves are warm-started across steps (warm.c): each
 * step draws new points, so the previous potentials are extended to them
 * by their entropic c-transform, which starts the solve near its answer.
 */
#include <float.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "mongegap/mlp.h"
#include "mongegap/mongegap_internal.h"

/* Everything the loop needs, allocated once. */
typedef struct fit_state {
    mg_step step;    /* batches, buffers, the loss's gradient */
    double *m1, *m2; /* Adam moments */
    size_t *perm_s, *perm_t;
    mg_valid valid; /* used when settings.validate_every > 0 */
} fit_state;

static void free_state(fit_state *st)
{
    otk__mg_step_free(&st->step);
    otk__mg_valid_free(&st->valid);
    free(st->m1);
    free(st->perm_s);
}

static int alloc_state(fit_state *st, const otk_mg_map *map, size_t b,
                       size_t ns, size_t nt)
{
    st->m1 = calloc(2 * map->nparams, sizeof *st->m1);
    st->perm_s = malloc((ns + nt) * sizeof *st->perm_s);
    if (!st->m1 || !st->perm_s || otk__mg_step_init(&st->step, map, b) != 0)
        return -1;
    st->m2 = st->m1 + map->nparams;
    st->perm_t = st->perm_s + ns;
    for (size_t i = 0; i < ns; i++)
        st->perm_s[i] = i;
    for (size_t j = 0; j < nt; j++)
        st->perm_t[j] = j;
    return 0;
}

/* A batch of b distinct rows of data (a partial Fisher-Yates shuffle). */
static void draw(gsl_rng *rng, size_t *perm, size_t count, const double *data,
                 size_t b, size_t d, double *out)
{
    for (size_t r = 0; r < b; r++) {
        size_t k = r + gsl_rng_uniform_int(rng, count - r);
        size_t t = perm[r];
        perm[r] = perm[k];
        perm[k] = t;
        memcpy(out + r * d, data + perm[r] * d, d * sizeof *out);
    }
}

static double mean_sq_cost(const double *u, size_t n, const double *v, size_t m,
                           size_t d)
{
    otk_mg_settings sq;
    otk_mg_default_settings(&sq);
    otk_cost c = otk__mg_cost(&sq, n, m, d, u, v);
    return otk__mg_mean_cost(&c);
}

/* The inner solves' tolerance: the setting, relative to the batch's mass
 * (1), but not below what the residual of b points can reach in double
 * precision (its terms carry rounding errors of about b ulps; a tol under
 * that floor would run every solve to its cap). */
static double inner_tol(double tol, size_t b)
{
    const double floor = 16.0 * (double)b * DBL_EPSILON;
    return tol > floor ? tol : floor;
}

/* Adam's step size at a step (1-based) under the schedule. */
static double step_size(const otk_mg_fit_settings *s, size_t step)
{
    if (s->lr_schedule == 0)
        return s->lr;
    const double t = (double)(step - 1) / (double)s->steps;
    const double pi = 3.14159265358979323846;
    return s->lr * 0.5 * (1.0 + cos(pi * t));
}

/* gap_reg_scale 1: a fraction of the nearest competitor's cost margin,
 * which the plan must resolve in every dimension, but not below the
 * tutorial's reg (0.01 x the mean cost), where low dimensions already do
 * well and the margin is small (docs/mongegap.md, "The gap's reg"). */
static double spread_reg(double relative_reg, const otk_cost *c)
{
    const double margin = relative_reg * otk__mg_competitor_cost(c);
    const double tutorial = 0.01 * otk__mg_mean_cost(c);
    return margin > tutorial ? margin : tutorial;
}

/* A usable reg: positive and finite. */
static int positive(double reg) { return reg > 0.0 && isfinite(reg); }

/* The regs into info, fixed from the first batches (the tutorial's
 * choice); NULL, or the name of a relative reg of a zero mean cost (all
 * the batch's points equal). */
static const char *first_regs(const otk_mg_fit_settings *s,
                              const otk_mg_map *map, mg_step *sp,
                              otk_mg_fit_info *info)
{
    const size_t b = sp->b, d = sp->d;
    info->fit_reg =
        s->fit_reg > 0.0
            ? s->fit_reg
            : s->relative_fit_reg * mean_sq_cost(sp->zb, b, sp->zb, b, d);
    otk__mlp_forward(map, sp->xb, b, sp->yb, sp->cache);
    otk_cost c = otk__mg_cost(&s->gap, b, b, d, sp->xb, sp->yb);
    info->gap_reg = s->gap.reg > 0.0 ? s->gap.reg
                    : s->gap_reg_scale == 0
                        ? s->gap.relative_reg * otk__mg_mean_cost(&c)
                        : spread_reg(s->gap.relative_reg, &c);
    if (!positive(info->fit_reg))
        return "fit_reg";
    return s->lambda > 0.0 && !positive(info->gap_reg) ? "gap_reg" : NULL;
}

/* Calls the progress callback after a step; nonzero: cancel. */
static int report(const otk_mg_fit_settings *s, const otk__call *call,
                  const otk_mg_fit_progress *p)
{
    if (s->progress == NULL)
        return 0;
    otk_progress pr = {.solver = "mongegap_fit",
                       .iteration = p->step,
                       .error = NAN,
                       .reg = NAN,
                       .objective = p->loss,
                       .elapsed_s = otk__elapsed(call),
                       .detail = p};
    return s->progress(s->progress_user, &pr);
}

otk_status otk_mg_fit(otk_mg_map *map, const double *source, size_t ns,
                      const double *target, size_t nt,
                      const otk_mg_fit_settings *settings,
                      otk_mg_fit_info *info)
{
    otk_mg_fit_info local;
    if (info == NULL)
        info = &local;
    otk__call call = otk__begin(&info->outcome);
    info->steps = info->sinkhorn_iterations = info->inner_not_converged = 0;
    info->last = (otk_mg_fit_progress){0, NAN, NAN, NAN};
    info->fit_reg = info->gap_reg = info->validation_loss = NAN;
    info->best_step = 0;
    otk_mg_fit_settings defaults;
    if (settings == NULL) {
        otk_mg_fit_default_settings(&defaults);
        settings = &defaults;
    }
    otk_status status = otk__mg_fit_validate(&call, settings);
    if (status != OTK_CONVERGED)
        return status;
    if (map == NULL || source == NULL || target == NULL || ns < 2 || nt < 2)
        return otk__fail(&call, OTK_ERR_INVALID_ARGUMENT,
                         map == NULL                ? "map"
                         : source == NULL || ns < 2 ? "source"
                                                    : "target",
                         SIZE_MAX);
    const size_t d = map->d;
    size_t bad;
    if ((bad = otk__first_nonfinite(source, ns * d)) != SIZE_MAX)
        return otk__fail(&call, OTK_ERR_INVALID_INPUT, "source", bad);
    if ((bad = otk__first_nonfinite(target, nt * d)) != SIZE_MAX)
        return otk__fail(&call, OTK_ERR_INVALID_INPUT, "target", bad);

    /* with validation, rows held out of training (validate.c) */
    const size_t every = settings->validate_every;
    mg_split split = {source, target, ns, nt, 0, 0, 0, NULL, NULL};
    if (every > 0) {
        split.hs = otk__mg_holdout(ns, settings->validation_fraction);
        split.ht = otk__mg_holdout(nt, settings->validation_fraction);
        if (ns < split.hs + 2 || nt < split.ht + 2) /* too few to split */
            return otk__fail(&call, OTK_ERR_INVALID_ARGUMENT,
                             ns < split.hs + 2 ? "source" : "target", SIZE_MAX);
    }
    const size_t ns_fit = ns - split.hs, nt_fit = nt - split.ht;
    fit_state st = {0};
    size_t b = settings->batch;
    b = b > ns_fit ? ns_fit : b;
    b = b > nt_fit ? nt_fit : b;
    split.batch = b;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int bad_alloc = rng == NULL || alloc_state(&st, map, b, ns, nt) != 0;
    if (!bad_alloc)
        gsl_rng_set(rng, settings->seed);
    split.perm_s = st.perm_s;
    split.perm_t = st.perm_t;
    if (!bad_alloc && every > 0)
        bad_alloc = otk__mg_valid_init(&st.valid, map, rng, &split) != 0;
    if (bad_alloc) {
        gsl_rng_free(rng);
        free_state(&st);
        return otk__fail(&call, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX);
    }
    mg_step *sp = &st.step;
    /* without the memory for warm starts the solves stay cold */
    if (settings->gap.sinkhorn.warm_start)
        (void)otk__mg_scratch_warm(&sp->sc, d);
    const size_t np = map->nparams;
    otk_mg_settings gap = settings->gap, div;
    gap.sinkhorn.tol = inner_tol(settings->gap.sinkhorn.tol, b);
    otk_mg_default_settings(&div); /* squared Euclidean */
    div.sinkhorn = gap.sinkhorn;
    mg_loss L = {&div, &gap, NAN, NAN, settings->lambda};
    double b1t = 1.0, b2t = 1.0;
    const char *bad_reg = NULL;
    for (size_t step = 1; step <= settings->steps; step++) {
        draw(rng, st.perm_s, ns_fit, source, b, d, sp->xb);
        draw(rng, st.perm_t, nt_fit, target, b, d, sp->zb);
        if (step == 1 &&
            (bad_reg = first_regs(settings, map, sp, info)) != NULL)
            break;
        L.div_reg = info->fit_reg;
        L.gap_reg = info->gap_reg;
        otk_mg_fit_progress p = {step, 0.0, 0.0, 0.0};
        int inner_stopped;
        otk_status s1 = otk__mg_step_loss(sp, map, &L, &p, &inner_stopped,
                                          &info->sinkhorn_iterations);
        if (s1 != OTK_CONVERGED) { /* an error, or cancelled */
            status = s1;
            break;
        }
        /* an Adam step */
        b1t *= settings->beta1;
        b2t *= settings->beta2;
        const double lr =
            step_size(settings, step) * sqrt(1.0 - b2t) / (1.0 - b1t);
        for (size_t k = 0; k < np; k++) {
            double gk = sp->grad[k];
            st.m1[k] = settings->beta1 * st.m1[k] + (1 - settings->beta1) * gk;
            st.m2[k] =
                settings->beta2 * st.m2[k] + (1 - settings->beta2) * gk * gk;
            map->params[k] -=
                lr * st.m1[k] /
                (sqrt(st.m2[k]) + settings->adam_eps * sqrt(1.0 - b2t));
        }
        info->steps = step;
        info->last = p;
        if (every > 0 && (step % every == 0 || step == settings->steps)) {
            int check_stopped;
            s1 = otk__mg_valid_check(&st.valid, map, &L, step, &check_stopped,
                                     &info->sinkhorn_iterations);
            if (s1 != OTK_CONVERGED) {
                status = s1;
                break;
            }
            inner_stopped |= check_stopped;
        }
        if (inner_stopped) { /* the step is usable; the final status says */
            info->inner_not_converged++;
            status = OTK_MAX_ITER;
        }
        if (report(settings, &call, &p) != 0) {
            status = OTK_CANCELLED;
            break;
        }
    }
    /* a completed run with validation returns its best map */
    if (every > 0 && status >= 0 && status != OTK_CANCELLED &&
        st.valid.best_step > 0) {
        memcpy(map->params, st.valid.best, np * sizeof *map->params);
        info->best_step = st.valid.best_step;
        info->validation_loss = st.valid.best_loss;
    }
    gsl_rng_free(rng);
    free_state(&st);
    if (bad_reg != NULL)
        return otk__fail(&call, OTK_ERR_INVALID_ARGUMENT, bad_reg, SIZE_MAX);
    return otk__mg_end(&call, status);
}
