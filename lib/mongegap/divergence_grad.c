/* The debiased Sinkhorn divergence between point clouds, and its gradient
 * with respect to the points of the first cloud. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "entropic/entropic_internal.h"
#include "mongegap/mongegap_internal.h"

/* One solve: dual value, potentials in f, g (n and m) when non-NULL. */
static otk_status solve(const otk_cost *c, double reg,
                        const otk_sinkhorn_settings *s, int symmetric,
                        double *f, double *g, otk_sinkhorn_info *info)
{
    otk_sinkhorn_workspace *ws = otk_sinkhorn_workspace_create(c->n, c->m);
    if (ws == NULL)
        return info->status = OTK_ERR_NO_MEMORY;
    otk_status st = otk__sinkhorn_run(ws, c, NULL, NULL, reg, s, symmetric, f,
                                      g, NULL, info);
    otk_sinkhorn_workspace_free(ws);
    return st;
}

otk_status otk_mg_divergence(const double *y, size_t n, const double *z,
                             size_t m, size_t d,
                             const otk_mg_settings *settings, double *value,
                             double *grad, otk_mg_info *info)
{
    const double t0 = otk__now();
    otk_mg_info local;
    if (info == NULL)
        info = &local;
    memset(info, 0, sizeof *info);
    info->bad_index = SIZE_MAX;
    otk_mg_settings defaults;
    if (settings == NULL) {
        otk_mg_default_settings(&defaults);
        settings = &defaults;
    }
    const char *what = otk__mg_check(settings);
    if (what == NULL && !(settings->reg > 0.0))
        what = "settings.reg";
    if (what == NULL && (y == NULL || z == NULL || value == NULL))
        what = y == NULL ? "y" : z == NULL ? "z" : "value";
    otk_cost cyz = otk__mg_cost(settings, n, m, d, y, z);
    size_t bad = SIZE_MAX;
    otk_status st = OTK_CONVERGED;
    if (what == NULL && (st = otk__check_cost(&cyz, &what, &bad)) != 0)
        what = strcmp(what, "cost.y") == 0   ? "z"
               : strcmp(what, "cost.x") == 0 ? "y"
                                             : "n";
    if (what != NULL) {
        info->status = st < 0 ? st : OTK_ERR_INVALID_ARGUMENT;
        info->bad_argument = what;
        info->bad_index = bad;
        info->time_s = otk__now() - t0;
        return info->status;
    }
    otk_cost cyy = otk__mg_cost(settings, n, n, d, y, y);
    otk_cost czz = otk__mg_cost(settings, m, m, d, z, z);
    const double reg = settings->reg;
    double *pot = malloc((3 * n + m) * sizeof *pot);
    if (pot == NULL) {
        info->status = OTK_ERR_NO_MEMORY;
        return info->status;
    }
    double *f_yz = pot, *g_yz = f_yz + n, *f_yy = g_yz + m, *g_yy = f_yy + n;
    otk_sinkhorn_info s_yz, s_yy, s_zz;
    otk_status sts[3];
    sts[0] = solve(&cyz, reg, &settings->sinkhorn, 0, f_yz, g_yz, &s_yz);
    sts[1] = solve(&cyy, reg, &settings->sinkhorn, 1, f_yy, g_yy, &s_yy);
    sts[2] = solve(&czz, reg, &settings->sinkhorn, 1, NULL, NULL, &s_zz);
    st = OTK_CONVERGED;
    for (int k = 0; k < 3; k++)
        if (sts[k] < 0 ? sts[k] < st || st >= 0 : st >= 0 && sts[k] > st)
            st = sts[k];
    info->iterations = s_yz.iterations + s_yy.iterations + s_zz.iterations;
    info->reg = reg;
    if (st >= 0) {
        *value = s_yz.dual_objective -
                 0.5 * (s_yy.dual_objective + s_zz.dual_objective);
        info->ot_cost = s_yz.dual_objective;
        if (grad != NULL) {
            memset(grad, 0, n * d * sizeof *grad);
            otk__mg_add_plan_grad(settings, &cyz, reg, f_yz, g_yz, 1.0, grad,
                                  NULL);
            otk__mg_add_plan_grad(settings, &cyy, reg, f_yy, g_yy, -0.5, grad,
                                  grad);
        }
    }
    free(pot);
    info->status = st;
    info->time_s = otk__now() - t0;
    return st;
}
