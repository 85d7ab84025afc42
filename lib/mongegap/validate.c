/*
 * Validation during a fit (settings.validate_every > 0): a random part of
 * the source and of the target samples is held out of training, and every
 * validate_every steps the loss S + lambda M of the current map is
 * computed on the same held-out batch, at the fit's regs and inner
 * settings. The parameters with the lowest such loss are kept, and the fit
 * returns them. The held-out batch never changes, so its solves are
 * warm-started from the previous check's potentials.
 */
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mongegap/mlp.h"
#include "mongegap/mongegap_internal.h"

size_t otk__mg_holdout(size_t n, double fraction)
{
    size_t h = (size_t)floor(fraction * (double)n + 0.5);
    return h < 2 ? 2 : h;
}

/* Moves h random rows of perm[0..n) to its end (a partial Fisher-Yates
 * shuffle from the back) and copies the first b of them into out. */
static void hold_out(gsl_rng *rng, size_t *perm, size_t n, size_t h,
                     const double *data, size_t d, size_t b, double *out)
{
    for (size_t r = 0; r < h; r++) {
        size_t k = gsl_rng_uniform_int(rng, n - r), t = perm[k];
        perm[k] = perm[n - 1 - r];
        perm[n - 1 - r] = t;
    }
    for (size_t r = 0; r < b; r++)
        memcpy(out + r * d, data + perm[n - h + r] * d, d * sizeof *out);
}

int otk__mg_valid_init(mg_valid *v, const otk_mg_map *map, gsl_rng *rng,
                       const mg_split *sp)
{
    const size_t d = map->d;
    size_t b = sp->batch < sp->hs ? sp->batch : sp->hs;
    b = b < sp->ht ? b : sp->ht;
    v->best = malloc(map->nparams * sizeof *v->best);
    if (v->best == NULL || otk__mg_step_init(&v->step, map, b) != 0)
        return -1;
    (void)otk__mg_scratch_warm(&v->step.sc, d); /* else cold checks */
    hold_out(rng, sp->perm_s, sp->ns, sp->hs, sp->source, d, b, v->step.xb);
    hold_out(rng, sp->perm_t, sp->nt, sp->ht, sp->target, d, b, v->step.zb);
    v->best_loss = INFINITY;
    v->best_step = 0;
    return 0;
}

void otk__mg_valid_free(mg_valid *v)
{
    otk__mg_step_free(&v->step);
    free(v->best);
}

otk_status otk__mg_valid_check(mg_valid *v, const otk_mg_map *map,
                               const mg_loss *L, size_t step, int *stopped,
                               size_t *iterations)
{
    otk_mg_fit_progress p = {step, 0.0, 0.0, 0.0};
    otk_status st =
        otk__mg_step_loss(&v->step, map, L, &p, stopped, iterations);
    if (st != OTK_CONVERGED)
        return st;
    if (p.loss < v->best_loss) { /* NaN never replaces the best */
        v->best_loss = p.loss;
        v->best_step = step;
        memcpy(v->best, map->params, map->nparams * sizeof *v->best);
    }
    return OTK_CONVERGED;
}
