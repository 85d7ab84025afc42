/*
 * The start of a distributed solve: the global sizes, the collective
 * argument checks (every rank ends with the same outcome), the gathered
 * targets and weights, the workspace.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linalg/linalg.h"
#include "mpi/dist.h"

/* Every rank's block sizes: D->rows/cols and their offsets. */
static void exchange_sizes(dist *D, const otk_cost *cost)
{
    mpi_ctx *ctx = D->ctx;
    const int P = ctx->size;
    unsigned long long mine[2] = {cost ? cost->n : 0, cost ? cost->m : 0};
    unsigned long long *all = calloc(2 * (size_t)P, sizeof *all);
    D->rows = calloc(4 * (size_t)P, sizeof *D->rows);
    /* Without these few words per rank nothing can be agreed: as MPI
     * itself would, end the job. */
    if (all == NULL || D->rows == NULL)
        MPI_Abort(ctx->comm, 1);
    D->row_at = D->rows + P;
    D->cols = D->row_at + P;
    D->col_at = D->cols + P;
    double t = otk__now();
    MPI_Allgather(mine, 2, MPI_UNSIGNED_LONG_LONG, all, 2,
                  MPI_UNSIGNED_LONG_LONG, ctx->comm);
    ctx->stats.comm_s += otk__now() - t;
    ctx->stats.messages++;
    ctx->stats.bytes += sizeof mine;
    D->n = D->m = 0;
    for (int r = 0; r < P; r++) {
        if (r == ctx->rank) {
            D->row0 = D->n;
            D->col0 = D->m;
        }
        /* counts beyond INT_MAX are refused by check_sizes */
        D->rows[r] = all[2 * r] > INT_MAX ? INT_MAX : (int)all[2 * r];
        D->cols[r] = all[2 * r + 1] > INT_MAX ? INT_MAX : (int)all[2 * r + 1];
        D->row_at[r] = D->n > INT_MAX ? INT_MAX : (int)D->n;
        D->col_at[r] = D->m > INT_MAX ? INT_MAX : (int)D->m;
        D->n += all[2 * r];
        D->m += all[2 * r + 1];
    }
    D->n_loc = mine[0];
    D->m_loc = mine[1];
    free(all);
}

/* First negative or non-finite entry of w (len), or SIZE_MAX. */
static size_t bad_weight(const double *w, size_t len)
{
    for (size_t i = 0; w != NULL && i < len; i++)
        if (!(isfinite(w[i]) && w[i] >= 0.0))
            return i;
    return SIZE_MAX;
}

/* This rank's own arguments, in otk_sinkhorn's order; indices global. */
static otk_status check_local(const dist *D, otk__call *call,
                              const otk_problem *pr,
                              const otk_sinkhorn_settings *s,
                              const otk_solution *sol, const char **what,
                              size_t *bad)
{
    *bad = SIZE_MAX;
    *what = pr == NULL ? "problem" : pr->cost == NULL ? "cost" : NULL;
    if (*what != NULL)
        return OTK_ERR_INVALID_ARGUMENT;
    otk_status st = otk__sinkhorn_validate(call, s);
    if (st != OTK_CONVERGED) {
        *what = call->out->bad_argument;
        return st;
    }
    *what = "reg";
    if (!(isnormal(pr->reg) && pr->reg > 0.0))
        return OTK_ERR_INVALID_ARGUMENT;
    const otk_cost *c = pr->cost;
    *what = "cost.C";
    if (c->C != NULL)
        return OTK_ERR_INVALID_ARGUMENT;
    st = otk__check_cost(c, what, bad);
    if (st != OTK_CONVERGED) {
        size_t base = strcmp(*what, "cost.x") == 0 ? D->row0 : D->col0;
        if (*bad != SIZE_MAX)
            *bad += base * c->d;
        return st;
    }
    *what = "settings.domain";
    if (s->domain == OTK_DOMAIN_SCALING)
        return OTK_ERR_INVALID_ARGUMENT;
    if ((*bad = bad_weight(pr->a, c->n)) != SIZE_MAX) {
        *what = "a";
        *bad += D->row0;
        return OTK_ERR_INVALID_INPUT;
    }
    if ((*bad = bad_weight(pr->b, c->m)) != SIZE_MAX) {
        *what = "b";
        *bad += D->col0;
        return OTK_ERR_INVALID_INPUT;
    }
    *what = "solution.g";
    if (s->warm_start) {
        if (sol == NULL || sol->g == NULL)
            return OTK_ERR_INVALID_ARGUMENT;
        if ((*bad = otk__first_nonfinite(sol->g, c->m)) != SIZE_MAX) {
            *bad += D->col0;
            return OTK_ERR_INVALID_INPUT;
        }
    }
    *what = NULL;
    return OTK_CONVERGED;
}

