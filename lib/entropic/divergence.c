/* Debiased Sinkhorn divergence: three solves; the two self-transport ones
 * are detected as symmetric and use the averaged update. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"
#include "entropic/entropic_internal.h"

/* Errors dominate; among successes, any non-convergence shows. */
static otk_status worse(otk_status x, otk_status y)
{
    if (x < 0 || y < 0)
        return x < y ? x : y;
    return x > y ? x : y;
}

/* The self-transport cost of one side: the given one, or for point
 * clouds the cloud against itself. NULL names the missing argument. */
static const char *self_cost(const otk_cost *given, const otk_cost *xy,
                             int rows, size_t size, const char *name,
                             otk_cost *out)
{
    if (given != NULL)
        *out = *given;
    else if (xy->C == NULL) {
        *out = *xy;
        if (rows)
            out->y = out->x;
        else
            out->x = out->y;
        out->n = out->m = size;
    } else
        return name;
    return out->n == size && out->m == size ? NULL : name;
}

static double mass(const double *w, size_t len)
{
    double s = 0.0;
    for (size_t i = 0; i < len; i++)
        s += w != NULL ? w[i] : 1.0 / (double)len;
    return s;
}

/* The divergence's three solves start cold: the settings (or the
 * defaults) without a warm start. */
void otk__cold_settings(const otk_sinkhorn_settings *settings,
                        otk_sinkhorn_settings *cold)
{
    if (settings == NULL)
        otk_sinkhorn_default_settings(cold);
    else
        *cold = *settings;
    cold->warm_start = 0;
}

otk_status otk_sinkhorn_divergence(const otk_problem *xy,
                                   const otk_cost *cost_xx,
                                   const otk_cost *cost_yy,
                                   const otk_sinkhorn_settings *settings,
                                   double *divergence, otk_solution *solution,
                                   otk_sinkhorn_info info[3])
{
    otk_sinkhorn_info local[3];
    if (info == NULL)
        info = local;
    /* every record starts as a call that computed nothing; argument
     * errors are reported in info[0] */
    otk__call call;
    for (int k = 2; k >= 0; k--) {
        otk_sinkhorn_info *record = &info[k];
        call = otk__sinkhorn_begin(&record, NULL);
    }
    if (divergence != NULL)
        *divergence = NAN;
    if (xy == NULL)
        return otk__fail(&call, OTK_ERR_INVALID_ARGUMENT, "problem", SIZE_MAX);
    const char *what = NULL;
    size_t bad = SIZE_MAX;
    otk_status st = otk__check_cost(xy->cost, &what, &bad);
    if (st != OTK_CONVERGED)
        return otk__fail(&call, st, what, bad);
    if (divergence == NULL)
        return otk__fail(&call, OTK_ERR_INVALID_ARGUMENT, "divergence",
                         SIZE_MAX);
    otk_cost xx, yy;
    const size_t n = xy->cost->n, m = xy->cost->m;
    what = self_cost(cost_xx, xy->cost, 1, n, "cost_xx", &xx);
    if (what == NULL)
        what = self_cost(cost_yy, xy->cost, 0, m, "cost_yy", &yy);
    if (what != NULL)
        return otk__fail(&call, OTK_ERR_INVALID_ARGUMENT, what, SIZE_MAX);
    otk_sinkhorn_settings cold;
    otk__cold_settings(settings, &cold);
    const otk_problem pxx = {&xx, xy->a, xy->a, xy->reg};
    const otk_problem pyy = {&yy, xy->b, xy->b, xy->reg};
    st = otk_sinkhorn(xy, &cold, solution, &info[0]);
    if (st >= 0)
        st = worse(st, otk_sinkhorn(&pxx, &cold, NULL, &info[1]));
    if (st >= 0)
        st = worse(st, otk_sinkhorn(&pyy, &cold, NULL, &info[2]));
    if (st < 0)
        return st;
    const double ma = mass(xy->a, n), mb = mass(xy->b, m);
    *divergence = info[0].dual_objective -
                  0.5 * (info[1].dual_objective + info[2].dual_objective) +
                  0.5 * xy->reg * (ma - mb) * (ma - mb);
    return st;
}
