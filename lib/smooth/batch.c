/*
 * Batches of one shape for the smooth-dual engine: B independent solves,
 * threads over problems, each solve single-threaded in its thread's
 * workspace, so a problem's result does not depend on the thread count.
 */
#include <stdint.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/core.h"
#include "linalg/linalg.h"
#include "linalg/par.h"
#include "smooth/smooth.h"

/* Checks what every problem shares; fails the call naming the argument. */
static otk_status batch_check(otk__call *call, size_t B, const otk_problem *pb)
{
    if (B < 1)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "B", SIZE_MAX);
    if (pb == NULL)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "problem", SIZE_MAX);
    if (pb->cost == NULL)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "cost", SIZE_MAX);
    /* point clouds would need B of them: dense costs only */
    if (pb->cost->C == NULL)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "cost.C", SIZE_MAX);
    const size_t n = pb->cost->n, m = pb->cost->m;
    if (n < 1)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "cost.n", SIZE_MAX);
    if (m < 1)
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "cost.m", SIZE_MAX);
    if (n > SIZE_MAX / m || n * m > SIZE_MAX / B / sizeof(double))
        return otk__fail(call, OTK_ERR_INVALID_ARGUMENT, "B", SIZE_MAX);
    return OTK_CONVERGED;
}

/* The worse of two statuses: an error over a positive status over 0; of
 * two of a kind, the first (lower problem index) is kept. */
static otk_status worse(otk_status kept, otk_status st)
{
    if (kept < 0)
        return kept;
    if (st < 0)
        return st;
    return kept > 0 ? kept : st;
}

/* Problem q of the batch: its cost block, weights and outputs. */
static void batch_item(const otk_problem *pb, const otk_solution *sol, size_t q,
                       otk_cost *cost, otk_problem *item, otk_solution *out)
{
    const size_t n = pb->cost->n, m = pb->cost->m;
    *cost = otk_cost_dense(n, m, pb->cost->C + q * n * m);
    item->cost = cost;
    item->a = pb->a != NULL ? pb->a + q * n : NULL;
    item->b = pb->b != NULL ? pb->b + q * m : NULL;
    item->reg = pb->reg;
    *out = (otk_solution){0};
    if (sol == NULL)
        return;
    out->f = sol->f != NULL ? sol->f + q * n : NULL;
    out->g = sol->g != NULL ? sol->g + q * m : NULL;
    out->P = sol->P != NULL ? sol->P + q * n * m : NULL;
    out->plan = sol->plan != NULL ? sol->plan + q * sol->capacity : NULL;
    out->capacity = sol->plan != NULL ? sol->capacity : 0;
}

static int batch_thread(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Frees the per-thread workspaces (ws may be NULL or partly filled). */
static void free_workspaces(otk_quadratic_workspace **ws, size_t nt,
                            otk_status *status)
{
    for (size_t t = 0; ws != NULL && t < nt; t++)
        otk__smooth_workspace_free(ws[t]);
    free(ws);
    free(status);
}

/* Fails every info of the batch with the first one's outcome. */
static otk_status fail_all(otk_quadratic_info *infos, size_t B, otk_status st)
{
    for (size_t q = 1; infos != NULL && q < B; q++)
        infos[q] = infos[0];
    return st;
}

otk_status otk__smooth_batch(size_t B, const otk_problem *pb, size_t k,
                             int sparse, const otk_quadratic_settings *settings,
                             otk_solution *sol, otk_quadratic_info *infos)
{
    otk_quadratic_info first;
    otk_quadratic_info *info0 = infos != NULL ? infos : &first;
    otk__call call = otk__begin(&info0->outcome);
    otk_status st = batch_check(&call, B, pb);
    if (st != OTK_CONVERGED)
        return fail_all(infos, B, st);
    otk_quadratic_settings inner;
    if (settings != NULL)
        inner = *settings;
    else
        otk__smooth_default_settings(&inner);
    const int requested = inner.threads;
    inner.threads = 1; /* deterministic: each solve on one thread */
    size_t nt = (size_t)otk__threads(requested < 0 ? 1 : requested);
    nt = nt > B ? B : nt;
    const size_t n = pb->cost->n, m = pb->cost->m;
    otk_quadratic_workspace **ws = calloc(nt, sizeof *ws);
    otk_status *status = malloc(B * sizeof *status);
    int ok = ws != NULL && status != NULL;
    for (size_t t = 0; ok && t < nt; t++)
        ok = (ws[t] = otk__smooth_workspace_create(n, m)) != NULL;
    if (!ok) {
        free_workspaces(ws, nt, status);
        st = otk__fail(&call, OTK_ERR_NO_MEMORY, NULL, SIZE_MAX);
        return fail_all(infos, B, st);
    }
    const long count = (long)B;
#pragma omp parallel for schedule(dynamic) num_threads((int)nt) if (nt > 1)
    for (long q = 0; q < count; q++) {
        otk_cost cost;
        otk_problem item;
        otk_solution out;
        otk_quadratic_info local;
        batch_item(pb, sol, (size_t)q, &cost, &item, &out);
        status[q] =
            otk__smooth_run(ws[batch_thread()], &item, k, sparse, &inner, &out,
                            infos != NULL ? &infos[q] : &local);
    }
    st = OTK_CONVERGED;
    for (size_t q = 0; q < B; q++)
        st = worse(st, status[q]);
    free_workspaces(ws, nt, status);
    return st;
}
