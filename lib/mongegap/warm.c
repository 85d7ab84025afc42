/*
 * Warm starts of a training loop's Sinkhorn solves. Every step of a fit
 * draws new points, so the last step's potentials cannot be reused entry
 * by entry; but they are samples of potential functions, and the entropic
 * c-transform of the last f,
 *
 *     g(v) = -reg log sum_i (1/n) exp((f_i - c(u_i, v)) / reg),
 *
 * extends them to the new column points v (the out-of-sample extension of
 * entropic potentials; ott-jax's SubsampleInitializer uses the same idea
 * within one problem). Its cost is one pass over the n x m pairs, that of
 * one Sinkhorn iteration, and it starts the solve close to its answer when
 * the map moves little between steps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linalg/linalg.h"
#include "mongegap/mongegap_internal.h"

int otk__mg_warm_init(mg_warm *w, size_t n, size_t m, size_t d)
{
    memset(w, 0, sizeof *w);
    /* yt serves the costs against n and against m points (extend, solve) */
    const size_t yt_len = otk__cost_scratch_max(n > m ? n : m, d);
    w->u = malloc((n * d + n + m + n + yt_len) * sizeof *w->u);
    w->C = malloc(n * m * sizeof *w->C);
    if (w->u == NULL || w->C == NULL) {
        otk__mg_warm_free(w);
        return -1;
    }
    w->f = w->u + n * d;
    w->g = w->f + n;
    w->t = w->g + m;
    w->yt = w->t + n;
    w->n = n;
    w->m = m;
    w->d = d;
    return 0;
}

void otk__mg_warm_free(mg_warm *w)
{
    free(w->u);
    free(w->C);
    memset(w, 0, sizeof *w);
}

/* g at the columns v of c from the kept rows and f (see the top). The
 * costs are symmetric, so column j of C(u, v) is row j of C(v, u),
 * computed a row at a time by the vectorized kernels (linalg.h). */
static void extend(const otk_mg_settings *s, mg_warm *w, const double *v,
                   double reg)
{
    otk_cost c = otk_cost_points(w->m, w->n, w->d, v, w->u, s->metric, s->p);
    otk__cost_prepare(&c, w->yt);
    const double log_n = log((double)w->n);
    for (size_t j = 0; j < w->m; j++) {
        const double *row = otk__cost_row(&c, w->yt, j, w->t);
        for (size_t i = 0; i < w->n; i++)
            w->t[i] = (w->f[i] - row[i]) / reg;
        w->g[j] = -reg * (otk__lse(w->t, w->n) - log_n);
    }
}

otk_status otk__mg_solve(otk_sinkhorn_workspace *ws, const otk_mg_settings *s,
                         const otk_cost *c, double reg, mg_warm *w,
                         otk_solution *sol, otk_sinkhorn_info *info)
{
    otk_sinkhorn_settings ss = s->sinkhorn;
    ss.warm_start = 0; /* the fit's field says whether w exists */
    otk_problem pb = {c, NULL, NULL, reg};
    otk_solution local = {0};
    if (w == NULL)
        return otk_sinkhorn_solve(ws, &pb, &ss, sol, info);
    if (sol == NULL) { /* the warm start needs this solve's f */
        local.f = w->t;
        sol = &local;
    }
    double *g_out = sol->g;
    /* the solve iterates on a dense copy of the cost: formed once (the
     * cost of one sweep), it spares every sweep the distances, and lets
     * the solver use the scaling domain when the reg allows */
    otk__cost_prepare(c, w->yt);
    for (size_t i = 0; i < w->n; i++) {
        double *dst = w->C + i * w->m;
        const double *row = otk__cost_row(c, w->yt, i, dst);
        if (row != dst) /* a dense c */
            memcpy(dst, row, w->m * sizeof *dst);
    }
    const otk_cost dense = otk_cost_dense(w->n, w->m, w->C);
    pb.cost = &dense;
    if (w->ready) {
        extend(s, w, c->y, reg);
        ss.warm_start = 1;
        sol->g = w->g;
    }
    otk_status st = otk_sinkhorn_solve(ws, &pb, &ss, sol, info);
    if (w->ready && g_out != NULL)
        memcpy(g_out, w->g, w->m * sizeof *w->g);
    sol->g = g_out;
    /* a solve that stopped at its cap starts the next one cold (with
     * epsilon scaling when the settings allow it) rather than from
     * potentials that were not good enough */
    w->ready = st == OTK_CONVERGED;
    if (w->ready) {
        memcpy(w->u, c->x, w->n * w->d * sizeof *w->u);
        memmove(w->f, sol->f, w->n * sizeof *w->f);
    }
    return st;
}
