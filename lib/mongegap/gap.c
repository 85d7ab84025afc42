/*
 * The Monge gap and the debiased Sinkhorn divergence with their gradients
 * with respect to the moved points (envelope theorem at the converged
 * plans; see otkit/mongegap.h). Plans are never stored: their entries are
 * recomputed row by row from the potentials while the gradients are
 * accumulated.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <otkit/entropic.h>
#include <otkit/exact.h>

#include "core/core.h"
#include "linalg/linalg.h"
#include "mongegap/mongegap_internal.h"

otk_cost otk__mg_cost(const otk_mg_settings *s, size_t n, size_t m, size_t d,
                      const double *x, const double *y)
{
    return otk_cost_points(n, m, d, x, y, s->metric, s->p);
}

void otk__mg_grad_first(const otk_mg_settings *s, const double *u,
                        const double *v, size_t d, double weight, double *out)
{
    switch (s->metric) {
    case OTK_METRIC_SQEUCLIDEAN:
        for (size_t k = 0; k < d; k++)
            out[k] += weight * 2.0 * (u[k] - v[k]);
        return;
    case OTK_METRIC_EUCLIDEAN: {
        double norm = 0.0;
        for (size_t k = 0; k < d; k++)
            norm += (u[k] - v[k]) * (u[k] - v[k]);
        norm = sqrt(norm);
        if (norm == 0.0) /* the subgradient 0, as ott-jax's custom JVP */
            return;
        for (size_t k = 0; k < d; k++)
            out[k] += weight * (u[k] - v[k]) / norm;
        return;
    }
    case OTK_METRIC_PNORM:
        /* the gradient of ||t||_p^p: p sign(t) |t|^(p - 1) */
        for (size_t k = 0; k < d; k++) {
            double t = u[k] - v[k];
            double mag = s->p == 1.0 ? 1.0 : s->p * pow(fabs(t), s->p - 1.0);
            out[k] += weight * (t > 0.0 ? mag : t < 0.0 ? -mag : 0.0);
        }
        return;
    }
}

double otk__mg_mean_cost(const otk_cost *c)
{
    double total = 0.0;
    for (size_t i = 0; i < c->n; i++)
        for (size_t j = 0; j < c->m; j++)
            total += otk_cost_entry(c, i, j);
    return total / ((double)c->n * (double)c->m);
}

/* The median over the rows i of min_{j != i} |C_ij - C_ii|: how far each
 * point's nearest competitor is from its own image, the cost difference
 * the entropic plan must resolve. Unlike the mean cost it does not grow
 * against the differences as the dimension concentrates distances. */
double otk__mg_competitor_cost(const otk_cost *c)
{
    const size_t n = c->n < c->m ? c->n : c->m;
    if (n < 2)
        return 0.0;
    double *gap = malloc(n * sizeof *gap);
    if (gap == NULL)
        return NAN;
    for (size_t i = 0; i < n; i++) {
        const double own = otk_cost_entry(c, i, i);
        double best = INFINITY;
        for (size_t j = 0; j < n; j++) {
            double dif = fabs(otk_cost_entry(c, i, j) - own);
            if (j != i && dif < best)
                best = dif;
        }
        gap[i] = best;
    }
    /* the lower median by insertion sort: n is one batch */
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && gap[k - 1] > gap[k]; k--) {
            double t = gap[k];
            gap[k] = gap[k - 1];
            gap[k - 1] = t;
        }
    double med = gap[(n - 1) / 2];
    free(gap);
    return med;
}

void otk__mg_add_plan_grad(const otk_mg_settings *s, const otk_cost *c,
                           double reg, const double *f, const double *g,
                           double sign, double *grad_rows, double *grad_cols,
                           double *scratch)
{
    /* P_ij = a_i b_j exp((f_i + g_j - C_ij) / reg), uniform a and b; a
     * row's costs and exponentials by the vectorized kernels */
    const size_t n = c->n, m = c->m, d = c->d;
    const double log_ab = -log((double)n) - log((double)m);
    double *yt = scratch, *p = scratch + otk__cost_scratch_len(c);
    otk__cost_prepare(c, yt);
    for (size_t i = 0; i < n; i++) {
        const double *u = c->x + i * d, *row = otk__cost_row(c, yt, i, p);
        for (size_t j = 0; j < m; j++)
            p[j] = log_ab + (f[i] + g[j] - row[j]) / reg;
        otk__exp_shift_sum(p, 0.0, p, m);
        for (size_t j = 0; j < m; j++) {
            const double pij = p[j];
            if (pij < 1e-300)
                continue;
            const double *v = c->y + j * d;
            if (grad_rows != NULL)
                otk__mg_grad_first(s, u, v, d, sign * pij, grad_rows + i * d);
            if (grad_cols != NULL) /* grad_2 c(u, v) = -grad_1 c(u, v) */
                otk__mg_grad_first(s, u, v, d, -sign * pij, grad_cols + j * d);
        }
    }
}

