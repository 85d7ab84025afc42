/* Debiased Sinkhorn divergence: three solves, the two self-transport ones
 * with the symmetric (averaged) update. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"
#include "entropic/entropic_internal.h"

/* Regularized OT value of one problem (its dual objective). */
static otk_status solve_value(const otk_cost *cost, const double *a,
                              const double *b, double reg,
                              const otk_sinkhorn_settings *s, int symmetric,
                              double *f, double *g, double *P,
                              otk_sinkhorn_info *info)
{
    otk_sinkhorn_workspace *ws =
        otk_sinkhorn_workspace_create(cost->n, cost->m);
    if (ws == NULL) {
        memset(info, 0, sizeof *info);
        info->bad_index = SIZE_MAX;
        return info->status = OTK_ERR_NO_MEMORY;
    }
    otk_status st =
        otk__sinkhorn_run(ws, cost, a, b, reg, s, symmetric, f, g, P, info);
    otk_sinkhorn_workspace_free(ws);
    return st;
}

/* Errors dominate; among successes, any non-convergence shows. */
static otk_status worse(otk_status x, otk_status y)
{
    if (x < 0 || y < 0)
        return x < y ? x : y;
    return x > y ? x : y;
}

otk_status otk_sinkhorn_divergence(const otk_cost *cost_xy,
                                   const otk_cost *cost_xx,
                                   const otk_cost *cost_yy, const double *a,
                                   const double *b, double reg,
                                   const otk_sinkhorn_settings *settings,
                                   double *divergence, double *f, double *g,
                                   double *P, otk_sinkhorn_info info[3])
{
    otk_sinkhorn_info local[3];
    if (info == NULL)
        info = local;
    memset(info, 0, 3 * sizeof *info);
    for (int k = 0; k < 3; k++)
        info[k].bad_index = SIZE_MAX;
    const char *what = NULL;
    size_t bad;
    otk_status st = otk__check_cost(cost_xy, &what, &bad);
    if (st == OTK_CONVERGED && divergence == NULL) {
        st = OTK_ERR_INVALID_ARGUMENT;
        what = "divergence";
    }
    otk_cost xx, yy;
    if (st == OTK_CONVERGED) {
        const size_t n = cost_xy->n, m = cost_xy->m;
        if (cost_xx != NULL)
            xx = *cost_xx;
        else if (cost_xy->C == NULL) {
            xx = *cost_xy;
            xx.y = xx.x;
            xx.m = n;
        } else
            what = "cost_xx";
        if (cost_yy != NULL)
            yy = *cost_yy;
        else if (cost_xy->C == NULL) {
            yy = *cost_xy;
            yy.x = yy.y;
            yy.n = m;
        } else if (what == NULL)
            what = "cost_yy";
        if (what == NULL && (xx.n != n || xx.m != n))
            what = "cost_xx";
        if (what == NULL && (yy.n != m || yy.m != m))
            what = "cost_yy";
        if (what != NULL)
            st = OTK_ERR_INVALID_ARGUMENT;
    }
    if (st != OTK_CONVERGED) {
        info[0].status = st;
        info[0].bad_argument = what;
        info[0].bad_index = bad;
        return st;
    }
    otk_sinkhorn_settings cold;
    if (settings == NULL)
        otk_sinkhorn_default_settings(&cold);
    else
        cold = *settings;
    cold.warm_start = 0;
    /* The same points and weights on both sides (S of a measure with
     * itself, which must be 0): the symmetric update applies to xy too. */
    int same = cost_xy->C == NULL && cost_xy->x == cost_xy->y &&
               cost_xy->n == cost_xy->m && a == b;
    st = solve_value(cost_xy, a, b, reg, &cold, same, f, g, P, &info[0]);
    if (st >= 0)
        st = worse(st, solve_value(&xx, a, a, reg, &cold, 1, NULL, NULL, NULL,
                                   &info[1]));
    if (st >= 0)
        st = worse(st, solve_value(&yy, b, b, reg, &cold, 1, NULL, NULL, NULL,
                                   &info[2]));
    if (st < 0) {
        *divergence = NAN;
        return st;
    }
    double ma = 0.0, mb = 0.0;
    for (size_t i = 0; i < cost_xy->n; i++)
        ma += a != NULL ? a[i] : 1.0 / (double)cost_xy->n;
    for (size_t j = 0; j < cost_xy->m; j++)
        mb += b != NULL ? b[j] : 1.0 / (double)cost_xy->m;
    *divergence = info[0].dual_objective -
                  0.5 * (info[1].dual_objective + info[2].dual_objective) +
                  0.5 * reg * (ma - mb) * (ma - mb);
    return st;
}
