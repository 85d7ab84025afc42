/*
 * One training step's loss and gradient: L(theta) = S(T#x, z) +
 * lambda M(T; x) on a source batch x and a target batch z, with the
 * envelope gradients of both terms with respect to the mapped points
 * back-propagated through the network. otk_mg_fit calls it every step; the
 * unit tests check it against finite differences of L itself.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mongegap/mlp.h"
#include "mongegap/mongegap_internal.h"

void otk__mg_step_free(mg_step *st)
{
    free(st->xb);
    free(st->cache);
    free(st->grad);
    otk__mg_scratch_free(&st->sc);
}

int otk__mg_step_init(mg_step *st, const otk_mg_map *map, size_t b)
{
    const size_t d = map->d;
    size_t widest = 0;
    for (size_t l = 0; l <= map->layers; l++)
        widest = map->size[l] > widest ? map->size[l] : widest;
    memset(st, 0, sizeof *st);
    st->b = b;
    st->d = d;
    st->xb = malloc(5 * b * d * sizeof *st->xb);
    st->cache = malloc((otk__mlp_cache_len(map, b) + 2 * b * widest) *
                       sizeof *st->cache);
    st->grad = malloc(map->nparams * sizeof *st->grad);
    if (!st->xb || !st->cache || !st->grad ||
        otk__mg_scratch_init(&st->sc, b, b, d) != 0) {
        otk__mg_step_free(st);
        return -1;
    }
    st->zb = st->xb + b * d;
    st->yb = st->zb + b * d;
    st->g_fit = st->yb + b * d;
    st->g_gap = st->g_fit + b * d;
    st->work = st->cache + otk__mlp_cache_len(map, b);
    return 0;
}

otk_status otk__mg_step_loss(mg_step *st, const otk_mg_map *map,
                             const mg_loss *L, otk_mg_fit_progress *p,
                             int *stopped, size_t *iterations)
{
    const size_t b = st->b, d = st->d;
    otk__mlp_forward(map, st->xb, b, st->yb, st->cache);
    p->fitting = p->monge_gap = 0.0;
    *stopped = 0;
    size_t its = 0;
    otk_status s1 =
        otk__mg_divergence_core(L->div, st->yb, b, st->zb, b, d, L->div_reg,
                                &st->sc, &p->fitting, st->g_fit, &its);
    *iterations += its;
    /* errors end the step, and so does a cancel by a progress callback;
     * a solve that stopped at max_iter leaves a usable step */
    if (s1 < 0 || s1 == OTK_CANCELLED)
        return s1;
    *stopped = s1 != OTK_CONVERGED;
    if (L->lambda > 0.0) {
        otk_mg_info gi;
        otk_status s2 = otk__mg_entropic_gap(
            L->gap, st->xb, st->yb, b, d, L->gap_reg, &st->sc, st->g_gap, &gi);
        *iterations += gi.iterations;
        if (s2 < 0 || s2 == OTK_CANCELLED)
            return s2;
        *stopped |= s2 != OTK_CONVERGED;
        p->monge_gap = gi.monge_gap;
        for (size_t k = 0; k < b * d; k++)
            st->g_fit[k] += L->lambda * st->g_gap[k];
    }
    p->loss = p->fitting + L->lambda * p->monge_gap;
    otk__mlp_backward(map, st->xb, b, st->g_fit, st->cache, st->grad, st->work);
    return OTK_CONVERGED;
}