int otk__mg_scratch_init(mg_scratch *sc, size_t n, size_t m, size_t d)
{
    sc->n = n;
    sc->m = m;
    const size_t big = n > m ? n : m;
    sc->rows = malloc((otk__cost_scratch_max(big, d) + big) * sizeof *sc->rows);
    sc->nn = otk_sinkhorn_workspace_create(n, n);
    sc->nm = otk_sinkhorn_workspace_create(n, m);
    sc->mm = otk_sinkhorn_workspace_create(m, m);
    sc->pot = malloc(4 * (n + m) * sizeof *sc->pot);
    sc->warm = NULL;
    if (sc->nn && sc->nm && sc->mm && sc->pot && sc->rows)
        return 0;
    otk__mg_scratch_free(sc);
    return -1;
}

int otk__mg_scratch_warm(mg_scratch *sc, size_t d)
{
    const size_t n = sc->n, m = sc->m;
    /* rows x columns of each problem, in the order of MG_WARM_* */
    const size_t rows[MG_WARM_COUNT] = {n, n, n, m};
    const size_t cols[MG_WARM_COUNT] = {n, m, n, m};
    sc->warm = calloc(MG_WARM_COUNT, sizeof *sc->warm);
    int bad = sc->warm == NULL;
    for (int k = 0; k < MG_WARM_COUNT && !bad; k++)
        bad = otk__mg_warm_init(&sc->warm[k], rows[k], cols[k], d) != 0;
    if (!bad)
        return 0;
    for (int k = 0; sc->warm != NULL && k < MG_WARM_COUNT; k++)
        otk__mg_warm_free(&sc->warm[k]);
    free(sc->warm);
    sc->warm = NULL;
    return -1;
}

void otk__mg_scratch_free(mg_scratch *sc)
{
    for (int k = 0; sc->warm != NULL && k < MG_WARM_COUNT; k++)
        otk__mg_warm_free(&sc->warm[k]);
    free(sc->warm);
    otk_sinkhorn_workspace_free(sc->nn);
    otk_sinkhorn_workspace_free(sc->nm);
    otk_sinkhorn_workspace_free(sc->mm);
    free(sc->pot);
    free(sc->rows);
    memset(sc, 0, sizeof *sc);
}

otk_status otk__mg_entropic_gap(const otk_mg_settings *s, const double *x,
                                const double *y, size_t n, size_t d, double reg,
                                mg_scratch *sc, double *grad, otk_mg_info *info)
{
    otk_cost c = otk__mg_cost(s, n, n, d, x, y);
    /* after the divergence's potentials (fit steps keep both) */
    double *f = sc->pot + 3 * (sc->n + sc->m), *g = f + n, disp = 0.0;
    for (size_t i = 0; i < n; i++)
        disp += otk_cost_entry(&c, i, i) / (double)n;
    info->displacement_cost = disp;
    info->reg = reg;
    otk_sinkhorn_info si;
    otk_solution sol = {.f = f, .g = g};
    otk_status st =
        otk__mg_solve(sc->nn, s, &c, reg,
                      sc->warm ? &sc->warm[MG_WARM_GAP] : NULL, &sol, &si);
    info->iterations = si.iterations;
    if (st < 0)
        return st;
    /* <P,C> - reg H(P) = the KL objective - reg (H(a) + H(b)) */
    info->ot_cost = si.objective - 2.0 * reg * log((double)n);
    info->monge_gap = disp - info->ot_cost;
    if (grad != NULL) {
        /* dM/dy_j = sum_i P_ij grad_1 c(x_i, y_j) - (1/n) grad_1
         * c(x_j, y_j), since grad_2 c = -grad_1 c for these costs; the
         * columns of add_plan_grad get -sign P grad_1 c */
        memset(grad, 0, n * d * sizeof *grad);
        otk__mg_add_plan_grad(s, &c, reg, f, g, -1.0, NULL, grad, sc->rows);
        for (size_t j = 0; j < n; j++)
            otk__mg_grad_first(s, x + j * d, y + j * d, d, -1.0 / (double)n,
                               grad + j * d);
    }
    return st;
}

