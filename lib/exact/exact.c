/* Exact OT: validation, mass rescaling, the network simplex, outputs. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "exact/simplex.h"
#include "linalg/linalg.h"

void otk_exact_default_settings(otk_exact_settings *s)
{
    s->max_iter = SIZE_MAX;
    s->mass_tol = 1e-9;
    s->progress = NULL;
    s->progress_user = NULL;
}

static otk_status finish(otk_exact_info *info, otk_status st, const char *what,
                         size_t bad, double t0)
{
    info->status = st;
    info->bad_argument = what;
    info->bad_index = bad;
    info->time_s = otk__now() - t0;
    return st;
}

/* Weights in use: the caller's (or uniform), b rescaled to a's mass. */
static double *weights(const double *w, size_t len, double scale)
{
    double *out = malloc(len * sizeof *out);
    if (out != NULL)
        for (size_t k = 0; k < len; k++)
            out[k] = (w != NULL ? w[k] : 1.0 / (double)len) * scale;
    return out;
}

/*
 * The optimality certificate, checked on the returned plan and potentials
 * before OTK_OPTIMAL is reported: dual feasibility (every reduced cost
 * C_ij - f_i - g_j >= -tol), complementary slackness (= 0 within tol on
 * the plan's support) and no duality gap (|<P, C> - <a, f> - <b, g>| <=
 * tol times the mass), with tol relative to the cost scale. A scan of
 * every pair, as one pricing pass. Returns 1 when it holds, 0 when not,
 * -1 when memory is short.
 */
static int certified(const otk_cost *cost, const double *f, const double *g,
                     const otk_plan_entry *plan, size_t nnz, double mass,
                     double transport, double dual)
{
    const size_t n = cost->n, m = cost->m;
    double lo, hi;
    otk__cost_bounds(cost, &lo, &hi);
    /* the potentials are path sums of up to n + m costs, each rounded */
    const double tol = fmax(1e-10, 64.0 * DBL_EPSILON * (double)(n + m)) *
                       fmax(fmax(fabs(lo), fabs(hi)), DBL_MIN);
    if (!(fabs(transport - dual) <= tol * mass))
        return 0;
    for (size_t k = 0; k < nnz; k++) {
        double rc = otk__cost_entry(cost, plan[k].i, plan[k].j) - f[plan[k].i] -
                    g[plan[k].j];
        if (!(fabs(rc) <= tol))
            return 0;
    }
    double *yt = malloc((otk__cost_scratch_len(cost) + m) * sizeof *yt);
    if (yt == NULL)
        return -1;
    otk__cost_prepare(cost, yt);
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        const double *row =
            otk__cost_row(cost, yt, i, yt + otk__cost_scratch_len(cost));
        for (size_t j = 0; j < m; j++)
            ok &= row[j] - f[i] - g[j] >= -tol;
    }
    free(yt);
    return ok;
}

