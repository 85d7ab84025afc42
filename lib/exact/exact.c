/*
 * Exact OT: the settings table, the workspace, the entry points' checks,
 * mass rescaling, the warm or cold start of the network simplex, and the
 * outputs with their certificate.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "exact/certificate.h"
#include "exact/simplex.h"
#include "linalg/linalg.h"

/* clang-format off */
#define FIELD(name, kind, lo, hi, flags, def, meaning)                         \
    {#name, "settings." #name, kind, lo, hi, flags, def, meaning,              \
     offsetof(otk_exact_settings, name)}

static const otk_setting_bounds table[] = {
    FIELD(max_iter, OTK_SETTING_COUNT, 1, INFINITY, 0, INFINITY,
          "pivot limit"),
    FIELD(mass_tol, OTK_SETTING_REAL, 0, 1, OTK_BOUND_UPPER_OPEN, 1e-9,
          "relative mass difference tolerated (b is rescaled)"),
    FIELD(warm_start, OTK_SETTING_INTEGER, 0, 1, 0, 0,
          "1: start from the workspace's basis"),
};
/* clang-format on */
#define COUNT_OF (sizeof table / sizeof table[0])

OTK__DEFINE_BOUNDS_QUERY(otk_exact_setting_bounds, table)

OTK__DEFINE_DEFAULT_SETTINGS(otk_exact_default_settings, otk_exact_settings,
                             table)

struct otk_exact_workspace {
    size_t n, m;
    ns_state *ns;
    int has_basis;        /* ns holds the basis of a solve with status >= 0 */
    double *w;            /* weights in use: a (n), then b rescaled (m) */
    double *basis_w;      /* the weights the kept basis is feasible for */
    double *sums;         /* the plan's row (n) and column (m) sums */
    double *pot;          /* potentials f (n), then g (m) */
    otk_plan_entry *tree; /* the plan, n + m entries */
    double *scratch;      /* prepared targets, then one cost row (m) */
    size_t scratch_len;
};

void otk_exact_workspace_free(otk_exact_workspace *ws)
{
    if (ws == NULL)
        return;
    otk__ns_free(ws->ns);
    free(ws->w);
    free(ws->tree);
    free(ws->scratch);
    free(ws);
}

/* Sizes the simplex can index: n m arcs and 8 (n + m) bytes per array. */
static int sizes_fit(size_t n, size_t m)
{
    return n > 0 && m > 0 && n <= SIZE_MAX / m &&
           n + m <= (size_t)PTRDIFF_MAX / 8;
}

otk_exact_workspace *otk_exact_workspace_create(size_t n, size_t m)
{
    if (!sizes_fit(n, m))
        return NULL;
    otk_exact_workspace *ws = calloc(1, sizeof *ws);
    if (ws == NULL)
        return NULL;
    ws->n = n;
    ws->m = m;
    ws->ns = otk__ns_create(n, m);
    ws->w = malloc(4 * (n + m) * sizeof *ws->w);
    ws->tree = malloc((n + m) * sizeof *ws->tree);
    ws->scratch = malloc(m * sizeof *ws->scratch);
    ws->scratch_len = m;
    if (!ws->ns || !ws->w || !ws->tree || !ws->scratch) {
        otk_exact_workspace_free(ws);
        return NULL;
    }
    ws->basis_w = ws->w + (n + m);
    ws->sums = ws->basis_w + (n + m);
    ws->pot = ws->sums + (n + m);
    return ws;
}

/* No iterations, numbers unknown. */
static void clear_info(otk_exact_info *info)
{
    info->iterations = info->nnz = 0;
    info->transport_cost = info->dual_objective = NAN;
    info->marginal_error = NAN;
    info->rescaled = info->warm_started = 0;
}

/* The checks both entry points share, after otk__begin: the problem, the
 * settings (NULL: the defaults, in *defaults), the cost, the weights and
 * their masses. Fails the call naming what is wrong, or returns 0. */
static otk_status check_call(otk__call *call, const otk_problem *problem,
                             const otk_exact_settings **settings,
                             otk_exact_settings *defaults, double *mass_a,
                             double *mass_b)
{
    if (problem == NULL)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "problem", SIZE_MAX);
    if (*settings == NULL) {
        otk_exact_default_settings(defaults);
        *settings = defaults;
    }
    otk_status st = otk__validate_settings(call, table, COUNT_OF, *settings);
    if (st != OTK_OPTIMAL)
        return st;
    st = otk__check_transport(call, problem->cost, problem->a, problem->b, 1,
                              (*settings)->mass_tol, mass_a, mass_b);
    if (st != OTK_OPTIMAL)
        return st;
    if (!sizes_fit(problem->cost->n, problem->cost->m))
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "cost.n", SIZE_MAX);
    return OTK_OPTIMAL;
}

