/* Sparsity-constrained OT: the smooth-dual engine with top-k columns. */
#include <otkit/sparse.h>

#include "smooth/smooth.h"

const otk_setting_bounds *otk_sparse_setting_bounds(size_t *count)
{
    return otk__smooth_setting_bounds(count);
}

void otk_sparse_default_settings(otk_sparse_settings *s)
{
    otk__smooth_default_settings(s);
}

otk_sparse_workspace *otk_sparse_workspace_create(size_t n, size_t m)
{
    return otk__smooth_workspace_create(n, m);
}

void otk_sparse_workspace_free(otk_sparse_workspace *ws)
{
    otk__smooth_workspace_free(ws);
}

otk_status otk_sparse(const otk_problem *problem, size_t k,
                      const otk_sparse_settings *settings,
                      otk_solution *solution, otk_sparse_info *info)
{
    return otk__smooth_run(NULL, problem, k, 1, settings, solution, info);
}

otk_status otk_sparse_solve(otk_sparse_workspace *ws,
                            const otk_problem *problem, size_t k,
                            const otk_sparse_settings *settings,
                            otk_solution *solution, otk_sparse_info *info)
{
    return otk__smooth_run(ws, problem, k, 1, settings, solution, info);
}

otk_status otk_sparse_batch(size_t B, const otk_problem *problem, size_t k,
                            const otk_sparse_settings *settings,
                            otk_solution *solution, otk_sparse_info *infos)
{
    return otk__smooth_batch(B, problem, k, 1, settings, solution, infos);
}