otk_status otk_exact(const otk_cost *cost, const double *a, const double *b,
                     const otk_exact_settings *settings, otk_plan_entry *plan,
                     double *P, double *f, double *g, otk_exact_info *info)
{
    const double t0 = otk__now();
    otk_exact_info local;
    if (info == NULL)
        info = &local;
    memset(info, 0, sizeof *info);
    info->transport_cost = info->dual_objective = NAN;
    info->marginal_error = NAN;
    otk_exact_settings defaults;
    if (settings == NULL) {
        otk_exact_default_settings(&defaults);
        settings = &defaults;
    }
    const char *what = NULL;
    size_t bad = SIZE_MAX;
    otk_status st;
    if (settings->max_iter < 1)
        return finish(info, OTK_ERR_INVALID_ARGUMENT, "settings.max_iter", bad,
                      t0);
    if (!(settings->mass_tol >= 0.0 && settings->mass_tol < 1.0))
        return finish(info, OTK_ERR_INVALID_ARGUMENT, "settings.mass_tol", bad,
                      t0);
    if ((st = otk__check_cost(cost, &what, &bad)) != OTK_OPTIMAL)
        return finish(info, st, what, bad, t0);
    const size_t n = cost->n, m = cost->m;
    if (n + m > (size_t)PTRDIFF_MAX / 8)
        return finish(info, OTK_ERR_INVALID_ARGUMENT, "cost.n", bad, t0);
    double mass_a, mass_b;
    if ((st = otk__check_weights(a, n, &mass_a, &bad)) != OTK_OPTIMAL)
        return finish(info, st, "a", bad, t0);
    if ((st = otk__check_weights(b, m, &mass_b, &bad)) != OTK_OPTIMAL)
        return finish(info, st, "b", bad, t0);
    if (fabs(mass_a - mass_b) > settings->mass_tol * fmax(mass_a, mass_b))
        return finish(info, OTK_ERR_MASS_MISMATCH, "b", SIZE_MAX, t0);

    const double scale = mass_a / mass_b;
    info->rescaled = scale != 1.0;
    double *wa = weights(a, n, 1.0), *wb = weights(b, m, scale);
    ns_state *s = wa && wb ? otk__ns_create(cost, wa, wb) : NULL;
    otk_plan_entry *tree = malloc((n + m) * sizeof *tree);
    if (s == NULL || tree == NULL) {
        free(wa);
        free(wb);
        free(tree);
        otk__ns_free(s);
        return finish(info, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX, t0);
    }
    st = otk__ns_solve(s, settings, &info->iterations);
    if (st == OTK_OPTIMAL && otk__ns_artificial_flow(s) > 1e-9 * mass_a)
        st = OTK_ERR_NUMERICAL; /* cannot happen for balanced masses */

    /* Outputs, all measured on the returned plan. */
    size_t nnz = otk__ns_plan(s, tree);
    info->nnz = nnz;
    double *row = calloc(n + m, sizeof *row), *col = row ? row + n : NULL;
    double transport = 0.0;
    for (size_t k = 0; k < nnz; k++) {
        transport +=
            tree[k].value * otk__cost_entry(cost, tree[k].i, tree[k].j);
        if (row != NULL) {
            row[tree[k].i] += tree[k].value;
            col[tree[k].j] += tree[k].value;
        }
    }
    info->transport_cost = transport;
    if (row != NULL) {
        double err = 0.0;
        for (size_t i = 0; i < n; i++)
            err += fabs(row[i] - (a != NULL ? a[i] : 1.0 / (double)n));
        for (size_t j = 0; j < m; j++)
            err += fabs(col[j] - (b != NULL ? b[j] : 1.0 / (double)m));
        info->marginal_error = err;
    } else if (st >= 0)
        st = OTK_ERR_NO_MEMORY; /* the marginal error is not known */
    free(row);
    if (plan != NULL)
        memcpy(plan, tree, nnz * sizeof *plan);
    if (P != NULL) {
        memset(P, 0, n * m * sizeof *P);
        for (size_t k = 0; k < nnz; k++)
            P[tree[k].i * m + tree[k].j] = tree[k].value;
    }
    /* Potentials, shifted (f - t, g + t) so that <a, f> = <b, g>. */
    double *pf = malloc((n + m) * sizeof *pf);
    if (pf != NULL) {
        double *pg = pf + n, af = 0.0, bg = 0.0;
        otk__ns_potentials(s, pf, pg);
        for (size_t i = 0; i < n; i++)
            af += wa[i] * pf[i];
        for (size_t j = 0; j < m; j++)
            bg += wb[j] * pg[j];
        double t = (af - bg) / (2.0 * mass_a);
        for (size_t i = 0; i < n; i++)
            pf[i] -= t;
        for (size_t j = 0; j < m; j++)
            pg[j] += t;
        info->dual_objective = (af - t * mass_a) + (bg + t * mass_a);
        const double numbers[] = {info->transport_cost, info->dual_objective,
                                  info->marginal_error};
        st = otk__finite_result(st, numbers, 3);
        st = otk__finite_result(st, pf, n + m);
        if (st == OTK_OPTIMAL) {
            int ok = certified(cost, pf, pg, tree, nnz, mass_a,
                               info->transport_cost, info->dual_objective);
            st = ok > 0 ? st : ok < 0 ? OTK_ERR_NO_MEMORY : OTK_ERR_NUMERICAL;
        }
        if (f != NULL)
            memcpy(f, pf, n * sizeof *f);
        if (g != NULL)
            memcpy(g, pg, m * sizeof *g);
        free(pf);
    } else if (st >= 0) {
        st = OTK_ERR_NO_MEMORY;
    }
    free(wa);
    free(wb);
    free(tree);
    otk__ns_free(s);
    return finish(info, st, NULL, SIZE_MAX, t0);
}