/* The cost's scratch in the workspace (grown for point clouds), prepared,
 * with the cost's scale. -1 when memory is short. */
static int prepare_cost(otk_exact_workspace *ws, const otk_cost *cost,
                        ns_cost *c, double *lo, double *hi)
{
    const size_t len = otk__cost_scratch_len(cost);
    if (len + ws->m > ws->scratch_len) {
        double *grown = realloc(ws->scratch, (len + ws->m) * sizeof *grown);
        if (grown == NULL)
            return -1;
        ws->scratch = grown;
        ws->scratch_len = len + ws->m;
    }
    otk__cost_prepare(cost, ws->scratch);
    c->cost = cost;
    c->yt = ws->scratch;
    c->crow = ws->scratch + len;
    otk__cost_rows_bounds(cost, c->yt, 0, cost->n, c->crow, lo, hi);
    c->scale = fmax(fabs(*lo), fabs(*hi));
    return 0;
}

/* The weights in use into ws->w (b scaled to a's mass); 1 when the kept
 * basis may warm start the solve. */
static int set_weights(otk_exact_workspace *ws, const otk_problem *problem,
                       double scale, int warm_start)
{
    const size_t n = ws->n, m = ws->m;
    for (size_t i = 0; i < n; i++)
        ws->w[i] = problem->a != NULL ? problem->a[i] : 1.0 / (double)n;
    for (size_t j = 0; j < m; j++)
        ws->w[n + j] =
            (problem->b != NULL ? problem->b[j] : 1.0 / (double)m) * scale;
    return warm_start && ws->has_basis &&
           memcmp(ws->w, ws->basis_w, (n + m) * sizeof *ws->w) == 0;
}

/* The plan's entries, transport cost and marginal error (against the
 * caller's weights). */
static void measure_plan(otk_exact_workspace *ws, const otk_problem *problem,
                         otk_exact_info *info)
{
    const size_t n = ws->n, m = ws->m, nnz = otk__ns_plan(ws->ns, ws->tree);
    double *row = ws->sums, *col = ws->sums + n, transport = 0.0;
    memset(ws->sums, 0, (n + m) * sizeof *ws->sums);
    for (size_t k = 0; k < nnz; k++) {
        const otk_plan_entry *e = &ws->tree[k];
        transport += e->value * otk__cost_entry(problem->cost, e->i, e->j);
        row[e->i] += e->value;
        col[e->j] += e->value;
    }
    double err = 0.0;
    for (size_t i = 0; i < n; i++)
        err += fabs(row[i] - (problem->a ? problem->a[i] : 1.0 / (double)n));
    for (size_t j = 0; j < m; j++)
        err += fabs(col[j] - (problem->b ? problem->b[j] : 1.0 / (double)m));
    info->nnz = nnz;
    info->transport_cost = transport;
    info->marginal_error = err;
}

/* The potentials into ws->pot, shifted (f - t, g + t) so that
 * <a, f> = <b, g>; returns the dual objective. */
static double shifted_potentials(otk_exact_workspace *ws, double mass)
{
    const size_t n = ws->n, m = ws->m;
    double *f = ws->pot, *g = ws->pot + n, af = 0.0, bg = 0.0;
    otk__ns_potentials(ws->ns, f, g);
    for (size_t i = 0; i < n; i++)
        af += ws->w[i] * f[i];
    for (size_t j = 0; j < m; j++)
        bg += ws->w[n + j] * g[j];
    double t = (af - bg) / (2.0 * mass);
    for (size_t i = 0; i < n; i++)
        f[i] -= t;
    for (size_t j = 0; j < m; j++)
        g[j] += t;
    return (af - t * mass) + (bg + t * mass);
}

static void write_solution(const otk_exact_workspace *ws, otk_solution *sol,
                           size_t nnz)
{
    const size_t n = ws->n, m = ws->m;
    if (sol == NULL)
        return;
    if (sol->plan != NULL)
        memcpy(sol->plan, ws->tree,
               (nnz < sol->capacity ? nnz : sol->capacity) * sizeof *sol->plan);
    if (sol->P != NULL) {
        memset(sol->P, 0, n * m * sizeof *sol->P);
        for (size_t k = 0; k < nnz; k++)
            sol->P[ws->tree[k].i * m + ws->tree[k].j] = ws->tree[k].value;
    }
    if (sol->f != NULL)
        memcpy(sol->f, ws->pot, n * sizeof *sol->f);
    if (sol->g != NULL)
        memcpy(sol->g, ws->pot + n, m * sizeof *sol->g);
}

/* The outputs of a finished pivot loop, measured on the returned plan,
 * and the checks before OTK_OPTIMAL. */