/* FNV-1a over what every rank must agree on. */
static unsigned long long mix(unsigned long long h, const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t k = 0; k < len; k++)
        h = (h ^ b[k]) * 1099511628211ULL;
    return h;
}

static unsigned long long agreement_hash(const otk_problem *pr,
                                         const otk_sinkhorn_settings *s)
{
    const otk_cost *c = pr->cost;
    const double nums[] = {pr->reg,
                           s->tol,
                           (double)s->max_iter,
                           (double)s->check_every,
                           s->tau_a,
                           s->tau_b,
                           (double)s->domain,
                           (double)s->eps_scaling,
                           s->eps_scaling_factor,
                           (double)s->warm_start,
                           s->relaxation,
                           (double)c->d,
                           (double)c->metric,
                           c->p,
                           c->scale,
                           pr->a == NULL,
                           pr->b == NULL};
    return mix(14695981039346656037ULL, nums, sizeof nums);
}

/* The settings, reg and metric agree on every rank, and the sizes fit
 * MPI's int counts. */
static otk_status check_global(dist *D, otk__call *call, const otk_problem *pr,
                               const otk_sinkhorn_settings *s)
{
    unsigned long long h = agreement_hash(pr, s), v[2] = {h, ~h};
    otk__mpi_allreduce(D->ctx, v, 2, MPI_UNSIGNED_LONG_LONG, MPI_MIN);
    if (v[0] != h || ~v[1] != h)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "settings", SIZE_MAX);
    if (D->n > INT_MAX || D->m > INT_MAX - OTK__FINAL_SUMS)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT,
                         D->n > INT_MAX ? "cost.n" : "cost.m", SIZE_MAX);
    return OTK_CONVERGED;
}

/* Global masses (1 for NULL weights), with otk_sinkhorn's mass checks. */
static otk_status masses(dist *D, otk__call *call, const otk_problem *pr,
                         const otk_sinkhorn_settings *s, double *mass_a,
                         double *mass_b)
{
    double m[2] = {0.0, 0.0};
    for (size_t i = 0; pr->a != NULL && i < D->n_loc; i++)
        m[0] += pr->a[i];
    for (size_t j = 0; pr->b != NULL && j < D->m_loc; j++)
        m[1] += pr->b[j];
    otk__mpi_sum(D->ctx, m, 2);
    *mass_a = pr->a != NULL ? m[0] : 1.0;
    *mass_b = pr->b != NULL ? m[1] : 1.0;
    if (!(*mass_a > 0.0) || !(*mass_b > 0.0))
        return otk__fail(call, OTK_ERR_MASS_MISMATCH, *mass_a > 0.0 ? "b" : "a",
                         SIZE_MAX);
    if (isinf(s->tau_a) && isinf(s->tau_b) &&
        !otk__masses_match(*mass_a, *mass_b))
        return otk__fail(call, OTK_ERR_MASS_MISMATCH, "b", SIZE_MAX);
    return OTK_CONVERGED;
}

/* This rank's buffers; 0 or OTK_ERR_NO_MEMORY (collective check after). */
static otk_status allocate(dist *D, const otk_sinkhorn_settings *s)
{
    const size_t m = D->m, d = D->d;
    D->ws = otk_sinkhorn_workspace_create(D->n_loc, m);
    D->y = malloc(m * d * sizeof *D->y);
    D->red = malloc((m + OTK__FINAL_SUMS) * sizeof *D->red);
    D->pairs = malloc(2 * m * sizeof *D->pairs);
    D->cols_exact = malloc(m * sizeof *D->cols_exact);
    /* the averaged update of a symmetric problem needs every f */
    D->f_all = D->symmetric ? malloc(D->n * sizeof *D->f_all) : NULL;
    if (!D->ws || !D->y || !D->red || !D->pairs || !D->cols_exact ||
        (D->symmetric && !D->f_all))
        return OTK_ERR_NO_MEMORY;
    otk_sinkhorn_workspace *ws = D->ws;
    /* the cost is formed later */
    const size_t yt_len = otk__cost_scratch_max(m, d);
    ws->yt = malloc(yt_len * sizeof *ws->yt);
    ws->yt_cap = ws->yt != NULL ? yt_len : 0;
    /* threads as otk_sinkhorn chooses them for this rank's rows */
    int t = otk__threads_for_work(s->threads, D->n_loc * m);
    if (ws->yt == NULL || otk__reserve_threads(ws, t) != 0)
        return OTK_ERR_NO_MEMORY;
    return OTK_CONVERGED;
}

