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
    double *g_yy = f_yy + n;
    otk_sinkhorn_info info[3];
    otk_status sts[3];
    const otk_problem pyz = {&cyz, NULL, NULL, reg};
    const otk_problem pyy = {&cyy, NULL, NULL, reg};
    const otk_problem pzz = {&czz, NULL, NULL, reg};
    otk_solution syz = {.f = f_yz, .g = g_yz}, syy = {.f = f_yy, .g = g_yy};
    /* the self terms (the same cloud on both sides) are detected as
     * symmetric and use the averaged update */
    sts[0] = otk_sinkhorn_solve(sc->nm, &pyz, &s->sinkhorn, &syz, &info[0]);
    sts[1] = otk_sinkhorn_solve(sc->nn, &pyy, &s->sinkhorn, &syy, &info[1]);
    sts[2] = otk_sinkhorn_solve(sc->mm, &pzz, &s->sinkhorn, NULL, &info[2]);
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
        otk__mg_add_plan_grad(s, &cyz, reg, f_yz, g_yz, 1.0, grad, NULL);
        otk__mg_add_plan_grad(s, &cyy, reg, f_yy, g_yy, -0.5, grad, grad);
    }
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
    mg_scratch sc;
    if (otk__mg_scratch_init(&sc, n, m) != 0) {
        info->status = OTK_ERR_NO_MEMORY;
        return info->status;
    }
    info->reg = settings->reg;
    st = otk__mg_divergence_core(settings, y, n, z, m, d, settings->reg, &sc,
                                 value, grad, &info->iterations);
    otk__mg_scratch_free(&sc);
    info->status = st;
    info->time_s = otk__now() - t0;
    return st;
}