static otk_status finish_outputs(otk__call *call, otk_exact_workspace *ws,
                                 const otk_problem *problem, const ns_cost *c,
                                 double tol, double mass, otk_status st,
                                 otk_solution *solution, otk_exact_info *info)
{
    const size_t n = ws->n, m = ws->m;
    if (st == OTK_OPTIMAL && otk__ns_artificial_flow(ws->ns) > 1e-9 * mass)
        st = OTK_ERR_NUMERICAL; /* cannot happen for balanced masses */
    if (st == OTK_ERR_NUMERICAL)
        call->out->cause = "pivot";
    measure_plan(ws, problem, info);
    info->dual_objective = shifted_potentials(ws, mass);
    const double numbers[] = {info->transport_cost, info->dual_objective,
                              info->marginal_error};
    otk_status checked = otk__finite_result(st, numbers, 3);
    checked = otk__finite_result(checked, ws->pot, n + m);
    if (checked != st)
        call->out->cause = "non_finite";
    else if (st == OTK_OPTIMAL &&
             !otk__exact_certified(problem->cost, c->yt, c->crow, ws->pot,
                                   ws->pot + n, ws->tree, info->nnz, mass,
                                   info->transport_cost, info->dual_objective,
                                   tol)) {
        checked = OTK_ERR_NUMERICAL;
        call->out->cause = "certificate";
    }
    write_solution(ws, solution, info->nnz);
    return checked;
}

/* A checked problem in a workspace of its size. */
static otk_status run(otk__call *call, otk_exact_workspace *ws,
                      const otk_problem *problem,
                      const otk_exact_settings *settings, double mass_a,
                      double mass_b, otk_solution *solution,
                      otk_exact_info *info)
{
    ns_cost c;
    double lo, hi;
    if (prepare_cost(ws, problem->cost, &c, &lo, &hi) != 0) {
        ws->has_basis = 0;
        return otk__fail(call, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX);
    }
    const double scale = mass_a / mass_b;
    info->rescaled = scale != 1.0;
    info->warm_started = set_weights(ws, problem, scale, settings->warm_start);
    if (info->warm_started)
        otk__ns_warm_start(ws->ns, &c);
    else
        otk__ns_cold_start(ws->ns, &c, ws->w, ws->w + ws->n);
    memcpy(ws->basis_w, ws->w, (ws->n + ws->m) * sizeof *ws->w);
    otk_status st = otk__ns_solve(ws->ns, settings, call, &info->iterations);
    const double tol = otk__exact_tolerance(ws->n, ws->m, lo, hi);
    st = finish_outputs(call, ws, problem, &c, tol, mass_a, st, solution, info);
    otk__ns_release(ws->ns);
    ws->has_basis = st >= 0;
    if (st == OTK_MAX_ITER)
        call->out->cause = "max_iter";
    else if (st == OTK_CANCELLED)
        call->out->cause = "cancelled";
    else if (st == OTK_OPTIMAL && info->rescaled)
        call->out->cause = "rescaled";
    return otk__finish(call, st);
}

/* Both entry points: the checks, then the solve in the caller's
 * workspace, or (one_shot) in one of its own, always started cold. */
static otk_status entry(otk_exact_workspace *ws, int one_shot,
                        const otk_problem *problem,
                        const otk_exact_settings *settings,
                        otk_solution *solution, otk_exact_info *info)
{
    otk_exact_info local;
    info = info != NULL ? info : &local;
    otk__call call = otk__begin(&info->outcome);
    clear_info(info);
    if (!one_shot && ws == NULL)
        return otk__fail(&call, OTK_ERR_INVALID_ARGUMENT, "workspace",
                         SIZE_MAX);
    otk_exact_settings defaults, cold;
    double mass_a, mass_b;
    otk_status st =
        check_call(&call, problem, &settings, &defaults, &mass_a, &mass_b);
    if (st != OTK_OPTIMAL)
        return st;
    const size_t n = problem->cost->n, m = problem->cost->m;
    if (one_shot) {
        if ((ws = otk_exact_workspace_create(n, m)) == NULL)
            return otk__fail(&call, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX);
        cold = *settings;
        cold.warm_start = 0;
        settings = &cold;
    } else if (n != ws->n || m != ws->m) {
        return otk__fail(&call, OTK_ERR_INVALID_ARGUMENT,
                         n != ws->n ? "cost.n" : "cost.m", SIZE_MAX);
    }
    st = run(&call, ws, problem, settings, mass_a, mass_b, solution, info);
    if (one_shot)
        otk_exact_workspace_free(ws);
    return st;
}

otk_status otk_exact_solve(otk_exact_workspace *ws, const otk_problem *problem,
                           const otk_exact_settings *settings,
                           otk_solution *solution, otk_exact_info *info)
{
    return entry(ws, 0, problem, settings, solution, info);
}

otk_status otk_exact(const otk_problem *problem,
                     const otk_exact_settings *settings, otk_solution *solution,
                     otk_exact_info *info)
{
    return entry(NULL, 1, problem, settings, solution, info);
}
