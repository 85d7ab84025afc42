/* The debiased Sinkhorn divergence between point clouds, and its gradient
 * with respect to the points of the first cloud. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "mongegap/mongegap_internal.h"

otk_status otk__mg_divergence_core(const otk_mg_settings *s, const double *y,
                                   size_t n, const double *z, size_t m,
                                   size_t d, double reg, mg_scratch *sc,
                                   double *value, double *grad,
                                   size_t *iterations)
{
    otk_cost cyz = otk__mg_cost(s, n, m, d, y, z);
    otk_cost cyy = otk__mg_cost(s, n, n, d, y, y);
    otk_cost czz = otk__mg_cost(s, m, m, d, z, z);
    double *f_yz = sc->pot, *g_yz = f_yz + n, *f_yy = g_yz + m;
    double *g_yy = f_yy + n, *f_zz = g_yy + n, *g_zz = f_zz + m;
    otk_sinkhorn_info info[3];
    otk_status sts[3];
    otk_solution syz = {.f = f_yz, .g = g_yz}, syy = {.f = f_yy, .g = g_yy};
    otk_solution szz = {.f = f_zz, .g = g_zz};
    mg_warm *w = sc->warm;
    /* the self terms (the same cloud on both sides) are detected as
     * symmetric and use the averaged update */
    sts[0] = otk__mg_solve(sc->nm, s, &cyz, reg, w ? &w[MG_WARM_YZ] : NULL,
                           &syz, &info[0]);
    sts[1] = otk__mg_solve(sc->nn, s, &cyy, reg, w ? &w[MG_WARM_YY] : NULL,
                           &syy, &info[1]);
    sts[2] = otk__mg_solve(sc->mm, s, &czz, reg, w ? &w[MG_WARM_ZZ] : NULL,
                           &szz, &info[2]);
    /* errors first, then the least converged */
    otk_status st = OTK_CONVERGED;
    for (int k = 0; k < 3; k++)
        if (sts[k] < 0 ? (st >= 0 || sts[k] < st) : (st >= 0 && sts[k] > st))
            st = sts[k];
    *iterations = info[0].iterations + info[1].iterations + info[2].iterations;
    if (st < 0)
        return st;
    *value = info[0].dual_objective -
             0.5 * (info[1].dual_objective + info[2].dual_objective);
    if (grad != NULL) {
        memset(grad, 0, n * d * sizeof *grad);
        otk__mg_add_plan_grad(s, &cyz, reg, f_yz, g_yz, 1.0, grad, NULL,
                              sc->rows);
        otk__mg_add_plan_grad(s, &cyy, reg, f_yy, g_yy, -0.5, grad, grad,
                              sc->rows);
    }
    return st;
}

otk_status otk_mg_divergence(const double *y, size_t n, const double *z,
                             size_t m, size_t d,
                             const otk_mg_settings *settings, double *value,
                             double *grad, otk_mg_info *info)
{
    otk_mg_info local;
    if (info == NULL)
        info = &local;
    otk__call call;
    otk_mg_settings defaults;
    otk_cost cyz;
    otk_status st = otk__mg_enter(&call, info, &settings, &defaults);
    if (st != OTK_CONVERGED)
        return st;
    if (!(settings->reg > 0.0)) /* no mean cost to scale a relative reg */
        return otk__fail(&call, OTK_ERR_INVALID_ARGUMENT, "settings.reg",
                         SIZE_MAX);
    if (value == NULL)
        return otk__fail(&call, OTK_ERR_INVALID_ARGUMENT, "value", SIZE_MAX);
    if ((st = otk__mg_points(&call, settings, y, n, z, m, d, "y", "z", &cyz)) !=
        OTK_CONVERGED)
        return st;
    mg_scratch sc;
    if (otk__mg_scratch_init(&sc, n, m, d) != 0)
        return otk__fail(&call, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX);
    info->reg = settings->reg;
    st = otk__mg_divergence_core(settings, y, n, z, m, d, settings->reg, &sc,
                                 value, grad, &info->iterations);
    otk__mg_scratch_free(&sc);
    if (st >= 0)
        info->ot_cost = *value;
    return otk__mg_end(&call, st);
}