/* The weights in the workspace: this rank's a, every b (divided by
 * bscale), and their logs; g from the warm start or 0. */
static void gather_data(dist *D, const otk_problem *pr,
                        const otk_sinkhorn_settings *s, const otk_solution *sol,
                        double bscale)
{
    otk_sinkhorn_workspace *ws = D->ws;
    const otk_cost *c = pr->cost;
    otk__mpi_allgather(D->ctx, c->y, D->y, D->cols, D->col_at, D->d);
    for (size_t i = 0; i < D->n_loc; i++) {
        ws->wa[i] = pr->a != NULL ? pr->a[i] : 1.0 / (double)D->n;
        ws->loga[i] = log(ws->wa[i]);
        ws->lse[i] = NAN;
    }
    if (pr->b != NULL)
        otk__mpi_allgather(D->ctx, pr->b, ws->wb, D->cols, D->col_at, 1);
    for (size_t j = 0; j < D->m; j++) {
        ws->wb[j] = (pr->b != NULL ? ws->wb[j] : 1.0 / (double)D->m) / bscale;
        ws->logb[j] = log(ws->wb[j]);
    }
    if (s->warm_start)
        otk__mpi_allgather(D->ctx, sol->g, ws->g, D->cols, D->col_at, 1);
    else
        memset(ws->g, 0, D->m * sizeof *ws->g);
    D->cost =
        otk_cost_points(D->n_loc, D->m, D->d, c->x, D->y, c->metric, c->p);
    D->cost.scale = c->scale;
    otk__cost_prepare(&D->cost, ws->yt);
}

/* Same rows as columns on every rank (n_r = m_r, the same coordinates and
 * weights), and the same tau: the problem is its own transpose. */
static int symmetric(dist *D, const otk_problem *pr,
                     const otk_sinkhorn_settings *s)
{
    const otk_cost *c = pr->cost;
    int same =
        c->n == c->m && s->tau_a == s->tau_b &&
        (c->x == c->y || memcmp(c->x, c->y, c->n * c->d * sizeof *c->x) == 0);
    for (size_t i = 0; same && i < c->n; i++)
        same = (pr->a != NULL ? pr->a[i] : 1.0 / (double)D->n) ==
               (pr->b != NULL ? pr->b[i] : 1.0 / (double)D->m);
    otk__mpi_allreduce(D->ctx, &same, 1, MPI_INT, MPI_LAND);
    return same;
}

otk_status otk__dist_setup(dist *D, mpi_ctx *ctx, otk__call *call,
                           const otk_problem *pr,
                           const otk_sinkhorn_settings *s,
                           const otk_solution *sol, double *mass_a,
                           double *mass_b)
{
    memset(D, 0, sizeof *D);
    D->ctx = ctx;
    exchange_sizes(D, pr != NULL ? pr->cost : NULL);
    const char *what;
    size_t bad;
    otk_status st = check_local(D, call, pr, s, sol, &what, &bad);
    if ((st = otk__mpi_agree(ctx, call, st, what, bad)) != OTK_CONVERGED)
        return st;
    D->d = pr->cost->d;
    if ((st = check_global(D, call, pr, s)) != OTK_CONVERGED ||
        (st = masses(D, call, pr, s, mass_a, mass_b)) != OTK_CONVERGED)
        return st;
    D->symmetric = symmetric(D, pr, s);
    st = otk__mpi_agree(ctx, call, allocate(D, s), NULL, SIZE_MAX);
    if (st != OTK_CONVERGED)
        return st;
    const int balanced = isinf(s->tau_a) && isinf(s->tau_b);
    gather_data(D, pr, s, sol, balanced ? *mass_b / *mass_a : 1.0);
    return OTK_CONVERGED;
}

void otk__dist_free(dist *D)
{
    otk_sinkhorn_workspace_free(D->ws);
    free(D->rows);
    free(D->y);
    free(D->red);
    free(D->pairs);
    free(D->cols_exact);
    free(D->f_all);
}