otk_status otk__mg_points(otk__call *call, const otk_mg_settings *s,
                          const double *x, size_t n, const double *y, size_t m,
                          size_t d, const char *x_name, const char *y_name,
                          otk_cost *cost)
{
    if (x == NULL || y == NULL)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, x ? y_name : x_name,
                         SIZE_MAX);
    *cost = otk__mg_cost(s, n, m, d, x, y);
    const char *what = NULL;
    size_t bad = SIZE_MAX;
    otk_status st = otk__check_cost(cost, &what, &bad);
    if (st == OTK_CONVERGED)
        return st;
    /* name the caller's arrays and sizes, not the cost's */
    return otk__fail(call, st,
                     strcmp(what, "cost.x") == 0   ? x_name
                     : strcmp(what, "cost.y") == 0 ? y_name
                     : strcmp(what, "cost.d") == 0 ? "d"
                     : strcmp(what, "cost.m") == 0 ? "m"
                                                   : "n",
                     bad);
}

otk_status otk__mg_enter(otk__call *call, otk_mg_info *info,
                         const otk_mg_settings **settings,
                         otk_mg_settings *defaults)
{
    *call = otk__begin(&info->outcome);
    info->monge_gap = info->ot_cost = info->displacement_cost = NAN;
    info->reg = NAN;
    info->iterations = 0;
    if (*settings == NULL) {
        otk_mg_default_settings(defaults);
        *settings = defaults;
    }
    return otk__mg_validate(call, *settings);
}

otk_status otk__mg_end(otk__call *call, otk_status st)
{
    if (st == OTK_MAX_ITER)
        call->out->cause = "inner_max_iter";
    return otk__finish(call, st);
}

otk_status otk_monge_gap(const double *x, const double *y, size_t n, size_t d,
                         const otk_mg_settings *settings, double *grad,
                         otk_mg_info *info)
{
    otk_mg_info local;
    if (info == NULL)
        info = &local;
    otk__call call;
    otk_mg_settings defaults;
    otk_cost c;
    otk_status st = otk__mg_enter(&call, info, &settings, &defaults);
    if (st != OTK_CONVERGED ||
        (st = otk__mg_points(&call, settings, x, n, y, n, d, "x", "y", &c)) !=
            OTK_CONVERGED)
        return st;
    if (!settings->exact) {
        double reg = settings->reg > 0.0
                         ? settings->reg
                         : settings->relative_reg * otk__mg_mean_cost(&c);
        if ((st = otk__check_reg(&call, reg)) != OTK_CONVERGED)
            return st; /* a zero mean cost: all points equal */
        mg_scratch sc;
        if (otk__mg_scratch_init(&sc, n, n, d) != 0)
            return otk__fail(&call, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX);
        st = otk__mg_entropic_gap(settings, x, y, n, d, reg, &sc, grad, info);
        otk__mg_scratch_free(&sc);
        return otk__mg_end(&call, st);
    }
    /* exact: the same formula with the network simplex's sparse plan */
    info->reg = 0.0;
    double disp = 0.0;
    for (size_t i = 0; i < n; i++)
        disp += otk_cost_entry(&c, i, i) / (double)n;
    info->displacement_cost = disp;
    otk_plan_entry *plan = malloc(2 * n * sizeof *plan);
    if (plan == NULL)
        return otk__fail(&call, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX);
    otk_exact_info ex;
    otk_problem pb = {.cost = &c};
    otk_solution sol = {.plan = plan, .capacity = 2 * n};
    st = otk_exact(&pb, NULL, &sol, &ex);
    info->iterations = ex.iterations;
    if (st >= 0) {
        info->ot_cost = ex.transport_cost;
        info->monge_gap = disp - info->ot_cost;
    }
    if (st >= 0 && grad != NULL) {
        memset(grad, 0, n * d * sizeof *grad);
        for (size_t k = 0; k < ex.nnz; k++)
            otk__mg_grad_first(settings, x + plan[k].i * d, y + plan[k].j * d,
                               d, plan[k].value, grad + plan[k].j * d);
        for (size_t j = 0; j < n; j++)
            otk__mg_grad_first(settings, x + j * d, y + j * d, d,
                               -1.0 / (double)n, grad + j * d);
    }
    free(plan);
    return otk__finish(&call, st);
}
