/* Quadratically-regularized OT: the smooth-dual engine without sparsity. */
#include <stdint.h>

#include "smooth/smooth.h"

const otk_setting_bounds *otk_quadratic_setting_bounds(size_t *count)
{
    return otk__smooth_setting_bounds(count);
}

void otk_quadratic_default_settings(otk_quadratic_settings *s)
{
    otk__smooth_default_settings(s);
}

otk_quadratic_workspace *otk_quadratic_workspace_create(size_t n, size_t m)
{
    return otk__smooth_workspace_create(n, m);
}

void otk_quadratic_workspace_free(otk_quadratic_workspace *ws)
{
    otk__smooth_workspace_free(ws);
}

otk_status otk_quadratic(const otk_problem *problem,
                         const otk_quadratic_settings *settings,
                         otk_solution *solution, otk_quadratic_info *info)
{
    return otk__smooth_run(NULL, problem, 0, 0, settings, solution, info);
}

otk_status otk_quadratic_solve(otk_quadratic_workspace *ws,
                               const otk_problem *problem,
                               const otk_quadratic_settings *settings,
                               otk_solution *solution, otk_quadratic_info *info)
{
    return otk__smooth_run(ws, problem, 0, 0, settings, solution, info);
}

otk_status otk_quadratic_batch(size_t B, const otk_problem *problem,
                               const otk_quadratic_settings *settings,
                               otk_solution *solution,
                               otk_quadratic_info *infos)
{
    return otk__smooth_batch(B, problem, 0, 0, settings, solution, infos);
}
